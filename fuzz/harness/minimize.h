// Minimization: the smallest scenario (threads, ops, world, flags,
// preemption points) that still shows the same violation bucket
// (Signature::key()) - what a person reads in a crash report and what the
// regression corpus keeps. Greedy and deterministic (delta debugging one
// element at a time, to a fixed point): same input, same result. The result
// is 1-minimal: no single op, thread, vpn or preemption point can be removed
// while the bucket reproduces, under its schedule or a nearby one (every
// schedule with one preemption, and a fixed sample of two-preemption ones).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/harness/run.h"
#include "fuzz/harness/signature.h"

namespace pf {

struct MinimizeResult {
  Scenario scenario;   // design set to the one it ran under
  RunResult run;       // its run, recorded (trace, marks)
  uint64_t attempts = 0;
  bool changed = false;
};

struct MinimizeOptions {
  uint64_t max_attempts = 100000;  // runs; each is ~10 us
  uint64_t step_budget = kDefaultStepBudget;
};

// `s` must violate under `design` (else the result is `s` unchanged, with
// its clean run). The result violates with the same signature.
MinimizeResult minimize(const Scenario& s, const Design& design, const MinimizeOptions& opt = {});

// One element whose removal keeps the bucket: what it was ("op 2 of thread
// 1 (pin 4 1)", "thread 0", "vpn 3", "preemption point 1") and the smaller
// scenario, with the schedule that reproduces it. Ops that did nothing in
// the replay (run_op()) are tried first.
struct Reduction {
  std::string what;
  Scenario smaller;
};
// The first reduction of `s` under `design` keeping the bucket of `sig`, or
// nullopt: `s` is 1-minimal. What minimize() runs until nothing is left and
// what tests/minimality_test.cc asserts of the regression corpus.
std::optional<Reduction> find_reduction(const Scenario& s, const Design& design,
                                        const Signature& sig, const MinimizeOptions& opt = {});

}  // namespace pf
