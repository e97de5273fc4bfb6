// The deterministic scheduler (fuzz/sched), driven only through model/sync:
// a schedule is a replay recipe. The same seed gives the same trace, on
// every build; recording a run changes nothing about it; runs reuse their
// stacks and reject what they cannot run.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include "fuzz/sched/scheduler.h"
#include "model/sync/atomic.h"
#include "tests/sched_test_util.h"

namespace {

using namespace pf::sched;
using namespace pf::sched::test;
namespace sync = pf::sync;
using sync::Site;

// The same program with explicit Sites: its trace does not depend on where
// this file's lines are, so its hash can be written down.
std::vector<ThreadBody> three_threads_fixed_sites(World& w) {
  std::vector<ThreadBody> bodies;
  for (int64_t t = 0; t < 3; ++t) {
    bodies.push_back([&w, t] {
      constexpr auto mo = std::memory_order_seq_cst;
      for (int64_t i = 0; i < 4; ++i) {
        int64_t v = w.a.load(mo, Site{"reader", 1});
        w.b.fetch_add(v + t, mo, Site{"adder", 2});
        if (w.c.cmpxchg(i, i + t + 1, mo, Site{"casser", 3}) != i)
          w.a.store(v * 2 + t, mo, Site{"storer", 4});
      }
    });
  }
  return bodies;
}

// Options for make_strategy: a preemption list for "input", and for "pct" a
// step estimate that matches three_threads (PCT's k should be the run length).
StrategyOptions test_options() {
  StrategyOptions o;
  o.preemptions = {{3, 1}, {2, 2}, {5, 0}, {1, 1}, {4, 7}};
  o.pct.steps_estimate = 36;
  return o;
}
TEST(Scheduler, SameSeedSameTraceHash) {
  Scheduler reused;
  for (const char* name : kNames) {
    std::set<uint64_t> hashes;
    uint64_t switches = 0;
    auto shared_strategy = make_strategy(name, 42, test_options());
    for (int i = 0; i < 100; ++i) {
      World w;  // fresh world each replay
      auto bodies = three_threads(w);
      // Half the replays reuse one strategy and scheduler, half start fresh.
      Result r;
      if (i % 2 == 0) {
        r = reused.run(bodies, *shared_strategy);
      } else {
        auto fresh = make_strategy(name, 42, test_options());
        r = Scheduler().run(bodies, *fresh);
      }
      EXPECT_EQ(r.status, Status::kCompleted) << name;
      hashes.insert(r.trace_hash);
      switches = r.switches;
    }
    EXPECT_EQ(hashes.size(), 1u) << name;
    EXPECT_GT(switches, 2u) << name << ": the program should interleave";
  }
}

TEST(Scheduler, TraceHashIsTheSameOnEveryBuild) {
  // Golden values: a dev, asan, tsan or release build that disagrees has let
  // an address, a build flag or a library's RNG into the schedule.
  const std::array<std::pair<const char*, uint64_t>, 3> golden = {{
      {"input", 0x4465be16acee58f2ull},
      {"random", 0x949d70e82060c963ull},
      {"pct", 0x5132e4068f7b67dbull},
  }};
  for (auto [name, want] : golden) {
    World w;
    auto bodies = three_threads_fixed_sites(w);
    auto s = make_strategy(name, 1234, test_options());
    Result r = Scheduler().run(bodies, *s);
    EXPECT_GT(r.preemptions, 0u) << name;
    EXPECT_EQ(r.trace_hash, want)
        << name << " got 0x" << std::hex << r.trace_hash;
  }
}

TEST(Scheduler, TraceHashIgnoresObjectAddresses) {
  auto worlds = std::make_unique<std::array<World, 4>>();
  RandomStrategy s(5);
  auto near = three_threads((*worlds)[0]);
  auto far = three_threads((*worlds)[3]);
  Scheduler sched;
  EXPECT_EQ(sched.run(near, s).trace_hash, sched.run(far, s).trace_hash);
}

TEST(Scheduler, RecordingMatchesHashOnlyRun) {
  for (const char* name : kNames) {
    World w1, w2;
    auto b1 = three_threads(w1);
    auto b2 = three_threads(w2);
    auto s = make_strategy(name, 7, test_options());
    Result quiet = Scheduler().run(b1, *s);
    Result full = Scheduler(Options{.recording = Recording::kFullTrace}).run(b2, *s);
    EXPECT_EQ(quiet.trace_hash, full.trace_hash) << name;
    EXPECT_EQ(quiet.steps, full.steps) << name;
    EXPECT_EQ(quiet.switches, full.switches) << name;
    EXPECT_TRUE(quiet.trace.empty());
    ASSERT_EQ(full.trace.size(), full.steps) << name;
    for (size_t i = 0; i < full.trace.size(); ++i) {
      const Step& st = full.trace[i];
      EXPECT_EQ(st.index, i);
      // Loads carry the value read, in both fields.
      if (st.kind == sync::Access::kLoad) {
        EXPECT_TRUE(st.has_value);
        EXPECT_EQ(st.before, st.after);
      }
      if (st.kind == sync::Access::kStore) EXPECT_TRUE(st.has_value);
    }
  }
}

TEST(Scheduler, ObjectsAreNumberedInFirstSeenOrder) {
  sync::Atomic<int> a{0}, b{0}, c{0};
  std::vector<ThreadBody> one = {[&] {
    b.load();
    a.load();
    b.store(1);
    c.fetch_add(2);
    sync::smp_mb();
  }};
  InputStrategy s({});
  Result r = Scheduler(Options{.recording = Recording::kFullTrace}).run(one, s);
  std::vector<uint32_t> objects;
  for (const Step& st : r.trace) objects.push_back(st.object);
  EXPECT_EQ(objects, (std::vector<uint32_t>{0, 1, 0, 2, kNoObject}));
  ASSERT_EQ(r.trace.size(), 5u);
  EXPECT_EQ(r.trace[3].before, 0);
  EXPECT_EQ(r.trace[3].after, 2);
  EXPECT_EQ(r.trace[4].kind, sync::Access::kFence);
}

TEST(Scheduler, AfterStepRunsAfterEveryStepAndMayStop) {
  sync::Atomic<int> x{0};
  uint64_t calls = 0;
  Scheduler* self = nullptr;
  Options o;
  o.after_step = [&] {
    ++calls;
    if (x.peek() >= 3) self->request_stop();  // the "invariant"
  };
  Scheduler sched(std::move(o));
  self = &sched;
  std::vector<ThreadBody> bodies(2, [&] {
    for (int i = 0; i < 5; ++i) x.fetch_add(1);
  });
  RandomStrategy s(11);
  Result r = sched.run(bodies, s);
  EXPECT_EQ(r.status, Status::kStopped);
  EXPECT_EQ(x.peek(), 3);
  EXPECT_EQ(r.steps, 3u);
  EXPECT_EQ(calls, 3u);
}

TEST(Scheduler, StacksAreReusedAcrossRunsAndSchedulers) {
  StackPool pool;
  for (int round = 0; round < 3; ++round) {
    Scheduler sched(Options{.stacks = &pool});
    for (int i = 0; i < 10; ++i) {
      World w;
      auto bodies = three_threads(w);
      RandomStrategy s(i);
      EXPECT_EQ(sched.run(bodies, s).status, Status::kCompleted);
    }
  }
  EXPECT_EQ(pool.mappings(), 3u);
  EXPECT_EQ(pool.cached(), 3u);
}

TEST(Scheduler, RejectsBadThreadCounts) {
  RandomStrategy s(1);
  Scheduler sched;
  std::vector<ThreadBody> none;
  std::vector<ThreadBody> nine(9, [] {});
  EXPECT_THROW(sched.run(none, s), std::invalid_argument);
  EXPECT_THROW(sched.run(nine, s), std::invalid_argument);
  std::vector<ThreadBody> eight(8, [] {});
  EXPECT_EQ(sched.run(eight, s).status, Status::kCompleted);
}

}  // namespace
