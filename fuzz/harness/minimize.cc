#include "fuzz/harness/minimize.h"

#include <algorithm>
#include <array>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

namespace pf {

namespace {

using ThreadMap = std::array<uint32_t, sched::kMaxThreads>;
ThreadMap identity_map() {
  ThreadMap map{};
  for (uint32_t t = 0; t < map.size(); ++t) map[t] = t;
  return map;
}

class Minimizer {
 public:
  // `memory`: the input's memory model, which every run and every schedule
  // the minimizer writes keeps (a weak-memory bug needs its model).
  Minimizer(const Design& d, const Signature& sig, const MinimizeOptions& opt,
            sync::Memory memory)
      : design_(d), sig_(sig), opt_(opt) {
    run_opt_.step_budget = opt.step_budget;
    run_opt_.memory = memory;
  }

  // Does `s` still show the signature? Counts the attempt.
  bool holds(const Scenario& s) {
    if (attempts_ >= opt_.max_attempts) return false;
    ++attempts_;
    return in_bucket(runner_.run(s, design_, run_opt_));
  }

  // The bucket, not the racing function: another schedule of the same
  // mistake is as good a reproducer, and shrinking moves who raced whom.
  bool in_bucket(const RunResult& r) const {
    return r.violation && Signature{r.violation->kind, r.violation->fn, r.violation->cause, ""}
                              .same_bucket(sig_);
  }

  // The thread picked at each decision of `s`'s run: what a smaller
  // scenario follows (holds_following()).
  std::vector<uint8_t> sequence_of(const Scenario& s) {
    auto inner = s.schedule.make_strategy();
    sched::SequenceRecorder rec(*inner);
    runner_.run(design_, s.program, rec, run_opt_);
    return rec.sequence();
  }

  // Does `c`, a smaller `s`, show the bucket when driven through s's
  // interleaving (sched::FollowStrategy, `map` renaming s's threads)? On
  // success `c` gets that run as an input schedule. Counts the attempt.
  bool holds_following(Scenario& c, const std::vector<uint8_t>& sequence, const ThreadMap& map) {
    if (attempts_ >= opt_.max_attempts) return false;
    ++attempts_;
    sched::FollowStrategy follow(sequence, map);
    sched::PointsRecorder rec(follow);
    if (!in_bucket(runner_.run(design_, c.program, rec, run_opt_))) return false;
    if (rec.points().size() > sched::kMaxPreemptions) return false;
    for (const auto& p : rec.points())
      if (p.after_steps > sched::kMaxEncodedAfterSteps) return false;
    c.schedule = Schedule{.memory = run_opt_.memory};
    c.schedule.points = rec.points();
    return true;
  }

