#include "fuzz/harness/minimize.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace pf {

namespace {

class Minimizer {
 public:
  Minimizer(const Design& d, const Signature& sig, const MinimizeOptions& opt)
      : design_(d), sig_(sig), opt_(opt) {
    run_opt_.step_budget = opt.step_budget;
    if (!sig.racing_fn.empty()) run_opt_.recording = sched::Recording::kFullTrace;
  }

  // Does `s` still show the signature? Counts the attempt.
  bool holds(const Scenario& s) {
    if (attempts_ >= opt_.max_attempts) return false;
    ++attempts_;
    RunResult r = runner_.run(s, design_, run_opt_);
    auto got = signature_of(r);
    return got && *got == sig_;
  }

  // Tries each candidate produced by `make(s, i)` for i = 0, 1, ... (make
  // returns false when i is past the last); keeps the first that holds and
  // starts over. Returns whether anything was kept.
  bool shrink(Scenario& s, const std::function<bool(const Scenario&, int, Scenario*)>& make) {
    bool any = false;
    for (int i = 0;;) {
      Scenario c;
      if (!make(s, i, &c)) break;
      if (holds(c)) {
        s = std::move(c);
        any = true;  // same i again: the element there is a new one now
      } else {
        ++i;
      }
    }
    return any;
  }

  // A random or PCT schedule as the preemption points that make the same
  // run (sched::PointsRecorder): the same interleaving, but one that later
  // steps can shrink. A random schedule cannot be shrunk: drop one op and
  // every later decision falls on another step. Kept if it holds, as it
  // must.
  bool to_points(Scenario& s) {
    if (s.schedule.kind == ScheduleKind::kInput) return false;
    auto inner = s.schedule.make_strategy();
    sched::PointsRecorder recorder(*inner);
    runner_.run(design_, s.program, recorder, run_opt_);
    if (recorder.points().size() > sched::kMaxPreemptions) return false;
    for (const auto& p : recorder.points())
      if (p.after_steps > sched::kMaxEncodedAfterSteps) return false;
    Scenario c = s;
    c.schedule = Schedule{};
    c.schedule.points = recorder.points();
    if (!holds(c)) return false;
    s = std::move(c);
    return true;
  }

  // Preemption bounding (CHESS: most concurrency bugs need one or two
  // preemptions): the same scenario under one preemption point, at every
  // step to every thread, then under kTwoPointAttempts two-point schedules
  // drawn uniformly (a fixed seed: deterministic), since walking them in
  // order would spend the attempts on the first few steps. A finding under
  // a random schedule that switches at every other step becomes one with a
  // switch or two, which later steps shrink further. Tried when the
  // schedule is seeded or has more points than that.
  bool fewest_points(Scenario& s) {
    const auto& pts = s.schedule.points;
    if (s.schedule.kind == ScheduleKind::kInput && pts.size() <= 2) return false;
    const uint64_t steps = runner_.run(s, design_, run_opt_).steps;
    const uint32_t threads = static_cast<uint32_t>(s.program.threads.size());
    Scenario c = s;
    c.schedule = Schedule{};
    auto& cp = c.schedule.points;
    for (uint32_t a = 0; a < steps; ++a)
      for (uint8_t t = 0; t < threads; ++t) {
        cp.assign({sched::Preemption{a, t}});
        if (holds(c)) return s = std::move(c), true;
      }
    sched::SplitMix64 rng(0x2b0da1);
    for (uint64_t i = 0; i < kTwoPointAttempts && attempts_ < opt_.max_attempts; ++i) {
      const auto a = static_cast<uint32_t>(rng.below(steps));
      const auto b = static_cast<uint32_t>(rng.below(steps - a));
      cp.assign({sched::Preemption{a, static_cast<uint8_t>(rng.below(threads))},
                 sched::Preemption{b, static_cast<uint8_t>(rng.below(threads))}});
      if (holds(c)) return s = std::move(c), true;
    }
    return false;
  }
  static constexpr uint64_t kTwoPointAttempts = 6000;

  uint64_t attempts() const { return attempts_; }

 private:
  Design design_;
  Signature sig_;
  MinimizeOptions opt_;
  RunOptions run_opt_;
  Runner runner_;
  uint64_t attempts_ = 0;
};

// Candidates, one element at a time. Each returns false past its last one.
bool drop_thread(const Scenario& s, int i, Scenario* out) {
  const auto& th = s.program.threads;
  if (th.size() <= 1 || i >= static_cast<int>(th.size())) return false;
  *out = s;
  out->program.threads.erase(out->program.threads.begin() + (th.size() - 1 - static_cast<size_t>(i)));
  return true;
}

// The i-th op counted from the end, across threads.
bool locate_op(const Scenario& s, int i, size_t* t, size_t* k) {
  for (size_t th = s.program.threads.size(); th-- > 0;) {
    const auto& ops = s.program.threads[th];
    if (i < static_cast<int>(ops.size())) {
      *t = th;
      *k = ops.size() - 1 - static_cast<size_t>(i);
      return true;
    }
    i -= static_cast<int>(ops.size());
  }
  return false;
}

bool drop_op(const Scenario& s, int i, Scenario* out) {
  size_t t, k;
  if (!locate_op(s, i, &t, &k)) return false;
  *out = s;
  auto& ops = out->program.threads[t];
  ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(k));
  return true;
}

