// The search behind `pinfuzz verify` (verify.h): a stateless depth-first
// search over the scheduler's decisions. Each schedule is one Runner::run()
// from the start, replaying the decisions on the stack and taking the first
// allowed choice at every new one; then the deepest decision with an
// allowed choice left takes it, and the next run replays up to there. One
// search per bound b = 0..K over the schedules with at most b preemptions
// (CHESS's iterative context bounding, Musuvathi and Qadeer, PLDI 2007).
//
// Sleep sets (Godefroid 1996, ch. 5), bounded. At a decision where thread C
// could continue, C's step is explored first; when a later branch preempts
// C for thread U, C's pending step goes to sleep there, and stays asleep
// until a step dependent with it runs: while it sleeps, running it is
// equivalent to having run it first, which the branch that continued C
// explored. Only that entry is ever added. Moving C's step to the front
// saves the preemption of C and costs at most one (the switch back to U), so
// the explored equivalent never has more preemptions than the pruned
// schedule: the bound stays sound (docs/verify.md has the argument; adding
// the usual other siblings would not be, see Coons, Musuvathi and McKinley,
// "Bounded Partial-Order Reduction", OOPSLA 2013).
#include "fuzz/harness/verify.h"

#include <bit>
#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

namespace pf {

uint64_t VerifyResult::schedules() const {
  uint64_t n = 0;
  for (const VerifyBound& b : bounds) n += b.new_schedules;
  return n;
}

uint64_t VerifyResult::limitation_schedules() const {
  uint64_t n = 0;
  for (const VerifyBound& b : bounds) n += b.limitation_schedules;
  return n;
}

namespace {

using sched::Reason;

// What a step did beyond its one access, as the scheduler shows it. A step
// with any flag of kDependent is dependent with every step.
enum StepFlag : uint8_t {
  kParks = 1 << 0,         // ended in block(): the thread parked
  kWakes = 1 << 1,         // a parked thread became runnable during it
  kNoAccess = 1 << 2,      // picked, and finished without a shared access
  kFence = 1 << 3,         // smp_mb() (no object) or an Access::kFence
  kOutsideWorld = 1 << 4,  // its object is not in the World: no stable name
  kFinishes = 1 << 5,      // the thread returned after it (not a dependence)
};
constexpr uint8_t kDependent = kParks | kWakes | kNoAccess | kFence | kOutsideWorld;

// A step: its access, named by the object's offset in the World (a World
// is built per run, so addresses differ between runs; offsets do not).
struct Footprint {
  uint32_t obj = 0;
  sync::Access kind = sync::Access::kLoad;
  uint8_t flags = 0;
};

// Steps of two threads commute when neither has a kDependent flag and they
// touch different objects (model atomics never overlap) or both only load.
// A lock's acquire and release are read-modify-writes of its word
// (model/sync/locks.h), so two steps on one lock are dependent; block() and
// wake() show up as flags. Sound as far as every shared access is a
// scheduling point (model/sync/hook.h); docs/verify.md lists where the
// model's off-schedule state (oracles, ghost counters) is outside that.
bool independent(const Footprint& a, const Footprint& b) {
  if ((a.flags | b.flags) & kDependent) return false;
  if (a.obj != b.obj) return true;
  return a.kind == sync::Access::kLoad && b.kind == sync::Access::kLoad;
}

constexpr uint8_t kNone = 0xff;
constexpr uint8_t bit(uint32_t t) { return static_cast<uint8_t>(1u << t); }
static_assert(kMaxThreads <= 8, "thread sets are one byte");

// One decision of the scheduler on the current path.
struct Node {
  uint8_t runnable = 0;  // set of threads
  uint8_t current = kNone;
  Reason reason = Reason::kStart;
  uint8_t chosen = 0;
  uint8_t asleep = 0;    // threads whose pending step is in the sleep set
  bool has_cont = false;
  uint32_t pre = 0;      // preemptions before this decision
  Footprint cont;        // the current thread's step here, once explored
  std::array<Footprint, kMaxThreads> sleep{};  // per asleep thread
};

uint32_t cost(const Node& m, uint8_t t) {
  return m.reason == Reason::kAccess && t != m.current ? 1 : 0;
}

// The choices at a decision, in the order they are explored: the running
// thread first (no preemption: what InputStrategy does between points),
// then the others by index.
size_t choices(const Node& m, std::array<uint8_t, kMaxThreads>& out) {
  size_t n = 0;
  if (m.reason == Reason::kAccess) out[n++] = m.current;
  for (uint8_t t = 0; t < kMaxThreads; ++t)
    if ((m.runnable & bit(t)) && !(m.reason == Reason::kAccess && t == m.current)) out[n++] = t;
  return n;
}

class Explorer final : public sched::Strategy, public RunObserver {
 public:
  explicit Explorer(bool reduction) : reduction_(reduction) {}

