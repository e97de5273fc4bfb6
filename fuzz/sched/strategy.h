// Scheduling strategies: which model thread runs the next step. A strategy's
// choices are a pure function of what it was built from (seed, options,
// preemption list) and the decisions it has been asked: no clocks, no
// addresses and no std:: distributions (their output differs between
// libstdc++ and libc++), so one seed is one schedule on every build.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pf::sched {

inline constexpr uint32_t kMaxThreads = 8;
inline constexpr uint32_t kNoThread = 0xffffffffu;
// What pick() returns to end the run now (see Strategy::pick()).
inline constexpr uint32_t kEndRun = 0xfffffffeu;
// Weak memory: Decision::runnable may also hold flush choices, the ids
// kFlushBase + i, i < kMaxFlushChoices, after the threads. Picking one makes
// a buffered store visible (the i-th store that may become visible now, in
// thread order, then oldest first) and asks again; it never switches threads.
inline constexpr uint32_t kFlushBase = kMaxThreads;
inline constexpr uint32_t kMaxFlushChoices = 16;
inline constexpr bool is_flush_choice(uint32_t id) {
  return id >= kFlushBase && id < kFlushBase + kMaxFlushChoices;
}
// Weak memory (arm): the last entry of Decision::runnable when the current
// thread is about to make a relaxed load that could be satisfied early (ARM's
// load-load reordering): picking it keeps the thread running, and the load
// reads the word as it was at the thread's last ordering point.
inline constexpr uint32_t kEarlyRead = kFlushBase + kMaxFlushChoices;

// Why the scheduler asks. Every decision is for one step: the thread picked
// executes the next shared access (at kAccess, picking the current thread
// means "no preemption").
enum class Reason : uint8_t {
  kStart,     // first decision of a run; no thread is running yet
  kAccess,    // the running thread is about to make a shared access
  kParked,    // the running thread blocked: pick another
  kFinished,  // the running thread returned: pick another
};

struct Decision {
  std::span<const uint8_t> runnable;  // thread indices, ascending, never empty;
                                      // then any flush choices (kFlushBase...),
                                      // then maybe kEarlyRead
  uint32_t current;  // thread that was running; kNoThread at kStart. It is in
                     // `runnable` only for kAccess.
  uint64_t step;     // index of the step being decided = steps executed so far
  Reason reason;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const = 0;
  // Start of a run with `threads` model threads: resets all per-run state
  // (seeded strategies restart their generator from the seed).
  virtual void begin_run(uint32_t threads) = 0;
  // Must return an element of d.runnable, or kEndRun: the run ends here with
  // Status::kStopped, every thread unwound as after request_stop() (a
  // search that has seen all it needs of this run: pinfuzz verify's sleep
  // sets). The scheduler aborts on anything else.
  virtual uint32_t pick(const Decision& d) = 0;
  virtual void end_run(uint64_t steps) { (void)steps; }
  // Seeded strategies: the seed of the next run. Others ignore it.
  virtual void reseed(uint64_t seed) { (void)seed; }
  virtual uint64_t seed() const { return 0; }
  // Everything needed to rebuild this schedule: "pct seed=7 depth=3 k=200".
  virtual std::string describe() const = 0;

  // A budget the scheduler may spend instead of calling pick() for a
  // kAccess decision: while it is > 0, such a decision is "keep the current
  // thread" and costs a decrement (kForever: never decremented). It is the
  // strategy's own count, so pick() sees what was spent. Strategies that
  // want every decision leave it at 0.
  static constexpr uint64_t kForever = UINT64_MAX;
  uint64_t keep_budget = 0;
};

// ---- input: the schedule is data (for libFuzzer) --------------------------

// "After `after_steps` more steps, switch to runnable thread number
// `thread` (taken modulo the number of runnable threads)."
struct Preemption {
  uint32_t after_steps = 0;
  uint8_t thread = 0;
  friend bool operator==(const Preemption&, const Preemption&) = default;
};

inline constexpr size_t kMaxPreemptions = 256;
inline constexpr uint32_t kMaxEncodedAfterSteps = 0x7fff;

// Total decoder: every byte string yields a list of at most `max_points`
// points; never UB. Each point is a gap (1 byte if < 0x80, else 2 bytes,
// little-endian base-128: up to kMaxEncodedAfterSteps) then a thread byte; a
// point cut off by the end of input is dropped.
std::vector<Preemption> decode_preemptions(std::span<const uint8_t> bytes,
                                           size_t max_points = kMaxPreemptions);
