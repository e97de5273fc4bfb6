#include "fuzz/harness/search.h"

#include <chrono>

#include "fuzz/harness/mutate.h"

namespace pf {

SearchResult search(const Design& design, ScheduleKind strategy, uint64_t seed,
                    std::optional<ViolationKind> expect, const SearchBudget& budget,
                    uint64_t step_budget) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  sched::SplitMix64 rng(seed);
  Runner runner;
  RunOptions opt;
  opt.step_budget = step_budget;
  SearchResult out;
  auto tally = [&out](const RunResult& r) {
    ++out.runs;
    out.kinds |= r.kinds;
    if (r.limitation) {
      ++out.limitation_runs;
      out.limitation_kinds |= 1u << static_cast<int>(r.limitation->kind);
    }
  };
  uint64_t steps_estimate = 200;
  std::vector<uint8_t> bytes;
  while (out.runs < budget.max_runs) {
    if ((out.runs & 63) == 0 &&
        std::chrono::duration<double>(Clock::now() - start).count() > budget.max_seconds)
      break;
    // Half from random bytes through the decoder (anything goes), half from
    // the structured generator (ops that agree on the world's pages).
    std::optional<Scenario> made;
    if (rng.below(2)) {
      made = random_scenario(rng, strategy);
    } else {
      bytes.resize(8 + rng.below(200));
      for (auto& b : bytes) b = static_cast<uint8_t>(rng.next());
      bytes[0] = kFormatVersion;
      bytes[1] = bytes[2] = 0;  // no design text: the bytes are all program
      made = decode_bytes(bytes, DecodeOptions{.ignore_design = true, .strategy = strategy}).scenario;
    }
    if (!made) continue;
    Scenario& s = *made;
    s.design = design;
    // PCT's guarantee assumes k is the length of this run, so each scenario
    // is first run without preemption to measure it (an execution like any
    // other), then under three PCT schedules, of depth 2, 2 and 3 (most bugs
    // here need one well-placed preemption: depth 2 finds one with
    // probability >= 1/(n k), depth 3 pays another factor k). Uniform random
    // gets one run with a switch probability of 1/1 .. 1/32.
    std::vector<Schedule> schedules;
    if (strategy == ScheduleKind::kPct) {
      Scenario probe = s;
      probe.schedule = Schedule{};
      RunResult r = runner.run(probe, design, opt);
      tally(r);
      if (r.violation && (!expect || r.saw(*expect))) {
        out.found = true, out.violation = r.violation, out.scenario = probe;
        break;
      }
      steps_estimate = std::max<uint64_t>(r.steps, 1);
      for (int i = 0; i < 3; ++i) {
        Schedule sc;
        sc.kind = ScheduleKind::kPct;
        sc.seed = rng.next();
        sc.depth = static_cast<uint8_t>(i < 2 ? 2 : 3);
        sc.k = static_cast<uint16_t>(std::clamp<uint64_t>(steps_estimate, 1, 65535));
        schedules.push_back(sc);
      }
    } else {
      Schedule sc;
      sc.kind = ScheduleKind::kRandom;
      sc.seed = rng.next();
      sc.one_in = static_cast<uint8_t>(1u << rng.below(6));  // 1 .. 32
      schedules.push_back(sc);
    }
    for (const Schedule& sc : schedules) {
      s.schedule = sc;
      RunResult r = runner.run(s, design, opt);
      tally(r);
      if (r.violation && (!expect || r.saw(*expect))) {
        out.found = true;
        out.violation = r.violation;
        out.scenario = s;
        break;
      }
    }
    if (out.found) break;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace pf
