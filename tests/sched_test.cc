// Properties of the deterministic scheduler (fuzz/sched), driven only through
// model/sync: a schedule is a replay recipe (same seed => same trace, on
// every build), each strategy reaches the interleavings it should, and runs
// end as documented (deadlock, hang, stop) with every RAII destructor run.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz/sched/scheduler.h"
#include "fuzz/sched/fiber_san.h"
#include "model/sync/atomic.h"
#include "model/sync/locks.h"

#if PF_SCHED_ASAN
#include <sanitizer/lsan_interface.h>
#endif

namespace {

using namespace pf::sched;
namespace sync = pf::sync;
using sync::Site;

constexpr std::array<const char*, 3> kNames = {"input", "random", "pct"};

// Three threads, ~12 accesses each, whose control flow depends on the values
// they read, so different interleavings give different traces.
struct World {
  sync::Atomic<int64_t> a{0}, b{0}, c{0};
};

std::vector<ThreadBody> three_threads(World& w) {
  std::vector<ThreadBody> bodies;
  for (int64_t t = 0; t < 3; ++t) {
    bodies.push_back([&w, t] {
      for (int64_t i = 0; i < 4; ++i) {
        int64_t v = w.a.load();
        w.b.fetch_add(v + t);
        if (w.c.cmpxchg(i, i + t + 1) != i) w.a.store(v * 2 + t);
      }
    });
  }
  return bodies;
}

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

std::vector<uint8_t> thread_sequence(const Result& r) {
  std::vector<uint8_t> seq;
  for (const Step& s : r.trace) seq.push_back(s.thread);
  return seq;
}

// For a test that leaks on purpose: LeakSanitizer ignores what is allocated
// while one of these lives.
struct LeakCheckDisabler {
#if PF_SCHED_ASAN
  LeakCheckDisabler() { __lsan_disable(); }
  ~LeakCheckDisabler() { __lsan_enable(); }
#endif
};

// RAII witness: counts its destructions.
struct CountsDestruction {
  int* destroyed;
  ~CountsDestruction() { ++*destroyed; }
};

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

struct Abba {
  sync::SpinLock a, b;
  std::vector<ThreadBody> bodies() {
    return {[this] {
              sync::Guard ga(a);
              sync::Guard gb(b);
            },
            [this] {
              sync::Guard gb(b);
              sync::Guard ga(a);
            }};
  }
};

TEST(Scheduler, AbbaDeadlockDetected) {
  int deadlocks = 0, completions = 0;
  Scheduler sched;
  for (uint64_t seed = 0; seed < 100; ++seed) {
    Abba w;
    auto bodies = w.bodies();
    RandomStrategy s(seed, RandomOptions{.switch_probability = 0.5});
    Result r = sched.run(bodies, s);
    deadlocks += r.status == Status::kDeadlock;
    completions += r.status == Status::kCompleted;
    // Either way the guards were unwound: no lock stays held.
    EXPECT_FALSE(w.a.is_locked() || w.b.is_locked()) << "seed " << seed;
  }
  EXPECT_GT(deadlocks, 0);
  EXPECT_GT(completions, 0);

  // Thread 0 takes a; after 1 step thread 1 takes b; both then wait.
  std::set<uint64_t> hashes;
  for (int i = 0; i < 5; ++i) {
    Abba w;
    auto bodies = w.bodies();
    InputStrategy s({{1, 1}});
    Result r = sched.run(bodies, s);
    EXPECT_EQ(r.status, Status::kDeadlock);
    EXPECT_EQ(r.steps, 4u);  // a, b, a (fails), b (fails)
    EXPECT_EQ(r.parks, 2u);
    EXPECT_EQ(r.abandoned, 0u);
    EXPECT_FALSE(w.a.is_locked() || w.b.is_locked());
    hashes.insert(r.trace_hash);
  }
  EXPECT_EQ(hashes.size(), 1u);
}

TEST(Scheduler, DeadlockWhenTheLastRunnableThreadFinishes) {
  sync::SpinLock lock;
  bool waiter_got_it = false;
  std::vector<ThreadBody> bodies = {
      [&] { lock.lock(); },  // returns holding it
      [&] {
        lock.lock();
        waiter_got_it = true;
      }};
  InputStrategy s({});
  Result r = Scheduler().run(bodies, s);
  EXPECT_EQ(r.status, Status::kDeadlock);
  EXPECT_FALSE(waiter_got_it);
  EXPECT_EQ(r.abandoned, 0u);
}

TEST(Scheduler, HangDetected) {
  for (const char* name : kNames) {
    sync::Atomic<int> flag{0}, other{0};
    int destroyed = 0;
    std::vector<ThreadBody> bodies = {
        [&] {
          CountsDestruction c{&destroyed};
          while (flag.load() == 0) {
          }
        },
        [&] {
          for (int i = 0; i < 3; ++i) other.fetch_add(1);
        }};
    auto s = make_strategy(name, 3);
    Result r = Scheduler(Options{.step_budget = 500}).run(bodies, *s);
    EXPECT_EQ(r.status, Status::kHang) << name;
    EXPECT_EQ(r.steps, 500u) << name;
    EXPECT_EQ(destroyed, 1) << name << ": the spinner was unwound";
  }
}

TEST(Scheduler, BlockedFiberWakesOnUnlock) {
  sync::SpinLock lock;
  sync::Atomic<int> x{0};
  int seen = -1;
  std::vector<ThreadBody> bodies = {
      [&] {
        lock.lock();
        for (int i = 1; i <= 3; ++i) x.store(i);
        lock.unlock();
      },
      [&] {
        lock.lock();
        seen = x.load();
        lock.unlock();
      }};
  // Thread 1 tries the lock right after thread 0 took it.
  InputStrategy s({{1, 1}});
  Result r = Scheduler(Options{.recording = Recording::kFullTrace}).run(bodies, s);
  EXPECT_EQ(r.status, Status::kCompleted);
  EXPECT_EQ(r.parks, 1u);
  EXPECT_EQ(seen, 3);
  // Thread 1's two attempts: the first fails (no value), the second succeeds
  // after thread 0's unlock.
  std::vector<const Step*> attempts;
  size_t unlock_at = 0;
  for (const Step& st : r.trace) {
    if (st.thread == 1 && st.kind == sync::Access::kRmw) attempts.push_back(&st);
    if (st.thread == 0 && st.kind == sync::Access::kRmw && st.before == 1 &&
        st.after == 0)
      unlock_at = st.index;
  }
  ASSERT_EQ(attempts.size(), 3u);  // fail, succeed, unlock
  EXPECT_FALSE(attempts[0]->has_value);
  EXPECT_TRUE(attempts[1]->has_value);
  EXPECT_GT(attempts[1]->index, unlock_at);
}

TEST(Scheduler, PercpuRefWaitForZeroParksAndResumes) {
  for (uint64_t seed = 0; seed < 30; ++seed) {
    sync::PercpuRef ref;
    ref.init();
    bool done = false;
    std::vector<ThreadBody> bodies = {[&] {
                                        ref.wait_for_zero();
                                        done = true;
                                      },
                                      [&] {
                                        ref.get_many(2);
                                        ref.put();
                                        ref.put();
                                        ref.kill();
                                      }};
    // seed 0: the input schedule, where the waiter runs first and must park.
    std::unique_ptr<Strategy> s;
    if (seed == 0) {
      s = std::make_unique<InputStrategy>(std::vector<Preemption>{});
    } else {
      s = make_strategy("random", seed);
    }
    Result r = Scheduler().run(bodies, *s);
    EXPECT_EQ(r.status, Status::kCompleted) << "seed " << seed;
    EXPECT_TRUE(done);
    EXPECT_EQ(ref.count(), 0);
    EXPECT_TRUE(ref.is_dead());
    if (seed == 0) EXPECT_EQ(r.parks, 1u);
  }
}

TEST(Scheduler, RequestStopUnwindsFibers) {
  Scheduler sched;
  sync::SpinLock lock;
  sync::Atomic<int> spin{0}, y{0}, in_dtor{0};
  int destroyed = 0;
  bool waiter_got_lock = false;
  struct AccessesInDestructor {
    sync::Atomic<int>* x;
    int* destroyed;
    ~AccessesInDestructor() noexcept(false) {
      x->fetch_add(1);  // a scheduling point during unwinding
      ++*destroyed;
    }
  };
  std::vector<ThreadBody> bodies = {
      [&] {  // holds the lock and spins forever
        sync::Guard g(lock);
        AccessesInDestructor d{&in_dtor, &destroyed};
        while (spin.load() == 0) {
        }
      },
      [&] {  // the "oracle"
        for (int i = 0; i < 5; ++i) y.fetch_add(1);
        sched.request_stop();
        y.fetch_add(100);  // never executes
      },
      [&] {  // parks on the lock
        sync::Guard g(lock);
        waiter_got_lock = true;
      }};
  // Thread 0: lock + 1 spin; thread 2: tries, parks; thread 1 at once.
  InputStrategy s({{2, 2}, {0, 1}});
  Result r = sched.run(bodies, s);
  EXPECT_EQ(r.status, Status::kStopped);
  EXPECT_EQ(r.steps, 8u);  // 2 + 1 + 5; nothing after the stop counts
  EXPECT_EQ(r.parks, 1u);
  EXPECT_EQ(r.abandoned, 0u);
  EXPECT_EQ(y.peek(), 5);
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(in_dtor.peek(), 1);  // the destructor's access did happen
  EXPECT_FALSE(lock.is_locked());  // Guard released it while unwinding
  EXPECT_FALSE(waiter_got_lock);
  EXPECT_EQ(sched.current_thread(), kNoThread);
}

// Thread 0's destructor needs a lock that thread 1 holds through a Guard:
// thread 0 parks mid-unwind, thread 1 must then unwind too (each fiber sees
// only its own exceptions in flight) and its Guard lets thread 0 finish.
TEST(Scheduler, UnwindingThreadWaitsForAnotherToUnwind) {
  Scheduler sched;
  sync::SpinLock m;
  sync::Atomic<int> spin{0}, y{0};
  bool t0_done = false, t2_went_on = false;
  struct LocksInDestructor {
    sync::SpinLock* m;
    bool* done;
    ~LocksInDestructor() noexcept(false) {
      m->lock();
      m->unlock();
      *done = true;
    }
  };
  std::vector<ThreadBody> bodies = {
      [&] {
        LocksInDestructor d{&m, &t0_done};
        while (spin.load() == 0) {
        }
      },
      [&] {
        sync::Guard g(m);
        for (;;) y.fetch_add(1);
      },
      [&] {
        sched.request_stop();
        spin.store(1);
        t2_went_on = true;
      }};
  // 0 spins twice; 1 takes m and adds three times; 2 stops the run.
  InputStrategy s({{2, 1}, {3, 2}});
  Result r = sched.run(bodies, s);
  EXPECT_EQ(r.status, Status::kStopped);
  EXPECT_EQ(r.steps, 6u);
  EXPECT_EQ(r.abandoned, 0u);
  EXPECT_TRUE(t0_done);
  EXPECT_FALSE(t2_went_on);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(spin.peek(), 0);
}

TEST(Scheduler, ThreadThatCannotUnwindIsAbandoned) {
  Scheduler sched;
  sync::SpinLock m;
  sync::Atomic<int> spin{0};
  bool t0_done = false;
  struct LocksInDestructor {
    sync::SpinLock* m;
    bool* done;
    ~LocksInDestructor() noexcept(false) {
      m->lock();  // never succeeds: thread 1 keeps m without RAII
      *done = true;
    }
  };
  std::vector<ThreadBody> bodies = {
      [&] {
        LocksInDestructor d{&m, &t0_done};
        while (spin.load() == 0) {
        }
      },
      [&] {
        m.lock();
        sched.request_stop();
        spin.load();
      }};
  InputStrategy s({{1, 1}});
  Result r;
  {
    // The abandoned thread's exception stays in flight forever.
    [[maybe_unused]] LeakCheckDisabler no_leak_check;
    r = sched.run(bodies, s);
  }
  EXPECT_EQ(r.status, Status::kStopped);
  EXPECT_EQ(r.abandoned, 1u);
  EXPECT_FALSE(t0_done);
  // Nothing of that thread is resumed later; the scheduler goes on.
  std::vector<ThreadBody> one = {[&] { spin.store(1); }};
  EXPECT_EQ(sched.run(one, s).status, Status::kCompleted);
  EXPECT_FALSE(t0_done);
}

TEST(Scheduler, ExceptionInFiberIsRethrownFromRun) {
  sync::Atomic<int> x{0};
  int destroyed = 0;
  std::vector<ThreadBody> bodies = {
      [&] {
        CountsDestruction c{&destroyed};
        while (x.load() == 0) {
        }
      },
      [&] {
        x.load();
        throw std::runtime_error("boom");
      }};
  InputStrategy s({{1, 1}});
  Scheduler sched;
  try {
    sched.run(bodies, s);
    ADD_FAILURE() << "run() returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_EQ(destroyed, 1);
  // The scheduler is usable afterwards.
  std::vector<ThreadBody> one = {[&] { x.store(1); }};
  EXPECT_EQ(sched.run(one, s).status, Status::kCompleted);
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
