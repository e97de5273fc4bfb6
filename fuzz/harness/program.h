// Running a Program (fuzz/scenario/op.h): one op on one model thread, and
// whole programs sequentially or on free-running threads. Executing an Op is
// deterministic given the interleaving of the model's shared accesses; the
// caller decides that interleaving (sequential, real threads, or the
// deterministic scheduler in run.h).
#pragma once

#include <cstdint>
#include <optional>

#include "fuzz/scenario/op.h"
#include "model/check.h"
#include "model/mm.h"

namespace pf {

// Shared accesses (steps) a run of a program may make; more is a hang. One
// default for everything that counts steps: the scheduled run (RunOptions),
// the sequential one, minimization, search and the runners' --steps. It bounds what one fuzzing execution may cost, and lies far
// above what a program needs unless it livelocks: each of the self-check
// catalog's programs makes fewer than 200 steps run sequentially.
inline constexpr uint64_t kDefaultStepBudget = 20000;

// How a program's releases are held to the API contract.
enum class OpMode : uint8_t {
  // Ops do exactly what they say: a release of an empty slot, or of a
  // FOLL_GET page with an unpin, is reported as api_misuse. The self-check
  // catalog uses this to show the oracle.
  kStrict,
  // Ops behave as a correct driver would (the fuzzing mode): a release
  // addresses only held pages of the kind it releases and is skipped
  // otherwise; the device writes, and a release dirties, only pages taken
  // with FOLL_WRITE; a thread tears down device memory only while it holds
  // no GUP references (a teardown runs in its own context);
  // a thread's exit releases what it still holds. What remains to be found
  // are the design's mistakes, not the caller's.
  kWellFormed,
};

// Runs one op for `t`. Never throws; bad arguments are a no-op or an errno.
// Returns whether it did anything: false for an op refused or with nothing
// to act on (a GUP that grabbed nothing, a release with no handle of its
// kind, a fault that failed, a migration that gave up). A hint, for the
// minimizer to try removing such ops first; never an oracle.
bool run_op(World& w, Task& t, const Op& op, OpMode mode = OpMode::kStrict);
// A driver's teardown at thread exit: releases every page `t` still holds
// (without dirtying), as process exit or driver close would.
void release_all(World& w, Task& t);

struct Outcome {
  std::optional<Violation> violation;  // the first one
  uint32_t kinds = 0;                  // every kind seen
  uint64_t steps = 0;                  // shared accesses made
  bool saw(ViolationKind k) const { return kinds & (1u << static_cast<int>(k)); }
};

struct SequentialOptions {
  uint64_t step_budget = kDefaultStepBudget;
  bool check_each_op = true;  // check_invariants() after every op
};

// Runs the threads' ops round-robin, one whole op at a time, on the calling
// OS thread, then final_check(). An op that would block is a deadlock (no
// other thread can run inside an op); the step budget running out is a hang.
Outcome run_sequential(const Design& d, const Program& p, SequentialOptions opt = {});

// Runs each thread's program on its own std::thread (free mode), repeated
// `rounds` times on a fresh world each, stopping at the first violation.
Outcome run_threads(const Design& d, const Program& p, int rounds);

}  // namespace pf
