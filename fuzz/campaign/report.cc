#include "fuzz/campaign/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz/harness/run.h"
#include "fuzz/harness/signature.h"
#include "fuzz/harness/timeline.h"

namespace pf::campaign {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string esc(const std::string& s) { return html_escape(s); }

std::string si(double v) {
  if (v >= 1e9) return fmt::format("{:.1f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.0f}k", v / 1e3);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

std::string opt_seconds(const std::optional<double>& s) {
  return s ? fmt::format("{:.1f} s", *s) : "-";
}

// What happened to a design, in a word a reader can act on.
std::string verdict(const State& s, const Config& c) {
  size_t found = 0;
  for (const auto& f : s.findings) found += f.design == c.design;
  if (c.correct) return found ? "FALSE POSITIVE (a model bug)" : "clean";
  if (c.expected) return c.expected_seconds ? "found" : found ? "found other" : "not found";
  return found ? "found" : "clean";
}

// One line chart: x = campaign seconds, y = value(sample).
std::string chart(const std::vector<Sample>& samples, const std::string& title,
                  const std::function<double(const Sample&)>& value, const std::string& unit) {
  const int w = 460, h = 150, left = 52, bottom = 22, top = 20;
  std::string svg = fmt::format(
      "<svg class=\"chart\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"{}\">\n<text x=\"{}\" y=\"14\" class=\"ct\">{}</text>\n",
      w, h, w, h, esc(title), left, esc(title));
  if (samples.size() < 2) {
    svg += fmt::format("<text x=\"{}\" y=\"{}\">not enough samples yet</text>\n</svg>\n", left,
                       h / 2);
    return svg;
  }
  double t0 = samples.front().t, t1 = samples.back().t, ymax = 0;
  for (const auto& x : samples) ymax = std::max(ymax, value(x));
  if (t1 <= t0) t1 = t0 + 1;
  if (ymax <= 0) ymax = 1;
  const double pw = w - left - 8, ph = h - top - bottom;
  std::string pts;
  for (const auto& x : samples) {
    double px = left + (x.t - t0) / (t1 - t0) * pw;
    double py = top + ph - value(x) / ymax * ph;
    pts += fmt::format("{:.1f},{:.1f} ", px, py);
  }
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" class=\"axis\"/>"
      "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" class=\"axis\"/>\n",
      left, top, top + ph, left + pw);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}{}</text>\n", left - 4, top + 8,
                     si(ymax), esc(unit));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\n", left - 4, top + ph);
  svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>", left, h - 6, format_duration(t0));
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left + pw, h - 6,
                     format_duration(t1));
  svg += fmt::format("<polyline points=\"{}\" class=\"line\"/>\n</svg>\n", pts);
  return svg;
}

