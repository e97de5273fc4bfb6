// Scheduler internals. Control flow, in one picture:
//
//   host (run) --switch--> fiber a --switch--> fiber b --...
//        ^                                         |
//        +--------- last fiber leaves ------------+
//
// Fibers switch to each other directly (one jump per switch, no trip through
// the host); whoever lands stores the context it came from (prev_) in that
// thread's slot. A finished thread leaves the same way and is never resumed:
// its context is dropped at the end of the run (nothing on that stack owns
// anything by then) and its stack reused. Returning from the fiber function
// instead would let Boost make the last jump, after frames that TSan would
// count on the next fiber's shadow stack. Each decision of the strategy is
// for exactly one step: the thread it picks executes the next access
// without asking again (covered_).
#include "fuzz/sched/scheduler.h"

#include <cxxabi.h>
#if defined(_LIBCPP_VERSION)
// libc++abi exports __cxa_get_globals() (Itanium C++ ABI) but, unlike
// libstdc++, does not declare it in <cxxabi.h>; OSS-Fuzz builds with libc++.
namespace __cxxabiv1 {
struct __cxa_eh_globals;
extern "C" __cxa_eh_globals* __cxa_get_globals() noexcept;
}  // namespace __cxxabiv1
#endif

#include <algorithm>
#include <array>
#include <boost/context/fiber.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "fuzz/sched/fiber_san.h"

namespace pf::sched {

const char* status_name(Status s) {
  switch (s) {
    case Status::kCompleted: return "completed";
    case Status::kDeadlock: return "deadlock";
    case Status::kHang: return "hang";
    case Status::kStopped: return "stopped";
  }
  return "?";
}

namespace {

namespace bctx = boost::context;

// Thrown at a scheduling point to unwind a thread once the run has ended.
// Not a std::exception, so model code catching std::exception lets it pass.
struct StopRun {};

constexpr uint32_t kHost = kMaxThreads;  // slot of the OS thread in run()

// Generous bound on the stack used by a fiber's own frames above the body
// (Boost's record and entry, fiber_main, switch_to), even with ASan redzones.
constexpr size_t kEntryFramesBytes = 16 * 1024;

enum class ThreadState : uint8_t { kRunnable, kParked, kFinished, kAbandoned };

enum class Leaving : uint8_t {
  kToComeBack,  // the caller will be resumed
  kForGood,     // finished or abandoned: never resumed
};

// The C++ runtime keeps "exceptions being thrown / being handled" per OS
// thread (Itanium ABI __cxa_eh_globals, same layout in libsupc++ and
// libc++abi on x86-64). Fibers share the OS thread, so each keeps its own
// copy and every switch swaps it; otherwise std::uncaught_exceptions() in
// one fiber would count another fiber's unwinding, and nested catch blocks
// in two fibers would pop each other's exceptions.
struct EhGlobals {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};
EhGlobals* eh_globals() {
  return reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
}

// Stacks belong to the Scheduler (from a StackPool), not to the fiber; and
// our fibers never return to Boost, so this is never even called.
struct BorrowedStack {
  void deallocate(bctx::stack_context&) noexcept {}
};

// Drops a suspended fiber without unwinding it: a finished one has nothing
// left to unwind, and ~fiber would throw forced_unwind into it.
void abandon(bctx::fiber&& f) {
  union Grave {
    Grave() {}
    ~Grave() {}
    bctx::fiber fiber;
  } grave;
  new (&grave.fiber) bctx::fiber(std::move(f));
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "pinfuzz: scheduler: %s\n", what);
  std::abort();
}

// MurmurHash3's finalizer.
uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// The per-step fold: one multiply and a rotate keep it order-sensitive
// (a step's word lands differently depending on everything before it);
// fmix64 at the end of the run spreads the bits.
inline uint64_t combine(uint64_t h, uint64_t x) {
  return (((h << 23) | (h >> 41)) ^ x) * 0x9e3779b97f4a7c15ull;
}

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
uint64_t fnv1a(const char* s) {
  uint64_t h = kFnvOffset;
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 0x100000001b3ull;
  return h;
}

}  // namespace

class Scheduler::Impl final : public sync::Hook {
 public:
  explicit Impl(Options options)
      : options_(std::move(options)),
        pool_(options_.stacks ? options_.stacks : &StackPool::shared()) {}

  ~Impl() override {
    for (Slot& s : slots_) {
      if (s.fiber) abandon(std::move(s.fiber));
      if (s.stack) pool_->release(s.stack);
    }
  }

  Result run(std::span<const ThreadBody> bodies, Strategy& strategy);
  void request_stop() {
    if (running_) begin_stop(Status::kStopped);
  }
  uint32_t current_thread() const {
    return running_ && cur_ != kHost ? cur_ : kNoThread;
  }
  uint64_t steps() const { return steps_; }
  Options& options() {
    if (running_) die("Scheduler options changed during a run");
    return options_;
  }

  void on_access(sync::Site site, const void* obj, sync::Access kind) override {
    access(site, obj, kind, nullptr);
  }
  void weak_access(sync::Site site, const void* obj, sync::Access kind, std::memory_order mo,
                   sync::Fence fence) override {
    const WeakOp op{mo, fence};
    access(site, obj, kind, &op);
  }
  void on_value(sync::Site site, const void* obj, int64_t before,
                int64_t after) override;
  void on_load(sync::Site site, const void* obj, int64_t value) override {
    (void)site, (void)obj;
    if (stopping_ || cur_ == kHost) return;
    if (Step* s = access_step()) {
      s->before = s->after = value;
      s->has_value = true;
    }
  }
  void block(sync::Site site, const void* obj) override;
  void wake(const void* obj) override;

