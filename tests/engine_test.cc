// The deterministic engine end to end (fuzz/harness/run.h): scenarios from
// corpus/seeds replay to one trace hash, the same on every build type
// (tests/golden/trace_hashes.txt is shared by the dev, asan and tsan runs);
// runs end as documented (first violation, deadlock, hang); the correct
// designs stay clean on random well-formed programs; coverage is
// deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "fuzz/harness/coverage.h"
#include "fuzz/harness/run.h"
#include "fuzz/harness/search.h"
#include "fuzz/scenario/scenario.h"

namespace pf {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = PINFUZZ_SOURCE_DIR;

std::vector<std::pair<std::string, Scenario>> seed_scenarios() {
  std::vector<std::pair<std::string, Scenario>> out;
  for (const auto& e : fs::directory_iterator(kSource / "corpus/seeds")) {
    if (e.path().extension() != ".txt") continue;
    LoadedScenario l = load_scenario_file(e.path().string());
    EXPECT_TRUE(l.scenario) << l.error;
    if (l.scenario) out.emplace_back(e.path().stem().string(), *l.scenario);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return out;
}

Scenario parse(std::string_view text) {
  TextParse p = parse_text(text, "test");
  EXPECT_TRUE(p.scenario) << p.error;
  return p.scenario.value_or(Scenario{});
}

// The three schedules every seed is replayed under: its own, random, PCT.
std::vector<std::pair<std::string, Schedule>> schedules_for(const Scenario& s) {
  Schedule random;
  random.kind = ScheduleKind::kRandom;
  random.seed = 7;
  Schedule pct;
  pct.kind = ScheduleKind::kPct;
  pct.seed = 7;
  return {{"own", s.schedule}, {"random", random}, {"pct", pct}};
}

std::string outcome(const RunResult& r) {
  return r.violation ? violation_name(r.violation->kind) : "clean";
}

// The golden table `table` must equal tests/golden/<file>, or with
// PINFUZZ_UPDATE_GOLDEN=1 becomes it (the test then skips). A difference means
// an address, a build flag or a library's RNG got into the schedule - or the
// model's scheduling points (or the weak models' rules) changed, in which
// case old inputs mean something else: bump kFormatVersion and regenerate.
void expect_golden(const std::string& table, const std::string& file) {
  const fs::path golden = kSource / "tests/golden" / file;
  if (const char* u = std::getenv("PINFUZZ_UPDATE_GOLDEN"); u && *u == '1') {
    fs::create_directories(golden.parent_path());
    std::ofstream(golden) << table;
    GTEST_SKIP() << "wrote " << golden;
  }
  std::ifstream in(golden);
  ASSERT_TRUE(in) << "missing " << golden << " (run with PINFUZZ_UPDATE_GOLDEN=1)";
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(table, want.str())
      << "trace hashes differ from " << golden
      << ": if the model's scheduling points or the weak models' rules changed on purpose, "
         "bump kFormatVersion and regenerate with PINFUZZ_UPDATE_GOLDEN=1";
}

TEST(Determinism, EverySeedReplaysToOneTraceHashUnderThreeStrategies) {
  auto seeds = seed_scenarios();
  ASSERT_GE(seeds.size(), 15u);
  Runner runner;
  std::ostringstream table;
  for (const auto& [name, scenario] : seeds) {
    for (const auto& [sname, schedule] : schedules_for(scenario)) {
      Scenario s = scenario;
      s.schedule = schedule;
      RunResult first = runner.run(s, Design{});
      ASSERT_GT(first.steps, 0u) << name;
      for (int i = 0; i < 100; ++i) {
        RunResult again = runner.run(s, Design{});
        ASSERT_EQ(again.trace_hash, first.trace_hash) << name << " " << sname << " replay " << i;
        ASSERT_EQ(again.steps, first.steps) << name << " " << sname;
        ASSERT_EQ(outcome(again), outcome(first)) << name << " " << sname;
      }
      table << name << " " << sname << " " << std::hex << first.trace_hash << std::dec << " "
            << first.steps << " " << outcome(first) << "\n";
    }
  }
  // Every build type must produce exactly this table.
  expect_golden(table.str(), "trace_hashes.txt");
}

// The same under tso and arm (issue 19): the flushes are schedule choices,
// so one seed is one trace in every build type here too. A table of its own,
// so that a change to the weak models' rules moves only these hashes.
TEST(Determinism, EverySeedReplaysToOneTraceHashUnderEachWeakMemoryModel) {
  auto seeds = seed_scenarios();
  Runner runner;
  std::ostringstream table;
  for (const auto& [name, scenario] : seeds) {
    for (sync::Memory m : {sync::Memory::kTso, sync::Memory::kArm}) {
      for (const auto& [sname, schedule] : schedules_for(scenario)) {
        Scenario s = scenario;
        s.schedule = schedule;
        s.schedule.memory = m;
        RunOptions rec;
        rec.recording = sched::Recording::kFullTrace;
        RunResult first = runner.run(s, Design{});
        ASSERT_GT(first.steps, 0u) << name;
        for (int i = 0; i < 20; ++i) {
          RunResult again = runner.run(s, Design{}, i == 0 ? rec : RunOptions{});
          ASSERT_EQ(again.trace_hash, first.trace_hash)
              << name << " " << sname << " " << sync::memory_name(m) << " replay " << i;
          ASSERT_EQ(again.steps, first.steps) << name << " " << sname;
          ASSERT_EQ(outcome(again), outcome(first)) << name << " " << sname;
        }
        table << name << " " << sname << " " << sync::memory_name(m) << " " << std::hex
              << first.trace_hash << std::dec << " " << first.steps << " " << outcome(first)
              << "\n";
      }
    }
  }
  expect_golden(table.str(), "trace_hashes_weak.txt");
}

// Under arm the model's own relaxed loads are satisfied early (load-load
// reordering) by some random and PCT schedules of the seeds, and the correct
// design stays clean through them: the mechanism the read-side barrier knobs
// need is exercised by the model, not only by litmus tests.
TEST(Determinism, ModelLoadsAreSatisfiedEarlyUnderArm) {
  Runner runner;
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  size_t early = 0, runs = 0;
  for (const auto& [name, scenario] : seed_scenarios()) {
    for (uint64_t seed = 0; seed < 40; ++seed) {
      Scenario s = scenario;
      s.schedule = Schedule{};
      s.schedule.kind = seed % 2 ? ScheduleKind::kRandom : ScheduleKind::kPct;
      s.schedule.seed = seed;
      s.schedule.memory = sync::Memory::kArm;
      const RunResult r = runner.run(s, Design{}, rec);
      ++runs;
      EXPECT_EQ(outcome(r), "clean") << name << " seed " << seed;
      early += static_cast<size_t>(std::count_if(r.trace.begin(), r.trace.end(),
                                                 [](const sched::Step& st) { return st.early; }));
    }
  }
  EXPECT_GE(early, 20u) << early << " early loads in " << runs << " runs";
}

TEST(Determinism, RecordingATraceDoesNotChangeTheRun) {
  Runner runner;
  for (const auto& [name, s] : seed_scenarios()) {
    RunResult fast = runner.run(s, Design{});
    RunOptions rec;
    rec.recording = sched::Recording::kFullTrace;
    RunResult full = runner.run(s, Design{}, rec);
    EXPECT_EQ(full.trace_hash, fast.trace_hash) << name;
    EXPECT_EQ(full.trace.size(), full.steps) << name;
    EXPECT_EQ(full.objects.size(), full.trace.size()) << name;
    EXPECT_TRUE(fast.trace.empty()) << name;
  }
}

// Every run of a search (schedule kind and trace hash), in order.
std::vector<std::pair<ScheduleKind, uint64_t>> search_runs(SearchStrategy strategy, uint64_t seed,
                                                           uint64_t runs) {
  std::vector<std::pair<ScheduleKind, uint64_t>> out;
  SearchHooks hooks;
  hooks.on_run = [&out](const Scenario& s, const RunResult& r) {
    out.emplace_back(s.schedule.kind, r.trace_hash);
  };
  hooks.on_violation = [](const Scenario&, const RunResult&) { return false; };
  search(Design{}, strategy, seed, std::nullopt, SearchBudget{runs, 600}, kDefaultStepBudget,
         &hooks);
  return out;
}

// mix draws both kinds of schedule, one run per scenario, and a seed
// explores the same runs every time.
TEST(Determinism, MixSearchRunsBothKindsTheSameWayEveryTime) {
  const auto a = search_runs(SearchStrategy::kMix, 7, 400);
  const auto b = search_runs(SearchStrategy::kMix, 7, 400);
  ASSERT_EQ(a.size(), 400u);
  EXPECT_EQ(a, b);
  const auto pct = std::count_if(a.begin(), a.end(),
                                 [](const auto& r) { return r.first == ScheduleKind::kPct; });
  const auto random = std::count_if(a.begin(), a.end(),
                                    [](const auto& r) { return r.first == ScheduleKind::kRandom; });
  EXPECT_EQ(pct + random, 400);
  EXPECT_GT(pct, 90);      // one in three: ~133
  EXPECT_GT(random, 220);  // ~267
  EXPECT_NE(search_runs(SearchStrategy::kMix, 8, 400), a);
}

TEST(Determinism, SeedScenariosRunCleanUnderTheCorrectDesigns) {
  Runner runner;
  for (const std::string& dn : design_names(DesignSet::kCorrect)) {
    Design d = *parse_design(dn).design;
    for (const auto& [name, scenario] : seed_scenarios()) {
      for (uint64_t seed = 0; seed < 50; ++seed) {
        Scenario s = scenario;
        s.schedule.kind = seed % 2 ? ScheduleKind::kPct : ScheduleKind::kRandom;
        s.schedule.seed = seed;
        RunResult r = runner.run(s, d);
        ASSERT_FALSE(r.violation) << dn << " " << name << " " << s.schedule.to_string() << ": "
                                  << r.violation->to_string();
      }
    }
  }
}

// The false-positive property in miniature: random byte strings decode to
// well-formed programs, and the correct designs must never raise a
// violation on any of them, under any schedule the bytes describe.
// Under every memory model (issue 19): random scenarios and schedules, the
// weak ones with their flush choices, never violate a correct design.
TEST(Engine, CorrectDesignsStayCleanOnRandomScenarios) {
  Runner runner;
  sched::SplitMix64 rng(2024);
  int ran = 0;
  const std::vector<std::string> correct = design_names(DesignSet::kCorrect);
  constexpr int kPerModel = 2000;
  for (const std::string& dn : correct) {
    Design d = *parse_design(dn).design;
    for (int m = 0; m < sync::kNumMemoryModels; ++m) {
      const auto memory = static_cast<sync::Memory>(m);
      DecodeOptions opt{.ignore_design = true, .memory = memory};
      for (int i = 0; i < kPerModel; ++i) {
        std::vector<uint8_t> b(3 + rng.below(120));
        for (auto& x : b) x = static_cast<uint8_t>(rng.next());
        b[0] = kFormatVersion;
        b[1] = b[2] = 0;  // no design text (u16 length)
        ByteDecode dec = decode_bytes(b, opt);
        ASSERT_TRUE(dec.scenario) << dec.error;
        ASSERT_EQ(dec.scenario->schedule.memory, memory);
        RunResult r = runner.run(*dec.scenario, d);
        ++ran;
        ASSERT_FALSE(r.violation) << dn << ": " << r.violation->to_string() << "\n"
                                  << print_text(*dec.scenario);
      }
    }
  }
  EXPECT_EQ(ran, kPerModel * sync::kNumMemoryModels * static_cast<int>(correct.size()));
  EXPECT_GE(correct.size(), 2u);
}

TEST(Engine, DeadlockWhenEachThreadWaitsForTheOthersUnpin) {
  // writeback=wait sleeps until the page is unpinned; two threads that each
  // pin one page and write back the other's wait for each other forever.
  Scenario s = parse(R"(pinfuzz-scenario 3
design folio_pincount,writeback=wait
vpn 0 file
vpn 1 file
thread 0
  pin 0 1 write
  writeback 1
  unpin all
thread 1
  pin 1 1 write
  user_write 0 0
  writeback 0
  unpin all
schedule input 1:1
)");
  // Make both pages dirty first so writeback has something to wait for.
  s.program.threads[0].insert(s.program.threads[0].begin(), Op{OpKind::user_write, 0, 1, 0});
  Runner runner;
  bool deadlocked = false;
  for (uint64_t seed = 0; seed < 200 && !deadlocked; ++seed) {
    s.schedule = Schedule{.kind = ScheduleKind::kRandom, .seed = seed};
    RunResult r = runner.run(s, Design{});
    deadlocked = r.violation && r.violation->kind == ViolationKind::deadlock;
    if (deadlocked) EXPECT_EQ(r.status, sched::Status::kDeadlock);
  }
  EXPECT_TRUE(deadlocked);
}

TEST(Engine, ThreadWaitingForItsOwnPinIsADeadlock) {
  Scenario s = parse(R"(pinfuzz-scenario 3
design folio_pincount,writeback=wait
vpn 0 file
thread 0
  pin 0 1 write
  dma_write all
  user_write 0 0
  writeback 0
)");
  RunResult r = Runner().run(s, Design{});
  ASSERT_TRUE(r.violation);
  EXPECT_EQ(r.violation->kind, ViolationKind::deadlock);
  EXPECT_EQ(r.status, sched::Status::kDeadlock);
}

TEST(Engine, HangWhenTheStepBudgetRunsOut) {
  Scenario s = seed_scenarios().front().second;
  RunOptions tight;
  tight.step_budget = 20;
  RunResult r = Runner().run(s, Design{}, tight);
  ASSERT_TRUE(r.violation);
  EXPECT_EQ(r.violation->kind, ViolationKind::hang);
  EXPECT_EQ(r.status, sched::Status::kHang);
  EXPECT_LE(r.steps, 20u);
}

TEST(Engine, RunStopsAtTheFirstViolationAndRecordsItsStep) {
  // page_flag: the unrelated put_page clears the pin bit while thread 0's
  // pin is outstanding; the per-step invariant sees it at once.
  Scenario s = parse(R"(pinfuzz-scenario 3
design page_flag
vpn 0 anon
thread 0
  pin 0 1 write
  dma_write all
  user_read 0 0
  unpin_dirty all dirty
thread 1
  gup 0 1
  put_page all
schedule input 15:1
)");
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  RunResult r = Runner().run(s, Design{}, rec);
  ASSERT_TRUE(r.violation);
  EXPECT_EQ(r.violation->kind, ViolationKind::pin_count_mismatch);
  EXPECT_LT(r.violation->step, r.steps);
  EXPECT_EQ(r.status, sched::Status::kStopped);
  // Nothing ran after the violation but the unwinding: the last recorded
  // step is within a few of the one that broke the invariant.
  EXPECT_LE(r.steps - r.violation->step, 3u);
  // No final check after a violation.
  for (const OpMark& m : r.marks) EXPECT_NE(m.thread, kFinalThread);
}

TEST(Engine, CleanRunEndsWithTheFinalCheckAsAScheduledThread) {
  Scenario s = seed_scenarios().front().second;
  RunOptions rec;
  rec.recording = sched::Recording::kFullTrace;
  RunResult r = Runner().run(s, Design{}, rec);
  ASSERT_FALSE(r.violation) << r.violation->to_string();
  ASSERT_FALSE(r.marks.empty());
  EXPECT_EQ(r.marks.back().thread, kFinalThread);
  EXPECT_LT(r.marks.back().step, r.steps);
  // Every thread's ops are marked in order, then its exit.
  std::map<int, std::vector<int>> ops;
  for (const OpMark& m : r.marks)
    if (m.thread != kFinalThread) ops[m.thread].push_back(m.op);
  for (size_t t = 0; t < s.program.threads.size(); ++t) {
    std::vector<int> want;
    for (size_t i = 0; i < s.program.threads[t].size(); ++i) want.push_back(static_cast<int>(i));
    want.push_back(kExitOp);
    EXPECT_EQ(ops[static_cast<int>(t)], want) << "thread " << t;
  }
}

TEST(Coverage, InterleavingFeaturesAreDeterministicAndGrowWithSwitches) {
  std::vector<uint8_t> a(InterleavingCoverage::kSize), b(InterleavingCoverage::kSize);
  InterleavingCoverage ca(a), cb(b);
  Scenario s = seed_scenarios().front().second;
  RunOptions oa, ob;
  oa.observer = &ca;
  ob.observer = &cb;
  Runner runner;
  runner.run(s, Design{}, oa);
  runner.run(s, Design{}, ob);
  EXPECT_EQ(a, b);
  EXPECT_GT(ca.features(), 0u);
  // Another interleaving of the same program reaches pairs this one did not.
  size_t before = ca.features();
  for (uint64_t seed = 1; seed < 20; ++seed) {
    s.schedule = Schedule{.kind = ScheduleKind::kRandom, .seed = seed, .one_in = 2};
    runner.run(s, Design{}, oa);
  }
  EXPECT_GT(ca.features(), before);
}

}  // namespace
}  // namespace pf
