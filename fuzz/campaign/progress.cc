// What a campaign tells and keeps while it runs: the progress line (one
// refreshed line on a terminal, a log line every 10 s otherwise), findings
// and problems, throughput samples, campaign.json saves, the periodic
// report - and `pinfuzz report`, which rewrites the report afterwards.
#include "fuzz/campaign/campaign_impl.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "fuzz/campaign/report.h"

namespace pf::campaign {
namespace detail {

uint64_t Campaign::live_execs() const {
  uint64_t n = st_.total_execs();
  for (const auto& w : workers_) n += w->execs;
  return n;
}

void Campaign::sample() {
  Sample s;
  s.t = t();
  s.execs = live_execs();
  s.ft = st_.total_ft();
  s.findings = static_cast<uint32_t>(st_.findings.size());
  s.rss_kib = rss_kib(0);
  std::vector<pid_t> groups;
  for (const auto& w : workers_) groups.push_back(w->proc.pid());
  s.workers_rss_kib = groups_rss_kib(groups);
  if (!st_.samples.empty() && s.t > st_.samples.back().t)
    s.exec_per_s = static_cast<double>(s.execs - std::min(s.execs, st_.samples.back().execs)) /
                   (s.t - st_.samples.back().t);
  st_.add_sample(s);
}

void Campaign::periodic() {
  const double now = mono();
  const double sample_every = t() < 600 ? 2 : 10;
  if (now - last_sample_ >= sample_every) {
    sample();
    last_sample_ = now;
  }
  if (now - last_save_ >= 5) {
    if (auto e = save(); !e.empty()) return fatal(e);
    last_save_ = now;
  }
  if (now - last_report_ >= 60) {
    if (auto e = write_report(st_, {dir_.string(), report_dir_.string()}); !e.empty())
      return fatal(e);
    last_report_ = now;
  }
  if (stopping_ && now - stop_started_ > 10) {
    for (auto& w : workers_) w->proc.signal(SIGKILL);
  }
  if (g_signals >= 2)
    for (auto& w : workers_) w->proc.signal(SIGKILL);
  if (!opt_.quiet && now - last_progress_ >= (opt_.progress_tty ? 1 : 10)) {
    progress();
    last_progress_ = now;
  }
}

std::string Campaign::save() {
  st_.elapsed = std::max(st_.elapsed, t());
  return write_file_atomic((dir_ / "campaign.json").string(), to_json(st_));
}

std::string Campaign::progress_text() const {
  double rate = st_.samples.empty() ? 0 : st_.samples.back().exec_per_s;
  std::string running;
  for (const auto& w : workers_) {
    if (!running.empty()) running += ", ";
    running += st_.configs[w->config].slug;
  }
  return fmt::format("[{}{}] {} execs, {:.0f}/s | ft {} | {} violation(s) | {}", format_duration(t()),
                     st_.duration > 0 ? "/" + format_duration(st_.duration) : "",
                     live_execs(), rate, st_.total_ft(), st_.findings.size(),
                     running.empty() ? (triager_->pending() ? "triaging" : "idle") : running);
}

void Campaign::progress() {
  if (opt_.progress_tty) {
    std::string s = progress_text();
    if (s.size() > 160) s = s.substr(0, 157) + "...";
    fmt::print(stderr, "\r\033[K{}", s);
    progress_shown_ = true;
  } else {
    fmt::print(stderr, "pinfuzz campaign: {}\n", progress_text());
  }
}

void Campaign::clear_progress() {
  if (progress_shown_) fmt::print(stderr, "\r\033[K");
  progress_shown_ = false;
}

void Campaign::say(const std::string& s) {
  if (opt_.quiet) return;
  clear_progress();
  fmt::print(stderr, "pinfuzz campaign: {}\n", s);
}

// Findings are printed even with --quiet: they are the point.
void Campaign::event(const std::string& s) {
  clear_progress();
  fmt::print("{}\n", s);
  std::fflush(stdout);
}

void Campaign::problem(const std::string& s) {
  st_.problems.push_back(fmt::format("[{}] {}", format_duration(t()), s));
  if (st_.problems.size() > 1000) st_.problems.erase(st_.problems.begin());
  say("problem: " + s);
}

void Campaign::fatal(const std::string& s) {
  if (!fatal_msg_.empty()) return;
  fatal_msg_ = s;
  clear_progress();
  fmt::print(stderr, "pinfuzz campaign: error: {}\n", s);
  fatal_ = true;
  for (auto& w : workers_) {
    w->terminating = true;
    w->proc.signal(SIGKILL);
  }
}

}  // namespace detail

int regenerate_report(const std::string& dir, const std::string& report_dir) {
  std::string err;
  auto s = load_state(dir, &err);
  if (!s) {
    fmt::print(stderr, "pinfuzz report: {}\n", err);
    return 2;
  }
  std::vector<std::string> problems;
  std::vector<Finding> disk = load_findings((fs::path(dir) / "crashes").string(), &problems);
  for (auto& f : disk)
    if (Finding* old = s->finding(f.line)) f.count = std::max(f.count, old->count);
  s->findings = std::move(disk);
  for (auto& p : problems) s->problems.push_back("report: " + p);
  const std::string out = report_dir.empty() ? (fs::path(dir) / "report").string() : report_dir;
  if (auto e = write_report(*s, {dir, out}); !e.empty()) {
    fmt::print(stderr, "pinfuzz report: {}\n", e);
    return 2;
  }
  fmt::print("{}", design_table(*s, false));
  fmt::print("report: {}\n", (fs::path(out) / "report.html").string());
  return s->findings.empty() ? 0 : 1;
}

}  // namespace pf::campaign
