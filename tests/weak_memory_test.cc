// The scheduler's weak memory models (issue 19; docs/model.md, "Weak
// memory") on the classic litmus tests (Alglave, Maranget, Tautschnig,
// "Herding cats", TOPLAS 2014; tools/memory-model/litmus-tests/): each
// outcome the hardware forbids is never produced, and each one the model
// claims to show is produced by some schedule of the random or PCT search.
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/regress.h"
#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"
#include "fuzz/sched/scheduler.h"
#include "fuzz/sched/strategy.h"
#include "model/sync/atomic.h"
#include "model/sync/locks.h"

namespace pf::sched {
namespace {

using sync::Memory;
using mo = std::memory_order;

struct Litmus {
  sync::Atomic<int> x{0}, y{0};
  int r0 = -1, r1 = -1;
};

using Body = std::function<void(Litmus&)>;
using Outcome = std::pair<int, int>;

// Every (r0, r1) that 600 random and 600 PCT schedules produce.
std::set<Outcome> outcomes(Memory m, const Body& t0, const Body& t1) {
  std::set<Outcome> seen;
  Scheduler sched(Options{.memory = m});
  for (uint64_t seed = 0; seed < 600; ++seed) {
    RandomStrategy random(seed, RandomOptions{.switch_probability = 0.5});
    PctStrategy pct(seed, PctOptions{.depth = 3, .steps_estimate = 8});
    for (Strategy* s : {static_cast<Strategy*>(&random), static_cast<Strategy*>(&pct)}) {
      Litmus l;
      const std::array<ThreadBody, 2> bodies = {[&] { t0(l); }, [&] { t1(l); }};
      const Result r = sched.run(bodies, *s);
      EXPECT_EQ(r.status, Status::kCompleted);
      seen.insert({l.r0, l.r1});
    }
  }
  return seen;
}

constexpr std::array<Memory, 3> kModes = {Memory::kSc, Memory::kTso, Memory::kArm};

// SB: x = 1; r0 = y  ||  y = 1; r1 = x. r0 = r1 = 0 needs a store to wait
// in a buffer past a later load: TSO and ARM allow it, smp_mb() forbids it.
TEST(WeakMemory, StoreBufferingNeedsAFullBarrier) {
  const Body t0 = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    l.r0 = l.y.load(mo::relaxed);
  };
  const Body t1 = [](Litmus& l) {
    l.y.store(1, mo::relaxed);
    l.r1 = l.x.load(mo::relaxed);
  };
  EXPECT_FALSE(outcomes(Memory::kSc, t0, t1).contains({0, 0}));
  EXPECT_TRUE(outcomes(Memory::kTso, t0, t1).contains({0, 0}));
  EXPECT_TRUE(outcomes(Memory::kArm, t0, t1).contains({0, 0}));
  const Body f0 = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    sync::smp_mb();
    l.r0 = l.y.load(mo::relaxed);
  };
  const Body f1 = [](Litmus& l) {
    l.y.store(1, mo::relaxed);
    sync::smp_mb();
    l.r1 = l.x.load(mo::relaxed);
  };
  for (Memory m : kModes) {
    const auto seen = outcomes(m, f0, f1);
    EXPECT_FALSE(seen.contains({0, 0})) << sync::memory_name(m);
    EXPECT_TRUE(seen.contains({1, 1})) << sync::memory_name(m);
  }
}

