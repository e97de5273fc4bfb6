// pinfuzz verify (fuzz/harness/verify.h): a catalog bug is found at the
// preemption bound its regression schedule needs and its counterexample
// replays; the sleep-set reduction finds a violation exactly where the
// unreduced search does, in fewer schedules; the search is deterministic;
// and the scheduler's kEndRun, which the reduction stops runs with, ends a
// run from every kind of decision.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fuzz/harness/regress.h"
#include "fuzz/harness/run.h"
#include "fuzz/harness/verify.h"
#include "fuzz/sched/scheduler.h"
#include "model/sync/locks.h"

namespace pf {
namespace {

const std::string kSource = PINFUZZ_SOURCE_DIR;

Scenario load(const std::string& path) {
  LoadedScenario l = load_scenario_file(path);
  EXPECT_TRUE(l.scenario) << l.error;
  return l.scenario.value_or(Scenario{});
}

Design design_named(const std::string& text) {
  auto r = parse_design(text);
  EXPECT_TRUE(r.design) << r.error;
  return r.design.value_or(Design{});
}

// Counts the preemptions of whatever `inner` decides (for InputStrategy:
// how many of its points preempt a thread that could go on).
class CountPreemptions final : public sched::Strategy {
 public:
  explicit CountPreemptions(sched::Strategy& inner) : inner_(inner) {}
  std::string_view name() const override { return inner_.name(); }
  void begin_run(uint32_t threads) override {
    inner_.begin_run(threads);
    preemptions = 0;
  }
  uint32_t pick(const sched::Decision& d) override {
    const uint32_t t = inner_.pick(d);
    preemptions += d.reason == sched::Reason::kAccess && t != d.current;
    return t;
  }
  std::string describe() const override { return inner_.describe(); }
  uint32_t preemptions = 0;