  int64_t weak_load(sync::Site site, const sync::Cell& c, std::memory_order mo) override;
  int64_t weak_store(sync::Site site, const sync::Cell& c, int64_t v,
                     std::memory_order mo) override;
  int64_t weak_rmw_read(sync::Site site, const sync::Cell& c, std::memory_order mo) override;
  void weak_rmw_write(sync::Site site, const sync::Cell& c, int64_t v,
                      std::memory_order mo) override;
  bool weak_defer(void (*fn)(const void*), const void* ctx, size_t size) override;

 private:
  // Weak memory: a store waiting in its thread's buffer (docs/model.md,
  // "Weak memory").
  struct Pending {
    // ghost_ctx is left uninitialized: it is read only once ghost is set.
    Pending(const sync::Cell& c, int64_t v, sync::Site s, uint32_t e, bool is_rmw,
            bool is_release, uint64_t n)
        : cell(c), value(v), site(s), epoch(e), rmw(is_rmw), release(is_release), id(n) {}
    sync::Cell cell;
    int64_t value;
    sync::Site site;
    uint32_t epoch;   // the thread's smp_wmb() count when it was made
    bool rmw;         // a read-modify-write's write
    bool release;     // arm: visible only after every older entry
    uint64_t id;      // the run's count of buffered entries
    void (*ghost)(const void*) = nullptr;  // when_visible(): runs at the flush
    alignas(std::max_align_t) std::array<unsigned char, kDeferBytes> ghost_ctx;
  };
  // What weak_access() knows beyond on_access().
  struct WeakOp {
    std::memory_order mo;
    sync::Fence fence;
  };
  void access(sync::Site site, const void* obj, sync::Access kind, const WeakOp* op);
  void prepare(const void* obj, sync::Access kind, const WeakOp& op);
  // A thread's buffer holds at most this many: an access that would buffer
  // one more flushes the oldest first (prepare()).
  static constexpr size_t kBufferCap = 8;
  bool weak() const { return options_.memory != sync::Memory::kSc; }
  bool arm() const { return options_.memory == sync::Memory::kArm; }
  bool flushable(uint32_t t, size_t i) const;
  uint32_t collect_flush_choices(uint32_t at);
  void write_out(uint32_t t, size_t i);
  void settle_rmws(uint32_t t, const void* obj);
  void drain(uint32_t t) {
    while (!sb_[t].empty()) write_out(t, 0);
  }
  // A full barrier outside an access (block(), wake()): the buffer drained,
  // and under arm later loads ordered after it.
  void full_barrier(uint32_t t) {
    drain(t);
    raise_floor(t);
  }
  bool settle_all();
  void buffer(uint32_t t, const sync::Cell& c, int64_t v, sync::Site site, bool rmw,
              bool release);
  // A write reaching memory (arm: logged for early loads).
  void mem_write(const sync::Cell& c, int64_t v) {
    if (arm()) wlog_.push_back(Overwrite{c.obj, c.read(c.obj), steps_});
    c.write(c.obj, v);
  }
  // arm: thread t passes an ordering point: its later loads see memory as
  // of now or later.
  void raise_floor(uint32_t t) {
    if (!arm() || t >= n_) return;
    floor_[t] = steps_;
    touched_[t].clear();
    read_early_[t] = false;
  }
  bool can_read_early(uint32_t t, const void* obj) const;
  int64_t value_at_floor(uint32_t t, const sync::Cell& c) const;
  void drop_buffer(uint32_t t) {
    for (const Pending& e : sb_[t]) npending_rmw_ -= e.rmw;
    npending_ -= static_cast<uint32_t>(sb_[t].size());
    sb_[t].clear();
    flush_dirty_ = true;
  }
  // Whether thread t's weak accesses write through to memory: on the host,
  // and once the run has ended (unwinding destructors), when what t's buffer
  // still held is dropped, the run's outcome being decided.
  bool writes_through(uint32_t t) {
    if (t < n_ && !stopping_) return false;
    if (t < n_) drop_buffer(t);
    return true;
  }
  int64_t view(uint32_t t, const sync::Cell& c) const;
  void record_flush(uint32_t owner, const Pending& e, int64_t before);

  struct Slot {
    bctx::fiber fiber;  // the suspended context; empty while running/done
    FiberStack stack;   // model threads only; kept across runs
    san::Context san;
    EhGlobals eh;
    const void* parked_on = nullptr;
    ThreadState state = ThreadState::kFinished;
  };

  void create_fiber(uint32_t t);
  [[noreturn]] void fiber_main(uint32_t self, bctx::fiber&& from);
  void switch_to(uint32_t next, Leaving leaving = Leaving::kToComeBack);
  void landed();
  uint32_t decide(Reason reason);
  uint32_t next_after_exit();
  uint32_t unwind_next();
  void unwind_point();
  void park_while_unwinding(const void* obj);
  void begin_stop(Status status);
  void set_state(uint32_t t, ThreadState s) {
    slots_[t].state = s;
    runnable_dirty_ = true;
  }
  void park(uint32_t t, const void* obj) {
    slots_[t].parked_on = obj;
    set_state(t, ThreadState::kParked);
  }
  void unpark(uint32_t t) {
    slots_[t].parked_on = nullptr;
    set_state(t, ThreadState::kRunnable);
  }
  uint32_t runnable_count();
  void observe();
  void record(sync::Site site, const void* obj, sync::Access kind);
  // The trace entry of the access being made, if a full trace is kept: its
  // value, buffering and early read are noted there.
  Step* access_step() {
    return options_.recording == Recording::kFullTrace && last_access_ < trace_.size()
               ? &trace_[last_access_]
               : nullptr;
  }
  // The trace hash's mix of a step and of an access's values (record(),
  // record_flush(), on_value()).
  void fold_step(uint32_t thread, sync::Access kind, const char* fn) {
    // One mix per step: the name's hash goes through a multiply first so it
    // cannot cancel against the (thread, kind) word. The line is left out on
    // purpose: the hash names an interleaving by function, so it survives
    // edits that only move code, and changes when scheduling points change.
    const uint64_t word = uint64_t{thread} | uint64_t{static_cast<uint8_t>(kind)} << 8;
    hash_ = combine(hash_, word ^ fn_hash(fn) * 0x9e3779b97f4a7c15ull);
  }
  void fold_value(int64_t before, int64_t after) {
    hash_ = combine(hash_, static_cast<uint64_t>(before) ^
                               static_cast<uint64_t>(after) * 0xc2b2ae3d27d4eb4full);
  }
  uint64_t fn_hash(const char* fn);
  uint32_t object_index(const void* obj);

