// `pinfuzz campaign`, `pinfuzz report` and `pinfuzz promote`: overnight
// campaigns over libFuzzer workers (fuzz/campaign/), their report, and
// moving what they found into the regression corpus.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz/campaign/campaign.h"
#include "fuzz/campaign/state.h"
#include "fuzz/cli/cli.h"
#include "fuzz/harness/bugs.h"
#include "fuzz/harness/regress.h"
#include "fuzz/harness/run.h"

namespace pf::cli {
namespace {

namespace fs = std::filesystem;

// The fuzzer a campaign runs when --fuzzer is not given: PINFUZZ_FUZZER, the
// one built beside this pinfuzz, then the campaign and fuzz presets' builds.
std::string default_fuzzer() {
  if (const char* env = std::getenv("PINFUZZ_FUZZER"); env && *env) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) candidates.push_back(self.parent_path() / "targets" / "pinfuzz_fuzzer");
  for (const char* preset : {"campaign", "fuzz"})
    candidates.push_back(fs::path(PINFUZZ_SOURCE_DIR) / "build" / preset / "fuzz" / "targets" /
                         "pinfuzz_fuzzer");
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c.string();
  return candidates.back().string();  // the error message names it
}

std::string default_seeds() { return (fs::path(PINFUZZ_SOURCE_DIR) / "corpus" / "seeds").string(); }

int cmd_promote(const std::string& dir, const std::vector<std::string>& ids, const std::string& to,
                const std::string& name, const std::string& fixed_text) {
  int rc = kExitClean;
  for (const auto& id : ids) {
    const fs::path cdir = fs::path(dir) / "crashes" / id;
    std::ifstream in(cdir / "meta.json");
    if (!in) {
      error(fmt::format("{}: no such finding (ids are the directory names under {}/crashes/, "
                        "listed in the report)",
                        (cdir / "meta.json").string(), dir));
      rc = kExitBadInput;
      continue;
    }
    std::string design_text;
    try {
      design_text = nlohmann::json::parse(in).at("design").get<std::string>();
    } catch (const std::exception& e) {
      error(fmt::format("{}: malformed: {}", (cdir / "meta.json").string(), e.what()));
      rc = kExitBadInput;
      continue;
    }
    auto design = parse_design(design_text);
    if (!design.design) {
      error(fmt::format("{}: design: {}", (cdir / "meta.json").string(), design.error));
      rc = kExitBadInput;
      continue;
    }
    const BugConfig* row = nullptr;
    for (const BugConfig& b : bug_catalog())
      if (b.buggy_design() == *design.design) row = &b;
    // A design outside the catalog needs a name and the configuration that
    // fixes it; strings that the BugConfig's views point into live here.
    const std::string summary = fmt::format("found by pinfuzz campaign {} ({})", dir, id);
    BugConfig custom{name, design_text, fixed_text, ViolationKind::hang, summary, summary};
    if (!row) {
      if (name.empty() || fixed_text.empty()) {
        error(fmt::format("{}: design {} is not a catalog row; say what to file it under with "
                          "--name NAME and --fixed DESIGN (the configuration it must run clean "
                          "under)",
                          id, design_text));
        rc = kExitBadInput;
        continue;
      }
      row = &custom;
    }
    auto fixed = parse_design(row->fixed);
    if (!fixed.design) {
      error("--fixed " + std::string(row->fixed) + ": " + fixed.error);
      rc = kExitBadInput;
      continue;
    }
    std::optional<Scenario> l = load_file((cdir / "scenario.txt").string());
    if (!l) {
      rc = kExitBadInput;
      continue;
    }
    Runner runner;
    RunResult r = runner.run(*l, *design.design);
    if (!r.violation) {
      error(fmt::format("{}: runs clean under {}; nothing to promote", id, design_text));
      rc = kExitBadInput;
      continue;
    }
    Scenario s = *l;
    s.design = *design.design;
    if (RunResult f = runner.run(s, *fixed.design); f.violation) {
      error(fmt::format("{}: not clean under the fix {} ({}): pinfuzz regress would fail it",
                        id, row->fixed, f.violation->to_string()));
      rc = kExitBadInput;
      continue;
    }
    // Under the fix, the scenario's own design must not be the one run.
    std::string path = write_regression(to, *row, s, r, summary);
    if (path.rfind("error: ", 0) == 0) {
      error(path.substr(7));
      rc = kExitBadInput;
      continue;
    }
    fmt::print("{} -> {}\n", id, path);
  }
  return rc;
}

}  // namespace

