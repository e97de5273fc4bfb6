// The program of bench/sched_bench.cc (BM_ProgramScheduled, BM_ProgramWeak)
// under the Relacy race detector's random scheduler, so pinfuzz's
// executions/s can be set beside Relacy's, same compiler and flags
// (bench/relacy/README.md; bench/relacy/compare.sh runs both).
//
//   BM_RelacyRandom/sc       every access seq_cst
//   BM_RelacyRandom/relaxed  load, fetch_add and store relaxed; the
//                            cmpxchg seq_cst (it is fully ordered in pinfuzz)
//
// Counters: execs_per_s (complete executions of the 3-thread program per
// second, as in sched_bench) and steps_per_exec (the program's atomic
// accesses per execution: each is one Relacy scheduling point).
//
// How Relacy runs it. rl::simulate<T>(params) builds a context (3 fibers,
// allocators), then runs executions ("iterations") number
// initial_state .. iteration_count, both inclusive; before each one it
// constructs T (so a, b, c start at 0) and runs before(); every atomic
// operation begins with a scheduling point where the random scheduler picks
// uniformly among the runnable threads (seeded with the execution's number);
// after() runs once all three threads have finished. One benchmark iteration
// is one rl::simulate call of kBatch executions with fresh seeds: the call's
// fixed cost (~40 us, measured) is then under 0.1% of the batch, and
// every execution is checked to have run all three threads to the end.
//
// Relacy options (rl::test_params), all left at their defaults except the
// output streams and the iteration range:
//   search_type = random_scheduler_type (the default): Relacy's random
//     scheduler; the other two (context bound, full search) enumerate.
//   collect_history = false (default): no event log is kept; Relacy re-runs
//     a failing execution with the log on, only after a failure.
//   execution_depth_limit = 2000 (default): more scheduling points than
//     this in one execution is reported as a livelock; this program has 110.
//   context_bound: used only by the context-bound scheduler.
//   output_stream/progress_stream: an ostringstream (discarded per batch,
//     printed on a failure) instead of std::cout; Relacy writes a few lines
//     of statistics per simulate call and a progress line every 65536
//     executions.
// Compile-time constants of Relacy that matter for speed, at their defaults:
//   atomic_history_size = 3 (relacy/defs.hpp): stores kept per atomic; with
//     the random scheduler a non-RMW load may read up to 2 stores back,
//     drawing a coin per step.
//   RL_DO_ASSERT unset and no _DEBUG: Relacy's self-checks compiled out.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>

// Must precede Relacy; see the header. Relacy comes last: relacy.hpp
// defines macros named malloc, free, assert and $, and replaces the global
// operator new/delete (they forward to malloc/free outside a simulation).
#include "source_location_compat.h"
#include "relacy/relacy.hpp"

namespace {

constexpr int kThreads = 3;
constexpr int kRounds = 10;
constexpr rl::iteration_t kBatch = 10000;  // executions per rl::simulate call

// Kept outside the simulated program's state: plain globals, invisible to
// Relacy (its fibers share this one OS thread).
uint64_t g_accesses = 0;   // atomic accesses made by the threads
uint64_t g_completed = 0;  // executions that reached after()

template <rl::memory_order kLoad, rl::memory_order kRmw, rl::memory_order kStore>
struct Program : rl::test_suite<Program<kLoad, kRmw, kStore>, kThreads> {
  rl::atomic<int64_t> a, b, c;

  // sched_bench's World::reset(): a plain initialising store, outside the
  // schedule (Relacy does not schedule inside before()), made visible to
  // every thread by the global fence Relacy puts after before().
  void before() {
    a($).store(0, rl::mo_relaxed);
    b($).store(0, rl::mo_relaxed);
    c($).store(0, rl::mo_relaxed);
  }

  void thread(unsigned idx) {
    const int64_t t = idx;
    uint64_t n = 0;
    for (int64_t i = 0; i < kRounds; ++i) {
      int64_t v = a($).load(kLoad);
      b($).fetch_add(v + t, kRmw);
      // pinfuzz's c.cmpxchg(i, i + 1) != i: fails iff the old value is not i.
      int64_t expected = i;
      n += 3;
      if (!c($).compare_exchange_strong(expected, i + 1, rl::mo_seq_cst)) {
        a($).store(v + 1, kStore);
        ++n;
      }
    }
    g_accesses += n;
  }

  void after() { ++g_completed; }
};

using ProgramSc = Program<rl::mo_seq_cst, rl::mo_seq_cst, rl::mo_seq_cst>;
using ProgramRelaxed = Program<rl::mo_relaxed, rl::mo_relaxed, rl::mo_relaxed>;

template <class Test>
void BM_RelacyRandom(benchmark::State& state) {
  std::ostringstream log;
  rl::iteration_t next = 1;  // Relacy numbers executions from 1
  uint64_t execs = 0;
  g_accesses = 0;
  g_completed = 0;
  for (auto _ : state) {
    rl::test_params p;
    p.search_type = rl::random_scheduler_type;
    p.output_stream = &log;
    p.progress_stream = &log;
    p.initial_state = std::to_string(next);  // first execution (and seed)
    p.iteration_count = next + kBatch - 1;   // last execution, inclusive
    const bool ok = rl::simulate<Test>(p);
    if (!ok || p.test_result != rl::test_result_success ||
        p.stop_iteration != p.iteration_count) {
      std::cerr << log.str();
      state.SkipWithError(
          (std::string("Relacy: ") + rl::test_result_str(p.test_result) + " at execution " +
           std::to_string(p.stop_iteration))
              .c_str());
      break;
    }
    next += kBatch;
    execs += kBatch;
    log.str("");
  }
  if (state.error_occurred()) return;
  if (g_completed != execs) {
    state.SkipWithError("Relacy: an execution did not run all threads to the end");
    return;
  }
  state.counters["execs_per_s"] =
      benchmark::Counter(double(execs), benchmark::Counter::kIsRate);
  state.counters["steps_per_exec"] = benchmark::Counter(double(g_accesses) / double(execs));
}
BENCHMARK_TEMPLATE(BM_RelacyRandom, ProgramSc)->Name("BM_RelacyRandom/sc")->UseRealTime();
BENCHMARK_TEMPLATE(BM_RelacyRandom, ProgramRelaxed)
    ->Name("BM_RelacyRandom/relaxed")
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
