// Every corpus/regressions entry is 1-minimal: no single op (those that did
// nothing first), thread, vpn or preemption point can be removed while its
// bucket reproduces, under its own schedule or a nearby one (every
// one-preemption schedule and a fixed sample of two-preemption ones). The
// check is find_reduction(), the code minimization runs to its end, so the
// corpus and the minimizer cannot drift apart.
#include <gtest/gtest.h>

#include "fuzz/harness/minimize.h"
#include "fuzz/harness/regress.h"

namespace pf {
namespace {

const std::string kCorpus = std::string(PINFUZZ_SOURCE_DIR) + "/corpus/regressions";

TEST(Minimality, EveryRegressionEntryIsOneMinimal) {
  std::vector<std::string> errors;
  const auto entries = load_regressions(kCorpus, &errors);
  ASSERT_TRUE(errors.empty()) << errors.front();
  ASSERT_GE(entries.size(), 20u);
  Runner runner;
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  for (const RegressionEntry& e : entries) {
    LoadedScenario l = load_scenario_file(e.path);
    ASSERT_TRUE(l.scenario) << l.error;
    const Design d = *parse_design(e.design).design;
    const auto sig = signature_of(runner.run(*l.scenario, d, rec));
    ASSERT_TRUE(sig) << e.path << " does not reproduce";
    auto red = find_reduction(*l.scenario, d, *sig);
    EXPECT_FALSE(red) << e.path << ": " << sig->key() << " still reproduces without "
                      << (red ? red->what : "") << ":\n"
                      << (red ? print_text(red->smaller) : "");
  }
}

// The check finds what it should: an entry given one more thread whose only
// op does nothing (a put_page with nothing held) is not 1-minimal, and the
// op (or its thread) is named. Entries with an input schedule only: an extra thread runs
// after the others there, so the entry still reproduces.
TEST(Minimality, AnAddedUselessOpIsFound) {
  std::vector<std::string> errors;
  int checked = 0;
  for (const RegressionEntry& e : load_regressions(kCorpus, &errors)) {
    LoadedScenario l = load_scenario_file(e.path);
    ASSERT_TRUE(l.scenario) << l.error;
    Scenario s = *l.scenario;
    if (s.schedule.kind != ScheduleKind::kInput || s.program.threads.size() >= kMaxThreads) continue;
    s.program.threads.push_back({Op{OpKind::put_page, -1, 0, 0}});
    const Design d = *parse_design(e.design).design;
    RunOptions rec;
    rec.recording = sched::Recording::kFullTrace;
    Runner runner;
    const auto sig = signature_of(runner.run(s, d, rec));
    if (!sig) continue;
    auto red = find_reduction(s, d, *sig);
    ASSERT_TRUE(red) << e.path;
    // The op, or its whole thread if the violation came before it ran.
    const std::string thread = "thread " + std::to_string(s.program.threads.size() - 1);
    EXPECT_TRUE(red->what == thread ||
                red->what.find("put_page all), which did nothing") != std::string::npos)
        << e.path << ": " << red->what;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

}  // namespace
}  // namespace pf
