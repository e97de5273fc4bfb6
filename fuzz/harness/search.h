// Search without libFuzzer: random scenarios (half random byte strings
// through the total decoder, so anything can appear; half from the
// structured generator of fuzz/harness/mutate.h) run
// under a seeded PCT or uniform-random schedule, until a violation (of the
// expected kind, if given) or a budget runs out. Deterministic in the seed:
// the same seed explores the same scenarios and schedules.
#pragma once

#include <cstdint>
#include <optional>

#include "fuzz/harness/run.h"

namespace pf {

struct SearchBudget {
  uint64_t max_runs = UINT64_MAX;
  double max_seconds = 60;
};

struct SearchResult {
  bool found = false;
  uint64_t runs = 0;      // executions until found (or in all)
  double seconds = 0;     // wall time until found (or in all)
  std::optional<Violation> violation;
  Scenario scenario;      // the one that found it (design set)
  uint32_t kinds = 0;     // every kind seen on the way (1 << kind)
  // Runs that ended in a known kernel limitation (model/limitations.def)
  // on the way, and their kinds: never findings, listed apart.
  uint64_t limitation_runs = 0;
  uint32_t limitation_kinds = 0;
};

// strategy: kPct or kRandom. expect: stop only at this kind (others are
// counted in `kinds` and skipped).
SearchResult search(const Design& design, ScheduleKind strategy, uint64_t seed,
                    std::optional<ViolationKind> expect, const SearchBudget& budget,
                    uint64_t step_budget = kDefaultStepBudget);

}  // namespace pf
