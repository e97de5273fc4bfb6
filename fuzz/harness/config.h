// What a runner (the libFuzzer target, `pinfuzz repro`, `pinfuzz run`, a
// campaign) decides about a run that the scenario does not: the design if
// the scenario has none or is overridden, the strategy, the step budget.
// Parsed from `--name=value` flags (libFuzzer passes flags with two dashes
// through to the target) and PINFUZZ_* environment variables; a flag wins
// over the environment. Unknown values are errors that list the valid ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/harness/program.h"
#include "fuzz/scenario/scenario.h"
#include "model/design.h"

namespace pf {

// pinfuzz_fuzzer's schedule kind when neither --strategy nor
// PINFUZZ_STRATEGY says (campaigns pass it to their workers explicitly and
// decode crash files with it): seeded uniform random, each input's schedule
// bytes its seed and switch probability. Measured against reading each
// input's own kind (input preemption points, random or PCT, switched by
// mutation): from an empty corpus, 5 seeds, the median time to the three
// catalog rows libFuzzer found slowest went from 14.1 / 13.4 / 10.6 s (3/5,
// 5/5, 5/5 found in 60 s) to 3.7 / 14.4 / 3.6 s (5/5 each).
inline constexpr ScheduleKind kFuzzerDefaultStrategy = ScheduleKind::kRandom;

struct RunConfig {
  std::optional<Design> design;          // --design / PINFUZZ_DESIGN
  std::optional<ScheduleKind> strategy;  // --strategy / PINFUZZ_STRATEGY; none (any): the input's
  uint64_t step_budget = kDefaultStepBudget;  // --steps / PINFUZZ_STEPS
  std::optional<ViolationKind> expect;   // --expect / PINFUZZ_EXPECT: only this kind counts

  // How inputs are decoded under this config: a chosen design or strategy
  // replaces the input's.
  DecodeOptions decode_options() const { return {design.has_value(), strategy}; }
  // The design for scenarios that carry none.
  Design fallback_design() const { return design.value_or(Design{}); }
  // The flags that reproduce this config: "--design=X --strategy=pct".
  std::string replay_flags() const;

  // One "--design=..." style flag; returns false if `arg` is not ours.
  // Sets *error on a bad value.
  bool parse_flag(std::string_view arg, std::string* error);
  // PINFUZZ_DESIGN, PINFUZZ_STRATEGY, PINFUZZ_STEPS. "" or an error.
  std::string parse_env();
};

// Setters shared with the CLI's own option parsing.
std::string parse_design_value(std::string_view v, std::optional<Design>* out);
std::string parse_strategy_value(std::string_view v, std::optional<ScheduleKind>* out);
std::string parse_steps_value(std::string_view v, uint64_t* out);
std::string parse_expect_value(std::string_view v, std::optional<ViolationKind>* out);

}  // namespace pf
