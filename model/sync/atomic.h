// pf::sync::Atomic<T>: std::atomic<T> whose every operation is a scheduling
// point. Before the access it calls the hook (may switch threads under the
// deterministic scheduler); read-modify-writes and stores also report the
// value before and after, for recording. The operation itself is a real
// std::atomic operation, so in free mode ThreadSanitizer sees exactly the
// memory orders written here. peek() is the one access that is not a
// scheduling point: it is for oracles and invariants, which must not perturb
// the schedule, never for model logic.
//
// Memory orders. Under the deterministic engine's sc model they do not
// matter (every fiber switch is a full barrier); under its tso and arm models
// they decide what a store buffer may hold back (fuzz/sched/scheduler.cc,
// docs/model.md "Weak memory"); `pinfuzz stress` runs them on real cores and
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
#include <optional>
#include <type_traits>

#include "model/sync/hook.h"

namespace pf::sync {

// The sc fast path of every access is inlined into the model (it was, before
// the weak paths grew the functions past the compiler's inlining budget and
// made every load a call: 15-20% of model_bench). The weak paths stay out of
// line and cold.
#define PF_SYNC_INLINE __attribute__((always_inline)) inline

// kBuffered = false (Immediate<T>): a word outside the weak memory model.
// Its accesses are scheduling points like any other, but under tso and arm
// a store to it is visible at once and drains nothing, and a load reads
// memory. For page contents and the disk: what orders them in the kernel is
// the TLB shootdown (its IPI drains the interrupted CPU's stores), I/O
// completion and the page lock, not a store buffer the model could show.
template <class T, bool kBuffered = true>
class Atomic {
  static_assert(std::is_integral_v<T> || std::is_enum_v<T>,
                "Atomic<T> models kernel atomics: integers and enums only");

 public:
  using mo = std::memory_order;