// Simpler arguments: fewer flags, n = 1, one slot instead of `all` ...
bool simplify_op(const Scenario& s, int i, Scenario* out) {
  // Each op offers up to 5 simplifications: 4 flag bits, then n -> 1.
  size_t t, k;
  if (!locate_op(s, i / 5, &t, &k)) return false;
  *out = s;
  Op& op = out->program.threads[t][k];
  const int what = i % 5;
  if (what < 4) {
    if (!(op.flags & (1u << what))) return simplify_op(s, i + 1, out);
    op.flags = static_cast<uint8_t>(op.flags & ~(1u << what));
  } else {
    if (op_args(op.kind) != OpArgs::kVpnN || op.b <= 1) return simplify_op(s, i + 1, out);
    op.b = 1;
  }
  return true;
}

bool drop_vpn(const Scenario& s, int i, Scenario* out) {
  if (i >= kMaxVpn) return false;
  const size_t v = kMaxVpn - 1 - static_cast<size_t>(i);
  if (s.program.world.vpn[v].backing == Backing::kNone) return drop_vpn(s, i + 1, out);
  *out = s;
  out->program.world.vpn[v] = VpnSpec{};
  out->program.world = out->program.world.canonical();
  return true;
}

bool fewer_free_pages(const Scenario& s, int i, Scenario* out) {
  const int now = s.program.world.free_pages;
  if (now == 0 || i > 1) return false;
  *out = s;
  out->program.world.free_pages = i == 0 ? 0 : now - 1;
  return true;
}

bool drop_point(const Scenario& s, int i, Scenario* out) {
  const auto& p = s.schedule.points;
  if (s.schedule.kind != ScheduleKind::kInput || i >= static_cast<int>(p.size())) return false;
  *out = s;
  out->schedule.points.erase(out->schedule.points.begin() + (p.size() - 1 - static_cast<size_t>(i)));
  return true;
}

// Shorter gaps: halve, then one less.
bool shorter_gap(const Scenario& s, int i, Scenario* out) {
  const auto& p = s.schedule.points;
  if (s.schedule.kind != ScheduleKind::kInput || i / 2 >= static_cast<int>(p.size())) return false;
  const size_t k = static_cast<size_t>(i / 2);
  if (p[k].after_steps == 0) return shorter_gap(s, (i / 2 + 1) * 2, out);
  *out = s;
  auto& a = out->schedule.points[k].after_steps;
  a = i % 2 == 0 ? a / 2 : a - 1;
  return true;
}

// A random or PCT schedule is hard to read; a sequential one (input, no
// points) or the first runnable thread first is easy. Tried first.
bool plainer_schedule(const Scenario& s, int i, Scenario* out) {
  if (s.schedule.kind == ScheduleKind::kInput || i > 0) return false;
  *out = s;
  out->schedule = Schedule{};
  return true;
}

}  // namespace

MinimizeResult minimize(const Scenario& input, const Design& design, const MinimizeOptions& opt) {
  MinimizeResult out;
  out.scenario = input;
  out.scenario.design = design;
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  rec.step_budget = opt.step_budget;
  Runner runner;
  RunResult first = runner.run(out.scenario, design, rec);
  auto sig = signature_of(first);
  if (!sig) {
    out.run = std::move(first);
    return out;
  }
  Minimizer m(design, *sig, opt);
  Scenario s = out.scenario;
  for (bool progress = true; progress;) {
    progress = false;
    progress |= m.shrink(s, plainer_schedule);
    progress |= m.fewest_points(s);
    progress |= m.to_points(s);
    progress |= m.shrink(s, drop_thread);
    progress |= m.shrink(s, drop_op);
    progress |= m.shrink(s, drop_vpn);
    progress |= m.shrink(s, drop_point);
    progress |= m.shrink(s, shorter_gap);
    progress |= m.shrink(s, simplify_op);
    progress |= m.shrink(s, fewer_free_pages);
  }
  out.changed = !(s == out.scenario);
  out.scenario = s;
  out.attempts = m.attempts();
  out.run = runner.run(out.scenario, design, rec);
  return out;
}

}  // namespace pf
