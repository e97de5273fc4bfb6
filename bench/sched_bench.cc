// What deterministic scheduling costs: a fiber switch, a scheduled run of a
// small program under each strategy, the same program unscheduled, and the
// same program under OS threads passing a baton at every access (folly's
// DeterministicSchedule design), so the fiber/baton ratio shows in one run.
// Run a Release build with --benchmark_format=json. Counters: execs_per_s
// (runs of the program per second), time_per_switch (seconds in JSON; the
// console prints it with a unit).
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/context/fiber.hpp>
#include <memory>
#include <semaphore>
#include <thread>
#include <vector>

#include "fuzz/sched/scheduler.h"
#include "fuzz/sched/stack_pool.h"
#include "model/sync/atomic.h"

namespace {

using namespace pf::sched;
namespace sync = pf::sync;
namespace bctx = boost::context;

constexpr int kThreads = 3;
constexpr int kRounds = 10;  // x 3-4 accesses: ~30-40 per thread, 110 a run

struct World {
  sync::Atomic<int64_t> a{0}, b{0}, c{0};
  void reset() {
    a.init(0);
    b.init(0);
    c.init(0);
  }
};

// `order`: of the load, the fetch_add and the store (the cmpxchg is fully
// ordered, as the kernel's is). seq_cst for every sc benchmark; relaxed for
// the weak-memory ones, where the stores and the add wait in store buffers.
// bench/relacy/relacy_bench.cc is the same program under Relacy.
std::vector<ThreadBody> program(World& w, std::memory_order order = std::memory_order_seq_cst) {
  std::vector<ThreadBody> bodies;
  for (int64_t t = 0; t < kThreads; ++t) {
    bodies.push_back([&w, t, order] {
      for (int64_t i = 0; i < kRounds; ++i) {
        int64_t v = w.a.load(order);
        w.b.fetch_add(v + t, order);
        if (w.c.cmpxchg(i, i + 1) != i) w.a.store(v + 1, order);
      }
    });
  }
  return bodies;
}

void set_exec_counters(benchmark::State& state, uint64_t steps) {
  state.counters["execs_per_s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["steps_per_exec"] =
      benchmark::Counter(double(steps) / double(state.iterations()));
}

// ---- switch cost -------------------------------------------------------------

struct NoDealloc {
  void deallocate(bctx::stack_context&) noexcept {}
};

// Two Boost fibers ping-ponging: the floor under any fiber scheduler.
void BM_RawFiberSwitch(benchmark::State& state) {
  StackPool pool;
  FiberStack st = pool.acquire();
  bctx::stack_context sctx;
  sctx.sp = st.top();
  sctx.size = st.size();
  bctx::fiber f(std::allocator_arg, bctx::preallocated(sctx.sp, sctx.size, sctx),
                NoDealloc{}, [](bctx::fiber&& main) {
                  for (;;) main = std::move(main).resume();
                  return std::move(main);
                });
  for (auto _ : state) f = std::move(f).resume();  // two switches
  state.counters["time_per_switch"] = benchmark::Counter(
      2.0 * double(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  f = {};  // unwinds the fiber
  pool.release(st);
}
BENCHMARK(BM_RawFiberSwitch)->UseRealTime();

// Preempts at every access, round robin: the full price of a scheduled
// switch (decision, hook, hashing, jump).
class AlternateStrategy final : public Strategy {
 public:
  std::string_view name() const override { return "alternate"; }
  void begin_run(uint32_t) override {}
  uint32_t pick(const Decision& d) override {
    for (uint8_t t : d.runnable)
      if (t > d.current || d.current == kNoThread) return t;
    return d.runnable[0];
  }
  std::string describe() const override { return "alternate"; }
};

void BM_SchedulerSwitch(benchmark::State& state) {
  sync::Atomic<int64_t> x{0};
  std::vector<ThreadBody> bodies(2, [&x] {
    for (int i = 0; i < 1000; ++i) x.load();
  });
  AlternateStrategy alt;
  Scheduler sched;
  uint64_t switches = 0;
  for (auto _ : state) switches += sched.run(bodies, alt).switches;
  state.counters["time_per_switch"] = benchmark::Counter(
      double(switches), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SchedulerSwitch)->UseRealTime();

// ---- a 3-thread, 110-access program ----------------------------------------------

// The program under `strategy`, one seed per run, in `memory` with loads,
// adds and stores of `order`.
void run_program(benchmark::State& state, const char* strategy, sync::Memory memory,
                 std::memory_order order) {
  World w;
  auto bodies = program(w, order);
  StrategyOptions opts;
  opts.preemptions = {{5, 1}, {7, 2}, {3, 0}, {11, 1}, {2, 2}, {9, 0}};
  opts.pct.steps_estimate = kThreads * kRounds * 3;
  Scheduler sched(Options{.memory = memory});
  uint64_t steps = 0, seed = 0;
  auto s = make_strategy(strategy, 0, opts);
  for (auto _ : state) {
    w.reset();
    s->reseed(seed++);
    steps += sched.run(bodies, *s).steps;
  }
  set_exec_counters(state, steps);
}

void BM_ProgramScheduled(benchmark::State& state, const char* strategy) {
  run_program(state, strategy, sync::Memory::kSc, std::memory_order_seq_cst);
}
BENCHMARK_CAPTURE(BM_ProgramScheduled, input, "input")->UseRealTime();
BENCHMARK_CAPTURE(BM_ProgramScheduled, random, "random")->UseRealTime();
BENCHMARK_CAPTURE(BM_ProgramScheduled, pct, "pct")->UseRealTime();

// The relaxed program under a memory model (issue 19): flush choices join
// the threads at every decision. bench/relacy/compare.sh sets these beside
// Relacy's random scheduler on the same program.
void BM_ProgramWeak(benchmark::State& state, const char* strategy, sync::Memory memory) {
  run_program(state, strategy, memory, std::memory_order_relaxed);
}
BENCHMARK_CAPTURE(BM_ProgramWeak, random_sc, "random", sync::Memory::kSc)->UseRealTime();
BENCHMARK_CAPTURE(BM_ProgramWeak, random_tso, "random", sync::Memory::kTso)->UseRealTime();
BENCHMARK_CAPTURE(BM_ProgramWeak, random_arm, "random", sync::Memory::kArm)->UseRealTime();
BENCHMARK_CAPTURE(BM_ProgramWeak, pct_arm, "pct", sync::Memory::kArm)->UseRealTime();

void BM_ProgramScheduledRecording(benchmark::State& state) {
  World w;
  auto bodies = program(w);
  Scheduler sched(Options{.recording = Recording::kFullTrace});
  uint64_t steps = 0, seed = 0;
  RandomStrategy s(0);
  for (auto _ : state) {
    w.reset();
    s.reseed(seed++);
    steps += sched.run(bodies, s).steps;
  }
  set_exec_counters(state, steps);
}
BENCHMARK(BM_ProgramScheduledRecording)->UseRealTime();

// No hook: the bodies one after another on the calling thread.
void BM_ProgramUnscheduled(benchmark::State& state) {
  World w;
  auto bodies = program(w);
  for (auto _ : state) {
    w.reset();
    for (const ThreadBody& b : bodies) b();
    benchmark::DoNotOptimize(w.b.peek());
  }
  state.counters["execs_per_s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProgramUnscheduled)->UseRealTime();

// Fixed cost of a run: three threads that do nothing.
void BM_EmptyRun(benchmark::State& state) {
  std::vector<ThreadBody> bodies(kThreads, [] {});
  InputStrategy s({});
  Scheduler sched;
  for (auto _ : state) benchmark::DoNotOptimize(sched.run(bodies, s).steps);
}
BENCHMARK(BM_EmptyRun)->UseRealTime();

// ---- baton passing between OS threads (folly DeterministicSchedule) -----------

// One OS thread per model thread, each with a semaphore; only the baton
// holder runs. At every access the holder asks the strategy who is next,
// posts that thread's semaphore and waits on its own (to itself when the
// strategy keeps it, as folly's beforeSharedAccess/afterSharedAccess do).
class BatonScheduler final : public sync::Hook {
 public:
  explicit BatonScheduler(uint32_t n) : n_(n), sems_(n) {
    for (uint32_t i = 0; i < n; ++i)
      workers_.emplace_back([this, i] { worker(i); });
  }
  ~BatonScheduler() override {
    quit_.store(true);
    for (auto& s : sems_) s.sem.release();
    for (auto& t : workers_) t.join();
  }

  uint64_t run(std::span<const ThreadBody> bodies, Strategy& strategy) {
    bodies_ = bodies;
    strategy_ = &strategy;
    steps_ = 0;
    strategy.begin_run(n_);
    for (uint32_t i = 0; i < n_; ++i) runnable_[i] = 1;
    nrunnable_ = n_;
    cur_ = pick(Reason::kStart, kNoThread);
    sems_[cur_].sem.release();
    done_.acquire();
    return steps_;
  }

  void on_access(sync::Site, const void*, sync::Access) override {
    const uint32_t self = cur_;
    cur_ = pick(Reason::kAccess, self);
    ++steps_;
    sems_[cur_].sem.release();
    sems_[self].sem.acquire();
  }
  void block(sync::Site, const void*) override { std::abort(); }  // unused
  void wake(const void*) override {}

 private:
  struct Sem {
    std::binary_semaphore sem{0};
  };

  uint32_t pick(Reason r, uint32_t current) {
    uint8_t list[kMaxThreads];
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_; ++i)
      if (runnable_[i]) list[k++] = static_cast<uint8_t>(i);
    return strategy_->pick(Decision{{list, k}, current, steps_, r});
  }

  void worker(uint32_t i) {
    sync::set_current_hook(this);
    for (;;) {
      sems_[i].sem.acquire();
      if (quit_.load()) return;
      bodies_[i]();
      runnable_[i] = 0;
      if (--nrunnable_ == 0) {
        done_.release();
      } else {
        cur_ = pick(Reason::kFinished, i);
        sems_[cur_].sem.release();
      }
    }
  }

  const uint32_t n_;
  std::vector<Sem> sems_;
  std::vector<std::thread> workers_;
  std::binary_semaphore done_{0};
  std::atomic<bool> quit_{false};
  // Touched only by the baton holder; the semaphores order those accesses.
  std::span<const ThreadBody> bodies_;
  Strategy* strategy_ = nullptr;
  uint8_t runnable_[kMaxThreads] = {};
  uint32_t nrunnable_ = 0;
  uint32_t cur_ = 0;
  uint64_t steps_ = 0;
};

void BM_ProgramBaton(benchmark::State& state) {
  World w;
  auto bodies = program(w);
  BatonScheduler baton(kThreads);
  RandomStrategy s(0);
  uint64_t steps = 0, seed = 0;
  for (auto _ : state) {
    w.reset();
    s.reseed(seed++);
    steps += baton.run(bodies, s);
  }
  set_exec_counters(state, steps);
}
BENCHMARK(BM_ProgramBaton)->UseRealTime();

void BM_BatonSwitch(benchmark::State& state) {
  sync::Atomic<int64_t> x{0};
  std::vector<ThreadBody> bodies(2, [&x] {
    for (int i = 0; i < 1000; ++i) x.load();
  });
  BatonScheduler baton(2);
  AlternateStrategy alt;
  uint64_t switches = 0;
  for (auto _ : state) switches += baton.run(bodies, alt);
  state.counters["time_per_switch"] = benchmark::Counter(
      double(switches), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_BatonSwitch)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
