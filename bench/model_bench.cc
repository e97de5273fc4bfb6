// What a fuzzing execution of the real model costs: the default 3-thread
// scenario (corpus/seeds/three_threads.txt, default design) run as the
// fuzzer runs it (pf::Runner: fibers, invariant check after every step),
// with and without the interleaving-coverage observer, the same ops with no
// scheduler at all, and the same ops under OS threads passing a baton
// (folly's DeterministicSchedule design). Compare as ratios within one run:
// scheduled/unscheduled is the scheduler's overhead, fiber/baton what fibers
// buy. Run a Release build with --benchmark_format=json, pinned to one core
// (taskset -c 1) for baton figures that are stable: a futex wake-up across
// cores varies a lot from run to run. Counters: execs_per_s (executions per second),
// steps_per_exec (shared accesses per execution, final check included),
// time_per_step (seconds in JSON), bad_per_exec (share of executions that
// ended with a violation, deadlock or hang; 0 for a correct design).
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <semaphore>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fuzz/harness/coverage.h"
#include "fuzz/harness/program.h"
#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"
#include "model/check.h"
#include "model/sync/hook.h"

#ifndef PINFUZZ_SOURCE_DIR
#error "bench/CMakeLists.txt defines PINFUZZ_SOURCE_DIR (to find corpus/seeds)"
#endif

namespace {

using pf::sched::Decision;
using pf::sched::Reason;
using pf::sched::Status;
using pf::sched::Strategy;
namespace sync = pf::sync;

// ---- the scenario ------------------------------------------------------------

const pf::Scenario& scenario() {
  static const pf::Scenario s = [] {
    const std::string path = PINFUZZ_SOURCE_DIR "/corpus/seeds/three_threads.txt";
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    pf::TextParse p = pf::parse_text(text.str(), path);
    if (!in || !p.scenario) {
      std::fprintf(stderr, "model_bench: cannot load %s: %s\n", path.c_str(),
                   p.error.c_str());
      std::exit(1);
    }
    return *p.scenario;
  }();
  return s;
}

const pf::Design kDesign{};  // the default design (designs.def)

// The fuzzer's strategy of that kind: the scenario's own preemption points
// for input, the codec's default options (one_in=8; depth=3, k=200) else.
std::unique_ptr<Strategy> strategy_of(pf::ScheduleKind kind) {
  pf::Schedule s;
  s.kind = kind;
  s.points = scenario().schedule.points;
  return s.make_strategy();
}

// Model thread `t` as Runner runs it in OpMode::kWellFormed: its ops, then
// release_all at exit.
void thread_body(pf::World& w, const pf::Program& p, size_t t) {
  pf::Task& task = w.tasks[t];
  for (const pf::Op& op : p.threads[t]) pf::run_op(w, task, op, pf::OpMode::kWellFormed);
  pf::release_all(w, task);
}

void set_exec_counters(benchmark::State& state, uint64_t steps, uint64_t bad) {
  const auto iters = double(state.iterations());
  state.counters["execs_per_s"] = benchmark::Counter(iters, benchmark::Counter::kIsRate);
  state.counters["steps_per_exec"] = benchmark::Counter(double(steps) / iters);
  state.counters["time_per_step"] = benchmark::Counter(
      double(steps), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["bad_per_exec"] = benchmark::Counter(double(bad) / iters);
}

// Thrown at a scheduling point to unwind a thread once a run has ended.
struct StopRun {};

// ---- fibers: pf::Runner, as the fuzzer runs it ----------------------------------

void run_scheduled(benchmark::State& state, pf::ScheduleKind kind, pf::RunOptions opt) {
  const pf::Program& program = scenario().program;
  auto strategy = strategy_of(kind);
  pf::Runner runner;  // one per campaign: stacks are reused
  uint64_t steps = 0, bad = 0, seed = 0;
  for (auto _ : state) {
    strategy->reseed(seed++);  // no-op for input: the same schedule each time
    pf::RunResult r = runner.run(kDesign, program, *strategy, opt);
    steps += r.steps;
    bad += r.violation.has_value();
  }
  set_exec_counters(state, steps, bad);
}

void BM_ModelScheduled(benchmark::State& state, pf::ScheduleKind kind) {
  run_scheduled(state, kind, {});
}
BENCHMARK_CAPTURE(BM_ModelScheduled, input, pf::ScheduleKind::kInput)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelScheduled, random, pf::ScheduleKind::kRandom)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelScheduled, pct, pf::ScheduleKind::kPct)->UseRealTime();