// Inverse of decode_preemptions; gaps above kMaxEncodedAfterSteps are
// clamped to it.
std::vector<uint8_t> encode_preemptions(std::span<const Preemption> points);

// Follows the preemption points in order. The first point counts from the
// start of the run; each later one counts the steps after the previous
// switch step. While points remain, a thread that parks or finishes hands
// over to the lowest-index runnable thread (counting that step as one of
// the k). Once they run out: no preemption, and a parked or finished thread
// hands over to the lowest-index runnable thread.
class InputStrategy final : public Strategy {
 public:
  explicit InputStrategy(std::vector<Preemption> points);
  std::string_view name() const override { return "input"; }
  void begin_run(uint32_t threads) override;
  uint32_t pick(const Decision& d) override;
  std::string describe() const override;
  const std::vector<Preemption>& points() const { return points_; }

 private:
  std::vector<Preemption> points_;
  size_t next_ = 0;  // the steps until points_[next_] are keep_budget
};

// ---- random ----------------------------------------------------------------

// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable from any value, the
// same sequence on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed = 0) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n) for n > 0 (Lemire's multiply-shift; the bias for
  // n <= 2^32 is below 2^-32 and, more to the point, deterministic).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(next()) * n) >> 64);
  }
  // True with probability p (p is clamped to [0, 1]); p <= 0 and p >= 1
  // draw nothing.
  bool chance(double p) { return chance(Chance(p)); }
  // The same, with the conversion of p done once (a per-step decision).
  struct Chance {
    explicit Chance(double p);
    enum class Kind : uint8_t { kNever, kAlways, kDraw } kind;
    uint64_t threshold = 0;  // kDraw: true iff 53 random bits < threshold
  };
  bool chance(const Chance& c) {
    if (c.kind != Chance::Kind::kDraw) return c.kind == Chance::Kind::kAlways;
    return (next() >> 11) < c.threshold;
  }

 private:
  uint64_t s_;
};

struct RandomOptions {
  double switch_probability = 1.0 / 8;  // per step
};

// At each step, with probability p switch to a uniformly chosen runnable
// thread (possibly the current one); when the current thread parks or
// finishes, a uniformly chosen runnable thread.
class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed, RandomOptions options = {});
  std::string_view name() const override { return "random"; }
  void begin_run(uint32_t threads) override;
  uint32_t pick(const Decision& d) override;
  void reseed(uint64_t seed) override { seed_ = seed; }
  uint64_t seed() const override { return seed_; }
  std::string describe() const override;

 private:
  uint64_t seed_;
  RandomOptions options_;
  SplitMix64::Chance switch_;  // options_.switch_probability, converted
  SplitMix64 rng_;
};

// ---- pct -------------------------------------------------------------------

enum class AdaptSteps : uint8_t {
  kNo,                // k stays as given: one (seed, k) is one schedule
  kFromPreviousRun,   // k becomes the step count of the previous run
};

struct PctOptions {
  uint32_t depth = 3;             // d: finds any bug of depth <= d
  uint64_t steps_estimate = 200;  // k: estimated steps per run
  AdaptSteps adapt = AdaptSteps::kNo;
};

// Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
// Probabilistic Guarantees of Finding Bugs", ASPLOS 2010: threads get random
// distinct priorities d..d+n-1; d-1 change points are drawn uniformly from
// [1, k]; the highest-priority runnable thread always runs, and at the i-th
// change point the running thread drops to priority i. A bug of depth d is
// found with probability >= 1/(n k^(d-1)) per run.
class PctStrategy final : public Strategy {
 public:
  explicit PctStrategy(uint64_t seed, PctOptions options = {});
  std::string_view name() const override { return "pct"; }
  void begin_run(uint32_t threads) override;
  uint32_t pick(const Decision& d) override;
  void end_run(uint64_t steps) override;
  void reseed(uint64_t seed) override { seed_ = seed; }
  uint64_t seed() const override { return seed_; }
  std::string describe() const override;
  uint64_t steps_estimate() const { return k_; }

 private:
  uint64_t seed_;
  PctOptions options_;
  uint64_t k_;
  std::array<uint32_t, kMaxThreads> priority_{};
  std::vector<uint64_t> change_at_;  // change_at_[i]: 1-based step -> prio i+1
  SplitMix64 flush_rng_;             // weak memory only: which store, when
  SplitMix64::Chance flush_chance_{1.0 / 8};  // per run: begin_run()
};

// ---- as preemption points ----------------------------------------------------