  Options options_;
  StackPool* const pool_;
  std::array<Slot, kMaxThreads + 1> slots_;

  // Per run.
  std::span<const ThreadBody> bodies_;
  Strategy* strategy_ = nullptr;
  uint32_t n_ = 0;
  uint32_t cur_ = kHost;   // who runs now
  uint32_t prev_ = kHost;  // who jumped to cur_ (read right after landing)
  bool running_ = false;
  bool stopping_ = false;  // the run has ended; threads are unwinding
  bool covered_ = false;   // cur_'s next access was decided already
  bool step_pending_ = false;   // a step ran since after_step last did
  bool in_after_step_ = false;
  bool runnable_dirty_ = true;
  Status status_ = Status::kCompleted;
  // The runnable threads, then (weak memory) the flush choices of a decision.
  std::array<uint8_t, kMaxThreads + kMaxFlushChoices + 1> runnable_{};
  uint32_t nrunnable_ = 0;
  std::array<std::vector<Pending>, kMaxThreads> sb_;  // store buffers
  // arm: every write to memory this run, in order, with the value it
  // replaced, so that a load satisfied early can read the word as it was.
  struct Overwrite {
    const void* obj;
    int64_t old;
    uint64_t at;  // steps_ when it was written
  };
  std::vector<Overwrite> wlog_;
  // arm: a thread's loads may be satisfied no earlier than steps_ was at its
  // last ordering point, and not earlier than its own last access to the
  // same word (touched_ since that point: coherence).
  std::array<uint64_t, kMaxThreads> floor_{};
  std::array<std::vector<const void*>, kMaxThreads> touched_;
  const void* early_obj_ = nullptr;  // the deciding access: a relaxed load of this
  bool early_next_ = false;          // kEarlyRead was picked for it
  std::array<bool, kMaxThreads> read_early_{};  // a load read early since floor_
  uint32_t npending_ = 0;      // entries in all of them (a fast "none")
  uint32_t npending_rmw_ = 0;  // ... that are read-modify-writes' writes
  std::array<uint32_t, kMaxThreads> wmb_epoch_{};
  // flush choice i = entry second of thread first's buffer
  std::array<std::pair<uint8_t, uint8_t>, kMaxFlushChoices> flush_choice_{};
  uint32_t nflush_ = 0;
  bool flush_dirty_ = true;  // a buffer changed since flush_choice_ was made
  uint64_t buffered_ = 0;  // entries buffered this run (Pending::id)
  // The entry this thread's last access buffered, if any (weak_defer()).
  std::array<uint64_t, kMaxThreads> last_buffered_{};
  uint64_t steps_ = 0, switches_ = 0, preemptions_ = 0, parks_ = 0;
  uint64_t unwind_steps_ = 0;
  uint64_t hash_ = kFnvOffset;
  EhGlobals* eh_ = nullptr;  // this OS thread's exception state
  std::exception_ptr error_;
  std::vector<Step> trace_;
  // The trace entry of the access being made: its value and buffering are
  // noted there, after any flush steps the access drained (weak memory).
  size_t last_access_ = SIZE_MAX;
  std::unordered_map<const void*, uint32_t> objects_;
  struct FnHash {
    const char* fn = nullptr;
    uint64_t hash = 0;
  };
  std::array<FnHash, 1024> fn_cache_{};  // pointer -> hash of the name
};

// ---- run -----------------------------------------------------------------------

Result Scheduler::Impl::run(std::span<const ThreadBody> bodies,
                            Strategy& strategy) {
  if (running_) throw std::logic_error("pinfuzz: Scheduler::run is not reentrant");
  if (bodies.empty() || bodies.size() > kMaxThreads)
    throw std::invalid_argument("pinfuzz: Scheduler::run needs 1.." +
                                std::to_string(kMaxThreads) + " threads, got " +
                                std::to_string(bodies.size()));
  bodies_ = bodies;
  strategy_ = &strategy;
  n_ = static_cast<uint32_t>(bodies.size());
  cur_ = prev_ = kHost;
  stopping_ = covered_ = step_pending_ = in_after_step_ = false;
  status_ = Status::kCompleted;
  steps_ = switches_ = preemptions_ = parks_ = unwind_steps_ = 0;
  hash_ = kFnvOffset;
  error_ = nullptr;
  trace_.clear();
  last_access_ = SIZE_MAX;
  objects_.clear();
  slots_[kHost].san.tsan_fiber = san::tsan_current_fiber();
  eh_ = eh_globals();  // every fiber of the run lives on this OS thread

  wants_loads = options_.recording == Recording::kFullTrace;
  memory = options_.memory;  // before the hook is installed
  npending_ = npending_rmw_ = 0;
  flush_dirty_ = true;
  wlog_.clear();
  floor_.fill(0);
  read_early_.fill(false);
  for (auto& v : touched_) v.clear();
  early_obj_ = nullptr;
  early_next_ = false;
  for (uint32_t t = 0; t < kMaxThreads; ++t) {
    sb_[t].clear();
    wmb_epoch_[t] = 0;
    last_buffered_[t] = 0;
  }
  buffered_ = 0;
  strategy.begin_run(n_);
  for (uint32_t t = 0; t < n_; ++t) create_fiber(t);
  runnable_dirty_ = true;
  {
    sync::ScopedHook hook(this);
    running_ = true;
    uint32_t first = decide(Reason::kStart);
    if (first == kEndRun) {
      begin_stop(Status::kStopped);
      first = unwind_next();  // each thread starts, sees the stop and leaves
    }
    switch_to(first);
    running_ = false;  // every thread has left
  }

  Result r;
  for (uint32_t t = 0; t < n_; ++t) {
    Slot& s = slots_[t];
    abandon(std::move(s.fiber));
    r.abandoned += s.state == ThreadState::kAbandoned;
    san::tsan_destroy_fiber(std::exchange(s.san.tsan_fiber, nullptr));
  }
  strategy.end_run(steps_);
  strategy_ = nullptr;
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));

  r.status = status_;
  r.steps = steps_;
  r.switches = switches_;
  r.preemptions = preemptions_;
  r.parks = parks_;
  r.trace_hash = fmix64(hash_);
  r.seed = strategy.seed();
  // Formatting the recipe costs as much as a dozen steps: only when the
  // run is recorded (the caller can always ask the strategy itself).
  if (options_.recording == Recording::kFullTrace) r.schedule = strategy.describe();
  r.trace = std::move(trace_);
  trace_ = {};
  return r;
}

