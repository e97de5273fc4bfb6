// pinfuzz verify: bounded exhaustive checking of one scenario. Every
// schedule with at most K preemptions is run, bound by bound (0, 1, .., K:
// iterative context bounding, Musuvathi and Qadeer, "Iterative Context
// Bounding for Systematic Testing of Multithreaded Programs", PLDI 2007),
// with sleep sets (Godefroid, "Partial-Order Methods for the Verification of
// Concurrent Systems", LNCS 1032, 1996) so that schedules that differ only in
// the order of independent adjacent steps are not run twice.
//
// Contract: deterministic (the same scenario, design and options give the
// same result, counts and counterexample on every build); the
// counterexample's `schedule input` replays, under Runner or `pinfuzz
// repro`, to the violation the search saw (replay_matches says it did). The
// reduction never misses a violation the unreduced search finds at the same
// bound, as far as the model keeps the hook's contract (every shared access
// is a scheduling point): docs/verify.md states the independence relation,
// why sleep sets stay sound under a preemption bound here, and where the
// model's off-schedule state (ghost counters, oracles' peek()s) is outside
// that argument.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "fuzz/harness/run.h"

namespace pf {

struct VerifyProgress {
  uint32_t bound = 0;
  uint64_t schedules = 0;      // this bound so far, run to their end
  uint64_t sleep_blocked = 0;  // this bound so far, cut short
  uint64_t runs = 0;           // every bound, every execution
  double seconds = 0;
};

struct VerifyOptions {
  uint32_t max_preemptions = 2;  // K
  // Executions (schedules run to their end plus those the sleep sets cut
  // short), over every bound; the search stops there, kBudgetExhausted.
  uint64_t max_runs = UINT64_MAX;
  bool reduction = true;  // false: every schedule, no sleep sets
  // Stop only at a violation of this kind (one that also saw it: kinds);
  // others are counted in other_kinds and the search goes on, as
  // `pinfuzz find --expect` does.
  std::optional<ViolationKind> expect;
  uint64_t step_budget = kDefaultStepBudget;
  // Called about every `progress_seconds` of a long search (wall clock:
  // what it reports is deterministic, when it is called is not).
  std::function<void(const VerifyProgress&)> progress;
  double progress_seconds = 2;
};

// One bound of the iteration: the search over every schedule with at most
// `bound` preemptions.
struct VerifyBound {
  uint32_t bound = 0;
  uint64_t schedules = 0;      // run to their end (at most `bound` preemptions)
  uint64_t new_schedules = 0;  // of those, exactly `bound`: not seen at a lower bound
  // Runs ended early because every thread the bound allows to run next was
  // asleep: the rest of the schedule is equivalent to one already run.
  uint64_t sleep_blocked = 0;
  // New schedules that met a known kernel limitation (limitations.def): not
  // violations, counted apart.
  uint64_t limitation_schedules = 0;
  bool complete = false;  // every schedule of the bound was explored
};

enum class VerifyOutcome : uint8_t {
  kClean,            // no violation with <= K preemptions
  kViolation,        // the first one: counterexample
  kBudgetExhausted,  // max_runs ran out at bounds.back().bound
};

struct VerifyResult {
  VerifyOutcome outcome = VerifyOutcome::kClean;
  std::vector<VerifyBound> bounds;  // the ones started, in order
  uint64_t runs = 0;                // every execution, every bound
  uint64_t schedules() const;       // distinct schedules run to their end: sum of new
  uint64_t limitation_schedules() const;
  uint32_t limitation_kinds = 0;    // 1 << kind
  // With VerifyOptions::expect: violations of other kinds passed on the
  // way (1 << kind), and the schedules that showed them.
  uint32_t other_kinds = 0;
  uint64_t other_schedules = 0;
  // The first limitation met, as a replayable scenario (schedule input).
  std::optional<Violation> first_limitation;
  Scenario limitation_scenario;

  // kViolation: the scenario with the design set and the violating schedule
  // as preemption points; the run that found it (hash only) and its replay
  // through Runner (recorded); its preemptions.
  Scenario counterexample;
  RunResult found;
  RunResult replay;
  uint32_t preemptions = 0;
  // The replay showed the same violation (kind, pfn, thread, fn, detail,
  // step) after the same interleaving (trace hash).
  bool replay_matches = false;
};

// Explores `s` (its threads and world; its own schedule is ignored) under
// `design`. Throws std::runtime_error if a run does not follow the
// decisions it replays (the model is not deterministic: a bug to report).
VerifyResult verify(const Scenario& s, const Design& design, const VerifyOptions& options = {});

}  // namespace pf
