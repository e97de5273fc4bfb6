#include "fuzz/harness/stress.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/lockfree/spsc_queue.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "fuzz/harness/mutate.h"
#include "model/check.h"
#include "model/memremap.h"
#include "model/sync/hook.h"

namespace pf {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

constexpr int16_t kNotMark = INT16_MIN;
constexpr uint64_t kNever = UINT64_MAX;

// One shared access, or (op != kNotMark) the start of an op, as the thread
// that made it saw it. Trivially copyable: it lives in an spsc_queue.
struct Event {
  uint64_t seq = 0;
  const char* fn = "";
  const void* obj = nullptr;
  int64_t before = 0;
  int64_t after = 0;
  unsigned line = 0;
  int16_t op = kNotMark;
  sync::Access kind = sync::Access::kLoad;
  bool has_value = false;
};

// Thrown through a round's model threads to unwind them after a timeout;
// the model is written to be unwound (Guard's destructor, the scheduler's
// stopped threads).
struct AbandonRound {};

// What the threads of one round share besides the World: the sequence
// number (relaxed: it orders the recorders' events and nothing else) and
// the abandon flag the watchdog raises.
struct RoundShared {
  World* world = nullptr;
  std::atomic<uint64_t> seq{0};
  std::atomic<bool> abandon{false};
};

// The per-thread hook: chaos, then a flight-recorder entry, at every
// scheduling point. Owned by one model thread while a round runs: that
// thread is the ring's producer and, when the ring is full, also its
// consumer (it drops the oldest event), so the spsc contract holds; the
// runner reads the ring only after the round's finish handshake.
class Recorder final : public sync::Hook {
 public:
  explicit Recorder(size_t events) : ring_(std::max<size_t>(events, 2)) {
    wants_loads = true;
    parallel = true;  // real threads: no TLB model (model/memory.cc)
  }

  void begin_round(RoundShared* shared, uint8_t thread, bool chaos, uint64_t chaos_seed) {
    shared_ = shared;
    thread_ = thread;
    ring_.reset();
    has_pending_ = false;
    dropped_ = false;
    last_seq_ = kNever;
    notice_seq_ = kNever;
    blocks_.store(0, std::memory_order_relaxed);
    done_.store(false, std::memory_order_relaxed);
    chaos_ = chaos;
    rng_ = sched::SplitMix64(chaos_seed);
    // rr's chaos mode draws its parameters per run; so do we, per round and thread.
    one_in_ = uint64_t{2} << (2 * rng_.below(4));   // 2, 8, 32, 128
    max_spin_ = uint64_t{16} << (4 * rng_.below(3)); // 16, 256, 4096
  }

  void mark(int16_t op) {
    flush();
    Event e;
    e.seq = next_seq();
    e.op = op;
    push(e);
  }

  // The world has a violation: remember the last access made before this
  // thread saw it (the reporting thread's is where the timeline puts it).
  void notice() {
    if (notice_seq_ == kNever && shared_->world->violated()) notice_seq_ = last_seq_;
  }

  void finish() {
    flush();
    done_.store(true, std::memory_order_relaxed);
  }

  void on_access(sync::Site site, const void* obj, sync::Access kind) override {
    abandon_point();
    notice();
    if (chaos_) chaos_point();
    flush();
    pending_ = Event{};
    pending_.seq = last_seq_ = next_seq();
    pending_.fn = site.fn;
    pending_.line = site.line;
    pending_.obj = obj;
    pending_.kind = kind;
    has_pending_ = true;
  }
  void on_value(sync::Site, const void*, int64_t before, int64_t after) override {
    if (!has_pending_) return;
    pending_.before = before;
    pending_.after = after;
    pending_.has_value = true;
    flush();
  }
  void on_load(sync::Site, const void*, int64_t v) override { on_value({}, nullptr, v, v); }
  void block(sync::Site, const void*) override {
    abandon_point();
    blocks_.fetch_add(1, std::memory_order_relaxed);
    std::this_thread::yield();
  }
  void wake(const void*) override {}

  // Only after the round's finish handshake.
  std::vector<Event> take() {
    std::vector<Event> out;
    out.reserve(ring_.read_available());
    ring_.consume_all([&](const Event& e) { out.push_back(e); });
    return out;
  }
  uint64_t notice_seq() const { return notice_seq_; }
  bool dropped() const { return dropped_; }
  uint8_t thread() const { return thread_; }
  // Read by the watchdog while the round runs: how often the thread waited.
  uint64_t blocks() const { return blocks_.load(std::memory_order_relaxed); }
  bool done() const { return done_.load(std::memory_order_relaxed); }

