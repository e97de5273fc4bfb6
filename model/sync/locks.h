// The blocking primitives the model is written in. Each is built from
// pf::sync::Atomic plus block()/wake(), so under the deterministic scheduler a
// thread that cannot get a lock is parked (no OS blocking), and under free
// mode it spins with yield. None of them is fair; none of them is recursive.
// Misuse (unlocking what you do not hold) is a model bug and aborts.
//
//   SpinLock   spinlock_t        (one word: 0 free, 1 held)
//   Mutex      struct mutex      (same shape; sleeps instead of spinning)
//   RwSem      struct rw_semaphore (count: -1 writer, 0 free, n readers)
//   SeqCount   seqcount_t        (odd = write in progress)
//   PercpuRef  struct percpu_ref (atomic mode only: count + DEAD bit)
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>

#include "model/sync/atomic.h"

namespace pf::sync {

// Blocks until pred() holds, re-checking after every wake of `obj`.
template <class Pred>
void wait_until(const void* obj, Pred pred, Site s = Site::here()) {
  while (!pred()) block(s, obj);
}

class SpinLock {
 public:
  bool try_lock(Site s = Site::here()) {
    return word_.cmpxchg(0, 1, std::memory_order_acquire, s) == 0;
  }
  void lock(Site s = Site::here()) {
    while (!try_lock(s)) block(s, this);
  }
  void unlock(Site s = Site::here()) {
    if (word_.fetch_sub(1, std::memory_order_release, s) != 1) std::abort();
    wake(this);
  }
  bool is_locked() const noexcept { return word_.peek() != 0; }

 private:
  Atomic<int32_t> word_{0};
};

// struct mutex: for the model the difference to a spinlock is only that
// holders may block on other things while holding it.
class Mutex : public SpinLock {};

template <class L>
class Guard {
 public:
  explicit Guard(L& l, Site s = Site::here()) : l_(l), s_(s) { l_.lock(s_); }
  // noexcept(false): a scheduler may unwind a stopped thread through here.
  ~Guard() noexcept(false) { l_.unlock(s_); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  L& l_;
  Site s_;
};

// kernel/locking/rwsem.c: every way into the lock has ACQUIRE (the
// "Provide lock ACQUIRE" comments), every way out RELEASE, so what a writer
// did under it is visible to the next reader. Data that only the lock
// protects (Mm's VMAs) depends on exactly these two orders.
class RwSem {
 public:
  // The order down_read() takes the lock with. Only a design knob lowers it
  // (mmap_lock_no_acquire: e1b98fa31664, the 'queue empty' slowpath exit
  // that returned without ACQUIRE); set before any thread uses the lock.
  void set_read_order(std::memory_order mo) noexcept { read_order_ = mo; }

  void down_read(Site s = Site::here()) {
    for (;;) {
      // atomic_long_read(): the value only picks the next step.
      int32_t v = count_.load(std::memory_order_relaxed, s);
      if (v >= 0 && count_.cmpxchg(v, v + 1, read_order_, s) == v) return;
      if (v < 0) block(s, this);
    }
  }
  void up_read(Site s = Site::here()) {
    if (count_.fetch_sub(1, std::memory_order_release, s) <= 0) std::abort();
    wake(this);
  }
  void down_write(Site s = Site::here()) {
    while (count_.cmpxchg(0, -1, std::memory_order_acquire, s) != 0)
      block(s, this);
  }
  void up_write(Site s = Site::here()) {
    if (count_.cmpxchg(-1, 0, std::memory_order_release, s) != -1) std::abort();
    wake(this);
  }
  bool is_write_locked() const noexcept { return count_.peek() < 0; }
  int32_t readers() const noexcept {
    int32_t v = count_.peek();
    return v > 0 ? v : 0;
  }

 private:
  Atomic<int32_t> count_{0};
  std::memory_order read_order_ = std::memory_order_acquire;
};

// include/linux/seqlock.h: seqcount_t. The writer makes the count odd for the
// duration of the write; readers sample it and retry if it was odd or moved.
class SeqCount {
 public:
  void write_begin(Site s = Site::here()) {
    seq_.fetch_add(1, std::memory_order_release, s);
  }
  void write_end(Site s = Site::here()) {
    seq_.fetch_add(1, std::memory_order_release, s);
  }
  // raw_read_seqcount(): no waiting for an even value.
  uint32_t raw_read(Site s = Site::here()) const {
    return seq_.load(std::memory_order_acquire, s);
  }
  // read_seqcount_retry(): true if a write began or completed since `start`.
  bool retry(uint32_t start, Site s = Site::here()) const {
    return seq_.load(std::memory_order_acquire, s) != start;
  }
  uint32_t peek() const noexcept { return seq_.peek(); }

 private:
  Atomic<uint32_t> seq_{0};
};

// lib/percpu-refcount.c in atomic mode: one counter plus __PERCPU_REF_DEAD.
// The initial reference is the owner's; kill() marks the ref dead and drops
// it. tryget_live() fails once dead. The release callback runs exactly once,
// when the count reaches zero after kill().
class PercpuRef {
 public:
  static constexpr int64_t kDead = int64_t{1} << 40;

  // percpu_ref_init(): count 1, live.
  void init() noexcept {
    v_.init(1);
    underflowed_.store(false, std::memory_order_relaxed);
  }
  bool tryget_live(Site s = Site::here()) {
    for (;;) {
      int64_t v = v_.load(std::memory_order_relaxed, s);
      if (v & kDead) return false;
      if (v_.cmpxchg(v, v + 1, std::memory_order_acquire, s) == v) return true;
    }
  }
  void get_many(int64_t n, Site s = Site::here()) {
    v_.fetch_add(n, std::memory_order_relaxed, s);
  }
  // percpu_ref_put_many(): true if this dropped the last reference.
  // More puts than gets is the owner's bug (a design that frees a device
  // page twice puts its pagemap twice): the kernel WARNs ("percpu ref ...
  // <= 0") and runs on with a corrupt count. The model undoes the put,
  // remembers it (underflowed()), and its caller reports it.
  bool put_many(int64_t n, Site s = Site::here()) {
    int64_t old = v_.fetch_sub(n, std::memory_order_acq_rel, s);
    int64_t left = (old & ~kDead) - n;
    if (left < 0) {
      v_.fetch_add(n, std::memory_order_relaxed, s);
      underflowed_.store(true, std::memory_order_relaxed);
      return false;
    }
    if (left == 0) wake(this);
    return left == 0;
  }
  bool underflowed() const noexcept { return underflowed_.load(std::memory_order_relaxed); }
  bool put(Site s = Site::here()) { return put_many(1, s); }
  // percpu_ref_kill(): mark dead, drop the initial reference.
  bool kill(Site s = Site::here()) {
    v_.fetch_or(kDead, std::memory_order_acq_rel, s);
    return put(s);
  }
  // wait_for_completion() on the release: blocks until the count is zero.
  void wait_for_zero(Site s = Site::here()) {
    while ((v_.load(std::memory_order_acquire, s) & ~kDead) != 0)
      block(s, this);
  }
  int64_t count() const noexcept { return v_.peek() & ~kDead; }
  bool is_dead() const noexcept { return (v_.peek() & kDead) != 0; }

 private:
  Atomic<int64_t> v_{1};
  std::atomic<bool> underflowed_{false};  // not a model access: an oracle's note
};

}  // namespace pf::sync
