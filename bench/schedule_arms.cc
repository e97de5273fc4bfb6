// schedule_arms: how likely one execution is to hit each catalog row's bug,
// per kind of schedule ("arm"), on the scenarios a search draws. Every
// scenario runs under every arm (paired: the arms see the same programs),
// so the table says which schedules find which bugs, and what any mixture
// of them would cost, without a time-to-bug run per mixture. This is the
// measurement behind search.h's choice of the mix strategy.
//
//   schedule_arms [--bug ROW ...] [--seconds S] [--min-hits N] [--seed S]
//                 [--json FILE]
//
// Arms: `none` (no preemption), `random/N` (switch at a step with
// probability 1/N), `pct/D` (PCT of depth D with k the length of the
// scenario's `none` run, as search()'s pct strategy measures it). Each cell:
// executions per hit (1/p), and hits. The method columns are what the
// search strategies draw from these arms: random = random/1..32 uniformly;
// pct = none, pct/2, pct/2, pct/3 for each scenario; mix = pct/2 or pct/3
// one time in three, else random/1..32 (its k is the previous run's length,
// here the scenario's own).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/search.h"
#include "fuzz/scenario/scenario.h"

namespace pf {
namespace {

struct Arm {
  std::string name;
  ScheduleKind kind;
  uint8_t one_in = 0;
  uint8_t depth = 0;
};

std::vector<Arm> arms() {
  std::vector<Arm> out{{"none", ScheduleKind::kInput}};
  for (int n = 1; n <= 128; n *= 2)
    out.push_back({fmt::format("random/{}", n), ScheduleKind::kRandom, static_cast<uint8_t>(n)});
  for (int d = 1; d <= 3; ++d)
    out.push_back({fmt::format("pct/{}", d), ScheduleKind::kPct, 0, static_cast<uint8_t>(d)});
  out.push_back({"pct/2'", ScheduleKind::kPct, 0, 2});  // a second draw, for the pct method
  return out;
}

struct RowResult {
  uint64_t scenarios = 0;
  std::vector<uint64_t> hits;  // per arm
  uint64_t pct_method_hits = 0;  // scenarios where none, pct/2, pct/2' or pct/3 hit
  double seconds = 0;
};

// expected: the violation that counts as a hit (nullopt: any violation,
// for a mutant of the model under a correct design).
RowResult measure(const Design& design, std::optional<ViolationKind> expected,
                  const std::vector<Arm>& arm_list, uint64_t seed, double max_seconds,
                  uint64_t min_hits) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  sched::SplitMix64 rng(seed);
  Runner runner;
  RunOptions opt;
  RowResult out;
  out.hits.assign(arm_list.size(), 0);
  std::vector<uint8_t> scratch;
  std::vector<bool> hit(arm_list.size());
  auto arm_index = [&](std::string_view name) {
    for (size_t i = 0; i < arm_list.size(); ++i)
      if (arm_list[i].name == name) return i;
    return arm_list.size();
  };
  const size_t i_none = arm_index("none"), i_d2 = arm_index("pct/2"), i_d2b = arm_index("pct/2'"),
               i_d3 = arm_index("pct/3");
  for (;;) {
    if ((out.scenarios & 63) == 0) {
      out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (out.seconds > max_seconds) break;
      uint64_t least = UINT64_MAX;
      for (uint64_t h : out.hits) least = std::min(least, h);
      if (out.scenarios > 0 && least >= min_hits) break;
    }
    std::optional<Scenario> made = draw_scenario(rng, ScheduleKind::kRandom, nullptr, scratch);
    if (!made) continue;
    Scenario& s = *made;
    s.design = design;
    ++out.scenarios;
    uint64_t steps = 1;
    for (size_t a = 0; a < arm_list.size(); ++a) {
      const Arm& arm = arm_list[a];
      Schedule sc;
      sc.kind = arm.kind;
      sc.seed = rng.next();
      if (arm.kind == ScheduleKind::kRandom) sc.one_in = arm.one_in;
      if (arm.kind == ScheduleKind::kPct) {
        sc.depth = arm.depth;
        sc.k = static_cast<uint16_t>(std::clamp<uint64_t>(steps, 1, 65535));
      }
      s.schedule = sc;
      const RunResult r = runner.run(s, design, opt);
      if (a == i_none) steps = std::max<uint64_t>(r.steps, 1);  // "none" runs first
      hit[a] = r.violation && (!expected || r.saw(*expected));
      out.hits[a] += hit[a];
    }
    out.pct_method_hits += hit[i_none] || hit[i_d2] || hit[i_d2b] || hit[i_d3];
  }
  return out;
}

// The strategies themselves, as search() runs them, past every hit: hits
// over `runs` executions. A check on the random column's arithmetic only:
// pct's hits within one scenario are counted each, where its column counts
// the scenario once (a search stops at the first).
uint64_t strategy_hits(const Design& design, std::optional<ViolationKind> expected,
                       SearchStrategy strategy, uint64_t seed, uint64_t runs) {
  uint64_t hits = 0;
  SearchHooks hooks;
  hooks.on_violation = [&](const Scenario&, const RunResult&) {
    ++hits;
    return false;
  };
  search(design, strategy, seed, expected, SearchBudget{runs, 1e9}, kDefaultStepBudget, &hooks);
  return hits;
}

// Executions per hit; "-" when nothing hit.
std::string per_hit(double p) { return p > 0 ? fmt::format("{:.0f}", 1 / p) : "-"; }

}  // namespace
}  // namespace pf

