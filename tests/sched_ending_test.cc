// Runs under the scheduler end as documented - deadlock, hang, stop, an
// exception rethrown - with every RAII destructor run on the way out, and
// a fiber that blocks parks until it is woken.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include "fuzz/sched/fiber_san.h"
#include "fuzz/sched/scheduler.h"
#include "model/sync/atomic.h"
#include "model/sync/locks.h"
#include "tests/sched_test_util.h"

#if PF_SCHED_ASAN
#include <sanitizer/lsan_interface.h>
#endif

namespace {

using namespace pf::sched;
using namespace pf::sched::test;
namespace sync = pf::sync;
using sync::Site;

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

}  // namespace
