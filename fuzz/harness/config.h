// What a runner (the libFuzzer target, `pinfuzz repro`, `pinfuzz run`, a
// campaign) decides about a run that the scenario does not: the design if
// the scenario has none or is overridden, the strategy, the step budget -
// and the rest of pinfuzz_fuzzer's flags. Every field comes from a row of
// fuzzer_flags.def, which also gives its `--flag=value` spelling, its
// PINFUZZ_* environment variable and its --help text; a flag wins over the
// environment. Unknown values are errors that list the valid ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/harness/program.h"
#include "fuzz/harness/search.h"
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

// pinfuzz_fuzzer --amplify: at most this many schedules per input.
inline constexpr uint32_t kMaxAmplify = 64;

// Whether a row of fuzzer_flags.def has a PINFUZZ_* variable.
enum class FlagEnv : uint8_t { kFlagOnly, kAlsoEnv };

// The PF_RUN_FLAG rows, in table order.
enum class RunFlag : uint8_t {
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help) field,
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help)
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
};

struct RunConfig {
  // design, strategy, step_budget, expect: the PF_RUN_FLAG rows.
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help) Type field = dflt;
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help)
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG

  // How inputs are decoded under this config: a chosen design or strategy
  // replaces the input's.
  DecodeOptions decode_options() const { return {design.has_value(), strategy, memory}; }
  // The design for scenarios that carry none.
  Design fallback_design() const { return design.value_or(Design{}); }
  // The flags that reproduce this config: "--design=X --strategy=pct".
  std::string replay_flags() const;

  // One PF_RUN_FLAG flag ("--design=..."); returns false if `arg` is not
  // one. Sets *error on a bad value.
  bool parse_flag(std::string_view arg, std::string* error);
  // The PF_RUN_FLAG rows' PINFUZZ_* variables that are set and not empty.
  // "" or an error.
  std::string parse_env();
  // Whether parse_flag() or parse_env() set `f` (the CLI's own option
  // parsing does not record this): `--strategy=any` and no --strategy at
  // all both leave `strategy` empty.
  bool given(RunFlag f) const { return given_ & (1u << static_cast<int>(f)); }

 private:
  uint32_t given_ = 0;
};

// --mutator: scenario-aware mutations (fuzz/harness/mutate.h), or only
// libFuzzer's byte-level ones.
enum class Mutator : uint8_t { kStructure, kBytes };

// Every flag of pinfuzz_fuzzer.
struct FuzzerFlags {
  RunConfig run;
  // interleaving, mutator, known, keep_going, stats, help: the
  // PF_TARGET_FLAG rows.
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help)
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help) Type field = dflt;
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG

  // One flag of any row; returns false if `arg` is not a pinfuzz_fuzzer
  // flag. Sets *error on a bad value.
  bool parse_flag(std::string_view arg, std::string* error);
  // Every row's PINFUZZ_* variable that is set and not empty. "" or an error.
  std::string parse_env();
};

// A row of fuzzer_flags.def as --help and error messages show it.
struct FlagDoc {
  std::string_view flag;   // "keep-going"
  std::string_view value;  // "N"; "" for a switch
  FlagEnv env;
  std::string help;        // lines split by '\n'
  std::string env_name() const;  // "PINFUZZ_KEEP_GOING"
};
// Every row, in table order.
const std::vector<FlagDoc>& fuzzer_flag_docs();

// Setters shared with the CLI's own option parsing.
std::string parse_design_value(std::string_view v, std::optional<Design>* out);
std::string parse_strategy_value(std::string_view v, std::optional<ScheduleKind>* out);
std::string parse_memory_value(std::string_view v, std::optional<sync::Memory>* out);
std::string parse_steps_value(std::string_view v, uint64_t* out);
std::string parse_expect_value(std::string_view v, std::optional<ViolationKind>* out);

}  // namespace pf