// SB with relaxed read-modify-writes (atomic_inc()): a LOCK-prefixed
// instruction on x86, so TSO forbids 0/0; ARM's may wait in the buffer
// unless smp_mb__after_atomic() follows.
TEST(WeakMemory, RelaxedReadModifyWritesPassLaterLoadsOnlyOnArm) {
  const Body t0 = [](Litmus& l) {
    l.x.fetch_add(1, mo::relaxed);
    l.r0 = l.y.load(mo::relaxed);
  };
  const Body t1 = [](Litmus& l) {
    l.y.fetch_add(1, mo::relaxed);
    l.r1 = l.x.load(mo::relaxed);
  };
  EXPECT_FALSE(outcomes(Memory::kSc, t0, t1).contains({0, 0}));
  EXPECT_FALSE(outcomes(Memory::kTso, t0, t1).contains({0, 0}));
  EXPECT_TRUE(outcomes(Memory::kArm, t0, t1).contains({0, 0}));
  const Body f0 = [](Litmus& l) {
    l.x.fetch_add(1, mo::relaxed);
    sync::smp_mb__after_atomic();
    l.r0 = l.y.load(mo::relaxed);
  };
  const Body f1 = [](Litmus& l) {
    l.y.fetch_add(1, mo::relaxed);
    sync::smp_mb__after_atomic();
    l.r1 = l.x.load(mo::relaxed);
  };
  EXPECT_FALSE(outcomes(Memory::kArm, f0, f1).contains({0, 0}));
  // A value-returning read-modify-write is fully ordered on its own.
  const Body v0 = [](Litmus& l) {
    l.x.fetch_add(1, mo::seq_cst);
    l.r0 = l.y.load(mo::relaxed);
  };
  const Body v1 = [](Litmus& l) {
    l.y.fetch_add(1, mo::seq_cst);
    l.r1 = l.x.load(mo::relaxed);
  };
  EXPECT_FALSE(outcomes(Memory::kArm, v0, v1).contains({0, 0}));
}

// MP: x = 1; y = 1  ||  r0 = y; r1 = x. r0 = 1, r1 = 0 by the stores
// becoming visible out of order: ARM only, and not past smp_wmb() or a
// store-release of y (when the reader orders its loads).
TEST(WeakMemory, MessagePassingNeedsOrderedStoresOnlyOnArm) {
  const Body reader = [](Litmus& l) {
    l.r0 = l.y.load(mo::relaxed);
    l.r1 = l.x.load(mo::relaxed);
  };
  const Body plain = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    l.y.store(1, mo::relaxed);
  };
  EXPECT_FALSE(outcomes(Memory::kSc, plain, reader).contains({1, 0}));
  EXPECT_FALSE(outcomes(Memory::kTso, plain, reader).contains({1, 0}));
  EXPECT_TRUE(outcomes(Memory::kArm, plain, reader).contains({1, 0}));
  const Body wmb = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    sync::smp_wmb();
    l.y.store(1, mo::relaxed);
  };
  const Body release = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    l.y.store_release(1);
  };
  // The reader orders its loads: ARM also satisfies them out of order (the
  // next test).
  const Body ordered_reader = [](Litmus& l) {
    l.r0 = l.y.load(mo::relaxed);
    sync::smp_rmb();
    l.r1 = l.x.load(mo::relaxed);
  };
  for (const Body& w : {wmb, release}) {
    const auto seen = outcomes(Memory::kArm, w, ordered_reader);
    EXPECT_FALSE(seen.contains({1, 0}));
    EXPECT_TRUE(seen.contains({0, 1}));  // the stores can still wait
  }
}

// MP with the stores ordered (smp_wmb()): r0 = 1, r1 = 0 now needs the
// reader's second load satisfied before its first, ARM's load-load
// reordering; smp_rmb(), an acquire load of y, or a full barrier between the
// loads forbids it (tools/memory-model/litmus-tests/MP+fencewmbonceonce+fencermbonceonce).
TEST(WeakMemory, LoadsPassEachOtherOnlyOnArmAndNotPastReadBarriers) {
  const Body writer = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    sync::smp_wmb();
    l.y.store(1, mo::relaxed);
  };
  const Body plain = [](Litmus& l) {
    l.r0 = l.y.load(mo::relaxed);
    l.r1 = l.x.load(mo::relaxed);
  };
  EXPECT_FALSE(outcomes(Memory::kSc, writer, plain).contains({1, 0}));
  EXPECT_FALSE(outcomes(Memory::kTso, writer, plain).contains({1, 0}));
  EXPECT_TRUE(outcomes(Memory::kArm, writer, plain).contains({1, 0}));
  const Body rmb = [](Litmus& l) {
    l.r0 = l.y.load(mo::relaxed);
    sync::smp_rmb();
    l.r1 = l.x.load(mo::relaxed);
  };
  const Body acquire = [](Litmus& l) {
    l.r0 = l.y.load_acquire();
    l.r1 = l.x.load(mo::relaxed);
  };
  const Body mb = [](Litmus& l) {
    l.r0 = l.y.load(mo::relaxed);
    sync::smp_mb();
    l.r1 = l.x.load(mo::relaxed);
  };
  for (const Body& r : {rmb, acquire, mb}) {
    const auto seen = outcomes(Memory::kArm, writer, r);
    EXPECT_FALSE(seen.contains({1, 0}));
    EXPECT_TRUE(seen.contains({1, 1}));
    EXPECT_TRUE(seen.contains({0, 0}));
  }
}