// Executions per second per memory model (issue 19): BM_ModelScheduled is
// sc; these run the same scenario and strategies with store buffers, whose
// flushes are the strategy's choices.
void BM_ModelMemory(benchmark::State& state, pf::ScheduleKind kind, pf::sync::Memory memory) {
  pf::RunOptions opt;
  opt.memory = memory;
  run_scheduled(state, kind, opt);
}
BENCHMARK_CAPTURE(BM_ModelMemory, random_tso, pf::ScheduleKind::kRandom, pf::sync::Memory::kTso)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelMemory, random_arm, pf::ScheduleKind::kRandom, pf::sync::Memory::kArm)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelMemory, pct_tso, pf::ScheduleKind::kPct, pf::sync::Memory::kTso)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelMemory, pct_arm, pf::ScheduleKind::kPct, pf::sync::Memory::kArm)
    ->UseRealTime();

// What libFuzzer pays: the interleaving-coverage observer on every step.
void BM_ModelScheduledWithCoverage(benchmark::State& state, pf::ScheduleKind kind) {
  static std::array<uint8_t, pf::InterleavingCoverage::kSize> counters;
  pf::InterleavingCoverage coverage(counters);
  pf::RunOptions opt;
  opt.observer = &coverage;
  run_scheduled(state, kind, opt);
}
BENCHMARK_CAPTURE(BM_ModelScheduledWithCoverage, input, pf::ScheduleKind::kInput)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelScheduledWithCoverage, random, pf::ScheduleKind::kRandom)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelScheduledWithCoverage, pct, pf::ScheduleKind::kPct)
    ->UseRealTime();

// For attributing the scheduled cost: without the per-step invariant check.
void BM_ModelScheduledNoCheck(benchmark::State& state, pf::ScheduleKind kind) {
  pf::RunOptions opt;
  opt.check_each_step = false;
  run_scheduled(state, kind, opt);
}
BENCHMARK_CAPTURE(BM_ModelScheduledNoCheck, random, pf::ScheduleKind::kRandom)
    ->UseRealTime();

// ---- no scheduler ---------------------------------------------------------------

// A hook on one OS thread that never switches: counts steps, optionally runs
// check_invariants() after each (as Runner's after_step does), and turns a
// block() into StopRun (with nobody else to run, it would never return).
class SequentialHook final : public sync::Hook {
 public:
  SequentialHook(pf::World& w, bool check) : w_(w), check_(check) {}
  void on_access(sync::Site, const void*, sync::Access) override {
    flush();
    ++steps_;
    pending_ = true;
  }
  void block(sync::Site, const void*) override {
    blocked_ = true;
    if (std::uncaught_exceptions() == 0) throw StopRun{};
  }
  void wake(const void*) override {}
  // The check for the last step (Runner does it when the thread returns).
  void flush() {
    if (pending_ && check_) pf::check_invariants(w_);
    pending_ = false;
  }
  uint64_t steps() const { return steps_; }
  bool blocked() const { return blocked_; }

 private:
  pf::World& w_;
  const bool check_;
  uint64_t steps_ = 0;
  bool pending_ = false;
  bool blocked_ = false;
};

// final_check on the calling thread. Returns false if it blocked (under a
// SequentialHook only; in free mode it would spin).
bool checked_final(pf::World& w, SequentialHook* hook) {
  try {
    pf::final_check(w);
  } catch (const StopRun&) {
    return false;
  }
  if (hook) hook->flush();
  return true;
}

