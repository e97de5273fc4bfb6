#include "fuzz/harness/search.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <string>

#include "fuzz/harness/mutate.h"

namespace pf {

namespace {

// The scenario search() is running, for the SIGABRT note below. A model
// abort (a broken internal invariant, e.g. unlocking a folio no one locked)
// is a model bug, or a mutant's: without this, `find` dies with "Aborted"
// and nothing to replay.
std::atomic<const Scenario*> g_running{nullptr};

extern "C" void note_abort(int sig) {
  if (const Scenario* s = g_running.load()) {
    // Not async-signal-safe (it allocates); the process is dying anyway,
    // and the abort came from the model's own std::abort(), not malloc.
    const std::string text =
        "pinfuzz: the model aborted (a broken internal invariant: a model bug) while running "
        "this scenario:\n" + print_text(*s);
    (void)!write(2, text.data(), text.size());
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

struct AbortNote {
  AbortNote() { std::signal(SIGABRT, note_abort); }
};

}  // namespace

const char* search_strategy_name(SearchStrategy s) {
  switch (s) {
    case SearchStrategy::kRandom: return "random";
    case SearchStrategy::kPct: return "pct";
    case SearchStrategy::kMix: return "mix";
  }
  return "?";
}

std::optional<SearchStrategy> parse_search_strategy(std::string_view name) {
  for (SearchStrategy s : {SearchStrategy::kRandom, SearchStrategy::kPct, SearchStrategy::kMix})
    if (name == search_strategy_name(s)) return s;
  return std::nullopt;
}

std::optional<ScheduleKind> schedule_kind_of(SearchStrategy s) {
  switch (s) {
    case SearchStrategy::kRandom: return ScheduleKind::kRandom;
    case SearchStrategy::kPct: return ScheduleKind::kPct;
    case SearchStrategy::kMix: break;
  }
  return std::nullopt;
}

std::vector<Schedule> follow_up_schedules(ScheduleKind strategy, sched::SplitMix64& rng,
                                          uint64_t steps, size_t n) {
  std::vector<Schedule> out;
  for (size_t i = 0; i < n; ++i) {
    Schedule sc;
    sc.kind = strategy == ScheduleKind::kPct ? ScheduleKind::kPct : ScheduleKind::kRandom;
    sc.seed = rng.next();
    if (sc.kind == ScheduleKind::kPct) {
      sc.depth = static_cast<uint8_t>(i % 3 < 2 ? 2 : 3);
      sc.k = static_cast<uint16_t>(std::clamp<uint64_t>(steps, 1, 65535));
    } else {
      sc.one_in = static_cast<uint8_t>(1u << rng.below(6));  // 1 .. 32
    }
    out.push_back(sc);
  }
  return out;
}

std::vector<Schedule> amplified_schedules(const Schedule& own, uint64_t steps, size_t n) {
  uint64_t key = own.seed ^ (uint64_t{own.one_in} << 56) ^ (uint64_t{own.depth} << 48) ^
                 (uint64_t{own.k} << 32);
  for (const sched::Preemption& p : own.points)
    key = (key ^ (uint64_t{p.after_steps} << 8 | p.thread)) * 0x100000001b3ull;
  sched::SplitMix64 rng(key ^ 0xa5a5'5a5a'c3c3'3c3cull);
  return follow_up_schedules(own.kind, rng, steps, n);
}

std::optional<Scenario> draw_scenario(sched::SplitMix64& rng, ScheduleKind kind,
                                      const std::vector<Scenario>* corpus,
                                      std::vector<uint8_t>& scratch) {
  if (corpus && !corpus->empty() && rng.below(3) == 0) {
    Scenario made = (*corpus)[rng.below(corpus->size())];
    for (uint64_t i = 0, n = 1 + rng.below(3); i < n; ++i) mutate_scenario(made, rng);
    return made;
  }
  if (rng.below(2)) return random_scenario(rng, kind);
  scratch.resize(8 + rng.below(200));
  for (auto& b : scratch) b = static_cast<uint8_t>(rng.next());
  scratch[0] = kFormatVersion;
  scratch[1] = scratch[2] = 0;  // no design text: the bytes are all program
  return decode_bytes(scratch, DecodeOptions{.ignore_design = true, .strategy = kind}).scenario;
}

SearchResult search(const Design& design, SearchStrategy strategy, uint64_t seed,
                    std::optional<ViolationKind> expect, const SearchBudget& budget,
                    uint64_t step_budget, const SearchHooks* hooks, sync::Memory memory) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  sched::SplitMix64 rng(seed);
  Runner runner;
  RunOptions opt;
  opt.step_budget = step_budget;
  SearchResult out;
  const bool has_corpus = hooks && !hooks->corpus.empty();
  // One run: counted, shown to the hooks; true if the search stops at it.
  static AbortNote abort_note;
  auto run = [&](const Scenario& s, RunResult* r) {
    g_running.store(&s);
    *r = runner.run(s, design, opt);
    g_running.store(nullptr);
    ++out.runs;
    out.kinds |= r->kinds;
    if (r->limitation) {
      ++out.limitation_runs;
      out.limitation_kinds |= 1u << static_cast<int>(r->limitation->kind);
    }
    if (hooks && hooks->on_run) hooks->on_run(s, *r);
    if (!r->violation || (expect && !r->saw(*expect))) return false;
    if (hooks && hooks->on_violation && !hooks->on_violation(s, *r)) return false;
    out.found = true;
    out.violation = r->violation;
    out.scenario = s;
    return true;
  };
  uint64_t steps_estimate = 200;
  std::vector<uint8_t> bytes;
  while (out.runs < budget.max_runs) {
    if ((out.runs & 63) == 0 &&
        std::chrono::duration<double>(Clock::now() - start).count() > budget.max_seconds)
      break;
    // mix: one run per scenario, PCT one time in three (search.h says
    // why). Drawn only under mix, so that random and pct seeds draw what
    // they always drew.
    const std::optional<ScheduleKind> pure = schedule_kind_of(strategy);
    const ScheduleKind kind = pure                ? *pure
                              : rng.below(3) == 0 ? ScheduleKind::kPct
                                                  : ScheduleKind::kRandom;
    std::optional<Scenario> made =
        draw_scenario(rng, kind, has_corpus ? &hooks->corpus : nullptr, bytes);
    if (!made) continue;
    Scenario& s = *made;
    s.design = design;
    // follow_up_schedules() says why PCT first measures the run without
    // preemption (an execution like any other).
    RunResult r;
    std::vector<Schedule> schedules;
    if (!pure) {
      // mix: no measuring run; PCT's k is the length of the previous run.
      schedules = follow_up_schedules(kind, rng, steps_estimate, 1);
      if (kind == ScheduleKind::kPct) schedules[0].depth = rng.below(2) ? 2 : 3;
    } else if (kind == ScheduleKind::kPct) {
      s.schedule = Schedule{.memory = memory};
      if (run(s, &r)) break;
      steps_estimate = std::max<uint64_t>(r.steps, 1);
      schedules = follow_up_schedules(kind, rng, steps_estimate, 3);
    } else {
      schedules = follow_up_schedules(kind, rng, steps_estimate, 1);
    }
    for (const Schedule& sc : schedules) {
      s.schedule = sc;
      s.schedule.memory = memory;
      if (run(s, &r)) break;
      if (!pure) steps_estimate = std::max<uint64_t>(r.steps, 1);
    }
    if (out.found) break;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace pf