// CoRR and store forwarding: a thread reads its own latest store, and two
// stores to one word become visible in program order in every model.
TEST(WeakMemory, OneWordIsCoherent) {
  const Body writer = [](Litmus& l) {
    l.x.store(1, mo::relaxed);
    l.x.store(2, mo::relaxed);
    l.r0 = l.x.load(mo::relaxed) * 10 + l.r0;
  };
  const Body reader = [](Litmus& l) {
    const int a = l.x.load(mo::relaxed);
    const int b = l.x.load(mo::relaxed);
    l.r1 = a * 10 + b;
  };
  for (Memory m : kModes) {
    for (const auto& [r0, r1] : outcomes(m, writer, reader)) {
      EXPECT_EQ(r0, 19) << sync::memory_name(m);  // 2 * 10 + (-1)
      const int a = r1 / 10, b = r1 % 10;
      EXPECT_LE(a, b) << sync::memory_name(m) << ": read " << a << " then " << b;
    }
  }
}

// Buffered read-modify-writes stay atomic: no increment is lost, and a lock
// built from them still excludes (what it protects is visible to the next
// holder: unlock is a release, and a release drains here).
TEST(WeakMemory, ReadModifyWritesAndLocksStayAtomic) {
  for (Memory m : kModes) {
    Scheduler sched(Options{.memory = m});
    for (uint64_t seed = 0; seed < 300; ++seed) {
      sync::Atomic<int> counter{0}, plain{0};
      sync::SpinLock lock;
      auto body = [&] {
        for (int i = 0; i < 3; ++i) {
          counter.fetch_add(1, mo::relaxed);
          lock.lock();
          plain.store(plain.load(mo::relaxed) + 1, mo::relaxed);
          lock.unlock();
        }
      };
      const std::array<ThreadBody, 3> bodies = {body, body, body};
      RandomStrategy random(seed, RandomOptions{.switch_probability = 0.5});
      ASSERT_EQ(sched.run(bodies, random).status, Status::kCompleted);
      EXPECT_EQ(counter.peek(), 9) << sync::memory_name(m) << " seed " << seed;
      EXPECT_EQ(plain.peek(), 9) << sync::memory_name(m) << " seed " << seed;
    }
  }
}

// The flushes are steps: in the trace (after the buffered store, same site),
// in the hash, and replayed exactly from the same seed.
TEST(WeakMemory, FlushesAreRecordedStepsAndRunsAreDeterministic) {
  auto run = [](Memory m, uint64_t seed) {
    Scheduler sched(Options{.memory = m, .recording = Recording::kFullTrace});
    Litmus l;
    const std::array<ThreadBody, 2> bodies = {
        [&] {
          l.x.store(1, mo::relaxed);
          l.r0 = l.y.load(mo::relaxed);
        },
        [&] {
          l.y.store(1, mo::relaxed);
          l.r1 = l.x.load(mo::relaxed);
        }};
    RandomStrategy random(seed, RandomOptions{.switch_probability = 0.5});
    return sched.run(bodies, random);
  };
  std::set<uint64_t> hashes;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const Result a = run(Memory::kTso, seed), b = run(Memory::kTso, seed);
    ASSERT_EQ(a.trace_hash, b.trace_hash);
    ASSERT_EQ(a.trace.size(), b.trace.size());
    hashes.insert(a.trace_hash);
    // Each buffered store has exactly one flush of the same thread and
    // line after it; nothing stays buffered at the end of the run.
    size_t buffered = 0, flushes = 0;
    for (size_t i = 0; i < a.trace.size(); ++i) {
      const Step& s = a.trace[i];
      if (s.buffered) {
        ++buffered;
        size_t found = 0;
        for (size_t j = i + 1; j < a.trace.size(); ++j)
          found += a.trace[j].kind == sync::Access::kFlush && a.trace[j].thread == s.thread &&
                   a.trace[j].line == s.line;
        EXPECT_EQ(found, 1u) << "seed " << seed << " step " << i;
      }
      flushes += s.kind == sync::Access::kFlush;
    }
    EXPECT_EQ(buffered, 2u) << "seed " << seed;
    EXPECT_EQ(flushes, 2u) << "seed " << seed;
    // Under sc the same program has no flush and nothing buffered.
    for (const Step& s : run(Memory::kSc, seed).trace) {
      EXPECT_NE(s.kind, sync::Access::kFlush);
      EXPECT_FALSE(s.buffered);
    }
  }
  EXPECT_GT(hashes.size(), 3u);  // the flushes move with the seed
}

