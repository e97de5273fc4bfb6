// Minimization (fuzz/harness/minimize.h) and the schedule conversion it
// relies on (sched::PointsRecorder): a seeded schedule becomes preemption
// points that replay the same run, and a finding under a seeded schedule
// shrinks to a scenario a person can read: the same signature, no more
// threads or ops, and a switch or three.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "fuzz/harness/minimize.h"
#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"

namespace pf {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = PINFUZZ_SOURCE_DIR;

std::vector<std::pair<std::string, Scenario>> load_dir(const fs::path& dir, bool recursive) {
  std::vector<std::pair<std::string, Scenario>> out;
  auto add = [&](const fs::directory_entry& e) {
    if (e.path().extension() != ".txt") return;
    LoadedScenario l = load_scenario_file(e.path().string());
    EXPECT_TRUE(l.scenario) << l.error;
    if (l.scenario) out.emplace_back(e.path().lexically_relative(dir).string(), *l.scenario);
  };
  if (recursive)
    for (const auto& e : fs::recursive_directory_iterator(dir)) add(e);
  else
    for (const auto& e : fs::directory_iterator(dir)) add(e);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return out;
}

size_t ops(const Scenario& s) {
  size_t n = 0;
  for (const auto& t : s.program.threads) n += t.size();
  return n;
}

TEST(PointsRecorder, InputStrategyReplaysTheRecordedRunStepForStep) {
  Runner runner;
  int compared = 0, with_points = 0;
  for (const auto& [name, s] : load_dir(kSource / "corpus/seeds", false)) {
    const Design d = effective_design(s, Design{});
    for (ScheduleKind kind : {ScheduleKind::kRandom, ScheduleKind::kPct}) {
      for (uint64_t seed = 1; seed <= 20; ++seed) {
        Schedule sc;
        sc.kind = kind;
        sc.seed = seed;
        sc.one_in = static_cast<uint8_t>(1 + seed % 4);
        auto inner = sc.make_strategy();
        sched::PointsRecorder recorder(*inner);
        const RunResult seeded = runner.run(d, s.program, recorder);
        sched::InputStrategy replay(recorder.points());
        const RunResult points = runner.run(d, s.program, replay);
        ASSERT_EQ(points.trace_hash, seeded.trace_hash)
            << name << " " << sc.to_string() << " as " << replay.describe();
        ASSERT_EQ(points.steps, seeded.steps);
        ++compared;
        with_points += !recorder.points().empty();
      }
    }
  }
  EXPECT_GT(compared, 500);
  EXPECT_GT(with_points, compared / 2);  // the conversion was exercised, not trivial
}

// The regression corpus holds findings under PCT schedules (pinfuzz find):
// minimized, each keeps its signature under its design and reads as a few
// preemption points.
TEST(Minimize, SeededScheduleFindingsShrinkToAFewPreemptionPoints) {
  Runner runner;
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  int seeded = 0;
  for (const auto& [name, s] : load_dir(kSource / "corpus/regressions", true)) {
    if (s.schedule.kind == ScheduleKind::kInput) continue;
    ++seeded;
    const Design d = *s.design;
    const auto before = signature_of(runner.run(s, d, rec));
    ASSERT_TRUE(before) << name << " does not violate";
    MinimizeResult m = minimize(s, d);
    const auto after = signature_of(m.run);
    ASSERT_TRUE(after) << name;
    EXPECT_EQ(after->to_string(), before->to_string()) << name;
    EXPECT_EQ(m.scenario.schedule.kind, ScheduleKind::kInput) << name << "\n" << print_text(m.scenario);
    EXPECT_LE(m.scenario.schedule.points.size(), 3u) << name << "\n" << print_text(m.scenario);
    EXPECT_LE(m.scenario.program.threads.size(), s.program.threads.size()) << name;
    EXPECT_LE(ops(m.scenario), ops(s)) << name;
  }
  // The corpus still has such entries to minimize (four since issue 19
  // re-minimized no_try_share_barrier's, found under arm, to points).
  EXPECT_GE(seeded, 4);
}

}  // namespace
}  // namespace pf
