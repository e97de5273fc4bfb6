// `pinfuzz repro` and `pinfuzz run`: replaying a crash input, and running a
// scenario under a strategy and seed. Both print the violation, the
// scenario as text and the interleaving as a swimlane timeline.
#include <fmt/format.h>

#include <filesystem>

#include "fuzz/cli/cli.h"
#include "fuzz/harness/minimize.h"
#include "fuzz/harness/run.h"
#include "fuzz/harness/signature.h"
#include "fuzz/harness/timeline.h"

namespace pf::cli {
namespace {

struct ShowOptions {
  bool quiet = false;  // signature lines only
  TimelineOptions timeline;
};

// Prints one recorded run: signature or clean line, then scenario and timeline.
void print_run(const std::string& label, const Scenario& s, const Design& d, const RunResult& r,
               const std::string& replay, const ShowOptions& o) {
  if (r.violation) {
    fmt::print("{}\n", violation_line(*r.violation, d.name()));
    if (auto sig = signature_of(r); sig && !r.trace.empty()) {
      fmt::print("bucket: {}\n", sig->key());
      fmt::print("signature: {}\n", sig->to_string());
    }
    fmt::print("replay: {}\n", replay);
  } else {
    fmt::print("clean: {}: no violation under design={} ({} steps, trace {:016x})\n", label,
               d.name(), r.steps, r.trace_hash);
  }
  if (r.limitation) fmt::print("{}\n", limitation_line(*r.limitation, d.name()));
  if (o.quiet) return;
  fmt::print("schedule: {}   steps: {}   trace: {:016x}\n", r.schedule, r.steps, r.trace_hash);
  Scenario shown = s;
  shown.design = d;
  fmt::print("\n--- scenario ---\n{}", print_text(shown));
  fmt::print("\n--- timeline ---\n{}\n", render_timeline_text(shown, r, o.timeline));
}

RunOptions recording(const RunConfig& c) {
  RunOptions o;
  o.recording = sched::Recording::kFullTrace;
  o.step_budget = c.step_budget;
  return o;
}

std::string html_path(const std::string& html, const std::string& file, bool many) {
  if (!many) return html;
  return html + "/" + std::filesystem::path(file).filename().string() + ".html";
}

int cmd_repro(const std::vector<std::string>& files, const RunConfig& config,
              const std::string& html, const ShowOptions& o) {
  bool any_bad = false, any_violation = false;
  if (!html.empty() && files.size() > 1 && !std::filesystem::is_directory(html)) {
    error(fmt::format("--html {}: not a directory (several files need a directory)", html));
    return kExitBadInput;
  }
  Runner runner;
  for (const auto& f : files) {
    std::optional<Scenario> l = load_file(f, config.decode_options());
    if (!l) {
      any_bad = true;
      continue;
    }
    Design d = effective_design(*l, config.fallback_design());
    RunResult r = runner.run(*l, d, recording(config));
    std::string flags = config.replay_flags();
    std::string replay = fmt::format("pinfuzz repro {}{}{}", flags, flags.empty() ? "" : " ", f);
    if (files.size() > 1) fmt::print("== {}\n", f);
    print_run(f, *l, d, r, replay, o);
    any_violation |= r.violation.has_value();
    if (!html.empty()) {
      Scenario shown = *l;
      shown.design = d;
      std::string title = r.violation ? violation_line(*r.violation, d.name()) : "clean: " + f;
      std::string path = html_path(html, f, files.size() > 1);
      std::string err = write_file_atomic(path, render_timeline_html(shown, r, title, replay));
      if (!err.empty()) {
        error(err);
        any_bad = true;
      } else {
        fmt::print("timeline written to {}\n", path);
      }
    }
  }
  return any_bad ? kExitBadInput : any_violation ? kExitViolation : kExitClean;
}

int cmd_run(const std::string& file, const RunConfig& config, std::optional<uint64_t> seed,
            uint64_t runs, bool keep_going, const ShowOptions& o) {
  std::optional<Scenario> l = load_file(file, config.decode_options());
  if (!l) return kExitBadInput;
  Scenario s = *l;
  Design d = effective_design(s, config.fallback_design());
  if (seed) s.schedule.seed = *seed;
  const bool seeded = s.schedule.kind != ScheduleKind::kInput;
  if (!seeded && runs > 1) {
    fmt::print("note: the input strategy has no seed; every run is the same, running once\n");
    runs = 1;
  }
  Runner runner;
  uint64_t violations = 0;
  const uint64_t first_seed = s.schedule.seed;
  for (uint64_t i = 0; i < runs; ++i) {
    Scenario si = s;
    si.schedule.seed = first_seed + i;
    // Record only what will be shown: a single run, or a violation.
    RunOptions fast;
    fast.step_budget = config.step_budget;
    RunResult r = runner.run(si, d, runs == 1 ? recording(config) : fast);
    if (!r.violation) {
      if (runs == 1) print_run(file, si, d, r, "", o);
      continue;
    }
    ++violations;
    if (violations == 1 || keep_going) {
      if (r.trace.empty()) r = runner.run(si, d, recording(config));  // same run, recorded
      Scenario shown = si;
      shown.design = d;
      std::string replay = fmt::format("pinfuzz run {} --design={} --strategy={} --seed={} --runs=1",
                                       file, d.name(), schedule_kind_name(si.schedule.kind),
                                       si.schedule.seed);
      print_run(file, si, d, r, replay, o);
    }
    if (!keep_going) break;
  }
  fmt::print("{} run(s) of {} under {}, seeds from {}: {} with a violation\n", runs, file,
             d.name(), first_seed, violations);
  return violations ? kExitViolation : kExitClean;
}

void add_show_options(CLI::App& cmd, ShowOptions& o) {
  cmd.add_flag("-q,--quiet", o.quiet, "Print only the violation (or clean) line and replay command");
  cmd.add_option("--rows", o.timeline.max_rows,
                 "Timeline rows to show before the violation (0: all)")
      ->capture_default_str();
  cmd.add_flag("--ascii", o.timeline.ascii, "ASCII-only timeline (no Unicode arrows)");
}

}  // namespace

void add_run_commands(CLI::App& app, Action& action) {
  static RunConfig config;
  static std::vector<std::string> files;
  static std::string html;
  static ShowOptions show;

  auto* repro = app.add_subcommand(
      "repro",
      "Replay crash inputs or scenarios (bytes or text): print the violation, the scenario as "
      "text and the interleaving as a swimlane timeline. Exit 1 if one reproduces, 0 if all "
      "run clean, 2 on bad input");
  repro->add_option("FILE", files, "Crash inputs or scenario files")->required();
  repro->add_option("--html", html,
                    "Also write the timeline as a self-contained HTML/SVG page (a directory "
                    "when several files are given)");
  add_config_options(*repro, config);
  add_show_options(*repro, show);
  repro->callback([&action] { action = [] { return cmd_repro(files, config, html, show); }; });

  static std::string run_file;
  static std::optional<uint64_t> seed;
  static uint64_t runs = 1;
  static bool keep_going = false;
  auto* run = app.add_subcommand(
      "run",
      "Run a scenario under a strategy and seed (e.g. --strategy=pct --seed=1 --runs=1000); "
      "prints each run's seed with its violation. Exit 1 if any run found a violation");
  run->add_option("FILE", run_file, "Scenario file (text or bytes)")->required();
  run->add_option("--seed", seed, "First seed (random, pct); run i uses seed + i");
  run->add_option("--runs", runs, "Number of runs")->capture_default_str()->check(positive_count());
  run->add_flag("--keep-going", keep_going, "Do not stop at the first violating run");
  add_config_options(*run, config);
  add_show_options(*run, show);
  run->callback([&action] {
    action = [] { return cmd_run(run_file, config, seed, runs, keep_going, show); };
  });
}

}  // namespace pf::cli
