// One deterministic run of a program under a schedule: the model's threads
// become fibers (fuzz/sched), each runs its op program, invariants are
// checked after every step, and the run stops at the first violation. If
// every thread finishes clean, the end-of-run check (final sync, balance,
// pgmaps) runs as one more scheduled thread, so that a final sync that
// blocks is a reported deadlock rather than a hang of the tool.
//
// Contract: the same design, program and schedule give the same RunResult
// (violation, status, steps, trace_hash, trace) on every build type. Nothing
// in a run depends on addresses, clocks or the OS scheduler.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/harness/program.h"
#include "fuzz/scenario/scenario.h"
#include "fuzz/sched/scheduler.h"

namespace pf {

// A StepObserver that is told which world a run is about (for coverage).
class RunObserver : public sched::StepObserver {
 public:
  virtual void begin_run(const World& w) { (void)w; }
};

struct RunOptions {
  sched::Recording recording = sched::Recording::kHashOnly;
  uint64_t step_budget = kDefaultStepBudget;  // more steps than this: hang
  OpMode mode = OpMode::kWellFormed;
  bool check_each_step = true;    // check_invariants() after every step
  RunObserver* observer = nullptr;
  // The memory model (Schedule::memory for a scenario's run).
  sync::Memory memory = sync::Memory::kSc;
};

// Where a model thread began an op: trace steps from `step` on belong to it
// (until the thread's next mark). op == kExitOp: the thread's exit, which
// releases what it still holds; thread == kFinalThread: the final check,
// whose trace steps carry Step::thread == kFinalThread too.
struct OpMark {
  uint8_t thread = 0;
  int16_t op = 0;
  uint64_t step = 0;
  // run_op() said the op did something (program.h); false for one refused
  // or with nothing to act on. Not set for a thread's exit or the final check.
  bool effect = true;
};
inline constexpr int16_t kExitOp = -1;
inline constexpr uint8_t kFinalThread = 0xff;

struct RunResult {
  std::optional<Violation> violation;  // the first one
  uint32_t kinds = 0;                  // every kind seen (1 << kind)
  // A known kernel limitation met (model/limitations.def), the first; not a
  // violation of the design, and never in place of one: a run can have both.
  std::optional<Violation> limitation;
  sched::Status status = sched::Status::kCompleted;
  uint64_t steps = 0;
  uint64_t trace_hash = 0;
  std::string schedule;                // Strategy::describe(), if recorded or violated
  // Recording::kFullTrace only: every step, the object it touched by name
  // (World::describe()), and where each op began.
  std::vector<sched::Step> trace;
  std::vector<std::string> objects;    // parallel to trace
  std::vector<OpMark> marks;

  bool saw(ViolationKind k) const { return kinds & (1u << static_cast<int>(k)); }
};

// Keeps one scheduler (and its fiber stacks) across runs: a campaign's
// executions cost no allocation of stacks. Not thread-safe; one per thread.
class Runner {
 public:
  Runner();
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  RunResult run(const Design& design, const Program& program, sched::Strategy& strategy,
                const RunOptions& options = {});
  // The scenario's own design if it has one, else `fallback`; the
  // scenario's schedule.
  RunResult run(const Scenario& s, const Design& fallback, const RunOptions& options = {});

 private:
  struct State;
  std::unique_ptr<State> st_;
};

// The design a scenario runs under: its own, else `fallback`.
Design effective_design(const Scenario& s, const Design& fallback);

}  // namespace pf
