// Minimization: the smallest scenario (threads, ops, world, flags,
// preemption points) that still shows the same violation - what a person
// reads in a crash report and what the regression corpus keeps. Greedy and
// deterministic (delta debugging one element at a time, to a fixed point):
// same input, same result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/harness/run.h"

namespace pf {

// What must stay the same while shrinking, and what a campaign buckets
// crashes by: the violation kind, the kernel function that reported it and
// the kernel function at the other side of the race (ClusterFuzz buckets by
// the top frames of one stack; a race has two).
struct Signature {
  ViolationKind kind;
  std::string fn;
  // The function of the last write by another thread to something the
  // reporting thread's current op touched (for an end-of-run finding: to the
  // page it is about). "" when no other thread wrote there - a sequential
  // bug - or when the run was not recorded with Recording::kFullTrace.
  std::string racing_fn;
  friend bool operator==(const Signature&, const Signature&) = default;

  // "pinned_page_replaced in unpin_user_page() vs try_to_unmap_one()"
  std::string to_string() const;
  // "pinned_page_replaced in unpin_user_page()": what campaigns deduplicate
  // on. The racing step's function is shown, not keyed: it varies with the
  // interleaving more than with the bug (one knob gave 429 full signatures
  // in a two-minute campaign, 68 keys).
  std::string key() const;
};
std::optional<Signature> signature_of(const RunResult& r);

struct MinimizeResult {
  Scenario scenario;   // design set to the one it ran under
  RunResult run;       // its run, recorded (trace, marks)
  uint64_t attempts = 0;
  bool changed = false;
};

struct MinimizeOptions {
  uint64_t max_attempts = 20000;
  uint64_t step_budget = kDefaultStepBudget;
};

// `s` must violate under `design` (else the result is `s` unchanged, with
// its clean run). The result violates with the same signature.
MinimizeResult minimize(const Scenario& s, const Design& design, const MinimizeOptions& opt = {});

}  // namespace pf