  constexpr Atomic() noexcept : v_(T{}) {}
  constexpr explicit Atomic(T init) noexcept : v_(init) {}
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  PF_SYNC_INLINE T load(mo order = mo::seq_cst, Site s = Site::here()) const {
    T v;
    if (Hook* h = begin(s, Access::kLoad, order)) [[unlikely]]
      v = weak_load(h, s, order);
    else
      v = v_.load(order);
    loaded(s, this, as_i64(v));
    return v;
  }
  PF_SYNC_INLINE void store(T x, mo order = mo::seq_cst, Site s = Site::here()) {
    Hook* h = begin(s, Access::kStore, order);
    value(s, this, exchange_word(h, x, order, s), as_i64(x));
  }
  // store(make()), with make() called after the scheduling point, right
  // before the store: a value drawn from a ghost counter is then ordered
  // exactly like the stores (no other thread can store in between).
  // Returns the value stored. On real threads (pinfuzz stress) a step is
  // not one event, so the draw and the store are made one by a
  // compare-and-swap that draws again if another store came in between:
  // else a value drawn first could land last, and an oracle that trusts
  // "newer data is larger" (the disk check) would report a lost write the
  // model never made. Under the deterministic scheduler the loop runs once.
  template <class Make>
  PF_SYNC_INLINE T store_from(Make make, mo order = mo::seq_cst, Site s = Site::here()) {
    Hook* h = begin(s, Access::kStore, order);
    if (h) [[unlikely]] {  // weak memory: the hook owns the word
      T x = make();
      value(s, this, exchange_word(h, x, order, s), as_i64(x));
      return x;
    }
    T old = v_.load(mo::relaxed);
    T x = make();
    while (!v_.compare_exchange_strong(old, x, order, mo::relaxed)) x = make();
    value(s, this, as_i64(old), as_i64(x));
    return x;
  }
  PF_SYNC_INLINE T fetch_add(T d, mo order = mo::seq_cst, Site s = Site::here()) {
    return rmw([d](T o) { return std::optional<T>(static_cast<T>(o + d)); },
               [&] { return v_.fetch_add(d, order); }, order, s);
  }
  PF_SYNC_INLINE T fetch_sub(T d, mo order = mo::seq_cst, Site s = Site::here()) {
    return rmw([d](T o) { return std::optional<T>(static_cast<T>(o - d)); },
               [&] { return v_.fetch_sub(d, order); }, order, s);
  }
  PF_SYNC_INLINE T fetch_or(T bits, mo order = mo::seq_cst, Site s = Site::here()) {
    return rmw([bits](T o) { return std::optional<T>(static_cast<T>(o | bits)); },
               [&] { return v_.fetch_or(bits, order); }, order, s);
  }
  PF_SYNC_INLINE T fetch_and(T bits, mo order = mo::seq_cst, Site s = Site::here()) {
    return rmw([bits](T o) { return std::optional<T>(static_cast<T>(o & bits)); },
               [&] { return v_.fetch_and(bits, order); }, order, s);
  }
  // xchg() / xchg_relaxed(): writes x, returns the value it replaced; one
  // read-modify-write (x86's ptep_get_and_clear() is an xchg).
  PF_SYNC_INLINE T xchg(T x, mo order = mo::seq_cst, Site s = Site::here()) {
    return rmw([x](T) { return std::optional<T>(x); },
               [&] { return v_.exchange(x, order); }, order, s);
  }
  // Kernel-style cmpxchg: returns the value found; success iff it == expected.
  PF_SYNC_INLINE T cmpxchg(T expected, T desired, mo order = mo::seq_cst,
            Site s = Site::here()) {
    T found = expected;
    if (Hook* h = begin(s, Access::kRmw, order)) [[unlikely]] {
      found = weak_rmw(h, s, order, [&](T o) {
        return o == expected ? std::optional<T>(desired) : std::nullopt;
      });
      if (found == expected) value(s, this, as_i64(expected), as_i64(desired));
      return found;
    }
    if (v_.compare_exchange_strong(found, desired, order)) {
      value(s, this, as_i64(expected), as_i64(desired));
      return expected;
    }
    return found;
  }
  // include/linux/atomic.h: atomic_add_unless(v, a, u): add a unless the
  // value is u; true if it added. One atomic step, as in the kernel.
  PF_SYNC_INLINE bool add_unless(T d, T unless, mo order = mo::seq_cst,
                  Site s = Site::here()) {
    T cur;
    if (Hook* h = begin(s, Access::kRmw, order)) [[unlikely]] {
      cur = weak_rmw(h, s, order, [&](T o) {
        return o == unless ? std::nullopt : std::optional<T>(static_cast<T>(o + d));
      });
      if (cur == unless) return false;
    } else {
      cur = v_.load(mo::relaxed);
      do {
        if (cur == unless) return false;
      } while (!v_.compare_exchange_weak(cur, static_cast<T>(cur + d), order,
                                         mo::relaxed));
    }
    value(s, this, as_i64(cur), as_i64(static_cast<T>(cur + d)));
    return true;
  }

  // The kernel's names for the same accesses (Documentation/memory-barriers.txt).
  T read_once(Site s = Site::here()) const { return load(mo::relaxed, s); }
  void write_once(T x, Site s = Site::here()) { store(x, mo::relaxed, s); }
  T load_acquire(Site s = Site::here()) const { return load(mo::acquire, s); }
  void store_release(T x, Site s = Site::here()) { store(x, mo::release, s); }

