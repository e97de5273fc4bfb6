// pinfuzz sync hook: the one seam between the model and whoever schedules it.
//
// Contract: every shared access the model makes calls on_access() first, and
// every blocking primitive is a loop "while (!try()) block(obj);" paired with
// wake(obj) from whoever changes obj. With no hook installed (free mode) the
// calls cost one thread-local load and a branch, block() yields the CPU, and
// the model runs on real std::threads with real atomics. A scheduler installs
// a Hook per model thread and may switch threads inside on_access() or park a
// thread inside block() until some thread calls wake() on the same object:
// nothing in the model ever blocks in the OS, so a fiber can stand in for a
// thread. The hook never sees the model's types, only addresses and Sites.
//
// The rule for wait loops: the last shared access before block(obj) must
// read the state whose change is followed by wake(obj). A scheduler may
// switch threads at any access, so a change (and its wake) that falls
// between an earlier read and the block is lost, and the thread sleeps on a
// stale condition forever.
#pragma once

#include <atomic>
#include <cstdint>

namespace pf::sync {

// Where an access happens: the model function (named after the kernel
// function it mirrors) and the source line. Filled in at the caller by the
// default arguments, so model code never writes a Site by hand.
struct Site {
  const char* fn = "";
  unsigned line = 0;

  static constexpr Site here(const char* fn = __builtin_FUNCTION(),
                             unsigned line = __builtin_LINE()) {
    return Site{fn, line};
  }
};

enum class Access : uint8_t {
  kLoad,     // plain atomic read
  kStore,    // plain atomic write
  kRmw,      // read-modify-write (fetch_add, cmpxchg, add_unless, ...)
  kFence,    // smp_mb() and friends: no data, still an ordering point
  kLock,     // acquiring a lock (one attempt)
  kUnlock,   // releasing a lock
  kFlush,    // weak memory: a buffered store becomes visible to the others
};

const char* access_name(Access a);

// The memory model the scheduler gives a run (issue 19; docs/model.md,
// "Weak memory"). kSc: every access is visible at once, in one order (and
// free mode: whatever the hardware does). kTso: x86-TSO (Owens, Sarkar,
// Sewell 2009): each thread's plain stores wait in a FIFO store buffer, so a
// later load may pass them. kArm: a sound subset of ARMv8: stores and relaxed
// read-modify-writes wait in a buffer that drains out of order, except as
// the barriers, a release and same-address order demand.
enum class Memory : uint8_t { kSc, kTso, kArm };
inline constexpr int kNumMemoryModels = 3;
const char* memory_name(Memory m);  // "sc", "tso", "arm"

// The kernel's barriers (Documentation/memory-barriers.txt,
// Documentation/atomic_t.txt).
enum class Fence : uint8_t {
  kMb,              // smp_mb()
  kRmb,             // smp_rmb()
  kWmb,             // smp_wmb()
  kMbBeforeAtomic,  // smp_mb__before_atomic()
  kMbAfterAtomic,   // smp_mb__after_atomic()
};

// One atomic word, as the weak-memory hook sees it: its address and how to
// read and write it (Atomic<T> fills these in for its T).
struct Cell {
  void* obj;
  int64_t (*read)(const void* obj);
  void (*write)(void* obj, int64_t v);
};

class Hook {
 public:
  virtual ~Hook() = default;
  // Before a shared access to `obj`. A scheduler may run other threads here.
  virtual void on_access(Site site, const void* obj, Access kind) = 0;
  // After a read-modify-write or store: the value before and after, for
  // recording. Default: ignored.
  virtual void on_value(Site site, const void* obj, int64_t before,
                        int64_t after) {
    (void)site, (void)obj, (void)before, (void)after;
  }
  // After a load: the value read, for recording; called only while
  // wants_loads is set (loads are half of all steps: a hook that does not
  // record them pays nothing). Not part of any hash: a load's value follows
  // from the steps before it.
  virtual void on_load(Site site, const void* obj, int64_t value) {
    (void)site, (void)obj, (void)value;
  }
  bool wants_loads = false;
  // The model threads run truly in parallel (pinfuzz stress): one step is
  // not one event against the others. Model state that stands for hardware
  // acting at one instant (a CPU's TLB lookup and access, which a shootdown
  // cannot split) is then not modelled (model/memory.cc: the TLB).
  bool parallel = false;
  // The memory model of the runs under this hook. Set before the hook is
  // installed (ScopedHook reads it), never while installed.
  Memory memory = Memory::kSc;
  // Weak memory (memory != kSc): an Atomic<T> access or a barrier calls
  // this in place of on_access(), with its memory order (and for a barrier,
  // obj nullptr and kind kFence, which one), so that what it forces (the
  // flushes a barrier or a fully ordered RMW drains) are steps before it.
  virtual void weak_access(Site site, const void* obj, Access kind, std::memory_order mo,
                           Fence fence) {
    (void)mo, (void)fence;
    on_access(site, obj, kind);
  }
  // Then Atomic<T> does not touch its word itself but asks the hook.
  // A load: the value this thread sees (its own buffered store, or memory).
  virtual int64_t weak_load(Site site, const Cell& c, std::memory_order mo) {
    (void)site, (void)mo;
    return c.read(c.obj);
  }
  // A store: buffered or written, as the model and `mo` allow. Returns the
  // value it replaces in this thread's view, for recording.
  virtual int64_t weak_store(Site site, const Cell& c, int64_t v, std::memory_order mo) {
    (void)site, (void)mo;
    const int64_t old = c.read(c.obj);
    c.write(c.obj, v);
    return old;
  }
  // A read-modify-write in two halves: the value it reads, then (unless it
  // fails, as a cmpxchg may) the value it writes.
  virtual int64_t weak_rmw_read(Site site, const Cell& c, std::memory_order mo) {
    (void)site, (void)mo;
    return c.read(c.obj);
  }
  virtual void weak_rmw_write(Site site, const Cell& c, int64_t v, std::memory_order mo) {
    (void)site, (void)mo;
    c.write(c.obj, v);
  }
  // Ghost bookkeeping that belongs to this thread's last access, a store:
  // if that store waits in a buffer, keep fn(ctx) (a copy of `size` <=
  // kDeferBytes bytes) to run when it becomes visible, and return true;
  // false: run it now.
  static constexpr size_t kDeferBytes = 48;
  virtual bool weak_defer(void (*fn)(const void* ctx), const void* ctx, size_t size) {
    (void)fn, (void)ctx, (void)size;
    return false;
  }
  // The calling thread cannot proceed until something about `obj` changes.
  // Returns when the caller should re-check its condition (spurious returns
  // are allowed, so callers always loop).
  virtual void block(Site site, const void* obj) = 0;
  // Something about `obj` changed: threads blocked on it may proceed.
  virtual void wake(const void* obj) = 0;
};

// The hook of the calling OS thread (or fiber host); nullptr = free mode.
Hook* current_hook() noexcept;
void set_current_hook(Hook* hook) noexcept;

// Installs a hook for a scope and restores the previous one.
class ScopedHook {
 public:
  explicit ScopedHook(Hook* hook) : prev_(current_hook()) {
    set_current_hook(hook);
  }
  ~ScopedHook() { set_current_hook(prev_); }
  ScopedHook(const ScopedHook&) = delete;
  ScopedHook& operator=(const ScopedHook&) = delete;

 private:
  Hook* prev_;
};

namespace detail {
extern thread_local Hook* tls_hook;
}

inline void access(Site site, const void* obj, Access kind) {
  if (Hook* h = detail::tls_hook) h->on_access(site, obj, kind);
}
inline void value(Site site, const void* obj, int64_t before, int64_t after) {
  if (Hook* h = detail::tls_hook) h->on_value(site, obj, before, after);
}
inline void loaded(Site site, const void* obj, int64_t v) {
  if (Hook* h = detail::tls_hook; h && h->wants_loads) h->on_load(site, obj, v);
}
// The installed hook if it runs a weak memory model, else nullptr.
inline Hook* weak_hook() {
  Hook* h = detail::tls_hook;
  return h && h->memory != Memory::kSc ? h : nullptr;
}
// Free mode: std::this_thread::yield(). See Hook::block.
void block(Site site, const void* obj);
inline void wake(const void* obj) {
  if (Hook* h = detail::tls_hook) h->wake(obj);
}

}  // namespace pf::sync