// Thread 0's ops, then thread 1's, then thread 2's, then final_check, on the
// calling thread. Returns false if something blocked (as checked_final).
bool run_in_order(pf::World& w, const pf::Program& p, SequentialHook* hook) {
  try {
    for (size_t t = 0; t < p.threads.size(); ++t) thread_body(w, p, t);
  } catch (const StopRun&) {
    return false;
  }
  return checked_final(w, hook);
}

// The model work alone: no hook (free mode: a scheduling point is one
// thread-local load), no fibers, no per-step check. Before timing, the same
// order runs once under a counting hook: to report steps and to make sure
// no op blocks in this order (it would spin forever in free mode).
void BM_ModelUnscheduled(benchmark::State& state) {
  const pf::Program& p = scenario().program;
  uint64_t steps = 0, bad = 0;
  {
    pf::World w(kDesign, p.world);
    SequentialHook hook(w, /*check=*/true);
    sync::ScopedHook scoped(&hook);
    if (!run_in_order(w, p, &hook)) {
      state.SkipWithError("an op blocks when the threads run one after another");
      return;
    }
    steps = hook.steps();
    bad = w.violated();
  }
  if (sync::current_hook() != nullptr) {
    state.SkipWithError("a hook is installed on the benchmark thread");
    return;
  }
  for (auto _ : state) {
    auto w = std::make_unique<pf::World>(kDesign, p.world);  // as Runner::run
    run_in_order(*w, p, nullptr);
    benchmark::DoNotOptimize(w->violated());
  }
  set_exec_counters(state, steps * state.iterations(), bad * state.iterations());
}
BENCHMARK(BM_ModelUnscheduled)->UseRealTime();

// Between the two: the hook and the per-step check, but no fibers and no
// decisions. Scheduled minus this is what the fiber scheduler itself costs.
void BM_ModelUnscheduledChecked(benchmark::State& state) {
  const pf::Program& p = scenario().program;
  uint64_t steps = 0, bad = 0;
  for (auto _ : state) {
    auto w = std::make_unique<pf::World>(kDesign, p.world);
    SequentialHook hook(*w, /*check=*/true);
    sync::ScopedHook scoped(&hook);
    run_in_order(*w, p, &hook);
    steps += hook.steps();
    bad += w->violated();
  }
  set_exec_counters(state, steps, bad);
}
BENCHMARK(BM_ModelUnscheduledChecked)->UseRealTime();

// The fixed cost in every execution above: building and freeing the World.
void BM_WorldConstruction(benchmark::State& state) {
  const pf::Program& p = scenario().program;
  for (auto _ : state) {
    auto w = std::make_unique<pf::World>(kDesign, p.world);
    benchmark::DoNotOptimize(w.get());
  }
  state.counters["world_bytes"] = double(sizeof(pf::World));
}
BENCHMARK(BM_WorldConstruction)->UseRealTime();

// ---- baton passing between OS threads (folly DeterministicSchedule) -------------

// One OS thread per model thread, one semaphore each; only the baton holder
// runs. At every access the holder asks the strategy who takes the next step
// (the same Decision the fiber scheduler builds) and, if that is another
// thread, posts its semaphore and waits on its own. Handoff::kEveryAccess
// posts and waits to keep the baton too, as folly's beforeSharedAccess and
// afterSharedAccess do (with libstdc++'s semaphores every post is a futex
// call, waiter or not). block(obj) parks the holder until a wake(obj); a
// finished thread hands over. The decision points, the per-step check and
// the stop at the first violation mirror fuzz/sched/scheduler.cc, so a
// schedule gives the same steps under both (checked before timing). Not
// mirrored: trace hashing and recording.
class Baton final : public sync::Hook {
 public:
  enum class Threads : uint8_t {
    kPerRun,  // created and joined by every run: the design's honest cost
    kPool,    // created once, parked on their semaphores between runs
  };