  // For oracles and invariants only: not a scheduling point. Under weak
  // memory it reads memory: what every other thread could see, not what the
  // calling thread's own store buffer holds.
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
  static T from_i64(int64_t x) {
    if constexpr (std::is_enum_v<T>) {
      return static_cast<T>(static_cast<std::underlying_type_t<T>>(x));
    } else {
      return static_cast<T>(x);
    }
  }
  static int64_t read_word(const void* obj) {
    return as_i64(static_cast<const Atomic*>(obj)->v_.load(mo::relaxed));
  }
  static void write_word(void* obj, int64_t x) {
    static_cast<Atomic*>(obj)->v_.store(from_i64(x), mo::relaxed);
  }
  Cell cell() const {
    return Cell{const_cast<Atomic*>(this), &read_word, &write_word};
  }
  // The weak paths, out of line and cold.
  [[gnu::noinline, gnu::cold]] T weak_load(Hook* h, Site s, mo order) const {
    return from_i64(h->weak_load(s, cell(), order));
  }
  [[gnu::noinline, gnu::cold]] int64_t weak_store(Hook* h, T x, mo order, Site s) {
    return h->weak_store(s, cell(), as_i64(x), order);
  }
  [[gnu::noinline, gnu::cold]] void weak_begin(Hook* h, Site s, Access kind, mo order) const {
    h->weak_access(s, this, kind, order, Fence::kMb);
  }
  // The scheduling point of an access: the weak-memory hook, if one runs
  // this word (returned), else the plain one (nullptr returned). One read of
  // the thread-local hook: this is every access's fast path.
  PF_SYNC_INLINE Hook* begin(Site s, Access kind, mo order) const {
    (void)order;  // Immediate<T>: no weak path
    Hook* h = detail::tls_hook;
    if (!h) return nullptr;
    if constexpr (kBuffered) {
      if (h->memory != Memory::kSc) [[unlikely]] {
        weak_begin(h, s, kind, order);
        return h;
      }
    }
    h->on_access(s, this, kind);
    return nullptr;
  }
  // After a store's scheduling point (h: what begin() returned): the value
  // replaced.
  PF_SYNC_INLINE int64_t exchange_word(Hook* h, T x, mo order, Site s) {
    if (h) [[unlikely]]
      return weak_store(h, x, order, s);
    return as_i64(v_.exchange(x, order));
  }
  // next(old): the value to write, or nullopt to write nothing. Out of line:
  // the weak paths must not make the sc fast path too big to inline.
  template <class Next>
  [[gnu::noinline, gnu::cold]] T weak_rmw(Hook* h, Site s, mo order, Next next) {
    const Cell c = cell();
    const T old = from_i64(h->weak_rmw_read(s, c, order));
    if (const std::optional<T> x = next(old)) h->weak_rmw_write(s, c, as_i64(*x), order);
    return old;
  }
  // An unconditional read-modify-write: `native` on the real atomic, or
  // next(old) through the weak-memory hook.
  template <class Next, class Native>
  PF_SYNC_INLINE T rmw(Next next, Native native, mo order, Site s) {
    T old;
    if (Hook* h = begin(s, Access::kRmw, order)) [[unlikely]]
      old = weak_rmw(h, s, order, next);
    else
      old = native();
    value(s, this, as_i64(old), as_i64(*next(old)));
    return old;
  }
  std::atomic<T> v_;
};

template <class T>
using Immediate = Atomic<T, false>;

// Ghost bookkeeping (oracle state, never model state) that must change in
// the same instant as the store just made: f() runs now under sc, and under
// tso or arm when that store becomes visible to the other threads, so an
// oracle never sees the note before the store or the store before the note.
// f is copied: capture pointers and values, not references to locals.
template <class F>
void when_visible(const F& f) {
  static_assert(std::is_trivially_copyable_v<F> && sizeof(F) <= Hook::kDeferBytes,
                "when_visible(): a small lambda that captures pointers and values");
  if (Hook* h = weak_hook();
      h && h->weak_defer([](const void* ctx) { (*static_cast<const F*>(ctx))(); }, &f, sizeof f))
    return;
  f();
}

// The barriers. Each is a scheduling point of its own (an Access::kFence
// step); in free mode a C++ fence of the strength the kernel's has.
inline void fence(Fence f, std::memory_order mo, Site s) {
  if (Hook* h = weak_hook()) [[unlikely]] {
    h->weak_access(s, nullptr, Access::kFence, mo, f);
    return;
  }
  access(s, nullptr, Access::kFence);
  std::atomic_thread_fence(mo);
}
// smp_mb(): a full barrier.
inline void smp_mb(Site s = Site::here()) { fence(Fence::kMb, std::memory_order_seq_cst, s); }
// smp_rmb(): orders loads before it against loads after it.
inline void smp_rmb(Site s = Site::here()) { fence(Fence::kRmb, std::memory_order_acquire, s); }
// smp_wmb(): orders stores before it against stores after it.
inline void smp_wmb(Site s = Site::here()) { fence(Fence::kWmb, std::memory_order_release, s); }
// smp_mb__{before,after}_atomic(): upgrade a non-value-returning atomic
// (atomic_add(), set_bit()) to a full barrier; x86's are compiler barriers,
// its atomics being locked instructions already.
inline void smp_mb__before_atomic(Site s = Site::here()) {
  fence(Fence::kMbBeforeAtomic, std::memory_order_seq_cst, s);
}
inline void smp_mb__after_atomic(Site s = Site::here()) {
  fence(Fence::kMbAfterAtomic, std::memory_order_seq_cst, s);
}

}  // namespace pf::sync