void Scheduler::Impl::create_fiber(uint32_t t) {
  Slot& s = slots_[t];
  // ASan: frames that never returned left their redzones poisoned. For a
  // thread that finished, those are only its entry frames at the top of the
  // stack (deeper frames returned or were unwound, which unpoisons them); a
  // stack new to us or an abandoned thread's may be poisoned anywhere.
  size_t dirty = std::min(s.stack.size(), kEntryFramesBytes);
  if (!s.stack) {
    s.stack = pool_->acquire();
    dirty = s.stack.size();
  } else if (s.state == ThreadState::kAbandoned) {
    dirty = s.stack.size();
  }
  san::unpoison_stack(static_cast<char*>(s.stack.top()) - dirty, dirty);
  s.state = ThreadState::kRunnable;
  s.parked_on = nullptr;
  s.eh = {};
  s.san.asan_fake_stack = nullptr;
  s.san.stack_bottom = s.stack.bottom();
  s.san.stack_size = s.stack.size();
  s.san.tsan_fiber = san::tsan_create_fiber();

  bctx::stack_context sctx;
  sctx.sp = s.stack.top();
  sctx.size = s.stack.size();
  // Boost jumps onto the new stack and back once while constructing, to
  // place its record there. Under TSan that must happen as the new fiber,
  // or the host's shadow call stack gains a frame per fiber, forever.
  san::tsan_switch_to(s.san.tsan_fiber);
  s.fiber = bctx::fiber(std::allocator_arg,
                        bctx::preallocated(sctx.sp, sctx.size, sctx),
                        BorrowedStack{},
                        [this, t](bctx::fiber&& from) -> bctx::fiber {
                          fiber_main(t, std::move(from));
                        });
  san::tsan_switch_to(slots_[kHost].san.tsan_fiber);
}

void Scheduler::Impl::fiber_main(uint32_t self, bctx::fiber&& from) {
  landed();
  slots_[prev_].fiber = std::move(from);
  if (!stopping_) {
    try {
      bodies_[self]();
      observe();
    } catch (const StopRun&) {
      // The run ended; this thread has unwound.
    } catch (...) {
      if (!error_) error_ = std::current_exception();
      begin_stop(Status::kStopped);
    }
  }
  set_state(self, ThreadState::kFinished);
  switch_to(next_after_exit(), Leaving::kForGood);
  die("a finished thread was resumed");
}

// ---- switching -------------------------------------------------------------------

// Inlined into its callers: after a stack switch every return mispredicts
// (the return-stack buffer holds the other fiber's frames), so one frame
// fewer between the jump and the model code is a third of a switch's cost.
__attribute__((always_inline)) inline void Scheduler::Impl::switch_to(
    uint32_t next, Leaving leaving) {
  const uint32_t self = cur_;
  Slot& me = slots_[self];
  Slot& to = slots_[next];
  if (!to.fiber) die("switch to a thread that has no suspended context");
  if (!stopping_ && self != kHost && next != kHost) ++switches_;
  me.eh = *eh_;
  *eh_ = to.eh;
  prev_ = self;
  cur_ = next;
  covered_ = true;
  san::start_switch(
      leaving == Leaving::kForGood ? nullptr : &me.san.asan_fake_stack, to.san);
  bctx::fiber from = std::move(to.fiber).resume();
  landed();
  slots_[prev_].fiber = std::move(from);
}

// First thing after any jump lands on this context.
void Scheduler::Impl::landed() {
  const void* from_bottom = nullptr;
  size_t from_size = 0;
  san::finish_switch(slots_[cur_].san.asan_fake_stack, &from_bottom,
                     &from_size);
  if (prev_ == kHost && from_bottom) {  // the host's stack, for ASan
    slots_[kHost].san.stack_bottom = from_bottom;
    slots_[kHost].san.stack_size = from_size;
  }
}

uint32_t Scheduler::Impl::runnable_count() {
  if (runnable_dirty_) {
    nrunnable_ = 0;
    for (uint32_t t = 0; t < n_; ++t)
      if (slots_[t].state == ThreadState::kRunnable)
        runnable_[nrunnable_++] = static_cast<uint8_t>(t);
    runnable_dirty_ = false;
  }
  return nrunnable_;
}

