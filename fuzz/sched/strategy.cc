#include "fuzz/sched/strategy.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <stdexcept>

namespace pf::sched {

// ---- input -------------------------------------------------------------------

std::vector<Preemption> decode_preemptions(std::span<const uint8_t> bytes,
                                           size_t max_points) {
  std::vector<Preemption> out;
  size_t i = 0;
  while (out.size() < max_points && i < bytes.size()) {
    uint32_t after = bytes[i++];
    if (after & 0x80) {
      if (i >= bytes.size()) break;
      after = (after & 0x7f) | (static_cast<uint32_t>(bytes[i++]) << 7);
    }
    if (i >= bytes.size()) break;
    out.push_back(Preemption{after, bytes[i++]});
  }
  return out;
}

std::vector<uint8_t> encode_preemptions(std::span<const Preemption> points) {
  std::vector<uint8_t> out;
  out.reserve(points.size() * 3);
  for (const Preemption& p : points) {
    uint32_t after = std::min(p.after_steps, kMaxEncodedAfterSteps);
    if (after < 0x80) {
      out.push_back(static_cast<uint8_t>(after));
    } else {
      out.push_back(static_cast<uint8_t>(0x80 | (after & 0x7f)));
      out.push_back(static_cast<uint8_t>(after >> 7));
    }
    out.push_back(p.thread);
  }
  return out;
}

InputStrategy::InputStrategy(std::vector<Preemption> points)
    : points_(std::move(points)) {}

void InputStrategy::begin_run(uint32_t threads) {
  (void)threads;
  next_ = 0;
  keep_budget = points_.empty() ? kForever : points_[0].after_steps;
}

uint32_t InputStrategy::pick(const Decision& d) {
  // Default: keep the current thread, else the lowest-index runnable one.
  const bool current_runnable = d.reason == Reason::kAccess;
  uint32_t keep = current_runnable ? d.current : d.runnable[0];
  if (next_ >= points_.size()) return keep;  // keep_budget is kForever
  if (keep_budget > 0) {
    --keep_budget;
    return keep;
  }
  uint32_t t = d.runnable[points_[next_].thread % d.runnable.size()];
  ++next_;
  keep_budget = next_ < points_.size() ? points_[next_].after_steps : kForever;
  return t;
}

std::string InputStrategy::describe() const {
  std::string s = "input";
  char buf[32];
  for (size_t i = 0; i < points_.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%c%" PRIu32 ":%u", i == 0 ? ' ' : ',',
                  points_[i].after_steps, unsigned{points_[i].thread});
    s += buf;
  }
  return s;
}

// ---- random ------------------------------------------------------------------

SplitMix64::Chance::Chance(double p) {
  if (!(p > 0)) {  // also NaN
    kind = Kind::kNever;
  } else if (p >= 1) {
    kind = Kind::kAlways;
  } else {
    // 53 random bits against p scaled to 2^53: exact, no libm, no rounding
    // mode dependence.
    kind = Kind::kDraw;
    threshold = static_cast<uint64_t>(p * 9007199254740992.0);
  }
}

RandomStrategy::RandomStrategy(uint64_t seed, RandomOptions options)
    : seed_(seed), options_(options), switch_(options.switch_probability), rng_(seed) {}

void RandomStrategy::begin_run(uint32_t threads) {
  (void)threads;
  rng_ = SplitMix64(seed_);
}

uint32_t RandomStrategy::pick(const Decision& d) {
  // The conversion of p to a threshold was a third of this function's time.
  if (d.reason == Reason::kAccess && !rng_.chance(switch_))
    return d.current;
  return d.runnable[rng_.below(d.runnable.size())];
}

std::string RandomStrategy::describe() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "random seed=%" PRIu64 " p=%.17g", seed_,
                options_.switch_probability);
  return buf;
}

// ---- pct ---------------------------------------------------------------------

PctStrategy::PctStrategy(uint64_t seed, PctOptions options)
    : seed_(seed),
      options_(options),
      k_(std::max<uint64_t>(options.steps_estimate, 1)) {
  options_.depth = std::max<uint32_t>(options_.depth, 1);
}