// A thread that blocks drains its buffer first: the wake-up it waits for
// cannot be lost behind a store nobody sees.
TEST(WeakMemory, BlockAndWakeDrainTheBuffer) {
  for (Memory m : kModes) {
    Scheduler sched(Options{.memory = m});
    for (uint64_t seed = 0; seed < 200; ++seed) {
      sync::Atomic<int> flag{0}, data{0};
      const std::array<ThreadBody, 2> bodies = {
          [&] {
            data.store(42, mo::relaxed);
            flag.store_release(1);  // smp_store_release(): MP on arm
            sync::wake(&flag);
          },
          [&] {
            sync::wait_until(&flag, [&] { return flag.load(mo::acquire) == 1; });
            EXPECT_EQ(data.load(mo::relaxed), 42) << sync::memory_name(m);
          }};
      RandomStrategy random(seed, RandomOptions{.switch_probability = 0.5});
      EXPECT_EQ(sched.run(bodies, random).status, Status::kCompleted)
          << sync::memory_name(m) << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace pf::sched

// ---- the catalog's barrier rows (fuzz/harness/bugs.def PF_BUG_MEMORY) ------

namespace pf {
namespace {

// Each row that needs a weak memory model: its regression violates under
// that model, and the same scenario runs clean under sc and tso, with its
// own schedule and with 300 random and PCT ones each (a deleted barrier that
// x86 and sequential consistency do not need is not a bug there).
TEST(WeakMemory, BarrierRowsAreCleanUnderScAndTso) {
  std::vector<std::string> errors;
  const auto entries =
      load_regressions(std::string(PINFUZZ_SOURCE_DIR) + "/corpus/regressions", &errors);
  ASSERT_TRUE(errors.empty()) << errors.front();
  Runner runner;
  int rows = 0;
  for (const BugConfig& b : bug_catalog()) {
    if (b.memory() == sync::Memory::kSc) continue;
    SCOPED_TRACE(std::string(b.name));
    ++rows;
    const RegressionEntry* e = nullptr;
    for (const auto& x : entries)
      if (x.bug == b.name) e = &x;
    ASSERT_NE(e, nullptr) << "no regression for a barrier row";
    LoadedScenario l = load_scenario_file(e->path);
    ASSERT_TRUE(l.scenario) << l.error;
    Scenario s = *l.scenario;
    ASSERT_EQ(s.schedule.memory, b.memory());
    const RunResult weak = runner.run(s, b.buggy_design());
    ASSERT_TRUE(weak.violation);
    EXPECT_EQ(weak.violation->kind, b.expected);
    for (sync::Memory m : {sync::Memory::kSc, sync::Memory::kTso}) {
      s.schedule.memory = m;
      const RunResult own = runner.run(s, b.buggy_design());
      EXPECT_FALSE(own.violation) << sync::memory_name(m) << ": " << own.violation->to_string();
      for (uint64_t seed = 0; seed < 300; ++seed)
        for (ScheduleKind k : {ScheduleKind::kRandom, ScheduleKind::kPct}) {
          Scenario t = s;
          t.schedule = Schedule{.kind = k, .seed = seed, .memory = m};
          const RunResult r = runner.run(t, b.buggy_design());
          ASSERT_FALSE(r.violation) << sync::memory_name(m) << " seed " << seed << ": "
                                    << r.violation->to_string();
        }
    }
  }
  EXPECT_GE(rows, 2);
}

}  // namespace
}  // namespace pf