constexpr const char* kCss = R"(
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1100px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; font-size: .92em; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: #b00020; font-weight: bold; } td.good { color: #106b21; }
code, .mono { font-family: monospace; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.chart { border: 1px solid #ddd; background: #fcfcfc; }
.chart text { font: 11px monospace; fill: #444; } .chart .ct { font-weight: bold; fill: #222; }
.axis { stroke: #888; stroke-width: 1; } .line { fill: none; stroke: #1f5fbf; stroke-width: 1.5; }
.summary td:first-child { font-weight: bold; }
)";

std::string html_page(const State& s, const ReportPaths& p) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>pinfuzz campaign report</title>\n<style>" + std::string(kCss) + "</style>\n";
  h += "</head>\n<body>\n<h1>pinfuzz campaign report</h1>\n";
  const uint64_t execs = s.total_execs();
  h += "<table class=\"summary\" id=\"summary\">\n";
  auto row = [&h](const std::string& k, const std::string& v) {
    h += "<tr><td>" + esc(k) + "</td><td>" + esc(v) + "</td></tr>\n";
  };
  row("campaign", fs::absolute(p.campaign_dir).lexically_normal().string());
  row("started (UTC)", s.started);
  row("elapsed", format_duration(s.elapsed) + (s.duration > 0
                                                   ? " of " + format_duration(s.duration)
                                                   : " (until stopped)"));
  row("sessions", fmt::format("{} (resumed {} time(s))", s.sessions, s.sessions ? s.sessions - 1 : 0));
  row("jobs", fmt::format("{}", s.jobs));
  row("designs", fmt::format("{}", s.configs.size()));
  row("executions", fmt::format("{} ({}/s on average)", si(static_cast<double>(execs)),
                                si(s.elapsed > 0 ? static_cast<double>(execs) / s.elapsed : 0)));
  row("distinct violations", fmt::format("{}", s.findings.size()));
  row("workers", fmt::format("{} started, {} crashed, {} hung (each restarted)", s.workers.started,
                             s.workers.crashed, s.workers.hung));
  row("fuzzer", s.fuzzer);
  h += "</table>\n";

  h += "<h2>Over time</h2>\n<div class=\"charts\">\n";
  h += chart(s.samples, "executions/s", [](const Sample& x) { return x.exec_per_s; }, "/s");
  h += chart(s.samples, "coverage (libFuzzer features, summed over designs)",
             [](const Sample& x) { return static_cast<double>(x.ft); }, "");
  h += chart(s.samples, "distinct violations",
             [](const Sample& x) { return static_cast<double>(x.findings); }, "");
  h += chart(s.samples, "memory (RSS: campaign + workers)",
             [](const Sample& x) { return static_cast<double>(x.rss_kib + x.workers_rss_kib) * 1024; },
             "B");
  h += "</div>\n";

  h += "<h2>Distinct violations</h2>\n";
  if (s.findings.empty()) h += "<p>None.</p>\n";
  else {
    h += "<table id=\"violations\">\n<tr><th>#</th><th>signature</th><th>design</th>"
         "<th>first seen</th><th>count</th><th>minimized</th><th>replay</th></tr>\n";
    int n = 0;
    for (const auto& f : s.findings) {
      h += fmt::format(
          "<tr><td class=\"num\">{}</td><td><a href=\"violations/{}.html\">{}</a></td>"
          "<td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td>{} thread(s), {} op(s)</td><td><code>pinfuzz repro crashes/{}/scenario.txt</code>"
          "</td></tr>\n",
          ++n, esc(f.id),
          esc(Signature{f.kind, f.fn, f.cause, f.racing_fn}.key()) + "<br><small>" +
              esc(Signature{f.kind, f.fn, f.cause, f.racing_fn}.to_string() +
                  (f.racing_fn.empty() ? "" : " (first seen)")) + "</small>",
          esc(f.design),
          format_duration(f.first_seen), f.count, f.threads, f.ops, esc(f.id));
    }
    h += "</table>\n";
  }

  h += "<h2>Known kernel limitations</h2>\n<p>Outcomes the real kernel has too "
       "(model/limitations.def), listed apart: not violations of the designs, never counted "
       "as false positives. Each worker prints the scenario of the first it meets in "
       "logs/&lt;design&gt;.log.</p>\n";
  if (s.limitations.empty()) h += "<p>None met.</p>\n";
  else {
    h += "<table id=\"limitations\">\n<tr><th>limitation</th><th>design</th><th>first seen</th>"
         "<th>slices</th><th>what happened</th><th>kernel reference</th></tr>\n";
    for (const auto& l : s.limitations)
      h += fmt::format(
          "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td>{} in {}(): {}<br><small>scenario: logs/{}.log</small>"
          "</td><td>{}</td></tr>\n",
          violation_name(l.kind), esc(l.design), format_duration(l.first_seen), l.slices,
          esc(violation_name(l.kind)), esc(l.fn), esc(l.detail), esc(l.slug),
          esc(limitation_reference(l.kind)));
    h += "</table>\n";
  }

  h += "<h2>Designs</h2>\n<p>Fuzzing time and executions are this design's own, summed over its "
       "workers; \"first\" is the first violation of any kind, \"expected\" the first of the "
       "kind its catalog row expects.</p>\n";
  h += "<table id=\"designs\">\n<tr><th>design</th><th>catalog row</th><th>expected</th>"
       "<th>fuzzed</th><th>executions</th><th>exec/s</th><th>features</th>"
       "<th>first violation</th><th>expected found</th><th>verdict</th></tr>\n";
  for (const auto& c : s.configs) {
    std::string v = verdict(s, c);
    const bool bad = v.rfind("FALSE", 0) == 0 || v == "not found";
    h += fmt::format(
        "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{}\">{}</td></tr>\n",
        esc(c.design), esc(c.bug.empty() ? "-" : c.bug),
        c.expected ? violation_name(*c.expected) : (c.correct ? "(none: correct)" : "-"),
        format_duration(c.seconds), si(static_cast<double>(c.execs)),
        si(c.seconds > 0 ? static_cast<double>(c.execs) / c.seconds : 0),
        si(static_cast<double>(c.ft)),
        c.first_seconds ? fmt::format("{:.1f} s, {} execs", *c.first_seconds, si(static_cast<double>(*c.first_execs))) : "-",
        opt_seconds(c.expected_seconds), bad ? "bad" : "good", esc(v));
  }
  h += "</table>\n";
  if (!s.problems.empty()) {
    h += "<h2>Problems</h2>\n<ul id=\"problems\">\n";
    for (const auto& x : s.problems) h += "<li>" + esc(x) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<p>Regenerate with <code>pinfuzz report " + esc(p.campaign_dir) + "</code>.</p>\n";
  h += "</body>\n</html>\n";
  return h;
}

// violations/<id>.html: the minimized scenario replayed and drawn.
std::string violation_page(const Finding& f, const std::string& crash_dir, std::string* error) {
  const std::string path = (fs::path(crash_dir) / f.id / "scenario.txt").string();
  LoadedScenario l = load_scenario_file(path);
  if (!l.scenario) {
    *error = l.error;
    return "";
  }
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  Runner runner;
  Design d = effective_design(*l.scenario, Design{});
  RunResult r = runner.run(*l.scenario, d, rec);
  return render_timeline_html(*l.scenario, r, f.line,
                              fmt::format("pinfuzz repro crashes/{}/scenario.txt", f.id));
}

}  // namespace

std::string limitations_text(const State& s) {
  if (s.limitations.empty()) return "";
  std::string out = fmt::format(
      "{} known kernel limitation(s) met (the real kernel does this too; not violations of the "
      "designs):\n",
      s.limitations.size());
  for (const auto& l : s.limitations)
    out += fmt::format("  design={} {} in {}(), first at {}, in {} slice(s): {}\n    see {}; "
                       "scenario in logs/{}.log\n",
                       l.design, violation_name(l.kind), l.fn, format_duration(l.first_seen),
                       l.slices, l.detail, limitation_reference(l.kind), l.slug);
  return out;
}

std::string design_table(const State& s, bool markdown) {
  std::string out;
  if (markdown) {
    out += "| design | catalog row | expected | fuzzed | executions | first violation | expected found | verdict |\n";
    out += "|---|---|---|---:|---:|---:|---:|---|\n";
  } else {
    out += fmt::format("{:<34} {:<22} {:>7} {:>9} {:>10} {:>10}  {}\n", "design", "expected",
                       "fuzzed", "execs", "first", "expected", "verdict");
  }
  for (const auto& c : s.configs) {
    const std::string expected =
        c.expected ? violation_name(*c.expected) : (c.correct ? "none" : "-");
    const std::string first = opt_seconds(c.first_seconds);
    if (markdown) {
      out += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} | {} |\n", c.design,
                         c.bug.empty() ? "-" : c.bug, expected, format_duration(c.seconds),
                         si(static_cast<double>(c.execs)),
                         c.first_seconds ? fmt::format("{:.1f} s ({} execs)", *c.first_seconds,
                                                       si(static_cast<double>(*c.first_execs)))
                                         : "-",
                         opt_seconds(c.expected_seconds), verdict(s, c));
    } else {
      std::string name = c.bug.empty() ? c.design : c.bug;
      out += fmt::format("{:<34} {:<22} {:>7} {:>9} {:>10} {:>10}  {}\n", name.substr(0, 34),
                         expected, format_duration(c.seconds), si(static_cast<double>(c.execs)),
                         first, opt_seconds(c.expected_seconds), verdict(s, c));
    }
  }
  return out;
}