int main(int argc, char** argv) {
  using namespace pf;
  CLI::App app{"schedule_arms: executions per hit of each kind of schedule, per catalog row"};
  std::vector<std::string> bugs;
  double seconds = 60;
  uint64_t min_hits = 30, seed = 1;
  std::string json_path;
  uint64_t validate = 0;
  app.add_option("--validate", validate,
                 "Also run each strategy by search() for this many executions, past every hit, "
                 "and print its hits (stderr); pct's count every hitting run of a scenario, so "
                 "only random's compares with its column");
  std::string design_text;
  app.add_option("--bug", bugs, "Only these catalog rows (default: all)");
  app.add_option("--design", design_text,
                 "Instead of the catalog: this design, any violation a hit (a mutant's "
                 "build under a correct design)");
  app.add_option("--seconds", seconds, "Stop a row after this long")->capture_default_str();
  app.add_option("--min-hits", min_hits, "... or once every arm has hit this often")->capture_default_str();
  app.add_option("--seed", seed, "Seed of the scenarios and schedules")->capture_default_str();
  app.add_option("--json", json_path, "Write the counts as JSON here");
  CLI11_PARSE(app, argc, argv);

  const std::vector<Arm> arm_list = arms();
  nlohmann::json rows = nlohmann::json::array();
  // The rows: catalog rows (their buggy design, their expected kind), or
  // with --design one row of any violation under that design.
  struct Row {
    std::string name;
    Design design;
    std::optional<ViolationKind> expected;
  };
  std::vector<Row> todo;
  if (!design_text.empty()) {
    const DesignParse d = parse_design(design_text);
    if (!d.design) {
      fmt::print(stderr, "schedule_arms: --design {}: {}\n", design_text, d.error);
      return 2;
    }
    todo.push_back({design_text, *d.design, std::nullopt});
  }
  for (const BugConfig& bug : bug_catalog()) {
    if (!design_text.empty()) break;
    if (!bugs.empty() && std::find(bugs.begin(), bugs.end(), bug.name) == bugs.end()) continue;
    todo.push_back({std::string(bug.name), bug.buggy_design(), bug.expected});
  }
  std::string header = "| bug | scenarios |";
  for (const Arm& a : arm_list) header += fmt::format(" {} |", a.name);
  header += " random | pct | mix |";
  std::string sep = "|";
  for (size_t i = 0; i < arm_list.size() + 5; ++i) sep += "---|";
  fmt::print("{}\n{}\n", header, sep);
  for (const Row& bug : todo) {
    const RowResult r = measure(bug.design, bug.expected, arm_list, seed, seconds, min_hits);
    const double n = static_cast<double>(r.scenarios);
    std::vector<double> p(arm_list.size());
    for (size_t a = 0; a < arm_list.size(); ++a) p[a] = r.hits[a] / n;
    auto mean_random = [&](int hi) {
      double sum = 0;
      int count = 0;
      for (size_t a = 0; a < arm_list.size(); ++a)
        if (arm_list[a].kind == ScheduleKind::kRandom && arm_list[a].one_in <= hi)
          sum += p[a], ++count;
      return sum / count;
    };
    double pct_pair = 0;  // pct/2 and pct/3 drawn evenly, as mix draws them
    for (size_t a = 0; a < arm_list.size(); ++a)
      if (arm_list[a].name == "pct/2" || arm_list[a].name == "pct/3") pct_pair += p[a] / 2;
    const double p_random = mean_random(32);
    const double p_pct = r.pct_method_hits / n / 4;  // four runs per scenario
    const double p_mix = pct_pair / 3 + mean_random(32) * 2 / 3;
    std::string line = fmt::format("| `{}` | {} |", bug.name, r.scenarios);
    if (validate > 0) {
      for (SearchStrategy st : {SearchStrategy::kRandom, SearchStrategy::kPct, SearchStrategy::kMix}) {
        const uint64_t h = strategy_hits(bug.design, bug.expected, st, seed + 1, validate);
        fmt::print(stderr, "{}: search({}) {} hits in {} runs: {}\n", bug.name,
                   search_strategy_name(st), h, validate, per_hit(double(h) / double(validate)));
      }
    }
    for (size_t a = 0; a < arm_list.size(); ++a)
      line += fmt::format(" {} ({}) |", per_hit(p[a]), r.hits[a]);
    line += fmt::format(" {} | {} | {} |", per_hit(p_random), per_hit(p_pct), per_hit(p_mix));
    fmt::print("{}\n", line);
    std::fflush(stdout);
    nlohmann::json row{{"bug", bug.name},
                       {"scenarios", r.scenarios},
                       {"seconds", r.seconds},
                       {"pct_method_hits", r.pct_method_hits}};
    for (size_t a = 0; a < arm_list.size(); ++a) row["hits"][arm_list[a].name] = r.hits[a];
    rows.push_back(row);
  }
  if (!json_path.empty()) {
    const std::string err = write_file_atomic(
        json_path, nlohmann::json{{"seed", seed}, {"rows", rows}}.dump(2) + "\n");
    if (!err.empty()) {
      fmt::print(stderr, "schedule_arms: {}\n", err);
      return 1;
    }
  }
  return 0;
}