  enum class Handoff : uint8_t {
    kOnSwitch,     // semaphores only when another thread takes the step
    kEveryAccess,  // post and wait at every decided access (folly)
  };

  Baton(uint32_t n, Threads mode, Handoff handoff)
      : n_(n), mode_(mode), handoff_(handoff), slots_(n) {
    if (mode_ == Threads::kPool)
      for (uint32_t i = 0; i < n_; ++i)
        workers_.emplace_back([this, i] {
          sync::set_current_hook(this);
          for (;;) {
            slots_[i].sem.acquire();
            if (quit_.load()) return;
            execute(i);
          }
        });
  }
  ~Baton() override {
    quit_.store(true);
    for (Slot& s : slots_) s.sem.release();
    for (std::thread& t : workers_) t.join();
  }

  struct Outcome {
    Status status = Status::kCompleted;
    uint64_t steps = 0;
    uint64_t switches = 0;  // baton hand-overs between OS threads
  };

  // The model threads of `p` under `strategy`; final_check is the caller's.
  Outcome run(pf::World& w, const pf::Program& p, Strategy& strategy,
              uint64_t step_budget = pf::kDefaultStepBudget) {
    world_ = &w;
    program_ = &p;
    strategy_ = &strategy;
    budget_ = step_budget;
    steps_ = unwind_steps_ = switches_ = 0;
    stopping_ = step_pending_ = false;
    covered_ = true;  // the kStart decision covers the first access
    status_ = Status::kCompleted;
    for (Slot& s : slots_) s.set(State::kRunnable);
    strategy.begin_run(n_);
    if (mode_ == Threads::kPerRun)
      for (uint32_t i = 0; i < n_; ++i)
        workers_.emplace_back([this, i] {
          sync::set_current_hook(this);
          slots_[i].sem.acquire();
          execute(i);
        });
    cur_ = decide(Reason::kStart);
    slots_[cur_].sem.release();
    done_.acquire();
    if (mode_ == Threads::kPerRun) {
      for (std::thread& t : workers_) t.join();
      workers_.clear();
    }
    strategy.end_run(steps_);
    return {status_, steps_, switches_};
  }

  void on_access(sync::Site, const void*, sync::Access) override {
    if (stopping_) return unwind_point();
    if (step_pending_) {
      observe();
      if (stopping_) return unwind_point();
    }
    if (steps_ >= budget_) {
      begin_stop(Status::kHang);
      return unwind_point();
    }
    if (!std::exchange(covered_, false)) {
      const uint32_t self = cur_, next = decide(Reason::kAccess);
      if (next != self || handoff_ == Handoff::kEveryAccess) {
        hand_over(self, next);
        covered_ = false;  // the decision that resumed us was for this access
        if (stopping_) return unwind_point();
      }
    }
    ++steps_;
    step_pending_ = true;
  }

  void block(sync::Site, const void* obj) override {
    if (!stopping_ && step_pending_) observe();
    if (stopping_) {
      if (std::uncaught_exceptions() == 0) throw StopRun{};
      return let_others_unwind();
    }
    const uint32_t self = cur_;
    covered_ = false;
    slots_[self].set(State::kParked, obj);
    if (runnable().empty()) {
      begin_stop(Status::kDeadlock);  // unparks everyone, this thread too
      if (std::uncaught_exceptions() == 0) throw StopRun{};
      return let_others_unwind();
    }
    hand_over(self, decide(Reason::kParked));
    if (stopping_ && std::uncaught_exceptions() == 0) throw StopRun{};
  }

  void wake(const void* obj) override {
    for (Slot& s : slots_)
      if (s.state == State::kParked && s.parked_on == obj) s.set(State::kRunnable);
  }

 private:
  enum class State : uint8_t { kRunnable, kParked, kFinished };
  struct Slot {
    State state = State::kRunnable;
    const void* parked_on = nullptr;
    std::binary_semaphore sem{0};
    void set(State s, const void* on = nullptr) {
      state = s;
      parked_on = on;
    }
  };
  static constexpr uint32_t kNobody = pf::sched::kNoThread;