uint32_t Scheduler::Impl::decide(Reason reason) {
  for (;;) {
    if (runnable_count() == 0) die("decision with no runnable thread");
    uint32_t choices = weak() ? collect_flush_choices(nrunnable_) : nrunnable_;
    const bool early =
        reason == Reason::kAccess && early_obj_ && can_read_early(cur_, early_obj_);
    if (early) runnable_[choices++] = static_cast<uint8_t>(kEarlyRead);
    Decision d{std::span<const uint8_t>(runnable_.data(), choices),
               reason == Reason::kStart ? kNoThread : cur_, steps_, reason};
    const uint32_t t = strategy_->pick(d);
    if (t >= n_ || slots_[t].state != ThreadState::kRunnable) [[unlikely]] {
      if (t == kEndRun) return t;  // the caller ends the run
      if (t == kEarlyRead && early) {  // not a switch: the load reads early
        early_next_ = true;
        return cur_;
      }
      if (!is_flush_choice(t) || t - kFlushBase >= nflush_)
        die("the strategy picked a thread that is not runnable");
      // A flush is a step of its own and not a switch: ask again.
      const auto [owner, i] = flush_choice_[t - kFlushBase];
      write_out(owner, i);
      observe();
      if (stopping_) return kEndRun;
      if (steps_ >= options_.step_budget) {
        begin_stop(Status::kHang);
        return kEndRun;
      }
      continue;
    }
    return t;
  }
}

uint32_t Scheduler::Impl::next_after_exit() {
  if (!stopping_) {
    if (runnable_count() == 0 && weak() && settle_all()) {
      if (stopping_) return unwind_next();
    }
    if (runnable_count() > 0) {
      const uint32_t t = decide(Reason::kFinished);
      if (t != kEndRun) return t;
      begin_stop(Status::kStopped);
      return unwind_next();
    }
    for (uint32_t t = 0; t < n_; ++t)
      if (slots_[t].state == ThreadState::kParked) {
        begin_stop(Status::kDeadlock);
        break;
      }
    if (!stopping_) return kHost;  // everyone finished
  }
  return unwind_next();
}

// Once the run has ended: the lowest-index thread that can still make
// progress; if none can, the parked ones are given up on.
uint32_t Scheduler::Impl::unwind_next() {
  for (uint32_t t = 0; t < n_; ++t)
    if (slots_[t].state == ThreadState::kRunnable) return t;
  for (uint32_t t = 0; t < n_; ++t)
    if (slots_[t].state == ThreadState::kParked)
      set_state(t, ThreadState::kAbandoned);
  return kHost;
}

// ---- ending a run ------------------------------------------------------------------

void Scheduler::Impl::begin_stop(Status status) {
  if (stopping_) return;
  stopping_ = true;
  status_ = status;
  for (uint32_t t = 0; t < n_; ++t)
    if (slots_[t].state == ThreadState::kParked) unpark(t);  // to unwind
}

// A scheduling point after the run ended: unwind this thread, unless it is
// unwinding already (a destructor's access), which then simply proceeds.
void Scheduler::Impl::unwind_point() {
  if (std::uncaught_exceptions() == 0) throw StopRun{};
  if (++unwind_steps_ > options_.step_budget) {
    // A destructor spinning forever: give up on this thread.
    set_state(cur_, ThreadState::kAbandoned);
    switch_to(unwind_next(), Leaving::kForGood);
    die("an abandoned thread was resumed");
  }
}

// Unwinding and told to wait (a destructor taking a lock): let the others
// unwind first, they may release what we wait for.
void Scheduler::Impl::park_while_unwinding(const void* obj) {
  park(cur_, obj);
  const uint32_t next = unwind_next();  // may give up on this thread too
  switch_to(next, slots_[cur_].state == ThreadState::kAbandoned
                      ? Leaving::kForGood
                      : Leaving::kToComeBack);
}

// ---- the hook ----------------------------------------------------------------------

// Inlined into on_access(): the sc path is every step's cost.
__attribute__((always_inline)) inline void Scheduler::Impl::access(sync::Site site,
                                                                   const void* obj,
                                                                   sync::Access kind,
                                                                   const WeakOp* op) {
  if (cur_ == kHost || in_after_step_)
    die("scheduling point outside a model thread (after_step must use peek())");
  if (stopping_) return unwind_point();
  if (step_pending_) {
    observe();
    if (stopping_) return unwind_point();
  }
  if (steps_ >= options_.step_budget) {
    begin_stop(Status::kHang);
    return unwind_point();
  }
  if (std::exchange(covered_, false)) {
    // This access was decided already (by the switch that resumed us).
  } else if (uint64_t& budget = strategy_->keep_budget; budget > 0) {
    if (budget != Strategy::kForever) --budget;  // pick() would keep us
  } else {
    // arm: a relaxed load may be satisfied early, if the decision says so.
    early_obj_ = op && arm() && kind == sync::Access::kLoad &&
                         op->mo == std::memory_order_relaxed
                     ? obj
                     : nullptr;
    const uint32_t next = decide(Reason::kAccess);
    early_obj_ = nullptr;
    if (next != cur_) {
      if (next == kEndRun) {
        begin_stop(Status::kStopped);
        return unwind_point();
      }
      ++preemptions_;
      switch_to(next);
      covered_ = false;  // the decision that resumed us was for this access
      if (stopping_) return unwind_point();
    }
  }
  if (weak()) {
    last_buffered_[cur_] = 0;
    if (op) prepare(obj, kind, *op);
    if (stopping_) return unwind_point();  // an invariant saw a flush violate
  }
  record(site, obj, kind);
}

void Scheduler::Impl::on_value(sync::Site site, const void* obj,
                               int64_t before, int64_t after) {
  (void)site, (void)obj;
  if (stopping_ || cur_ == kHost) return;
  // Always right after this thread's own access: no scheduling point between.
  fold_value(before, after);
  if (Step* s = access_step()) {
    s->before = before;
    s->after = after;
    s->has_value = true;
  }
}

