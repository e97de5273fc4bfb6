// The scheduler's strategies (fuzz/sched/strategy.h) reach the
// interleavings they should: seeds differ, PCT finds a lost update, input
// schedules switch where their preemption points say, and a strategy's
// name and byte form are read back as written.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz/sched/scheduler.h"
#include "model/sync/atomic.h"
#include "tests/sched_test_util.h"

namespace {

using namespace pf::sched;
using namespace pf::sched::test;
namespace sync = pf::sync;
using sync::Site;

std::vector<uint8_t> thread_sequence(const Result& r) {
  std::vector<uint8_t> seq;
  for (const Step& s : r.trace) seq.push_back(s.thread);
  return seq;
}

TEST(Scheduler, DifferentSeedsExploreDifferentInterleavings) {
  for (const char* name : {"random", "pct"}) {
    std::set<uint64_t> hashes;
    Scheduler sched;
    for (uint64_t seed = 0; seed < 40; ++seed) {
      World w;
      auto bodies = three_threads(w);
      auto s = make_strategy(name, seed);
      hashes.insert(sched.run(bodies, *s).trace_hash);
    }
    EXPECT_GE(hashes.size(), 10u) << name;
  }
  // And different preemption lists, for the input strategy.
  std::set<uint64_t> hashes;
  for (uint8_t t = 0; t < 3; ++t) {
    for (uint32_t after = 0; after < 4; ++after) {
      World w;
      auto bodies = three_threads(w);
      InputStrategy s({{after, t}, {after, static_cast<uint8_t>(t + 1)}});
      hashes.insert(Scheduler().run(bodies, s).trace_hash);
    }
  }
  EXPECT_GE(hashes.size(), 6u);
}

// Each thread does `increments` non-atomic increments (load, then store);
// returns how many got lost.
int64_t lost_increments(int threads, int increments, uint64_t seed) {
  sync::Atomic<int64_t> x{0};
  std::vector<ThreadBody> bodies(threads, [&x, increments] {
    for (int i = 0; i < increments; ++i) {
      int64_t v = x.load();
      x.store(v + 1);
    }
  });
  // k = the program's step count, as PCT prescribes.
  PctStrategy pct(seed, PctOptions{.depth = 3,
                                   .steps_estimate = uint64_t(threads) *
                                                     increments * 2});
  Result r = Scheduler().run(bodies, pct);
  EXPECT_EQ(r.status, Status::kCompleted);
  return int64_t{threads} * increments - x.peek();
}

TEST(Scheduler, LostUpdateFoundByPct) {
  int found_at = -1;
  for (int seed = 0; seed < 200 && found_at < 0; ++seed)
    if (lost_increments(2, 2, seed) > 0) found_at = seed;
  EXPECT_GE(found_at, 0) << "no seed in [0, 200) lost an update";
  for (int seed = 0; seed < 200; ++seed)
    ASSERT_EQ(lost_increments(1, 4, seed), 0) << "seed " << seed;
}

TEST(Scheduler, InputStrategyFollowsPreemptionPoints) {
  sync::Atomic<int> a{0}, b{0};
  std::vector<ThreadBody> bodies = {[&] {
                                      for (int i = 0; i < 4; ++i) a.load();
                                    },
                                    [&] {
                                      for (int i = 0; i < 4; ++i) b.load();
                                    }};
  // 2 steps, switch to 1; 1 more step, switch to 0 (thread 2 -> 2 % 2);
  // at once switch to 1 (5 % 2); then no more preemptions.
  InputStrategy s({{2, 1}, {1, 2}, {0, 5}});
  Result r = Scheduler(Options{.recording = Recording::kFullTrace}).run(bodies, s);
  EXPECT_EQ(thread_sequence(r), (std::vector<uint8_t>{0, 0, 1, 1, 0, 1, 1, 0}));
  EXPECT_EQ(r.preemptions, 3u);
  EXPECT_EQ(r.switches, 4u);  // 3 preemptions + 1 hand-over at thread 1's end
  EXPECT_EQ(r.schedule, "input 2:1,1:2,0:5");
}

TEST(Strategy, UnknownNameListsTheValidOnes) {
  try {
    make_strategy("dfs", 0);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("'dfs'"), std::string::npos) << msg;
    for (const StrategyInfo& info : kStrategies)
      EXPECT_NE(msg.find(info.name), std::string::npos) << msg;
  }
  for (const StrategyInfo& info : kStrategies)
    EXPECT_EQ(make_strategy(info.name, 0)->name(), info.name);
}

TEST(Strategy, DecodePreemptionsIsTotalAndRoundTrips) {
  EXPECT_EQ(decode_preemptions(std::vector<uint8_t>{5, 1}),
            (std::vector<Preemption>{{5, 1}}));
  EXPECT_EQ(decode_preemptions(std::vector<uint8_t>{0x81, 0x02, 0x03}),
            (std::vector<Preemption>{{257, 3}}));
  EXPECT_TRUE(decode_preemptions(std::vector<uint8_t>{0x81}).empty());
  EXPECT_TRUE(decode_preemptions(std::vector<uint8_t>{0x81, 0x02}).empty());
  SplitMix64 rng(99);
  for (size_t len = 0; len < 400; ++len) {
    std::vector<uint8_t> bytes(len);
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng.next());
    auto points = decode_preemptions(bytes, 64);
    ASSERT_LE(points.size(), 64u);
    EXPECT_EQ(decode_preemptions(encode_preemptions(points), 64), points);
  }
  std::vector<Preemption> big = {{kMaxEncodedAfterSteps + 10, 4}};
  EXPECT_EQ(decode_preemptions(encode_preemptions(big))[0].after_steps,
            kMaxEncodedAfterSteps);
}

TEST(Strategy, PctAdaptsItsStepEstimateOnlyWhenAsked) {
  World w;
  auto bodies = three_threads(w);
  PctStrategy fixed(1), adaptive(1, PctOptions{.adapt = AdaptSteps::kFromPreviousRun});
  Scheduler sched;
  sched.run(bodies, fixed);
  Result r = sched.run(bodies, adaptive);
  EXPECT_EQ(fixed.steps_estimate(), 200u);
  EXPECT_EQ(adaptive.steps_estimate(), r.steps);
  EXPECT_NE(adaptive.describe().find("k=" + std::to_string(r.steps)),
            std::string::npos);
}

}  // namespace
