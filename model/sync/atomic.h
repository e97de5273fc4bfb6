// pf::sync::Atomic<T>: std::atomic<T> whose every operation is a scheduling
// point. Before the access it calls the hook (may switch threads under the
// deterministic scheduler); read-modify-writes and stores also report the
// value before and after, for recording. The operation itself is a real
// std::atomic operation, so in free mode ThreadSanitizer sees exactly the
// memory orders written here. peek() is the one access that is not a
// scheduling point: it is for oracles and invariants, which must not perturb
// the schedule, never for model logic.
//
// Memory orders. The deterministic engine ignores them (every fiber switch
// is a full barrier); `pinfuzz stress` runs them on real cores and
// ThreadSanitizer checks them. Model code writes the order the kernel's
// primitive implies (Documentation/atomic_t.txt, atomic_bitops.txt,
// memory-barriers.txt), and says why where it differs:
//
//   kernel                                         here
//   ---------------------------------------------  ---------------------------
//   atomic_read, atomic_set, READ_ONCE/WRITE_ONCE   relaxed
//   of a plain counter or flag word
//   atomic_add/sub/inc/dec, set_bit, clear_bit      relaxed
//   (no return value)
//   value-returning RMW: *_return, *_and_test,      seq_cst ("fully ordered":
//   atomic_cmpxchg, atomic_add_unless,              smp_mb() on both sides)
//   test_and_set_bit, test_and_clear_bit
//   *_acquire, test_and_set_bit_lock,               acquire
//   smp_load_acquire, lock acquisition
//   *_release, clear_bit_unlock,                    release
//   atomic_set_release, smp_store_release, unlock
//   READ_ONCE of a word whose target is read next   acquire (C++ has no
//   (a PTE, a page-cache slot: address dependency)  usable consume)
//   a store that publishes an initialized page      release (__folio_mark_uptodate()'s
//   (set_pte_at(), xa_store() of a new folio)       smp_wmb() before the PTE or slot)
//   smp_mb(), smp_mb__after_atomic()                sync::smp_mb(): seq_cst fence
//
// The one deliberate exception is a design knob that plants a kernel
// ordering bug (mmap_lock_no_acquire); it is named after the mistake and
// only ThreadSanitizer can see it.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "model/sync/hook.h"

namespace pf::sync {

template <class T>
class Atomic {
  static_assert(std::is_integral_v<T> || std::is_enum_v<T>,
                "Atomic<T> models kernel atomics: integers and enums only");

 public:
  using mo = std::memory_order;

  constexpr Atomic() noexcept : v_(T{}) {}
  constexpr explicit Atomic(T init) noexcept : v_(init) {}
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(mo order = mo::seq_cst, Site s = Site::here()) const {
    access(s, this, Access::kLoad);
    T v = v_.load(order);
    loaded(s, this, as_i64(v));
    return v;
  }
  void store(T x, mo order = mo::seq_cst, Site s = Site::here()) {
    access(s, this, Access::kStore);
    T old = v_.exchange(x, order);
    value(s, this, as_i64(old), as_i64(x));
  }
  // store(make()), with make() called after the scheduling point, right
  // before the store: a value drawn from a ghost counter is then ordered
  // exactly like the stores (no other thread can store in between).
  // Returns the value stored.
  template <class Make>
  T store_from(Make make, mo order = mo::seq_cst, Site s = Site::here()) {
    access(s, this, Access::kStore);
    T x = make();
    T old = v_.exchange(x, order);
    value(s, this, as_i64(old), as_i64(x));
    return x;
  }
  T fetch_add(T d, mo order = mo::seq_cst, Site s = Site::here()) {
    access(s, this, Access::kRmw);
    T old = v_.fetch_add(d, order);
    value(s, this, as_i64(old), as_i64(static_cast<T>(old + d)));
    return old;
  }
  T fetch_sub(T d, mo order = mo::seq_cst, Site s = Site::here()) {
    access(s, this, Access::kRmw);
    T old = v_.fetch_sub(d, order);
    value(s, this, as_i64(old), as_i64(static_cast<T>(old - d)));
    return old;
  }
  T fetch_or(T bits, mo order = mo::seq_cst, Site s = Site::here()) {
    access(s, this, Access::kRmw);
    T old = v_.fetch_or(bits, order);
    value(s, this, as_i64(old), as_i64(static_cast<T>(old | bits)));
    return old;
  }
  T fetch_and(T bits, mo order = mo::seq_cst, Site s = Site::here()) {
    access(s, this, Access::kRmw);
    T old = v_.fetch_and(bits, order);
    value(s, this, as_i64(old), as_i64(static_cast<T>(old & bits)));
    return old;
  }
  // Kernel-style cmpxchg: returns the value found; success iff it == expected.
  T cmpxchg(T expected, T desired, mo order = mo::seq_cst,
            Site s = Site::here()) {
    access(s, this, Access::kRmw);
    T found = expected;
    if (v_.compare_exchange_strong(found, desired, order)) {
      value(s, this, as_i64(expected), as_i64(desired));
      return expected;
    }
    return found;
  }
  // include/linux/atomic.h: atomic_add_unless(v, a, u): add a unless the
  // value is u; true if it added. One atomic step, as in the kernel.
  bool add_unless(T d, T unless, mo order = mo::seq_cst,
                  Site s = Site::here()) {
    access(s, this, Access::kRmw);
    T cur = v_.load(mo::relaxed);
    do {
      if (cur == unless) return false;
    } while (!v_.compare_exchange_weak(cur, static_cast<T>(cur + d), order,
                                       mo::relaxed));
    value(s, this, as_i64(cur), as_i64(static_cast<T>(cur + d)));
    return true;
  }
  // For oracles and invariants only: not a scheduling point.
  T peek() const noexcept { return v_.load(mo::seq_cst); }
  // For world setup before any model thread runs.
  void init(T x) noexcept { v_.store(x, mo::relaxed); }

 private:
  static int64_t as_i64(T x) {
    if constexpr (std::is_enum_v<T>) {
      return static_cast<int64_t>(static_cast<std::underlying_type_t<T>>(x));
    } else {
      return static_cast<int64_t>(x);
    }
  }
  std::atomic<T> v_;
};

// smp_mb(): a full barrier, and a scheduling point of its own.
inline void smp_mb(Site s = Site::here()) {
  access(s, nullptr, Access::kFence);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace pf::sync