void Scheduler::Impl::block(sync::Site site, const void* obj) {
  (void)site;
  if (cur_ == kHost || in_after_step_)
    die("block() outside a model thread (after_step must use peek())");
  if (!stopping_ && step_pending_) observe();
  if (stopping_) {
    if (std::uncaught_exceptions() == 0) throw StopRun{};
    return park_while_unwinding(obj);
  }
  // Going to sleep is a context switch: a full barrier (kernel/sched/core.c:
  // __schedule()'s smp_mb__after_spinlock()).
  if (weak()) {
    // arm: a waiter whose condition was read early re-checks it past the
    // barrier instead of sleeping: the wake it waits for may have come
    // already (prepare_to_wait()'s barrier, then the re-check, is why the
    // kernel loses no wake-up). A spurious wake-up, as block() allows.
    const bool recheck = arm() && cur_ < n_ && read_early_[cur_];
    full_barrier(cur_);
    if (recheck) return;
  }
  covered_ = false;
  ++parks_;
  park(cur_, obj);
  if (runnable_count() == 0 && weak() && settle_all()) {
    if (stopping_) {
      if (std::uncaught_exceptions() == 0) throw StopRun{};
      return park_while_unwinding(obj);
    }
    return;  // woken with the others: re-check (the next access decides)
  }
  if (runnable_count() == 0) {
    begin_stop(Status::kDeadlock);  // unparks everyone, this thread too
    if (std::uncaught_exceptions() == 0) throw StopRun{};
    return park_while_unwinding(obj);
  }
  const uint32_t next = decide(Reason::kParked);
  if (next == kEndRun) {
    begin_stop(Status::kStopped);  // unparks everyone, this thread too
    if (std::uncaught_exceptions() == 0) throw StopRun{};
    return park_while_unwinding(obj);
  }
  switch_to(next);
  // Woken and picked: the caller re-checks its condition; that access was
  // decided already (covered_).
  if (stopping_ && std::uncaught_exceptions() == 0) throw StopRun{};
}

void Scheduler::Impl::wake(const void* obj) {
  // kernel/sched/core.c: try_to_wake_up() is a full barrier for the waker
  // (smp_mb__after_spinlock()): what it stored before is visible to the woken.
  if (weak() && !stopping_ && cur_ < n_) full_barrier(cur_);
  for (uint32_t t = 0; t < n_; ++t)
    if (slots_[t].state == ThreadState::kParked && slots_[t].parked_on == obj) unpark(t);
}

// ---- weak memory ------------------------------------------------------------------------
//
// Each thread's stores wait in a buffer until a flush makes them visible
// (to every other thread at once: TSO and ARMv8 are both multi-copy atomic).
// A thread reads its own newest buffered store to the same word (store
// forwarding), else memory.
//
//   tso  plain (relaxed, release) stores are buffered, FIFO; a store the
//        model writes seq_cst, every read-modify-write and smp_mb() drain the
//        buffer first (x86: xchg and LOCK-prefixed instructions, MFENCE);
//        smp_rmb(), smp_wmb() and smp_mb__{before,after}_atomic() are
//        compiler barriers.
//   arm  plain stores and relaxed read-modify-writes (atomic_add(),
//        xchg_relaxed()) are buffered; an entry may become visible before
//        older ones, except behind an older entry for the same word, an
//        older smp_wmb(), or when it is a store-release (then after every
//        older entry). Value-returning (fully ordered), acquire and release
//        read-modify-writes, seq_cst stores, smp_mb() and
//        smp_mb__{before,after}_atomic() drain the buffer.
//   both block() and wake() drain the thread's buffer (a context switch,
//        try_to_wake_up(): full barriers). A finished thread's buffer stays
//        until a flush choice or the end of the run empties it.
//
// Atomicity: a read-modify-write's buffered write must follow the value it
// read in the word's coherence order, so before any other write to that word
// reaches memory (or another read-modify-write reads it), the pending
// read-modify-write is flushed, with the entries older than it.
//
// The flushes an access forces are steps of their own, recorded before the
// access (prepare()).
//
// arm: loads satisfied early (load-load reordering). Every write reaching
// memory is logged with the value it replaced (wlog_). Each thread has a
// floor, raised to now by its ordering points: smp_rmb(), smp_mb(),
// smp_mb__{before,after}_atomic(), acquire and seq_cst loads, every
// read-modify-write, seq_cst stores, locks, block() and wake(). A relaxed
// load whose word was written since the thread's floor, and which the thread
// has not read or written since (coherence), may read the word as it was at
// the floor: a decision offers kEarlyRead for it. A waiter that read early
// re-checks instead of sleeping (block()). What orders loads by address
// dependency on ARM is not seen by the model: where model code follows a
// pointer it read without a lock, that load is an acquire (GUP-fast's first
// PMD and PTE reads), a stand-in stronger than the dependency.
//
// Not modelled (a sound subset: every outcome shown is one the hardware
// allows, not every one): an early load reads the word as of the floor or
// now, nothing in between; acquire and release read-modify-writes drain the
// whole buffer, where ARM's are one-way; a relaxed read-modify-write orders
// later loads.

// No thread can run: what finished threads left in their buffers becomes
// visible (a thread's buffer outlives it, as a CPU's does its task), and the
// parked threads re-check their conditions (spurious wake-ups are allowed).
// Returns whether anything was flushed.
bool Scheduler::Impl::settle_all() {
  bool any = false;
  for (uint32_t t = 0; t < n_; ++t) {
    any |= !sb_[t].empty();
    drain(t);
  }
  if (!any) return false;
  observe();
  if (stopping_) return true;
  for (uint32_t t = 0; t < n_; ++t)
    if (slots_[t].state == ThreadState::kParked) {
      unpark(t);
      raise_floor(t);  // woken: a full barrier, as block() is
    }
  return true;
}

bool Scheduler::Impl::flushable(uint32_t t, size_t i) const {
  if (i == 0) return true;
  if (!arm()) return false;  // tso: FIFO
  const std::vector<Pending>& b = sb_[t];
  const Pending& e = b[i];
  if (e.release || e.epoch != b[0].epoch) return false;
  for (size_t j = 0; j < i; ++j)
    if (b[j].cell.obj == e.cell.obj) return false;
  return true;
}