  // On the thread that got the baton for model thread i's start.
  void execute(uint32_t i) {
    if (!stopping_) {
      try {
        thread_body(*world_, *program_, i);
        if (step_pending_) observe();
      } catch (const StopRun&) {
        // The run ended; this thread has unwound.
      }
    }
    slots_[i].state = State::kFinished;
    const uint32_t next = next_after_exit();
    if (next == kNobody) return done_.release();
    ++switches_;
    cur_ = next;
    covered_ = true;
    slots_[next].sem.release();
  }

  void hand_over(uint32_t self, uint32_t next) {
    switches_ += next != self;
    cur_ = next;
    covered_ = true;
    slots_[next].sem.release();
    slots_[self].sem.acquire();
  }

  std::span<const uint8_t> runnable() {
    nrunnable_ = 0;
    for (uint32_t t = 0; t < n_; ++t)
      if (slots_[t].state == State::kRunnable) runnable_[nrunnable_++] = static_cast<uint8_t>(t);
    return {runnable_.data(), nrunnable_};
  }

  uint32_t decide(Reason reason) {
    auto list = runnable();
    if (list.empty()) die("decision with no runnable thread");
    const uint32_t t = strategy_->pick(
        Decision{list, reason == Reason::kStart ? kNobody : cur_, steps_, reason});
    if (t >= n_ || slots_[t].state != State::kRunnable) die("strategy picked a non-runnable thread");
    return t;
  }

  uint32_t next_after_exit() {
    if (!stopping_) {
      if (!runnable().empty()) return decide(Reason::kFinished);
      for (const Slot& s : slots_)
        if (s.state == State::kParked) begin_stop(Status::kDeadlock);
      if (!stopping_) return kNobody;  // everyone finished
    }
    auto list = runnable();  // unwinding: every unfinished thread is runnable
    return list.empty() ? kNobody : list[0];
  }

  // Runner's after_step: the check, and the end of the run at a violation.
  void observe() {
    step_pending_ = false;
    pf::check_invariants(*world_);
    if (world_->violated()) begin_stop(Status::kStopped);
  }

  void begin_stop(Status status) {
    if (stopping_) return;
    stopping_ = true;
    status_ = status;
    for (Slot& s : slots_)
      if (s.state == State::kParked) s.set(State::kRunnable);
  }

  void unwind_point() {
    if (std::uncaught_exceptions() == 0) throw StopRun{};
    if (++unwind_steps_ > budget_) die("a destructor spins while unwinding");
  }

  // Unwinding, and a destructor waits: another unwinding thread may hold
  // what it waits for. Pass the baton round; the caller re-checks.
  void let_others_unwind() {
    if (++unwind_steps_ > budget_) die("a destructor blocks forever while unwinding");
    const uint32_t self = cur_;
    auto list = runnable();
    for (uint8_t t : list)
      if (t != self) return hand_over(self, t);
  }

  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "model_bench: baton: %s\n", what);
    std::abort();
  }

  const uint32_t n_;
  const Threads mode_;
  const Handoff handoff_;
  std::vector<Slot> slots_;
  std::vector<std::thread> workers_;
  std::binary_semaphore done_{0};
  std::atomic<bool> quit_{false};
  // Touched only by the baton holder; the semaphores order those accesses.
  pf::World* world_ = nullptr;
  const pf::Program* program_ = nullptr;
  Strategy* strategy_ = nullptr;
  uint64_t budget_ = 0, steps_ = 0, unwind_steps_ = 0, switches_ = 0;
  uint32_t cur_ = kNobody;
  bool stopping_ = false, covered_ = false, step_pending_ = false;
  Status status_ = Status::kCompleted;
  std::array<uint8_t, pf::sched::kMaxThreads> runnable_{};
  uint32_t nrunnable_ = 0;
};