void PctStrategy::begin_run(uint32_t threads) {
  SplitMix64 rng(seed_);
  const uint32_t d = options_.depth;
  // Random distinct priorities d .. d+n-1 (Fisher-Yates), all above the
  // change-point priorities 1 .. d-1.
  std::array<uint32_t, kMaxThreads> perm{};
  const uint32_t n = std::min(threads, kMaxThreads);
  for (uint32_t i = 0; i < n; ++i) perm[i] = i;
  for (uint32_t i = n; i > 1; --i) {
    uint32_t j = static_cast<uint32_t>(rng.below(i));
    std::swap(perm[i - 1], perm[j]);
  }
  priority_.fill(0);
  for (uint32_t i = 0; i < n; ++i) priority_[i] = d + perm[i];
  flush_rng_ = SplitMix64(~seed_);
  // Weak memory: how long stores wait is drawn per run (a store waits about
  // 1/p decisions), so some runs publish at once and some hold a store
  // across a whole race. Drawn from its own generator: sc runs are as before.
  static constexpr double kFlushChances[] = {1.0 / 2, 1.0 / 8, 1.0 / 32, 1.0 / 128};
  flush_chance_ = SplitMix64::Chance(kFlushChances[flush_rng_.below(4)]);
  // d-1 change points uniform in [1, k], distinct while k allows it.
  change_at_.clear();
  for (uint32_t i = 0; i + 1 < d; ++i) {
    uint64_t at = 1 + rng.below(k_);
    if (change_at_.size() < k_) {
      while (std::find(change_at_.begin(), change_at_.end(), at) !=
             change_at_.end())
        at = 1 + rng.below(k_);
    }
    change_at_.push_back(at);
  }
}

uint32_t PctStrategy::pick(const Decision& d) {
  const uint64_t step = d.step + 1;  // the paper counts steps from 1
  if (d.current < kMaxThreads) {
    for (size_t i = 0; i < change_at_.size(); ++i)
      if (change_at_[i] == step)
        priority_[d.current] = static_cast<uint32_t>(i + 1);
  }
  // Weak memory: the flush choices come after the threads. PCT gives them
  // no priority; a decision that may flush does so with the run's
  // probability (begin_run()), uniformly, and otherwise lets the stores wait.
  size_t threads = d.runnable.size();
  while (d.runnable[threads - 1] >= kFlushBase) --threads;
  if (threads < d.runnable.size() && flush_rng_.chance(flush_chance_))
    return d.runnable[threads + flush_rng_.below(d.runnable.size() - threads)];
  uint32_t best = d.runnable[0];
  for (uint8_t t : d.runnable.first(threads))
    if (priority_[t] > priority_[best]) best = t;
  return best;
}

void PctStrategy::end_run(uint64_t steps) {
  if (options_.adapt == AdaptSteps::kFromPreviousRun)
    k_ = std::max<uint64_t>(steps, 1);
}

std::string PctStrategy::describe() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "pct seed=%" PRIu64 " depth=%u k=%" PRIu64,
                seed_, options_.depth, k_);
  return buf;
}

// ---- as preemption points ---------------------------------------------------------

void PointsRecorder::begin_run(uint32_t threads) {
  inner_.begin_run(threads);
  points_.clear();
  gap_ = 0;
}

uint32_t PointsRecorder::pick(const Decision& d) {
  const uint32_t t = inner_.pick(d);
  // What InputStrategy picks at a decision that is not a point.
  const uint32_t keep = d.reason == Reason::kAccess ? d.current : d.runnable[0];
  if (t == keep) {
    ++gap_;
    return t;
  }
  uint8_t index = 0;
  while (d.runnable[index] != t) ++index;  // t is runnable: the scheduler checks
  points_.push_back(Preemption{gap_, index});
  gap_ = 0;
  return t;
}

// ---- by name -----------------------------------------------------------------

std::unique_ptr<Strategy> make_strategy(std::string_view name, uint64_t seed,
                                        const StrategyOptions& options) {
  if (name == "input") return std::make_unique<InputStrategy>(options.preemptions);
  if (name == "random")
    return std::make_unique<RandomStrategy>(seed, options.random);
  if (name == "pct") return std::make_unique<PctStrategy>(seed, options.pct);
  std::string msg = "unknown schedule strategy '";
  msg.append(name);
  msg += "'; valid strategies are:";
  for (size_t i = 0; i < kStrategies.size(); ++i) {
    msg += i == 0 ? " " : ", ";
    msg.append(kStrategies[i].name);
  }
  throw std::invalid_argument(msg);
}

}  // namespace pf::sched