// Appends the flush choices to runnable_ from index `at`; returns the count
// of runnable_ entries in use.
uint32_t Scheduler::Impl::collect_flush_choices(uint32_t at) {
  if (flush_dirty_) {  // recomputed only after a buffer changed
    flush_dirty_ = false;
    nflush_ = 0;
    for (uint32_t t = 0; t < n_ && npending_ > 0; ++t)
      for (size_t i = 0; i < sb_[t].size() && nflush_ < kMaxFlushChoices; ++i)
        if (flushable(t, i))
          flush_choice_[nflush_++] = {static_cast<uint8_t>(t), static_cast<uint8_t>(i)};
  }
  for (uint32_t i = 0; i < nflush_; ++i) runnable_[at + i] = static_cast<uint8_t>(kFlushBase + i);
  return at + nflush_;
}

void Scheduler::Impl::write_out(uint32_t t, size_t i) {
  const Pending e = sb_[t][i];
  sb_[t].erase(sb_[t].begin() + static_cast<std::ptrdiff_t>(i));
  --npending_;
  npending_rmw_ -= e.rmw;
  flush_dirty_ = true;
  settle_rmws(t, e.cell.obj);
  const int64_t before = e.cell.read(e.cell.obj);
  mem_write(e.cell, e.value);
  // Coherence: the owner never reads an older value than its own.
  if (arm()) touched_[t].push_back(e.cell.obj);
  if (e.ghost) e.ghost(e.ghost_ctx.data());
  record_flush(t, e, before);
}

bool Scheduler::Impl::weak_defer(void (*fn)(const void*), const void* ctx, size_t size) {
  const uint32_t t = cur_;
  if (writes_through(t) || size > kDeferBytes) return false;
  for (Pending& e : sb_[t])
    if (e.id == last_buffered_[t]) {
      if (e.ghost) return false;  // one note per store: a second runs now
      e.ghost = fn;
      std::memcpy(e.ghost_ctx.data(), ctx, size);
      return true;
    }
  return false;  // the store is visible already
}

// Before thread t writes `obj` in memory: the other threads' pending
// read-modify-writes of it go first (atomicity, above).
void Scheduler::Impl::settle_rmws(uint32_t t, const void* obj) {
  if (npending_rmw_ == 0) return;
  for (uint32_t u = 0; u < n_; ++u) {
    if (u == t) continue;
    for (size_t i = sb_[u].size(); i-- > 0;)
      if (sb_[u][i].rmw && sb_[u][i].cell.obj == obj) {
        for (size_t k = 0; k <= i; ++k) write_out(u, 0);
        break;
      }
  }
}

// prepare() made room (kBufferCap).
void Scheduler::Impl::buffer(uint32_t t, const sync::Cell& c, int64_t v, sync::Site site,
                             bool rmw, bool release) {
  last_buffered_[t] = ++buffered_;
  sb_[t].emplace_back(c, v, site, wmb_epoch_[t], rmw, release, buffered_);
  ++npending_;
  npending_rmw_ += rmw;
  flush_dirty_ = true;
  if (Step* s = access_step()) s->buffered = true;
}

int64_t Scheduler::Impl::view(uint32_t t, const sync::Cell& c) const {
  const std::vector<Pending>& b = sb_[t];
  for (size_t i = b.size(); i-- > 0;)
    if (b[i].cell.obj == c.obj) return b[i].value;
  return c.read(c.obj);
}

int64_t Scheduler::Impl::weak_load(sync::Site, const sync::Cell& c, std::memory_order mo) {
  const uint32_t t = cur_;
  if (writes_through(t)) return c.read(c.obj);
  if (arm()) {
    if (std::exchange(early_next_, false)) {
      if (Step* s = access_step()) s->early = true;
      touched_[t].push_back(c.obj);
      read_early_[t] = true;
      return value_at_floor(t, c);
    }
    if (mo == std::memory_order_relaxed) touched_[t].push_back(c.obj);
  }
  return view(t, c);
}

// arm: whether thread t's relaxed load of obj may be satisfied early: it has
// not read or written obj since its floor (coherence), holds no buffered
// store to it (it would read its own), and some write to obj has reached
// memory since (else early and now read the same).
bool Scheduler::Impl::can_read_early(uint32_t t, const void* obj) const {
  if (t >= n_) return false;
  for (const void* o : touched_[t])
    if (o == obj) return false;
  for (const Pending& e : sb_[t])
    if (e.cell.obj == obj) return false;
  for (size_t i = wlog_.size(); i-- > 0 && wlog_[i].at >= floor_[t];)
    if (wlog_[i].obj == obj) return true;
  return false;
}

// The word as it was when thread t passed its last ordering point: the
// value the first write since then replaced.
int64_t Scheduler::Impl::value_at_floor(uint32_t t, const sync::Cell& c) const {
  int64_t v = c.read(c.obj);
  for (size_t i = wlog_.size(); i-- > 0 && wlog_[i].at >= floor_[t];)
    if (wlog_[i].obj == c.obj) v = wlog_[i].old;
  return v;
}

int64_t Scheduler::Impl::weak_store(sync::Site site, const sync::Cell& c, int64_t v,
                                    std::memory_order mo) {
  const uint32_t t = cur_;
  if (writes_through(t)) {
    const int64_t old = c.read(c.obj);
    c.write(c.obj, v);
    return old;
  }
  const int64_t old = view(t, c);
  if (arm()) touched_[t].push_back(c.obj);  // its later loads see this or newer
  if (mo == std::memory_order_seq_cst) {  // prepare() drained the buffer
    mem_write(c, v);
    return old;
  }
  buffer(t, c, v, site, false, arm() && mo == std::memory_order_release);
  return old;
}