 private:
  uint64_t next_seq() { return shared_->seq.fetch_add(1, std::memory_order_relaxed); }

  void abandon_point() {
    if (shared_->abandon.load(std::memory_order_relaxed) && std::uncaught_exceptions() == 0)
      throw AbandonRound{};
  }

  void chaos_point() {
    if (rng_.below(one_in_) != 0) return;
    if (rng_.below(4) == 0) {
      std::this_thread::yield();
      return;
    }
    for (uint64_t n = rng_.below(max_spin_); n > 0; --n) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#else
      asm volatile("" ::: "memory");
#endif
    }
  }

  void flush() {
    if (!has_pending_) return;
    has_pending_ = false;
    push(pending_);
  }
  void push(const Event& e) {
    if (ring_.push(e)) return;
    ring_.pop();  // full: the oldest event goes
    dropped_ = true;
    ring_.push(e);
  }

  boost::lockfree::spsc_queue<Event> ring_;
  RoundShared* shared_ = nullptr;
  Event pending_;
  bool has_pending_ = false;
  bool dropped_ = false;
  uint8_t thread_ = 0;
  uint64_t last_seq_ = kNever;
  uint64_t notice_seq_ = kNever;
  std::atomic<uint64_t> blocks_{0};
  std::atomic<bool> done_{false};
  bool chaos_ = false;
  sched::SplitMix64 rng_{0};
  uint64_t one_in_ = 8;
  uint64_t max_spin_ = 256;
};

