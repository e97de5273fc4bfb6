// `pinfuzz verify`: every schedule of a scenario with at most K preemptions
// (fuzz/harness/verify.h; docs/verify.md). Prints the schedules explored per
// bound and either "no violation with <= K preemptions" or the first
// violation with its scenario and a replayable `schedule input` line.
// Exit codes: 0 clean, 1 a violation, 2 bad input (or an internal error
// that says so), 3 the --max-schedules budget ran out before bound K was
// done (bounds below the one it stopped in are clean).
#include <fmt/format.h>

#include <stdexcept>

#include "fuzz/cli/cli.h"
#include "fuzz/harness/signature.h"
#include "fuzz/harness/timeline.h"
#include "fuzz/harness/verify.h"

namespace pf::cli {
namespace {

constexpr int kExitBudget = 3;

struct VerifyArgs {
  std::string file;
  std::optional<Design> design;
  std::optional<ViolationKind> expect;
  uint64_t step_budget = kDefaultStepBudget;
  uint32_t preemptions = 0;
  uint64_t max_schedules = UINT64_MAX;
  bool no_reduction = false;
  bool compare = false;
  bool quiet = false;
  std::string output;
};

std::string count(uint64_t n, const char* one, const char* many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

// Why the last bound did not finish, if it did not.
const char* unfinished(const VerifyResult& r, const VerifyBound& b) {
  if (b.complete) return "";
  return r.outcome == VerifyOutcome::kViolation ? " [stopped at the violation]" : " [unfinished]";
}

void print_bounds(const VerifyResult& r) {
  for (const VerifyBound& b : r.bounds) {
    fmt::print("bound {}: {} ({} new)", b.bound, count(b.schedules, "schedule", "schedules"),
               b.new_schedules);
    if (b.sleep_blocked) fmt::print(", {} cut short by sleep sets", b.sleep_blocked);
    fmt::print("{}\n", unfinished(r, b));
  }
}

// Both searches, bound by bound: schedules run to their end and executions.
void print_comparison(const VerifyResult& red, const VerifyResult& unred) {
  fmt::print("{:>5}  {:>12}  {:>12}  {:>10}  {:>12}  {:>8}\n", "bound", "reduced", "(executions)",
             "(new)", "unreduced", "factor");
  for (size_t i = 0; i < red.bounds.size() && i < unred.bounds.size(); ++i) {
    const VerifyBound& a = red.bounds[i];
    const VerifyBound& b = unred.bounds[i];
    const double f = a.schedules ? static_cast<double>(b.schedules) / a.schedules : 0;
    fmt::print("{:>5}  {:>12}  {:>12}  {:>10}  {:>12}  {:>8.2f}{}\n", a.bound, a.schedules,
               a.schedules + a.sleep_blocked, a.new_schedules, b.schedules, f,
               a.complete ? unfinished(unred, b) : unfinished(red, a));
  }
  const uint64_t rs = red.schedules(), us = unred.schedules();
  uint64_t cut = 0;
  for (const VerifyBound& b : red.bounds) cut += b.sleep_blocked;
  fmt::print("reduction factor: {:.2f} (unreduced {} / reduced {} schedules); executions: {:.2f} "
             "(unreduced {} / reduced {}, of which {} cut short by sleep sets)\n",
             rs ? static_cast<double>(us) / rs : 0.0, us, rs,
             red.runs ? static_cast<double>(unred.runs) / red.runs : 0.0, unred.runs, red.runs,
             cut);
}

void print_limitations(const VerifyResult& r, const Design& d) {
  if (!r.first_limitation) return;
  fmt::print("known kernel limitations (not violations): {} met one",
             count(r.limitation_schedules(), "schedule", "schedules"));
  for (int k = 0; k < kNumViolationKinds; ++k)
    if (r.limitation_kinds & (1u << k))
      fmt::print(" [{}]", violation_name(static_cast<ViolationKind>(k)));
  fmt::print("; the first:\n{}\n  its schedule: {}\n",
             limitation_line(*r.first_limitation, d.name()),
             r.limitation_scenario.schedule.to_string());
}

int report_violation(const VerifyArgs& a, const VerifyResult& r, const Design& d) {
  const Violation& v = *r.found.violation;
  if (!r.replay_matches) {
    error(fmt::format("verify: {}: the counterexample did not replay to the violation the search "
                      "saw ({}): a bug in pinfuzz, please report it",
                      a.file, violation_name(v.kind)));
    return kExitBadInput;
  }
  const RunResult& rec = r.replay;
  fmt::print("{}\n", violation_line(*rec.violation, d.name()));
  if (auto sig = signature_of(rec)) {
    fmt::print("bucket: {}\n", sig->key());
    fmt::print("signature: {}\n", sig->to_string());
  }
  const uint32_t bound = r.bounds.back().bound;
  fmt::print("found at bound {} after {}: this schedule has {}\n", bound,
             count(r.schedules(), "schedule", "schedules"),
             count(r.preemptions, "preemption", "preemptions"));
  std::string text = print_text(r.counterexample);
  if (!a.output.empty()) {
    if (auto err = write_file_atomic(a.output, text); !err.empty()) {
      error(err);
      return kExitBadInput;
    }
    fmt::print("replay: pinfuzz repro {}\n", a.output);
  } else {
    fmt::print("replay: save the scenario below as FILE, then: pinfuzz repro FILE\n");
  }
  fmt::print("\n--- scenario ---\n{}", text);
  if (!a.quiet)
    fmt::print("\n--- timeline ---\n{}\n", render_timeline_text(r.counterexample, rec, {}));
  return kExitViolation;
}

int cmd_verify(const VerifyArgs& a) {
  DecodeOptions decode;
  decode.ignore_design = a.design.has_value();
  std::optional<Scenario> loaded = load_file(a.file, decode);
  if (!loaded) return kExitBadInput;
  if (loaded->schedule.memory != sync::Memory::kSc) {
    // The sleep sets' independence is that of sc steps; flush choices are
    // not in it yet (docs/verify.md).
    error(fmt::format("verify: {}: memory {}: verify explores sc schedules only; use "
                      "`pinfuzz run --strategy=pct` or `find` for tso and arm",
                      a.file, sync::memory_name(loaded->schedule.memory)));
    return kExitBadInput;
  }
  const Design d = effective_design(*loaded, a.design.value_or(Design{}));

  VerifyOptions opt;
  opt.max_preemptions = a.preemptions;
  opt.max_runs = a.max_schedules;
  opt.step_budget = a.step_budget;
  opt.expect = a.expect;
  const bool reduce = !a.no_reduction;
  const char* label = reduce ? "" : " (no reduction)";
  opt.progress = [&label](const VerifyProgress& p) {
    fmt::print(stderr, "verify{}: bound {}: {} so far, {} cut short; {} executions in {:.0f} s\n",
               label, p.bound, count(p.schedules, "schedule", "schedules"), p.sleep_blocked,
               p.runs, p.seconds);
  };
  fmt::print("verify {}: design {}, at most {}, {}\n", a.file, d.name(),
             count(a.preemptions, "preemption", "preemptions"),
             reduce ? "sleep-set reduction" : "no reduction");
  VerifyResult r, unreduced;
  try {
    opt.reduction = reduce;
    r = verify(*loaded, d, opt);
    if (a.compare) {
      opt.reduction = false;
      label = " (no reduction)";
      unreduced = verify(*loaded, d, opt);
    }
  } catch (const std::exception& e) {
    error(fmt::format("verify: {}: {}", a.file, e.what()));
    return kExitBadInput;
  }
  if (a.compare) {
    print_comparison(r, unreduced);
    const bool found = r.outcome == VerifyOutcome::kViolation;
    const bool found_unreduced = unreduced.outcome == VerifyOutcome::kViolation;
    const bool finished = r.outcome != VerifyOutcome::kBudgetExhausted &&
                          unreduced.outcome != VerifyOutcome::kBudgetExhausted;
    if (finished && (found != found_unreduced ||
                     (found && r.bounds.back().bound != unreduced.bounds.back().bound))) {
      error(fmt::format("verify: {}: the reduced search {} and the unreduced one {}: a soundness "
                        "bug of the reduction, please report it",
                        a.file, found ? "found a violation" : "found none",
                        found_unreduced ? "found one" : "found none"));
      return kExitBadInput;
    }
  } else {
    print_bounds(r);
  }
  print_limitations(r, d);
  if (r.other_kinds) {
    fmt::print("other violations (not {}, passed by --expect):", violation_name(*a.expect));
    for (int k = 0; k < kNumViolationKinds; ++k)
      if (r.other_kinds & (1u << k)) fmt::print(" {}", violation_name(static_cast<ViolationKind>(k)));
    fmt::print(", in {}\n", count(r.other_schedules, "schedule", "schedules"));
  }
  switch (r.outcome) {
    case VerifyOutcome::kClean:
      fmt::print("no {} with <= {} ({})\n",
                 a.expect ? fmt::format("{} violation", violation_name(*a.expect)) : "violation",
                 count(a.preemptions, "preemption", "preemptions"),
                 count(r.schedules(), "schedule", "schedules"));
      return kExitClean;
    case VerifyOutcome::kBudgetExhausted: {
      const uint32_t b = r.bounds.back().bound;
      fmt::print("budget exhausted at bound {} after {} (--max-schedules {}): {}bound {} "
                 "unfinished\n",
                 b, count(r.runs, "execution", "executions"), a.max_schedules,
                 b == 0 ? std::string()
                        : fmt::format("no violation with <= {}; ",
                                      count(b - 1, "preemption", "preemptions")),
                 b);
      return kExitBudget;
    }
    case VerifyOutcome::kViolation:
      return report_violation(a, r, d);
  }
  return kExitBadInput;
}

}  // namespace

void add_verify_commands(CLI::App& app, Action& action) {
  static VerifyArgs args;
  auto* cmd = app.add_subcommand(
      "verify",
      "Run every schedule of a scenario with at most K preemptions, bound by bound (iterative "
      "context bounding), skipping schedules that only reorder independent steps (sleep sets; "
      "docs/verify.md). Exit 0 if none violates, 1 at the first violation (printed with a "
      "replayable schedule), 2 on bad input, 3 if --max-schedules ran out first");
  cmd->add_option("FILE", args.file, "Scenario file (text or bytes); its schedule is ignored")
      ->required();
  cmd->add_option("-k,--preemptions", args.preemptions,
                  "K: the most preemptions (switches away from a thread that could go on; "
                  "switches where a thread blocks or ends are free)")
      ->required()
      ->check(CLI::Range(0, 64));
  cmd->add_option_function<std::string>(
         "--design",
         [](const std::string& v) {
           if (auto e = parse_design_value(v, &args.design); !e.empty())
             throw CLI::ValidationError(e);
         },
         "Design to run under, NAME[,knob=value...] (see `pinfuzz designs`); replaces the "
         "scenario's own")
      ->envname("PINFUZZ_DESIGN");
  cmd->add_option_function<std::string>(
      "--expect",
      [](const std::string& v) {
        if (auto e = parse_expect_value(v, &args.expect); !e.empty())
          throw CLI::ValidationError(e);
      },
      "Stop only at a violation of this kind; others are counted and passed (as with find)");
  cmd->add_option_function<std::string>(
         "--steps",
         [](const std::string& v) {
           if (auto e = parse_steps_value(v, &args.step_budget); !e.empty())
             throw CLI::ValidationError(e);
         },
         fmt::format("Step budget per run; more steps is a hang (default {})", kDefaultStepBudget))
      ->envname("PINFUZZ_STEPS");
  cmd->add_option("--max-schedules", args.max_schedules,
                  "Stop after N executions (schedules run to their end plus those the sleep sets "
                  "cut short, over all bounds); exit 3 if bound K was not finished")
      ->check(positive_count());
  auto* no_reduction = cmd->add_flag(
      "--no-reduction", args.no_reduction,
      "Run every schedule, without sleep sets (the reference the reduction must agree with)");
  cmd->add_flag("--compare", args.compare,
                "Search with and without sleep sets; print both counts per bound and the "
                "reduction factor, and fail (exit 2) if they disagree on finding a violation")
      ->excludes(no_reduction);
  cmd->add_option("-o,--output", args.output,
                  "Write the violating scenario (text, with its schedule) here");
  cmd->add_flag("-q,--quiet", args.quiet, "No timeline after a violation");
  cmd->callback([&action] { action = [] { return cmd_verify(args); }; });
}

}  // namespace pf::cli