int64_t Scheduler::Impl::weak_rmw_read(sync::Site, const sync::Cell& c, std::memory_order mo) {
  const uint32_t t = cur_;
  if (writes_through(t)) return c.read(c.obj);
  (void)mo;  // prepare() drained and settled as `mo` demands
  return view(t, c);
}

void Scheduler::Impl::weak_rmw_write(sync::Site site, const sync::Cell& c, int64_t v,
                                     std::memory_order mo) {
  const uint32_t t = cur_;
  if (!writes_through(t) && arm()) {
    touched_[t].push_back(c.obj);
    if (mo == std::memory_order_relaxed) {
      buffer(t, c, v, site, true, false);
      return;
    }
  }
  mem_write(c, v);
}

// Before a weak access is recorded: the flushes it forces, as steps of
// their own before it (the table at the top of this section).
void Scheduler::Impl::prepare(const void* obj, sync::Access kind, const WeakOp& op) {
  const uint32_t t = cur_;
  const bool relaxed_rmw = arm() && op.mo == std::memory_order_relaxed;
  // arm: whether the thread's later loads are ordered after this point.
  // Stronger than ARM for relaxed read-modify-writes, seq_cst stores and
  // smp_mb__before_atomic() (a sound subset: fewer outcomes, none extra).
  bool orders_loads = true;
  switch (kind) {
    case sync::Access::kLoad:
      orders_loads = op.mo != std::memory_order_relaxed;  // acquire: later loads after it
      break;
    case sync::Access::kStore:
    case sync::Access::kRmw:
      if (kind == sync::Access::kStore ? op.mo == std::memory_order_seq_cst : !relaxed_rmw) {
        drain(t);
        settle_rmws(t, obj);
      } else {
        if (kind == sync::Access::kRmw) settle_rmws(t, obj);
        if (sb_[t].size() >= kBufferCap) write_out(t, 0);
      }
      orders_loads = kind == sync::Access::kRmw || op.mo == std::memory_order_seq_cst;
      break;
    case sync::Access::kFence:
      switch (op.fence) {
        case sync::Fence::kMb:
          drain(t);
          break;
        case sync::Fence::kMbBeforeAtomic:
        case sync::Fence::kMbAfterAtomic:
          if (arm()) drain(t);
          break;
        case sync::Fence::kWmb:
          ++wmb_epoch_[t];
          orders_loads = false;
          break;
        case sync::Fence::kRmb:
          break;  // orders loads only: the floor below
      }
      break;
    default:
      drain(t);  // locks are not Atomic<T> accesses; nothing else comes here
      break;
  }
  if (orders_loads) raise_floor(t);
  if (step_pending_) observe();  // the flushes are steps: invariants see them
}

void Scheduler::Impl::record_flush(uint32_t owner, const Pending& e, int64_t before) {
  if (stopping_) return;
  const uint64_t index = steps_++;
  fold_step(owner, sync::Access::kFlush, e.site.fn);
  fold_value(before, e.value);
  if (options_.recording == Recording::kFullTrace)
    trace_.push_back(Step{index, static_cast<uint8_t>(owner), e.site.fn ? e.site.fn : "",
                          e.site.line, sync::Access::kFlush, object_index(e.cell.obj),
                          e.cell.obj, before, e.value, true, false});
  if (options_.observer) options_.observer->on_step(owner, e.site, e.cell.obj, sync::Access::kFlush);
  step_pending_ = true;
}

// ---- observing and recording --------------------------------------------------------

void Scheduler::Impl::observe() {
  step_pending_ = false;
  if (!options_.after_step) return;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{in_after_step_};
  in_after_step_ = true;
  options_.after_step();
}

void Scheduler::Impl::record(sync::Site site, const void* obj,
                             sync::Access kind) {
  const uint64_t index = steps_++;
  fold_step(cur_, kind, site.fn);
  if (options_.recording == Recording::kFullTrace) {
    last_access_ = trace_.size();
    trace_.push_back(Step{index, static_cast<uint8_t>(cur_),
                          site.fn ? site.fn : "", site.line, kind,
                          object_index(obj), obj, 0, 0, false});
  }
  if (options_.observer) options_.observer->on_step(cur_, site, obj, kind);
  step_pending_ = true;
}

// The hash of the name, memoized by address: the address only picks the
// cache entry, the value depends on the characters alone.
uint64_t Scheduler::Impl::fn_hash(const char* fn) {
  if (!fn) fn = "";
  const auto p = reinterpret_cast<uintptr_t>(fn);
  // Fibonacci hashing of the pointer: the model's ~100 names spread over
  // 1024 slots, so the name is hashed once, not at every collision.
  FnHash& e = fn_cache_[(p * 0x9e3779b97f4a7c15ull) >> 54];
  if (e.fn != fn) {
    e.fn = fn;
    e.hash = fnv1a(fn);
  }
  return e.hash;
}

uint32_t Scheduler::Impl::object_index(const void* obj) {
  if (!obj) return kNoObject;
  auto [it, inserted] =
      objects_.try_emplace(obj, static_cast<uint32_t>(objects_.size()));
  return it->second;
}

// ---- Scheduler -----------------------------------------------------------------

Scheduler::Scheduler(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Scheduler::~Scheduler() = default;
Result Scheduler::run(std::span<const ThreadBody> threads, Strategy& strategy) {
  return impl_->run(threads, strategy);
}
void Scheduler::request_stop() { impl_->request_stop(); }
uint32_t Scheduler::current_thread() const { return impl_->current_thread(); }
uint64_t Scheduler::steps() const { return impl_->steps(); }
void Scheduler::set_step_budget(uint64_t budget) {
  impl_->options().step_budget = budget;
}
void Scheduler::set_observer(StepObserver* observer) {
  impl_->options().observer = observer;
}
void Scheduler::set_recording(Recording recording) {
  impl_->options().recording = recording;
}
void Scheduler::set_memory(sync::Memory memory) { impl_->options().memory = memory; }

}  // namespace pf::sched