  void start_bound(uint32_t bound) {
    bound_ = bound;
    stack_.clear();
    replay_ = 0;
  }
  bool blocked() const { return blocked_; }
  // The decision at which the last run left the path it replayed, if it did.
  std::optional<size_t> diverged() const { return diverged_; }
  uint32_t preemptions() const {
    return stack_.empty() ? 0 : stack_.back().pre + cost(stack_.back(), stack_.back().chosen);
  }

  // The last run's decisions as InputStrategy's preemption points (as
  // PointsRecorder makes them). A gap longer than the formats can hold is
  // cut by a point that picks what the default would.
  std::vector<sched::Preemption> points() const {
    std::vector<sched::Preemption> out;
    uint32_t gap = 0;
    for (const Node& m : stack_) {
      const uint8_t keep = m.reason == Reason::kAccess
                               ? m.current
                               : static_cast<uint8_t>(std::countr_zero(m.runnable));
      if (m.chosen == keep && gap < sched::kMaxEncodedAfterSteps) {
        ++gap;
        continue;
      }
      const auto index = std::popcount(static_cast<unsigned>(m.runnable & (bit(m.chosen) - 1)));
      out.push_back(sched::Preemption{gap, static_cast<uint8_t>(index)});
      gap = 0;
    }
    return out;
  }

  // Moves to the next schedule of this bound: the deepest decision with an
  // allowed choice not yet explored takes it. False when there is none.
  bool backtrack() {
    std::array<uint8_t, kMaxThreads> order{};
    while (!stack_.empty()) {
      Node& m = stack_.back();
      const size_t n = choices(m, order);
      size_t i = 0;
      while (i < n && order[i] != m.chosen) ++i;
      for (++i; i < n; ++i)
        if (allowed(m, order[i])) {
          m.chosen = order[i];
          replay_ = stack_.size();
          return true;
        }
      stack_.pop_back();
    }
    return false;
  }

  // ---- sched::Strategy
  std::string_view name() const override { return "verify"; }
  void begin_run(uint32_t threads) override {
    if (threads > kMaxThreads) throw std::invalid_argument("pinfuzz verify: too many threads");
    depth_ = 0;
    blocked_ = false;
    diverged_.reset();
    in_run_ = true;
    have_step_ = false;
    prev_runnable_ = 0;
    last_pick_ = kNone;
  }
  void end_run(uint64_t) override { in_run_ = false; }
  std::string describe() const override { return sched::InputStrategy(points()).describe(); }

  uint32_t pick(const sched::Decision& d) override {
    uint8_t runnable = 0;
    for (uint8_t t : d.runnable) runnable |= bit(t);
    if (depth_ > 0) close_step(d, runnable);
    const uint8_t current = d.current < kMaxThreads ? static_cast<uint8_t>(d.current) : kNone;
    if (depth_ < replay_) {
      const Node& m = stack_[depth_];
      if (m.runnable != runnable || m.current != current || m.reason != d.reason) {
        // Not thrown from here: pick() may run where an exception cannot
        // leave a fiber. verify() throws it after the run.
        diverged_ = depth_;
        return sched::kEndRun;
      }
      return take(m.chosen, runnable);
    }
    Node m;
    m.runnable = runnable;
    m.current = current;
    m.reason = d.reason;
    if (depth_ > 0) {
      Node& p = stack_[depth_ - 1];
      m.pre = p.pre + cost(p, p.chosen);
      if (p.reason == Reason::kAccess && p.chosen == p.current && !p.has_cont) {
        p.cont = step_;
        p.has_cont = true;
      }
      if (reduction_) inherit_sleep(p, m);
    }
    std::array<uint8_t, kMaxThreads> order{};
    const size_t n = choices(m, order);
    for (size_t i = 0; i < n; ++i)
      if (allowed(m, order[i])) {
        m.chosen = order[i];
        stack_.push_back(m);
        return take(m.chosen, runnable);
      }
    blocked_ = true;  // every choice the bound allows is asleep
    return sched::kEndRun;
  }

  // ---- RunObserver
  void begin_run(const World& w) override { world_ = &w; }
  void on_step(uint32_t thread, sync::Site, const void* obj, sync::Access kind) override {
    if (!in_run_) return;  // Runner's end-of-run check: not ours
    Footprint f;
    f.kind = kind;
    const auto* base = reinterpret_cast<const char*>(world_);
    const auto* p = static_cast<const char*>(obj);
    if (!obj || kind == sync::Access::kFence) {
      f.flags |= kFence;
    } else if (world_ && p >= base && p < base + sizeof(World)) {
      f.obj = static_cast<uint32_t>(p - base);
    } else {
      f.flags |= kOutsideWorld;
    }
    step_ = f;
    have_step_ = true;
  }

 private:
  bool allowed(const Node& m, uint8_t t) const {
    return !(m.asleep & bit(t)) && m.pre + cost(m, t) <= bound_;
  }

  uint32_t take(uint8_t t, uint8_t runnable) {
    prev_runnable_ = runnable;
    last_pick_ = t;
    have_step_ = false;
    ++depth_;
    return t;
  }