void add_campaign_commands(CLI::App& app, Action& action) {
  static campaign::Options opt;
  static bool all = false;
  static std::string duration, slice;
  static bool no_seeds = false, plain = false;
  opt.seeds = default_seeds();

  auto* c = app.add_subcommand(
      "campaign",
      "Fuzz designs with pinfuzz_fuzzer workers for a duration, N at a time: triage each "
      "violation into its bucket (design, kind and cause: one bucket per mistake, see "
      "docs/triage.md), minimize the first of each bucket to a 1-minimal scenario in "
      "DIR/crashes/<id>/, show progress, and write DIR/report/report.html. Ctrl-C stops and "
      "writes the report; --resume continues after Ctrl-C, SIGKILL or a power cut. DIR has one "
      "owner: a second campaign or --resume on it exits 2 naming the holder's pid "
      "(DIR/campaign.lock; the lock dies with its holder); report and promote only read it. "
      "exec/s does not decay over hours, and memory does not grow: a libFuzzer worker holds "
      "about 35 MiB (its feature tables), a native one about 7 MiB, the campaign about 11 MiB "
      "(2-hour soak figures in docs/triage.md). Exit 1 if it "
      "found violations, 0 if none, 2 on bad input or a disk error");
  c->add_option("--dir", opt.dir, "Campaign directory (state, corpora, crashes, logs, report)")
      ->capture_default_str();
  c->add_option("--design", opt.designs,
                "Design to fuzz, NAME[,knob=value...]; repeat for several (see `pinfuzz designs`)");
  c->add_flag("--all-designs", all,
              "Every catalog row's buggy design and the correct designs (the default when no "
              "--design is given)");
  c->add_option("--duration", duration,
                "Wall time, e.g. 90s, 10m, 8h, 1h30m; 0 = until Ctrl-C (default for a new "
                "campaign; a resumed one keeps its own unless given)");
  c->add_option("-j,--jobs", opt.jobs,
                "Workers at a time (default: the number of CPUs); more than the designs or 4x "
                "the CPUs is lowered to that, with a note")
      ->check(positive_count());
  c->add_flag("--resume", opt.resume,
              "Continue the campaign in --dir: its designs, counters and findings; crash files "
              "left untriaged are triaged first");
  c->add_option("--fuzzer", opt.fuzzer,
                "pinfuzz_fuzzer binary (default: $PINFUZZ_FUZZER, beside this pinfuzz, then "
                "build/campaign, then build/fuzz)");
  c->add_option("--seeds", opt.seeds, "Text scenarios to seed every design's corpus with")
      ->capture_default_str();
  c->add_flag("--no-seeds", no_seeds, "Start every design from an empty corpus");
  c->add_option("--slice", slice,
                "Time a worker spends on one design before the next takes its turn (default: "
                "85% of an equal share of the duration, 5 s..5 m; 2 m without a duration)");
  c->add_option("--hang", opt.hang_seconds,
                "Kill and restart a worker silent for this many seconds")
      ->capture_default_str()
      ->check(positive_seconds());
  c->add_option("--distill-at", opt.distill_at,
                "Distill a design's corpus (libFuzzer -merge=1) before its next slice once it "
                "holds this many inputs, and twice as many as after the last distillation")
      ->capture_default_str()
      ->check(positive_count());
  c->add_option("--search-mix", opt.search_mix,
                "What a design's successive slices run, in rotation: random, pct or mix (the "
                "in-process search, pinfuzz_fuzzer --search, mutating the design's corpus; mix: "
                "a PCT schedule one time in three, else a random one) or libfuzzer "
                "(coverage-guided, --amplify=8 schedules per input)")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--fuzzer-arg", opt.fuzzer_args,
                "Extra argument for every worker, e.g. --fuzzer-arg=-use_value_profile=1 "
                "or --fuzzer-arg=--strategy=pct; repeatable. --resume reuses the campaign's "
                "unless given, and refuses another --strategy or --steps");
  c->add_flag("--stop-at-first", opt.stop_at_first,
              "End the campaign (as Ctrl-C does: triage, report, exit 1) at its first "
              "violation; for a catalog design, at the first of the kind its row expects");
  c->add_option("--report", opt.report_dir, "Report directory (default DIR/report)");
  c->add_flag("--plain", plain, "Log lines every 10 s instead of one refreshed progress line");
  c->add_flag("-q,--quiet", opt.quiet, "No progress; findings and the summary only");
  c->callback([&action] {
    action = [] {
      if (all && !opt.designs.empty()) {
        error("campaign: --all-designs and --design exclude each other");
        return kExitBadInput;
      }
      if (std::string e = campaign::check_search_mix(opt.search_mix); !e.empty()) {
        error("campaign: --search-mix: " + e);
        return kExitBadInput;
      }
      if (!duration.empty()) {
        auto d = campaign::parse_duration(duration);
        if (!d) {
          error(fmt::format("campaign: --duration {}: want e.g. 90s, 10m, 8h, 1h30m or 0", duration));
          return kExitBadInput;
        }
        opt.duration = *d;
      }
      if (!slice.empty()) {
        auto d = campaign::parse_duration(slice);
        if (!d || *d < 1) {
          error(fmt::format("campaign: --slice {}: want a duration of at least 1s", slice));
          return kExitBadInput;
        }
        opt.slice = *d;
      }
      if (no_seeds) opt.seeds.clear();
      if (opt.fuzzer.empty()) opt.fuzzer = default_fuzzer();
      opt.dict = dictionary_text();
      opt.progress_tty = !plain && ::isatty(2);
      return campaign::run(opt);
    };
  });

  static std::string report_dir, report_out;
  auto* r = app.add_subcommand(
      "report", "Rewrite a campaign's report (report.json, report.html) from its directory, "
                "one row per bucket with its fine-grained signature; prints the per-design "
                "table. Reads the campaign (no lock): safe beside a running one. Exit 1 if it "
                "lists violations");
  r->add_option("DIR", report_dir, "Campaign directory")->required();
  r->add_option("--report", report_out, "Report directory (default DIR/report)");
  r->callback([&action] {
    action = [] { return campaign::regenerate_report(report_dir, report_out); };
  });

  static std::string promote_dir, promote_to = "corpus/regressions", promote_name, promote_fixed;
  static std::vector<std::string> promote_ids;
  auto* p = app.add_subcommand(
      "promote",
      "Copy minimized findings of a campaign (one per bucket) into the regression corpus, with "
      "their metadata (each must violate under its design and run clean under the fix). Reads "
      "the campaign (no lock): safe beside a running one");
  p->add_option("DIR", promote_dir, "Campaign directory")->required();
  p->add_option("ID", promote_ids, "Finding ids (directory names under DIR/crashes/)")->required();
  p->add_option("--to", promote_to, "Regression corpus")->capture_default_str();
  p->add_option("--name", promote_name,
                "For a design outside the catalog: the directory to file it under");
  p->add_option("--fixed", promote_fixed,
                "For a design outside the catalog: the configuration it must run clean under");
  p->callback([&action] {
    action = [] {
      return cmd_promote(promote_dir, promote_ids, promote_to, promote_name, promote_fixed);
    };
  });

  static campaign::ImportOptions import_opt;
  static std::string import_strategy, import_steps;
  auto* im = app.add_subcommand(
      "import",
      "Triage crash files from elsewhere (a ClusterFuzz or ClusterFuzzLite testcase directory, "
      "another machine's libFuzzer run) into a campaign as its workers' are: replayed, "
      "bucketed, the first of each bucket minimized into DIR/crashes/<id>/, the rest counted; "
      "then its report is rewritten. A file's design is --design, else the "
      "pinfuzz_fuzzer_<design> in its name (ClusterFuzz names testcases after their target). "
      "The files are only read. Takes DIR's lock. Exit 2 if a file could not be used (each "
      "named), else 1 if the report lists violations, else 0");
  im->add_option("DIR", import_opt.dir, "Campaign directory")->required();
  im->add_option("SOURCE", import_opt.sources, "Crash files, or directories of them")->required();
  im->add_option("--design", import_opt.design,
                 "Design every file ran under, NAME[,knob=value...] (default: from each name)");
  im->add_option("--strategy", import_strategy,
                 "How the fuzzer read the schedule bytes, as its --strategy (default random, "
                 "pinfuzz_fuzzer's own default)");
  im->add_option("--steps", import_steps, "The fuzzer's --steps, if it was given one");
  im->callback([&action] {
    action = [] {
      import_opt.strategy = kFuzzerDefaultStrategy;
      if (!import_strategy.empty()) {
        if (auto e = parse_strategy_value(import_strategy, &import_opt.strategy); !e.empty()) {
          error("import: " + e);
          return kExitBadInput;
        }
      }
      if (!import_steps.empty()) {
        if (auto e = parse_steps_value(import_steps, &import_opt.step_budget); !e.empty()) {
          error("import: " + e);
          return kExitBadInput;
        }
      }
      return campaign::import_crashes(import_opt);
    };
  });
}

}  // namespace pf::cli
