// Free-running stress: a scenario's model threads on real std::threads,
// round after round on a fresh World, checked by the same oracles as a
// deterministic run (the model's own, release_all at thread exit, then
// final_check). This is the mode for ThreadSanitizer: it sees the model's
// C++ on real cores, which the deterministic engine never shows it.
//
// A hook observes every scheduling point but never schedules: it may add
// seeded chaos (a short spin or a yield, rr's chaos mode in miniature) to
// widen race windows, and it writes each access to its thread's flight
// recorder (a Boost.Lockfree spsc_queue keeping the newest events). When a
// round violates, the recorders are merged by a global sequence number into
// the RunResult shape the deterministic engine records, so the same
// swimlane timeline (fuzz/harness/timeline.h) draws it.
//
// Contract: while a round runs, the runner adds no synchronization between
// model threads: a thread writes only its own recorder and the sequence
// number is a relaxed counter, so ThreadSanitizer sees exactly the model's
// own happens-before. Rounds are separated by the crew's start and finish
// handshake, so each round's World is private to it. Seeds fix the
// generated scenarios and the chaos draws, never the interleavings: a
// stress finding does not replay; the scenario goes to the deterministic
// engine to be searched for again (`pinfuzz run FILE --strategy=pct`).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"

namespace pf {

inline constexpr size_t kDefaultRingEvents = size_t{1} << 14;

struct StressProgress {
  uint64_t rounds = 0;     // executions so far
  uint64_t scenarios = 0;  // distinct scenarios run so far
  double seconds = 0;
  uint32_t kinds = 0;      // every violation kind seen (1 << kind)
  size_t findings = 0;
};

struct StressOptions {
  double max_seconds = 10;          // stop after this long (checked between rounds)
  uint64_t max_rounds = UINT64_MAX;
  uint64_t seed = 1;                // generated scenarios and chaos draws
  bool chaos = false;               // random short spins and yields at scheduling points
  // Generated scenarios (no fixed one): rounds each one runs before the next.
  uint64_t rounds_per_scenario = 200;
  // A round still running after this long is a hang (or a deadlock, when
  // every unfinished thread keeps waiting); its threads are unwound.
  double round_timeout = 10;
  std::optional<ViolationKind> expect;  // only this kind is a finding
  bool keep_going = false;  // collect one finding per (kind, function) instead of stopping
  size_t ring_events = kDefaultRingEvents;  // flight recorder size per thread
  const std::atomic<bool>* stop = nullptr;  // set (SIGINT) to end after the current round
  // Called from the calling thread between rounds, about once a second.
  std::function<void(const StressProgress&)> progress;
};

// One violating round, with its interleaving as recorded by the threads.
struct StressFinding {
  Scenario scenario;  // its design set; the schedule is the scenario's own
  Violation violation;
  uint64_t round = 0;   // 1-based, over the whole run
  double seconds = 0;   // since the start
  // The merged recorders as a full-trace RunResult: trace (in sequence
  // order), objects, marks, violation (step = the last access of the
  // reporting thread before it reported), kinds, status, steps.
  RunResult run;
  // A recorder overflowed: the trace begins mid-round (the newest events
  // of each thread are kept).
  bool truncated = false;
};

struct StressResult {
  uint64_t rounds = 0;
  uint64_t scenarios = 0;
  double seconds = 0;
  uint32_t kinds = 0;  // every kind seen, findings or not
  std::vector<StressFinding> findings;  // in order found; at most one without keep_going
  bool interrupted = false;             // options.stop was set
};

// Runs `fixed` every round, or (fixed == nullptr) scenarios generated from
// options.seed (random_scenario()), options.rounds_per_scenario rounds each.
// A scenario's own design wins over `fallback`, as in Runner::run().
StressResult run_stress(const Design& fallback, const Scenario* fixed,
                        const StressOptions& options);

}  // namespace pf
