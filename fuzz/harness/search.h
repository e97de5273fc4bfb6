// Search without libFuzzer: random scenarios (half random byte strings
// through the total decoder, so anything can appear; half from the
// structured generator of fuzz/harness/mutate.h) run
// under seeded PCT or uniform-random schedules, until a violation (of the
// expected kind, if given) or a budget runs out. Deterministic in the seed:
// the same seed explores the same scenarios and schedules.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "fuzz/harness/run.h"

namespace pf {

// How a search schedules its scenarios:
//   random  one run per scenario, a uniform-random schedule;
//   pct     four runs per scenario: one without preemption (it measures the
//           run's length, PCT's k), then three PCT schedules;
//   mix     one run per scenario: one time in three a PCT schedule (depth
//           2 or 3, k the length of the previous run, no measuring run),
//           otherwise random's (a switch probability of 1/1 .. 1/32).
//           random and pct find different bugs first, by up to 50x either
//           way, and nothing seen before a bug is found says which one it
//           needs. bench/schedule_arms measured every kind of schedule on
//           the same scenarios (docs/search.md): on 8 catalog rows and the 6
//           mutants it could rank, this mix is within 1.6x of the better of
//           random and pct (worst: a PCT-only mutant, 1.58x; catalog rows
//           <= 1.47x), where the earlier 1-in-4 mix with random up to 1/128
//           was up to 2.2x off, random alone up to 5.9x and pct alone 53x.
//           One rarer mutant still goes to pct (docs/mutation.md). A
//           campaign's default (campaign.h).
enum class SearchStrategy : uint8_t { kRandom, kPct, kMix };
const char* search_strategy_name(SearchStrategy s);  // "random", "pct", "mix"
std::optional<SearchStrategy> parse_search_strategy(std::string_view name);
// The schedule kind of a pure strategy (kMix has none: nullopt).
std::optional<ScheduleKind> schedule_kind_of(SearchStrategy s);

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

// The schedules a search gives one scenario after a first run of `steps`
// steps, drawn from `rng`. PCT's guarantee assumes k is the length of the
// run, so the first run measures it (for PCT, search() makes that first run
// one without preemption): then three PCT schedules, of depth 2, 2 and 3
// (most bugs here need one well-placed preemption: depth 2 finds one with
// probability >= 1/(n k), depth 3 pays another factor k). Uniform random:
// `n` schedules, each with a switch probability of 1/1 .. 1/32. The fuzz
// target's --amplify draws from here too, so that a campaign's workers
// explore interleavings as the in-process search does.
std::vector<Schedule> follow_up_schedules(ScheduleKind strategy, sched::SplitMix64& rng,
                                          uint64_t steps, size_t n);

// One scenario as a search draws it: half from random bytes through the
// decoder (anything goes), half from the structured generator (ops that
// agree on the world's pages); with a corpus, a third of each and a third
// mutated from it. nullopt when the bytes decode to nothing. `scratch`
// keeps its buffer across calls.
std::optional<Scenario> draw_scenario(sched::SplitMix64& rng, ScheduleKind kind,
                                      const std::vector<Scenario>* corpus,
                                      std::vector<uint8_t>& scratch);

// pinfuzz_fuzzer --amplify=N: the N-1 schedules an input runs under after
// its own (which took `steps` steps). Drawn by follow_up_schedules() from a
// generator seeded by the input's schedule, so one input is one list of
// runs on every build: a crash input replays in the target that found it,
// and pinfuzz can re-derive the schedule from a crash file that only holds
// the input (amplified_violation()). An input-kind schedule is followed by
// random ones.
std::vector<Schedule> amplified_schedules(const Schedule& own, uint64_t steps, size_t n);

// What a long-running search (pinfuzz_fuzzer --search, a campaign's native
// worker) adds to a one-shot one.
struct SearchHooks {
  // Scenarios to mutate (fuzz/harness/mutate.h), beside fresh ones: a
  // third of the scenarios, when there are any. Their designs and
  // schedules are ignored.
  std::vector<Scenario> corpus;
  // Every run, after it: stats, known kernel limitations.
  std::function<void(const Scenario&, const RunResult&)> on_run;
  // A violation (of `expect`, if given): return true to stop the search
  // with it as the result, false to run on past it.
  std::function<bool(const Scenario&, const RunResult&)> on_violation;
};

// expect: stop only at this kind (others are counted in `kinds` and
// skipped). The random and pct strategies draw exactly what they drew
// before mix existed: seeds keep their scenarios. Every run uses `memory`.
SearchResult search(const Design& design, SearchStrategy strategy, uint64_t seed,
                    std::optional<ViolationKind> expect, const SearchBudget& budget,
                    uint64_t step_budget = kDefaultStepBudget, const SearchHooks* hooks = nullptr,
                    sync::Memory memory = sync::Memory::kSc);

}  // namespace pf