std::string write_report(const State& s, const ReportPaths& p) {
  std::error_code ec;
  const fs::path vdir = fs::path(p.report_dir) / "violations";
  fs::create_directories(vdir, ec);
  if (ec) return fmt::format("{}: cannot create: {}", vdir.string(), ec.message());
  const std::string crash_dir = (fs::path(p.campaign_dir) / "crashes").string();
  std::vector<std::string> page_problems;
  for (const auto& f : s.findings) {
    const fs::path page = vdir / (f.id + ".html");
    if (fs::exists(page, ec)) continue;  // pages never change once written
    std::string err;
    std::string html = violation_page(f, crash_dir, &err);
    if (!err.empty()) {
      page_problems.push_back(err);
      continue;
    }
    if (auto e = write_file_atomic(page.string(), html); !e.empty()) return e;
  }
  State shown = s;
  for (auto& x : page_problems) shown.problems.push_back("report: " + x);
  json j = json::parse(to_json(shown));
  j["designs_table"] = design_table(shown, true);
  if (auto e = write_file_atomic((fs::path(p.report_dir) / "report.json").string(), j.dump(1) + "\n");
      !e.empty())
    return e;
  return write_file_atomic((fs::path(p.report_dir) / "report.html").string(), html_page(shown, p));
}

}  // namespace pf::campaign