// One execution as Runner::run does it, with the baton instead of fibers:
// the final check runs on the calling thread, checked after every step.
struct BatonExec {
  uint64_t steps = 0;
  uint64_t switches = 0;
  bool bad = false;
};
BatonExec run_baton(Baton& baton, const pf::Program& p, Strategy& strategy) {
  auto w = std::make_unique<pf::World>(kDesign, p.world);
  Baton::Outcome o = baton.run(*w, p, strategy);
  uint64_t steps = o.steps;
  if (o.status == Status::kCompleted && !w->violated()) {
    SequentialHook hook(*w, /*check=*/true);
    sync::ScopedHook scoped(&hook);
    const bool ok = checked_final(*w, &hook);
    steps += hook.steps();
    if (!ok) return {steps, o.switches, true};
  }
  return {steps, o.switches, o.status != Status::kCompleted || w->violated()};
}

// Before timing: a schedule must give the same number of steps under the
// baton as under the fibers, or the two do not run the same interleavings.
uint64_t steps_mismatches(Baton& baton, pf::ScheduleKind kind, uint64_t seeds) {
  const pf::Program& p = scenario().program;
  auto a = strategy_of(kind), b = strategy_of(kind);
  pf::Runner runner;
  uint64_t mismatches = 0;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    a->reseed(seed);
    b->reseed(seed);
    mismatches += runner.run(kDesign, p, *a).steps != run_baton(baton, p, *b).steps;
  }
  return mismatches;
}

void run_baton_bench(benchmark::State& state, pf::ScheduleKind kind, Baton::Threads mode,
                     Baton::Handoff handoff = Baton::Handoff::kOnSwitch) {
  const pf::Program& p = scenario().program;
  const uint32_t n = static_cast<uint32_t>(p.threads.size());
  Baton baton(n, mode, handoff);
  const uint64_t mismatches = steps_mismatches(baton, kind, 20);
  auto strategy = strategy_of(kind);
  uint64_t steps = 0, switches = 0, bad = 0, seed = 0;
  for (auto _ : state) {
    strategy->reseed(seed++);
    BatonExec e = run_baton(baton, p, *strategy);
    steps += e.steps;
    switches += e.switches;
    bad += e.bad;
  }
  set_exec_counters(state, steps, bad);
  state.counters["switches_per_exec"] = double(switches) / double(state.iterations());
  state.counters["steps_mismatch"] = double(mismatches);  // of 20 seeds; must be 0
}

void BM_ModelBaton(benchmark::State& state, pf::ScheduleKind kind) {
  run_baton_bench(state, kind, Baton::Threads::kPerRun);
}
BENCHMARK_CAPTURE(BM_ModelBaton, input, pf::ScheduleKind::kInput)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelBaton, random, pf::ScheduleKind::kRandom)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelBaton, pct, pf::ScheduleKind::kPct)->UseRealTime();

// The same with the OS threads kept across runs: the design at its best.
void BM_ModelBatonPool(benchmark::State& state, pf::ScheduleKind kind) {
  run_baton_bench(state, kind, Baton::Threads::kPool);
}
BENCHMARK_CAPTURE(BM_ModelBatonPool, input, pf::ScheduleKind::kInput)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelBatonPool, random, pf::ScheduleKind::kRandom)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelBatonPool, pct, pf::ScheduleKind::kPct)->UseRealTime();

// folly's hand-over: semaphores at every access, threads per run.
void BM_ModelBatonEveryAccess(benchmark::State& state, pf::ScheduleKind kind) {
  run_baton_bench(state, kind, Baton::Threads::kPerRun, Baton::Handoff::kEveryAccess);
}
BENCHMARK_CAPTURE(BM_ModelBatonEveryAccess, input, pf::ScheduleKind::kInput)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelBatonEveryAccess, random, pf::ScheduleKind::kRandom)->UseRealTime();
BENCHMARK_CAPTURE(BM_ModelBatonEveryAccess, pct, pf::ScheduleKind::kPct)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