  // Tries each candidate produced by `make(s, i)` for i = 0, 1, ... (make
  // returns false when i is past the last); keeps the first that holds and
  // starts over. Returns whether anything was kept.
  // With `follow`, a candidate that fails under its own schedule is tried
  // once more following s's interleaving, threads renamed by follow(s, i).
  bool shrink(Scenario& s, const std::function<bool(const Scenario&, int, Scenario*)>& make,
              const std::function<ThreadMap(const Scenario&, int)>& follow = {}) {
    bool any = false;
    std::vector<uint8_t> sequence;
    for (int i = 0;;) {
      Scenario c;
      if (!make(s, i, &c)) break;
      if (follow && sequence.empty()) sequence = sequence_of(s);
      if (holds(c) || (follow && holds_following(c, sequence, follow(s, i)))) {
        sequence.clear();  // s changes
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
    c.schedule = Schedule{.memory = run_opt_.memory};
    c.schedule.points = recorder.points();
    if (!holds(c)) return false;
    s = std::move(c);
    return true;
  }

  // Preemption bounding (CHESS: most concurrency bugs need one or two
  // preemptions): `c`'s program under no preemption, then one preemption
  // point at every step to every thread, then `two_point` two-point
  // schedules drawn uniformly (a fixed seed: deterministic), since walking
  // them in order would spend the attempts on the first few steps; never
  // more than `max_points` points. On success `c` has the schedule that held.
  bool search_schedules(Scenario& c, size_t max_points, uint64_t two_point) {
    c.schedule = Schedule{.memory = run_opt_.memory};
    if (holds(c)) return true;
    if (max_points == 0) return false;
    const uint64_t steps = runner_.run(c, design_, run_opt_).steps;
    const uint32_t threads = static_cast<uint32_t>(c.program.threads.size());
    auto& cp = c.schedule.points;
    for (uint32_t a = 0; a < steps; ++a)
      for (uint8_t t = 0; t < threads; ++t) {
        cp.assign({sched::Preemption{a, t}});
        if (holds(c)) return true;
      }
    sched::SplitMix64 rng(0x2b0da1);
    for (uint64_t i = 0; max_points >= 2 && i < two_point && attempts_ < opt_.max_attempts; ++i) {
      const auto a = static_cast<uint32_t>(rng.below(steps));
      const auto b = static_cast<uint32_t>(rng.below(steps - a));
      cp.assign({sched::Preemption{a, static_cast<uint8_t>(rng.below(threads))},
                 sched::Preemption{b, static_cast<uint8_t>(rng.below(threads))}});
      if (holds(c)) return true;
    }
    return false;
  }

  // A finding under a random schedule that switches at every other step
  // becomes one with a switch or two, which later steps shrink further.
  // Tried when the schedule is seeded or has more points than that.
  bool fewest_points(Scenario& s) {
    if (s.schedule.kind == ScheduleKind::kInput && s.schedule.points.size() <= 2) return false;
    Scenario c = s;
    if (!search_schedules(c, 2, kTwoPointAttempts)) return false;
    s = std::move(c);
    return true;
  }
  static constexpr uint64_t kTwoPointAttempts = 6000;

  // Shows the bucket under its own schedule, or a nearby one (see
  // search_schedules()) with at most `max_points` points.
  bool holds_near(Scenario& c, size_t max_points, const std::vector<uint8_t>* sequence = nullptr,
                  const ThreadMap& map = identity_map()) {
    if (holds(c)) return true;
    if (sequence && holds_following(c, *sequence, map)) return true;
    Scenario near = c;
    if (!search_schedules(near, max_points, kNearTwoPoint)) return false;
    c = std::move(near);
    return true;
  }
  static constexpr uint64_t kNearTwoPoint = 300;

  std::optional<Reduction> reduction(const Scenario& s);

  uint64_t attempts() const { return attempts_; }
  const Design& design() const { return design_; }
  Runner& runner() { return runner_; }

 private:
  Design design_;
  Signature sig_;
  MinimizeOptions opt_;
  RunOptions run_opt_;
  Runner runner_;
  uint64_t attempts_ = 0;
};

// Candidates, one element at a time. Each returns false past its last one.
// drop_thread(s, i) removes thread size-1-i; thread_gone() renames the rest.
ThreadMap thread_gone(const Scenario& s, int i) {
  const size_t gone = s.program.threads.size() - 1 - static_cast<size_t>(i);
  ThreadMap map = identity_map();
  for (size_t t = 0; t < map.size(); ++t)
    map[t] = t < gone ? static_cast<uint32_t>(t) : t == gone ? sched::kNoThread : static_cast<uint32_t>(t - 1);
  return map;
}
ThreadMap same_threads(const Scenario&, int) { return identity_map(); }

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
  out->schedule = Schedule{.memory = s.schedule.memory};
  return true;
}

// What minimization makes smaller, most important first.
std::tuple<size_t, size_t, size_t> size_of(const Scenario& s) {
  size_t ops = 0, vpns = 0;
  for (const auto& th : s.program.threads) ops += th.size() + 1;
  for (const auto& v : s.program.world.vpn) vpns += v.backing != Backing::kNone;
  return {ops, vpns, s.schedule.kind == ScheduleKind::kInput ? s.schedule.points.size() : SIZE_MAX};
}

std::string op_what(const Scenario& s, size_t t, size_t k) {
  return fmt::format("op {} of thread {} ({})", k, t, s.program.threads[t][k].to_string());
}

std::optional<Reduction> Minimizer::reduction(const Scenario& s) {
  const size_t points = s.schedule.kind == ScheduleKind::kInput ? s.schedule.points.size() : 0;
  const size_t near_points = std::max<size_t>(2, points);
  const std::vector<uint8_t> sequence = sequence_of(s);
  const auto before = size_of(s);
  // Following s's own interleaving is tried for a smaller program, never
  // for a smaller schedule (it would record the points just removed); and
  // whatever schedule holds, the result must be smaller than s.
  auto try_one = [&](std::string what, Scenario c, size_t max_points,
                     const ThreadMap& map = identity_map(),
                     bool follow = true) -> std::optional<Reduction> {
    if (!holds_near(c, max_points, follow ? &sequence : nullptr, map) || !(size_of(c) < before))
      return std::nullopt;
    return Reduction{std::move(what), std::move(c)};
  };
  // Ops that did nothing in the replay first: a GUP of an unmapped page,
  // a put with nothing of its kind to put.
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  rec.step_budget = opt_.step_budget;
  const RunResult r = runner_.run(s, design_, rec);
  for (const OpMark& m : r.marks) {
    if (m.effect || m.op < 0 || m.thread >= s.program.threads.size()) continue;
    const auto t = static_cast<size_t>(m.thread), k = static_cast<size_t>(m.op);
    if (k >= s.program.threads[t].size()) continue;
    Scenario c = s;
    c.program.threads[t].erase(c.program.threads[t].begin() + static_cast<std::ptrdiff_t>(k));
    if (auto red = try_one(op_what(s, t, k) + ", which did nothing", std::move(c), near_points))
      return red;
  }
  Scenario c;
  for (int i = 0; drop_thread(s, i, &c); ++i)
    if (auto red = try_one(fmt::format("thread {}", s.program.threads.size() - 1 - i), c, near_points,
                           thread_gone(s, i)))
      return red;
  for (int i = 0; drop_op(s, i, &c); ++i) {
    size_t t = 0, k = 0;
    locate_op(s, i, &t, &k);
    if (auto red = try_one(op_what(s, t, k), c, near_points)) return red;
  }
  for (int v = 0; v < kMaxVpn; ++v) {
    if (s.program.world.vpn[static_cast<size_t>(v)].backing == Backing::kNone) continue;
    c = s;
    c.program.world.vpn[static_cast<size_t>(v)] = VpnSpec{};
    c.program.world = c.program.world.canonical();
    if (auto red = try_one(fmt::format("vpn {}", v), c, near_points)) return red;
  }
  for (int i = 0; drop_point(s, i, &c); ++i)
    if (auto red = try_one(fmt::format("preemption point {}", points - 1 - i), c, points - 1,
                           identity_map(), /*follow=*/false))
      return red;
  return std::nullopt;
}

}  // namespace

std::optional<Reduction> find_reduction(const Scenario& s, const Design& design,
                                        const Signature& sig, const MinimizeOptions& opt) {
  Minimizer m(design, sig, opt, s.schedule.memory);
  Scenario with = s;
  with.design = design;
  return m.reduction(with);
}

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
  Minimizer m(design, *sig, opt, input.schedule.memory);
  Scenario s = out.scenario;
  // The schedule first, once: the plainest one, or one or two points found
  // by search, or the recorded points of a random/PCT run. Searching again
  // every round would spend the attempts where they find nothing new.
  m.shrink(s, plainer_schedule);
  m.fewest_points(s);
  m.to_points(s);
  for (bool progress = true; progress;) {
    progress = false;
    progress |= m.shrink(s, drop_thread, thread_gone);
    progress |= m.shrink(s, drop_op, same_threads);
    progress |= m.shrink(s, drop_vpn);
    progress |= m.shrink(s, drop_point);
    progress |= m.shrink(s, shorter_gap);
    progress |= m.shrink(s, simplify_op);
    progress |= m.shrink(s, fewer_free_pages);
    // 1-minimality: one element at a time, each under nearby schedules too.
    if (!progress) {
      if (auto red = m.reduction(s)) {
        s = std::move(red->smaller);
        progress = true;
      }
    }
  }
  out.changed = !(s == out.scenario);
  out.scenario = s;
  out.attempts = m.attempts();
  out.run = runner.run(out.scenario, design, rec);
  return out;
}

}  // namespace pf
