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
#include "fuzz/harness/signature.h"

namespace pf {

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