// Runs `inner` and writes down its choices as the preemption points with
// which an InputStrategy makes the same choice at every decision: after a
// run under the recorder, InputStrategy(points()) replays that run step for
// step (same trace). A decision where `inner` picks what InputStrategy does
// by default (the current thread at kAccess, else the lowest-index runnable
// one) is a step of a gap; any other choice ends the gap with a point, its
// thread the index of the choice among the runnable threads. This turns a
// random or PCT schedule into one a person can read and the minimizer can
// shrink point by point. `inner` must not use keep_budget (random and PCT
// do not): the recorder wants every decision.
class PointsRecorder final : public Strategy {
 public:
  explicit PointsRecorder(Strategy& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  void begin_run(uint32_t threads) override;
  uint32_t pick(const Decision& d) override;
  void end_run(uint64_t steps) override { inner_.end_run(steps); }
  std::string describe() const override { return inner_.describe(); }
  // The last run's points; the gaps fit kMaxEncodedAfterSteps only if the
  // run had fewer decisions (the step budget is below it by default).
  const std::vector<Preemption>& points() const { return points_; }

 private:
  Strategy& inner_;
  std::vector<Preemption> points_;
  uint32_t gap_ = 0;  // decisions since the last point that kept the default
};

// ---- follow: another run's interleaving, for a smaller scenario ----------

// Records the thread picked at every decision of a run under `inner` (same
// keep_budget rule as PointsRecorder).
class SequenceRecorder final : public Strategy {
 public:
  explicit SequenceRecorder(Strategy& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  void begin_run(uint32_t threads) override {
    inner_.begin_run(threads);
    sequence_.clear();
  }
  uint32_t pick(const Decision& d) override {
    const uint32_t t = inner_.pick(d);
    sequence_.push_back(static_cast<uint8_t>(t));
    return t;
  }
  void end_run(uint64_t steps) override { inner_.end_run(steps); }
  std::string describe() const override { return inner_.describe(); }
  const std::vector<uint8_t>& sequence() const { return sequence_; }

 private:
  Strategy& inner_;
  std::vector<uint8_t> sequence_;
};

// Replays a recorded sequence of picks loosely on a program with a thread or
// an op removed: `map` renames the recorded threads (kNoThread: removed), and
// each decision takes the next recorded pick that is runnable now, looking at
// most kLookahead picks ahead (a removed op's steps, a thread that is
// blocked here), else the default. Under a PointsRecorder the run becomes an
// input schedule: the minimizer's guess at "the same interleaving" of the
// smaller scenario, tried before any search.
class FollowStrategy final : public Strategy {
 public:
  static constexpr size_t kLookahead = 64;
  FollowStrategy(std::vector<uint8_t> sequence, std::array<uint32_t, kMaxThreads> map)
      : sequence_(std::move(sequence)), map_(map) {}
  std::string_view name() const override { return "follow"; }
  void begin_run(uint32_t) override { pos_ = 0; }
  uint32_t pick(const Decision& d) override {
    const size_t end = std::min(sequence_.size(), pos_ + kLookahead);
    for (size_t i = pos_; i < end; ++i) {
      const uint32_t t = sequence_[i] < kMaxThreads ? map_[sequence_[i]] : kNoThread;
      if (t == kNoThread) continue;
      for (uint8_t r : d.runnable)
        if (r == t) {
          pos_ = i + 1;
          return t;
        }
    }
    return d.reason == Reason::kAccess ? d.current : d.runnable[0];
  }
  std::string describe() const override { return "follow"; }

 private:
  std::vector<uint8_t> sequence_;
  std::array<uint32_t, kMaxThreads> map_;
  size_t pos_ = 0;
};

// ---- by name ---------------------------------------------------------------

struct StrategyInfo {
  std::string_view name;
  std::string_view help;
};
// The one list of strategies: names, parsing and --help all come from here.
inline constexpr std::array<StrategyInfo, 3> kStrategies{{
    {"input", "the schedule is bytes: preemption points 'after k more steps, "
              "switch to runnable thread t'"},
    {"random", "seeded; each step switches with probability p to a uniformly "
               "chosen runnable thread"},
    {"pct", "seeded PCT (Burckhardt et al. 2010): priorities plus d-1 change "
            "points in [1, k]"},
}};

struct StrategyOptions {
  RandomOptions random;
  PctOptions pct;
  std::vector<Preemption> preemptions;  // for "input"
};

// Throws std::invalid_argument naming the valid strategies if `name` is not
// one of kStrategies.
std::unique_ptr<Strategy> make_strategy(std::string_view name, uint64_t seed,
                                        const StrategyOptions& options = {});

}  // namespace pf::sched
