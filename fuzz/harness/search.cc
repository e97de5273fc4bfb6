#include "fuzz/harness/search.h"

#include <chrono>

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
  uint64_t steps_estimate = 200;  // PCT's k follows the runs it sees
  std::vector<uint8_t> bytes;
  while (out.runs < budget.max_runs) {
    if ((out.runs & 63) == 0 &&
        std::chrono::duration<double>(Clock::now() - start).count() > budget.max_seconds)
      break;
    bytes.resize(8 + rng.below(200));
    for (auto& b : bytes) b = static_cast<uint8_t>(rng.next());
    bytes[0] = kFormatVersion;
    bytes[1] = bytes[2] = 0;  // no design text: the bytes are all program
    ByteDecode d = decode_bytes(bytes, DecodeOptions{.ignore_design = true, .strategy = strategy});
    if (!d.scenario) continue;
    Scenario& s = *d.scenario;
    s.design = design;
    s.schedule.seed = rng.next();
    if (strategy == ScheduleKind::kPct) {
      s.schedule.depth = static_cast<uint8_t>(1 + rng.below(3));
      s.schedule.k = static_cast<uint16_t>(std::clamp<uint64_t>(steps_estimate, 1, 65535));
    } else {
      s.schedule.one_in = static_cast<uint8_t>(1u << rng.below(6));  // 1 .. 32
    }
    RunResult r = runner.run(s, design, opt);
    ++out.runs;
    steps_estimate = (steps_estimate * 7 + r.steps) / 8;
    out.kinds |= r.kinds;
    if (r.violation && (!expect || r.saw(*expect))) {
      out.found = true;
      out.violation = r.violation;
      out.scenario = s;
      break;
    }
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace pf