  // The step of the thread picked at the previous decision is over: what
  // this decision shows about how it ended.
  void close_step(const sched::Decision& d, uint8_t runnable) {
    if (!have_step_) step_ = Footprint{0, sync::Access::kFence, kNoAccess};
    if (d.current == last_pick_ && d.reason == Reason::kParked) step_.flags |= kParks;
    if (d.current == last_pick_ && d.reason == Reason::kFinished) step_.flags |= kFinishes;
    if (runnable & ~prev_runnable_) step_.flags |= kWakes;
  }

  // The sleep set of `m`, reached from `p` by p.chosen's step (step_): the
  // entries of p's that commute with that step and, if p.chosen preempted
  // p's running thread, that thread's step, which p explored first.
  void inherit_sleep(const Node& p, Node& m) const {
    for (uint8_t t = 0; t < kMaxThreads; ++t)
      if ((p.asleep & bit(t)) && independent(p.sleep[t], step_)) {
        m.asleep |= bit(t);
        m.sleep[t] = p.sleep[t];
      }
    if (p.reason == Reason::kAccess && p.chosen != p.current && p.has_cont &&
        !(p.cont.flags & kDependent) && independent(p.cont, step_)) {
      m.asleep |= bit(p.current);
      m.sleep[p.current] = p.cont;
    }
    m.asleep &= m.runnable;  // an asleep thread has not run: it cannot have parked
  }

  const bool reduction_;
  uint32_t bound_ = 0;
  std::vector<Node> stack_;
  size_t replay_ = 0;  // decisions of the next run taken from the stack
  // Per run.
  size_t depth_ = 0;
  bool blocked_ = false;
  std::optional<size_t> diverged_;
  bool in_run_ = false;
  uint8_t prev_runnable_ = 0;
  uint8_t last_pick_ = kNone;
  bool have_step_ = false;
  Footprint step_;
  const World* world_ = nullptr;
};

bool same_violation(const RunResult& a, const RunResult& b) {
  if (!a.violation || !b.violation) return false;
  const Violation& x = *a.violation;
  const Violation& y = *b.violation;
  return x.kind == y.kind && x.pfn == y.pfn && x.thread == y.thread && x.step == y.step &&
         x.fn == y.fn && x.detail == y.detail && a.trace_hash == b.trace_hash;
}

}  // namespace

VerifyResult verify(const Scenario& s, const Design& design, const VerifyOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_progress = start;
  Runner runner;
  Explorer ex(o.reduction);
  RunOptions ropt;
  ropt.step_budget = o.step_budget;
  ropt.observer = &ex;
  VerifyResult out;
  auto as_input = [&](const std::vector<sched::Preemption>& points) {
    Scenario c = s;
    c.design = design;
    c.schedule = Schedule{};
    c.schedule.points = points;
    return c;
  };

  for (uint32_t b = 0; b <= o.max_preemptions; ++b) {
    out.bounds.push_back(VerifyBound{.bound = b});
    VerifyBound& vb = out.bounds.back();
    ex.start_bound(b);
    for (;;) {
      if (out.runs >= o.max_runs) {
        out.outcome = VerifyOutcome::kBudgetExhausted;
        return out;
      }
      RunResult r = runner.run(design, s.program, ex, ropt);
      ++out.runs;
      if (const auto at = ex.diverged())
        throw std::runtime_error(fmt::format(
            "decision {} of a replayed schedule differs from the run that recorded it (the "
            "model is not deterministic: a bug to report)",
            *at));
      if (ex.blocked()) {
        ++vb.sleep_blocked;  // cut short: its violations are not its own
      } else {
        ++vb.schedules;
        const uint32_t pre = ex.preemptions();
        const bool fresh = pre == b;
        vb.new_schedules += fresh;
        if (r.violation && o.expect && !r.saw(*o.expect)) {
          out.other_kinds |= r.kinds;
          out.other_schedules += fresh;
        } else if (r.violation) {
          out.outcome = VerifyOutcome::kViolation;
          out.preemptions = pre;
          out.counterexample = as_input(ex.points());
          out.found = std::move(r);
          RunOptions rec;
          rec.recording = sched::Recording::kFullTrace;
          rec.step_budget = o.step_budget;
          out.replay = runner.run(out.counterexample, design, rec);
          out.replay_matches = same_violation(out.found, out.replay);
          return out;
        }
        if (r.limitation && fresh) {
          ++vb.limitation_schedules;
          out.limitation_kinds |= 1u << static_cast<int>(r.limitation->kind);
          if (!out.first_limitation) {
            out.first_limitation = r.limitation;
            out.limitation_scenario = as_input(ex.points());
          }
        }
      }
      if (o.progress && (out.runs & 63) == 0) {
        const auto now = Clock::now();
        if (std::chrono::duration<double>(now - last_progress).count() >= o.progress_seconds) {
          last_progress = now;
          o.progress(VerifyProgress{b, vb.schedules, vb.sleep_blocked, out.runs,
                                    std::chrono::duration<double>(now - start).count()});
        }
      }
      if (!ex.backtrack()) break;
    }
    vb.complete = true;
  }
  out.outcome = VerifyOutcome::kClean;
  return out;
}

}  // namespace pf