 private:
  sched::Strategy& inner_;
};

// The preemptions the scenario's own schedule makes under `d`, and whether
// it violates.
std::pair<uint32_t, RunResult> own_schedule(const Scenario& s, const Design& d) {
  auto inner = s.schedule.make_strategy();
  CountPreemptions counting(*inner);
  Runner runner;
  RunResult r = runner.run(d, s.program, counting);
  return {counting.preemptions, r};
}

VerifyResult run_verify(const Scenario& s, const Design& d, uint32_t k, bool reduction,
                        uint64_t max_runs = UINT64_MAX) {
  VerifyOptions o;
  o.max_preemptions = k;
  o.reduction = reduction;
  o.max_runs = max_runs;
  return verify(s, d, o);
}

// The counterexample, printed as text and parsed back as `pinfuzz repro`
// reads it, shows the violation verify reported, after the same steps.
void expect_replays(const VerifyResult& v) {
  ASSERT_EQ(v.outcome, VerifyOutcome::kViolation);
  EXPECT_TRUE(v.replay_matches);
  const std::string text = print_text(v.counterexample);
  EXPECT_NE(text.find("schedule input"), std::string::npos) << text;
  TextParse p = parse_text(text, "counterexample");
  ASSERT_TRUE(p.scenario) << p.error;
  Runner runner;
  RunResult r = runner.run(*p.scenario, Design{});
  ASSERT_TRUE(r.violation) << text;
  ASSERT_TRUE(v.found.violation);
  EXPECT_EQ(r.violation->kind, v.found.violation->kind);
  EXPECT_EQ(r.violation->detail, v.found.violation->detail);
  EXPECT_EQ(r.violation->step, v.found.violation->step);
  EXPECT_EQ(r.trace_hash, v.found.trace_hash);
  // And its schedule makes the preemptions verify counted.
  EXPECT_EQ(own_schedule(*p.scenario, *p.scenario->design).first, v.preemptions);
}

// (1) Regression entries whose minimized schedule needs preemptions: verify
// with that many finds the entry's violation kind (at that bound or below)
// and the counterexample replays.
TEST(Verify, FindsCatalogBugsAtTheBoundTheirScheduleNeeds) {
  std::vector<std::string> errors;
  auto entries = load_regressions(kSource + "/corpus/regressions", &errors);
  ASSERT_TRUE(errors.empty()) << errors.front();
  int checked = 0;
  for (const std::string bug : {"get_only", "no_gup_fast_recheck", "no_swp_exclusive", "overflow",
                                "no_gup_fast_pmd_recheck"}) {
    SCOPED_TRACE(bug);
    const RegressionEntry* e = nullptr;
    for (const auto& x : entries)
      if (x.bug == bug) e = &x;
    ASSERT_NE(e, nullptr);
    const Scenario s = load(e->path);
    const Design d = design_named(e->design);
    auto [k, own] = own_schedule(s, d);
    ASSERT_TRUE(own.violation);
    ASSERT_EQ(own.violation->kind, e->expected);
    ASSERT_GE(k, 1u) << "a sequential bug says nothing about the search";
    VerifyResult v = run_verify(s, d, k, /*reduction=*/true);
    ASSERT_EQ(v.outcome, VerifyOutcome::kViolation);
    EXPECT_EQ(v.found.violation->kind, e->expected);
    EXPECT_LE(v.bounds.back().bound, k);
    EXPECT_LE(v.preemptions, k);
    expect_replays(v);
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

// A bug that needs a preemption is not found without one, and is found at
// bound 1, with 1 preemption.
TEST(Verify, NoGupFastRecheckNeedsExactlyOnePreemption) {
  const Scenario s =
      load(kSource + "/corpus/regressions/no_gup_fast_recheck/pinned_page_replaced-e9879272.txt");
  const Design d = *s.design;
  VerifyResult zero = run_verify(s, d, 0, true);
  EXPECT_EQ(zero.outcome, VerifyOutcome::kClean);
  VerifyResult one = run_verify(s, d, 1, true);
  ASSERT_EQ(one.outcome, VerifyOutcome::kViolation);
  EXPECT_EQ(one.bounds.back().bound, 1u);
  EXPECT_EQ(one.preemptions, 1u);
  EXPECT_EQ(one.found.violation->kind, ViolationKind::pinned_page_replaced);
  expect_replays(one);
}

struct Case {
  std::string file;
  std::string design;
  uint32_t k;
};

// (2) The reduction finds a violation exactly where (at which bound) the
// unreduced search does, clean or not, and runs no more schedules.
TEST(Verify, ReducedAgreesWithUnreduced) {
  const std::vector<Case> cases = {
      {"/corpus/seeds/zero_page_pin.txt", "folio_pincount", 2},
      {"/corpus/seeds/truncate_vs_dirty.txt", "get_only", 2},
      {"/corpus/seeds/truncate_vs_dirty.txt", "page_flag", 2},
      {"/corpus/seeds/munmap_vs_pin.txt", "pin_bias", 2},
      {"/corpus/seeds/migrate_vs_gup.txt", "folio_pincount,no_gup_fast_recheck=on", 2},
      {"/corpus/regressions/no_try_share_check/pinned_page_replaced-ffeafb3d.txt",
       "folio_pincount,no_try_share_check=on", 2},
      {"/corpus/regressions/unlocked_dirty/dirty_without_buffers-a43a0454.txt",
       "folio_pincount,unlocked_dirty=on", 2},
      {"/corpus/regressions/no_gup_fast_pmd_recheck/pinned_page_replaced-06129743.txt",
       "folio_pincount", 1},
  };
  int fewer = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " " + c.design);
    const Scenario s = load(kSource + c.file);
    const Design d = design_named(c.design);
    VerifyResult red = run_verify(s, d, c.k, true);
    VerifyResult all = run_verify(s, d, c.k, false);
    ASSERT_NE(red.outcome, VerifyOutcome::kBudgetExhausted);
    ASSERT_EQ(red.outcome, all.outcome);
    EXPECT_EQ(red.bounds.size(), all.bounds.size());
    if (red.outcome == VerifyOutcome::kViolation) expect_replays(red);
    for (const VerifyBound& b : all.bounds) {
      EXPECT_EQ(b.sleep_blocked, 0u) << "no sleep sets without reduction";
      if (b.complete) EXPECT_LE(red.bounds[b.bound].schedules, b.schedules);
    }
    if (red.outcome == VerifyOutcome::kClean) fewer += red.schedules() < all.schedules();
  }
  EXPECT_GE(fewer, 2);
}

// At each bound the unreduced search runs every schedule: bound 0 is the
// schedules without preemption, one per order of the free choices, and
// bound b adds those with exactly b preemptions.
TEST(Verify, UnreducedCountsEverySchedule) {
  // Two threads, one op each, touching nothing in common but mm 0's locks.
  TextParse p = parse_text(
      "pinfuzz-scenario 8\nvpn 0 anon\nvpn 1 anon\nthread 0\n  user_read 0 0\n"
      "thread 1\n  user_read 0 1\n");
  ASSERT_TRUE(p.scenario) << p.error;
  VerifyResult v = run_verify(*p.scenario, Design{}, 1, false);
  ASSERT_EQ(v.outcome, VerifyOutcome::kClean);
  // Without preemptions: thread 0 first or thread 1 first.
  EXPECT_EQ(v.bounds[0].schedules, 2u);
  EXPECT_EQ(v.bounds[1].schedules, v.bounds[0].schedules + v.bounds[1].new_schedules);
  EXPECT_GT(v.bounds[1].new_schedules, 0u);
  EXPECT_EQ(v.schedules(), v.bounds[0].new_schedules + v.bounds[1].new_schedules);
}

// (3) Same input, same output: counts, counterexample and its schedule.
TEST(Verify, Deterministic) {
  const Scenario s = load(kSource + "/corpus/seeds/three_threads.txt");
  const Design d = design_named("get_only");
  VerifyResult a = run_verify(s, d, 2, true);
  VerifyResult b = run_verify(s, d, 2, true);
  ASSERT_EQ(a.outcome, VerifyOutcome::kViolation);
  ASSERT_EQ(a.outcome, b.outcome);
  ASSERT_EQ(a.bounds.size(), b.bounds.size());
  for (size_t i = 0; i < a.bounds.size(); ++i) {
    EXPECT_EQ(a.bounds[i].schedules, b.bounds[i].schedules);
    EXPECT_EQ(a.bounds[i].new_schedules, b.bounds[i].new_schedules);
    EXPECT_EQ(a.bounds[i].sleep_blocked, b.bounds[i].sleep_blocked);
  }
  EXPECT_EQ(a.runs, b.runs);
  EXPECT_EQ(print_text(a.counterexample), print_text(b.counterexample));
  EXPECT_EQ(a.found.trace_hash, b.found.trace_hash);
  expect_replays(a);

  const Scenario clean = load(kSource + "/corpus/seeds/zero_page_pin.txt");
  VerifyResult c = run_verify(clean, Design{}, 2, true);
  VerifyResult e = run_verify(clean, Design{}, 2, true);
  ASSERT_EQ(c.outcome, VerifyOutcome::kClean);
  EXPECT_EQ(c.runs, e.runs);
  EXPECT_EQ(c.schedules(), e.schedules());
}

// The budget stops the search where it is and says which bound was cut.
TEST(Verify, BudgetStopsAtABound) {
  const Scenario s = load(kSource + "/corpus/seeds/zero_page_pin.txt");
  VerifyResult v = run_verify(s, Design{}, 2, true, /*max_runs=*/10);
  EXPECT_EQ(v.outcome, VerifyOutcome::kBudgetExhausted);
  EXPECT_EQ(v.runs, 10u);
  EXPECT_FALSE(v.bounds.back().complete);
  for (size_t i = 0; i + 1 < v.bounds.size(); ++i) EXPECT_TRUE(v.bounds[i].complete);
}

// A known kernel limitation is counted apart, never a violation.
TEST(Verify, LimitationsAreNotViolations) {
  const Scenario s = load(kSource + "/tests/data/teardown-hang.txt");
  VerifyResult v = run_verify(s, Design{}, 1, true);
  EXPECT_NE(v.outcome, VerifyOutcome::kViolation);
  EXPECT_GT(v.limitation_schedules(), 0u);
  ASSERT_TRUE(v.first_limitation);
  EXPECT_EQ(v.first_limitation->kind, ViolationKind::teardown_hang);
  Runner runner;
  RunResult r = runner.run(v.limitation_scenario, Design{});
  ASSERT_TRUE(r.limitation);
  EXPECT_EQ(r.limitation->kind, ViolationKind::teardown_hang);
}

// ---- the scheduler's kEndRun -------------------------------------------------

// Ends the run at the first decision of the given reason; elsewhere keeps
// the running thread, else the lowest runnable one.
class EndAt final : public sched::Strategy {
 public:
  explicit EndAt(sched::Reason reason) : reason_(reason) {}
  std::string_view name() const override { return "end-at"; }
  void begin_run(uint32_t) override { ended_ = false; }
  uint32_t pick(const sched::Decision& d) override {
    if (d.reason == reason_ && !ended_) {
      ended_ = true;
      return sched::kEndRun;
    }
    return d.reason == sched::Reason::kAccess ? d.current : d.runnable[0];
  }
  std::string describe() const override { return "end-at"; }

