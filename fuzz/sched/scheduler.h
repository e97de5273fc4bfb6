// The deterministic scheduler: runs 1..8 model threads as fibers on the
// calling OS thread, switching only at pf::sync scheduling points, as a
// Strategy decides. Same thread bodies + same strategy (same seed or
// preemption list) => same trace and trace_hash, every time and on every
// build type (dev, asan, tsan, release).
//
// How a run ends:
//   every body returns                       -> kCompleted
//   every unfinished thread parked in block() -> kDeadlock
//   more than Options::step_budget steps      -> kHang
//   request_stop(), the strategy's kEndRun,   -> kStopped (a throw is then
//   or a body throws                             rethrown from run())
// Unless it completed, each unfinished thread is then unwound: its next
// scheduling point throws an internal exception, so RAII destructors run
// (scheduling points inside them return normally and do not switch).
// Caveat: that throw cannot cross a noexcept frame. A thread suspended at a
// scheduling point inside a noexcept function (e.g. a destructor that
// unlocks, at ordinary scope exit) when the run ends would std::terminate;
// RAII types whose destructors make shared accesses should be
// noexcept(false).
//
// Site::fn must point to text that never changes (Site::here() gives string
// literals): the trace keeps the pointer and the hash memoizes by it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "fuzz/sched/stack_pool.h"
#include "fuzz/sched/strategy.h"
#include "fuzz/sched/trace.h"

namespace pf::sched {

using ThreadBody = std::function<void()>;

enum class Recording : uint8_t {
  kHashOnly,   // Result::trace stays empty: the fuzzing mode
  kFullTrace,  // every Step kept: for repro and explanation
};

// Sees every step as it is recorded (before the access executes), on the
// fiber that makes it. For coverage feedback: it must not make scheduling
// points, and it must be deterministic if the trace is to stay so.
class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void on_step(uint32_t thread, sync::Site site, const void* obj,
                       sync::Access kind) = 0;
};

struct Options {
  uint64_t step_budget = 100000;  // more steps than this: Status::kHang
  // The memory model (docs/model.md, "Weak memory"). Under kTso and kArm a
  // buffered store becomes visible when the strategy picks a flush choice
  // (Decision::runnable's ids from kFlushBase), or when a barrier, a
  // read-modify-write, block(), wake() or the thread's end drains it.
  sync::Memory memory = sync::Memory::kSc;
  Recording recording = Recording::kHashOnly;
  // Runs after every step, before the next decision, on the fiber that made
  // the step (Relacy's invariant(), folly's setAuxChk). Read-only: it must
  // use peek(), never a scheduling point; it may call request_stop().
  std::function<void()> after_step;
  StackPool* stacks = nullptr;  // nullptr: StackPool::shared()
  // May be changed between runs through Scheduler::set_observer().
  StepObserver* observer = nullptr;
};

class Scheduler {
 public:
  explicit Scheduler(Options options = {});
  ~Scheduler();  // returns the stacks to the pool
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `threads` (1..kMaxThreads; std::invalid_argument otherwise) to the
  // end, installing this scheduler as the sync hook for the duration and
  // restoring the previous hook after. The bodies must outlive the call.
  // Not reentrant. Stacks are kept from one run to the next.
  Result run(std::span<const ThreadBody> threads, Strategy& strategy);

  // From inside a model thread (or Options::after_step): end the run with
  // kStopped; the caller unwinds at its next scheduling point. No-op
  // outside a run or once the run is ending.
  void request_stop();

  // The model thread running now, kNoThread outside one.
  uint32_t current_thread() const;
  // Steps executed so far in the current (or last) run.
  uint64_t steps() const;
  // Budget and observer for the next run (not during one).
  void set_step_budget(uint64_t budget);
  void set_observer(StepObserver* observer);
  void set_recording(Recording recording);
  void set_memory(sync::Memory memory);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pf::sched