// Worker threads that live across rounds (creating threads per round would
// dominate a round's cost, and more so under TSan). run() releases the
// first n workers together through a start gate, so the threads of a round
// really overlap, and waits for them to finish.
class Crew {
 public:
  explicit Crew(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Crew() {
    {
      std::lock_guard<std::mutex> l(mu_);
      quit_ = true;
    }
    start_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Crew(const Crew&) = delete;
  Crew& operator=(const Crew&) = delete;

  // Starts job(0..n-1); true if all returned within `timeout` seconds.
  bool run(int n, const std::function<void(int)>& job, double timeout) {
    {
      std::lock_guard<std::mutex> l(mu_);
      job_ = &job;
      active_ = n;
      running_ = n;
      arrived_.store(0, std::memory_order_relaxed);
      ++generation_;
    }
    start_cv_.notify_all();
    return wait(timeout);
  }
  // Waits (again) for the running job to finish.
  bool wait(double timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return done_cv_.wait_for(l, std::chrono::duration<double>(timeout),
                             [this] { return running_ == 0; });
  }

 private:
  void loop(int i) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job = nullptr;
      int active = 0;
      {
        std::unique_lock<std::mutex> l(mu_);
        start_cv_.wait(l, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        if (i >= active_) continue;
        job = job_;
        active = active_;
      }
      // The start gate: nobody begins before everyone is here.
      arrived_.fetch_add(1, std::memory_order_acq_rel);
      while (arrived_.load(std::memory_order_acquire) < active) std::this_thread::yield();
      (*job)(i);
      std::lock_guard<std::mutex> l(mu_);
      if (--running_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  uint64_t generation_ = 0;
  int active_ = 0;
  int running_ = 0;
  bool quit_ = false;
  std::atomic<int> arrived_{0};
  std::vector<std::thread> threads_;
};

uint64_t mix(uint64_t a, uint64_t b) {
  sched::SplitMix64 r(a ^ (b * 0x9e3779b97f4a7c15ull));
  return r.next();
}

// ---- merging the recorders into a RunResult ----------------------------------

struct Lane {
  uint8_t thread;
  std::vector<Event> events;
  uint64_t notice;
};

// The sequence number, at or before which the violation was reported.
uint64_t violation_seq(const std::vector<Lane>& lanes, const Violation& v) {
  const uint8_t reporter = v.thread >= 0 ? static_cast<uint8_t>(v.thread) : kFinalThread;
  uint64_t any = kNever;
  for (const Lane& l : lanes) {
    if (l.thread == reporter && l.notice != kNever) return l.notice;
    any = std::min(any, l.notice);
  }
  return any;
}

RunResult merge(const World& w, std::vector<Lane> lanes, sched::Status status) {
  RunResult r;
  r.status = status;
  r.violation = w.violations.first();
  r.kinds = w.violations.kinds_seen();
  const uint64_t vseq = r.violation ? violation_seq(lanes, *r.violation) : kNever;
  struct Tagged {
    const Event* e;
    uint8_t thread;
  };
  std::vector<Tagged> all;
  for (const Lane& l : lanes)
    for (const Event& e : l.events) all.push_back({&e, l.thread});
  std::sort(all.begin(), all.end(),
            [](const Tagged& a, const Tagged& b) { return a.e->seq < b.e->seq; });
  std::map<const void*, uint32_t> ids;
  bool placed = false;
  for (const Tagged& t : all) {
    const Event& e = *t.e;
    if (e.op != kNotMark) {
      r.marks.push_back(OpMark{t.thread, e.op, r.trace.size()});
      continue;
    }
    sched::Step st;
    st.index = r.trace.size();
    st.thread = t.thread;
    st.fn = e.fn;
    st.line = e.line;
    st.kind = e.kind;
    st.address = e.obj;
    if (e.obj) st.object = ids.emplace(e.obj, static_cast<uint32_t>(ids.size())).first->second;
    st.before = e.before;
    st.after = e.after;
    st.has_value = e.has_value;
    if (vseq != kNever && e.seq <= vseq) {
      r.violation->step = st.index;
      placed = true;
    }
    r.objects.push_back(w.describe(e.obj));
    r.trace.push_back(st);
  }
  r.steps = r.trace.size();
  if (r.violation && !placed) r.violation->step = r.steps;
  return r;
}

// ---- one round ---------------------------------------------------------------

class StressRunner {
 public:
  StressRunner(const StressOptions& o) : o_(o), crew_(kMaxThreads) {
    for (int i = 0; i <= kMaxThreads; ++i) recorders_.push_back(std::make_unique<Recorder>(o.ring_events));
  }

  // Runs one round; returns the finding if it violated.
  std::optional<StressFinding> round(const Design& d, const Scenario& s, uint64_t round) {
    auto world = std::make_unique<World>(d, s.program.world);
    RoundShared shared;
    shared.world = world.get();
    const int n = static_cast<int>(std::clamp<size_t>(s.program.threads.size(), 1, kMaxThreads));
    for (int i = 0; i < n; ++i)
      recorders_[static_cast<size_t>(i)]->begin_round(&shared, static_cast<uint8_t>(i), o_.chaos,
                                                      mix(o_.seed ^ round, static_cast<uint64_t>(i)));
    const std::function<void(int)> body = [&](int i) { thread_body(*world, s, i); };
    sched::Status status = sched::Status::kCompleted;
    if (!crew_.run(n, body, o_.round_timeout)) status = abandon(*world, shared, n);
    int used = n;
    if (!world->violated()) {
      Recorder& fin = *recorders_[kMaxThreads];
      fin.begin_round(&shared, kFinalThread, /*chaos=*/false, 0);
      used = kMaxThreads + 1;
      const std::function<void(int)> final_body = [&](int) { final_phase(*world, fin); };
      if (!crew_.run(1, final_body, o_.round_timeout)) status = abandon(*world, shared, 0);
    }
    if (!world->violated()) return std::nullopt;
    return finding(*world, s, d, round, status, n, used);
  }

 private:
  void thread_body(World& w, const Scenario& s, int i) {
    Recorder& rec = *recorders_[static_cast<size_t>(i)];
    sync::ScopedHook hook(&rec);
    Task& task = w.tasks[static_cast<size_t>(i)];
    static const std::vector<Op> kNoOps;
    const auto& ops = static_cast<size_t>(i) < s.program.threads.size()
                          ? s.program.threads[static_cast<size_t>(i)] : kNoOps;
    try {
      // As Runner does: well-formed ops, no op begins after a violation,
      // and a clean thread's exit releases what it holds.
      for (size_t k = 0; k < ops.size() && !w.violated(); ++k) {
        rec.mark(static_cast<int16_t>(k));
        run_op(w, task, ops[k], OpMode::kWellFormed);
      }
      if (!w.violated()) {
        rec.mark(kExitOp);
        release_all(w, task);
      }
    } catch (const AbandonRound&) {
    }
    rec.notice();
    rec.finish();
  }

  static void final_phase(World& w, Recorder& rec) {
    sync::ScopedHook hook(&rec);
    try {
      rec.mark(0);
      final_check(w);
    } catch (const AbandonRound&) {
    }
    rec.notice();
    rec.finish();
  }

  // The round outlived its timeout: tell a deadlock (every unfinished thread
  // keeps waiting) from a hang, report it, and unwind the threads.
  sched::Status abandon(World& w, RoundShared& shared, int n) {
    const bool final = n == 0;
    const size_t first = final ? kMaxThreads : 0, last = final ? kMaxThreads + 1 : size_t(n);
    std::vector<uint64_t> before;
    for (size_t i = first; i < last; ++i) before.push_back(recorders_[i]->blocks());
    if (crew_.wait(0.2)) return sched::Status::kCompleted;  // slow, not stuck
    bool deadlock = true;
    std::array<bool, kMaxThreads> unfinished{};
    for (size_t i = first; i < last; ++i) {
      if (recorders_[i]->done()) continue;
      deadlock &= recorders_[i]->blocks() > before[i - first];
      if (!final) unfinished[i] = true;
    }
    shared.abandon.store(true, std::memory_order_relaxed);
    if (!crew_.wait(std::max(5.0, o_.round_timeout))) {
      fmt::print(stderr, "pinfuzz: stress: a model thread did not unwind after a timeout; giving up\n");
      std::_Exit(3);
    }
    // The kernel's own teardown hang is a limitation, as Runner tells it.
    if (deadlock && !final) {
      if (std::string why = teardown_hang_detail(w, std::span(unfinished).first(size_t(n)));
          !why.empty()) {
        w.report(ViolationKind::teardown_hang, -1, nullptr, "memunmap_pages", why);
        return sched::Status::kDeadlock;
      }
    }
    w.report(deadlock ? ViolationKind::deadlock : ViolationKind::hang, -1, nullptr,
             final ? "final_check" : "stress",
             fmt::format("a round still running after {} s{}", o_.round_timeout,
                         deadlock ? ": every unfinished thread kept waiting" : ""));
    return deadlock ? sched::Status::kDeadlock : sched::Status::kHang;
  }

  StressFinding finding(const World& w, const Scenario& s, const Design& d, uint64_t round,
                        sched::Status status, int n, int used) {
    std::vector<Lane> lanes;
    bool truncated = false;
    for (int i = 0; i < used; ++i) {
      if (i >= n && i < kMaxThreads) continue;
      Recorder& rec = *recorders_[static_cast<size_t>(i)];
      truncated |= rec.dropped();
      lanes.push_back(Lane{rec.thread(), rec.take(), rec.notice_seq()});
    }
    StressFinding f;
    f.scenario = s;
    f.scenario.design = d;
    f.round = round;
    f.run = merge(w, std::move(lanes), status);
    f.run.schedule = fmt::format("free-running threads, round {}{}", round,
                                 o_.chaos ? ", chaos" : "");
    f.violation = *f.run.violation;
    f.truncated = truncated;
    return f;
  }

  const StressOptions& o_;
  Crew crew_;
  std::vector<std::unique_ptr<Recorder>> recorders_;  // kMaxThreads, then the final check's
};

// A generated scenario's schedule, for the deterministic engine that will
// search it: PCT with k about the length of a run.
Schedule search_schedule(const StressFinding& f) {
  Schedule sc;
  sc.kind = ScheduleKind::kPct;
  sc.seed = 1;
  sc.depth = 3;
  sc.k = static_cast<uint16_t>(std::clamp<uint64_t>(f.run.steps, 1, 65535));
  return sc;
}

bool seen_before(const std::vector<StressFinding>& fs, const Violation& v) {
  return std::any_of(fs.begin(), fs.end(), [&](const StressFinding& f) {
    return f.violation.kind == v.kind && f.violation.fn == v.fn;
  });
}

}  // namespace

StressResult run_stress(const Design& fallback, const Scenario* fixed, const StressOptions& o) {
  const auto start = Clock::now();
  StressRunner runner(o);
  sched::SplitMix64 gen(o.seed);
  Scenario current = fixed ? *fixed : Scenario{};
  StressResult out;
  auto last_progress = start;
  auto report_progress = [&] {
    if (!o.progress) return;
    o.progress(StressProgress{out.rounds, out.scenarios, since(start), out.kinds, out.findings.size()});
  };
  if (fixed) out.scenarios = 1;
  while (out.rounds < o.max_rounds && since(start) < o.max_seconds) {
    if (o.stop && o.stop->load(std::memory_order_relaxed)) {
      out.interrupted = true;
      break;
    }
    if (!fixed && out.rounds % std::max<uint64_t>(o.rounds_per_scenario, 1) == 0) {
      current = random_scenario(gen);
      ++out.scenarios;
    }
    const Design d = effective_design(current, fallback);
    std::optional<StressFinding> f = runner.round(d, current, ++out.rounds);
    if (f) {
      out.kinds |= f->run.kinds;
      const bool wanted = !o.expect || f->run.saw(*o.expect);
      if (wanted && !seen_before(out.findings, f->violation)) {
        f->seconds = since(start);
        if (!fixed) f->scenario.schedule = search_schedule(*f);
        out.findings.push_back(std::move(*f));
        if (!o.keep_going) break;
      }
    }
    if (since(last_progress) >= 1.0) {
      last_progress = Clock::now();
      report_progress();
    }
  }
  out.seconds = since(start);
  return out;
}

}  // namespace pf