 private:
  sched::Reason reason_;
  bool ended_ = false;
};

TEST(SchedulerEndRun, EndsTheRunFromEveryKindOfDecision) {
  struct Expect {
    sched::Reason reason;
    int bodies_left;  // witnesses destroyed: bodies that began and left
  };
  // Thread 0 waits for a flag (parks); thread 1 sets it and wakes it, then
  // returns while thread 0 is runnable again.
  for (const Expect& e : {Expect{sched::Reason::kStart, 0}, Expect{sched::Reason::kParked, 1},
                          Expect{sched::Reason::kAccess, 2}, Expect{sched::Reason::kFinished, 2}}) {
    SCOPED_TRACE(static_cast<int>(e.reason));
    sync::Atomic<int> flag{0}, x{0};
    int left = 0;
    struct Witness {
      int* n;
      ~Witness() { ++*n; }
    };
    std::vector<sched::ThreadBody> bodies = {
        [&] {
          Witness w{&left};
          sync::wait_until(&flag, [&] { return flag.load() != 0; });
          x.fetch_add(1);
        },
        [&] {
          Witness w{&left};
          x.fetch_add(1);
          flag.store(1);
          sync::wake(&flag);
        }};
    sched::Scheduler sched;
    EndAt strategy(e.reason);
    sched::Result r = sched.run(bodies, strategy);
    EXPECT_EQ(r.status, sched::Status::kStopped);
    EXPECT_EQ(r.abandoned, 0u);
    EXPECT_EQ(left, e.bodies_left);
    // The scheduler is fine for the next run.
    sched::InputStrategy plain({});
    flag.init(0);
    left = 0;
    EXPECT_EQ(sched.run(bodies, plain).status, sched::Status::kCompleted);
  }
}

}  // namespace
}  // namespace pf
