// `pinfuzz minimize`, `pinfuzz find` and `pinfuzz regress`: shrinking a
// crash input, searching for a catalog bug without libFuzzer, and replaying
// the regression corpus.
#include <fmt/format.h>

#include "fuzz/cli/cli.h"
#include "fuzz/harness/bugs.h"
#include "fuzz/harness/minimize.h"
#include "fuzz/harness/regress.h"
#include "fuzz/harness/search.h"
#include "fuzz/harness/signature.h"
#include "fuzz/harness/timeline.h"

namespace pf::cli {
namespace {

size_t op_count(const Scenario& s) {
  size_t n = 0;
  for (const auto& t : s.program.threads) n += t.size();
  return n;
}

void print_minimized(const MinimizeResult& m, const Scenario& before, bool quiet) {
  fmt::print("{}\n", violation_line(*m.run.violation, m.scenario.design->name()));
  fmt::print("minimized: {} thread(s), {} op(s) (from {}, {}), {} steps, {} attempts\n",
             m.scenario.program.threads.size(), op_count(m.scenario),
             before.program.threads.size(), op_count(before), m.run.steps, m.attempts);
  if (quiet) return;
  fmt::print("\n--- scenario ---\n{}", print_text(m.scenario));
  fmt::print("\n--- timeline ---\n{}\n", render_timeline_text(m.scenario, m.run, {}));
}

int cmd_minimize(const std::string& file, const std::string& out, const RunConfig& config,
                 const std::string& bug_name, const std::string& promote, bool quiet) {
  const BugConfig* bug = nullptr;
  if (!promote.empty()) {
    if (bug_name.empty()) {
      error("--promote needs --bug: a regression entry belongs to a catalog row");
      return kExitBadInput;
    }
    if (!(bug = find_bug(bug_name))) {
      error(fmt::format("--bug {}: not in the catalog (pinfuzz designs lists its rows)", bug_name));
      return kExitBadInput;
    }
  }
  std::optional<Scenario> l = load_file(file, config.decode_options());
  if (!l) return kExitBadInput;
  Design d = effective_design(*l, config.fallback_design());
  MinimizeOptions opt;
  opt.step_budget = config.step_budget;
  MinimizeResult m = minimize(*l, d, opt);
  if (!m.run.violation) {
    fmt::print("clean: {}: no violation under design={}, nothing to minimize\n", file, d.name());
    return kExitClean;
  }
  print_minimized(m, *l, quiet);
  if (!out.empty()) {
    if (auto err = write_file_atomic(out, print_text(m.scenario)); !err.empty()) {
      error(err);
      return kExitBadInput;
    }
    fmt::print("written to {} (replay: pinfuzz repro {})\n", out, out);
  }
  if (bug) {
    if (m.run.violation->kind != bug->expected) {
      error(fmt::format("{}: shows {}, but catalog row {} expects {}; not promoted", file,
                        violation_name(m.run.violation->kind), bug->name,
                        violation_name(bug->expected)));
      return kExitBadInput;
    }
    std::string path = write_regression(promote, *bug, m.scenario, m.run,
                                        fmt::format("pinfuzz minimize {}", file));
    if (path.rfind("error: ", 0) == 0) {
      error(path.substr(7));
      return kExitBadInput;
    }
    fmt::print("promoted to {}\n", path);
  }
  return kExitViolation;
}

int cmd_find(const std::string& bug_name, const RunConfig& config, SearchStrategy strategy,
             uint64_t seed, double seconds, uint64_t runs, const std::string& promote, bool quiet) {
  const BugConfig* bug = nullptr;
  if (!bug_name.empty() && !(bug = find_bug(bug_name))) {
    std::string names;
    for (const BugConfig& b : bug_catalog()) names += fmt::format(" {}", b.name);
    error(fmt::format("--bug {}: not in the catalog (one of:{})", bug_name, names));
    return kExitBadInput;
  }
  if (!promote.empty() && !bug) {
    error("--promote needs --bug: a regression entry belongs to a catalog row");
    return kExitBadInput;
  }
  const Design design = bug ? bug->buggy_design() : config.fallback_design();
  const std::optional<ViolationKind> expect =
      bug ? std::optional(bug->expected) : config.expect;
  // A catalog row's design runs under the memory model that shows it,
  // unless --memory says otherwise.
  const sync::Memory memory = config.memory.value_or(default_memory(design));
  fmt::print("searching for {} under {}, {} schedules, seed {}, memory {}, up to {} s\n",
             expect ? violation_name(*expect) : "any violation", design.name(),
             search_strategy_name(strategy), seed,
             sync::memory_name(memory), seconds);
  SearchResult r = search(design, strategy, seed, expect, SearchBudget{runs, seconds},
                          config.step_budget, nullptr, memory);
  if (!r.found) {
    fmt::print("not found after {} executions in {:.1f} s\n", r.runs, r.seconds);
    return kExitClean;
  }
  fmt::print("found after {} executions in {:.2f} s; minimizing\n", r.runs, r.seconds);
  MinimizeOptions mopt;
  mopt.step_budget = config.step_budget;
  MinimizeResult m = minimize(r.scenario, design, mopt);
  print_minimized(m, r.scenario, quiet);
  if (!promote.empty()) {
    std::string found_by = fmt::format("pinfuzz find --bug {} --strategy {} --seed {}", bug->name,
                                       search_strategy_name(strategy), seed);
    std::string path = write_regression(promote, *bug, m.scenario, m.run, found_by);
    if (path.rfind("error: ", 0) == 0) {
      error(path.substr(7));
      return kExitBadInput;
    }
    fmt::print("promoted to {}\n", path);
  }
  return kExitViolation;
}

int cmd_regress(const std::string& dir, bool update, bool quiet) {
  std::vector<std::string> errors;
  auto entries = load_regressions(dir, &errors);
  for (const auto& e : errors) error(e);
  int pass = 0, fail = 0, drift = 0, updated = 0, bad = static_cast<int>(errors.size());
  for (const RegressionEntry& e : entries) {
    RegressCheck c = check_regression(e, update);
    const char* tag = "ok";
    switch (c.status) {
      case RegressStatus::kPass: ++pass; break;
      case RegressStatus::kUpdated: ++updated, tag = "UPDATED"; break;
      case RegressStatus::kFail: ++fail, tag = "FAIL"; break;
      case RegressStatus::kDrift: ++drift, tag = "DRIFT"; break;
      case RegressStatus::kBadInput: ++bad, tag = "BAD"; break;
    }
    if (!quiet || c.status != RegressStatus::kPass)
      fmt::print("{:<8} {}: {}\n", tag, e.path, c.message);
  }
  fmt::print("{} entr{}: {} ok, {} failed, {} drifted, {} updated, {} unreadable\n",
             entries.size(), entries.size() == 1 ? "y" : "ies", pass, fail, drift, updated, bad);
  if (entries.empty() && errors.empty()) {
    error(fmt::format("{}: no regression entries (*.txt with *.json) found", dir));
    return kExitBadInput;
  }
  if (bad) return kExitBadInput;
  return fail || drift ? kExitViolation : kExitClean;
}

}  // namespace

void add_corpus_commands(CLI::App& app, Action& action) {
  static RunConfig config;
  static std::string file, out, bug, promote, dir;
  static bool quiet = false, update = false;
  static uint64_t seed = 1;
  static SearchStrategy strategy = SearchStrategy::kPct;
  static double seconds = 60;
  static uint64_t runs = UINT64_MAX;

  auto* min = app.add_subcommand(
      "minimize",
      "Shrink a crash input or scenario to the fewest threads, ops, pages and preemption points "
      "that still show the same violation bucket (kind and cause: docs/triage.md), until no "
      "single one can go under its schedule or a nearby one (1-minimal); print it and its "
      "timeline. Exit 1 if it violates, 0 if it runs clean, 2 on bad input");
  min->add_option("FILE", file, "Crash input or scenario")->required()->check(CLI::ExistingFile);
  min->add_option("-o,--output", out, "Write the minimized scenario (text) here");
  min->add_option("--promote", promote,
                  "Write the minimized scenario into this regression corpus (with --bug)");
  min->add_option("--bug", bug, "With --promote: the catalog row it belongs to");
  min->add_flag("-q,--quiet", quiet, "No scenario or timeline, just the result");
  add_config_options(*min, config);
  min->callback([&action] {
    action = [] { return cmd_minimize(file, out, config, bug, promote, quiet); };
  });

  auto* find = app.add_subcommand(
      "find",
      "Search with random scenarios under seeded PCT (default) or random schedules, without "
      "libFuzzer, for a bug of the catalog (--bug) or for any violation of a design (--design, "
      "--expect); minimize what it finds. Exit 1 if found, 0 if the time ran out");
  find->add_option("--bug", bug, "Catalog row (bugs.def name; pinfuzz designs lists them)");
  find->add_option_function<std::string>(
      "--expect",
      [](const std::string& v) {
        if (auto e = parse_expect_value(v, &config.expect); !e.empty())
          throw CLI::ValidationError(e);
      },
      "Without --bug: stop only at this violation kind");
  find->add_option("--seed", seed, "Search seed")->capture_default_str();
  find->add_option("--seconds", seconds, "Give up after this long")
      ->capture_default_str()
      ->check(positive_seconds());
  find->add_option("--runs", runs, "Give up after this many executions (default: no limit)")
      ->check(CLI::PositiveNumber);
  find->add_option("--promote", promote,
                   "Write the minimized scenario into this regression corpus "
                   "(e.g. corpus/regressions)");
  find->add_flag("-q,--quiet", quiet, "No scenario or timeline, just the result");
  add_config_options(*find, config);
  // find draws its own schedules: --strategy names the search
  // (fuzz/harness/search.h), not how to read a file's schedule.
  find->remove_option(find->get_option("--strategy"));
  find->add_option_function<std::string>(
         "--strategy",
         [](const std::string& v) {
           // "any" is run's and repro's default (read the schedule as the
           // scenario says): an environment exporting it for them means
           // find's own default here.
           if (v == "any") return;
           const std::optional<SearchStrategy> s = parse_search_strategy(v);
           if (!s)
             throw CLI::ValidationError(fmt::format(
                 "--strategy {}: want pct, random or mix (find draws its own schedules)", v));
           strategy = *s;
         },
         "Schedules to search with: pct (the default), random, or mix (one run per scenario, "
         "a PCT schedule one time in three, else a random one); any: the default")
      ->envname("PINFUZZ_STRATEGY");
  find->callback([&action] {
    action = [] { return cmd_find(bug, config, strategy, seed, seconds, runs, promote, quiet); };
  });

  auto* reg = app.add_subcommand(
      "regress",
      "Replay a regression corpus: each entry must reproduce its violation under its design "
      "with the recorded trace, and run clean under its fix. Exit 1 on a failure or drift");
  reg->add_option("DIR", dir, "Corpus directory (corpus/regressions)")->required();
  reg->add_flag("--update", update,
                "Re-record the trace of entries that still reproduce (after an intended change "
                "of the model's scheduling points)");
  reg->add_flag("-q,--quiet", quiet, "Print only entries that do not pass");
  reg->callback([&action] { action = [] { return cmd_regress(dir, update, quiet); }; });
}

}  // namespace pf::cli
