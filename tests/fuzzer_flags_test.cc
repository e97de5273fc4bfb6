// pinfuzz_fuzzer's flags come from one table (fuzz/harness/fuzzer_flags.def):
// its spelling, its PINFUZZ_* variable, and whether a flag was given at all,
// which a campaign and the target both need to know for --strategy.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "fuzz/harness/config.h"

namespace pf {
namespace {

TEST(FuzzerFlags, StrategyAnyAndNoStrategyAreToldApart) {
  RunConfig absent, any, pct;
  std::string err;
  ASSERT_TRUE(any.parse_flag("--strategy=any", &err));
  ASSERT_TRUE(pct.parse_flag("--strategy=pct", &err));
  EXPECT_EQ(err, "");
  EXPECT_FALSE(absent.given(RunFlag::strategy));
  EXPECT_TRUE(any.given(RunFlag::strategy));
  EXPECT_EQ(absent.strategy, any.strategy);  // both empty: "the input's own"
  EXPECT_EQ(pct.strategy, ScheduleKind::kPct);
}

TEST(FuzzerFlags, RunConfigTakesOnlyTheRunRows) {
  RunConfig run;
  FuzzerFlags all;
  std::string err;
  EXPECT_FALSE(run.parse_flag("--mutator=bytes", &err));
  EXPECT_TRUE(all.parse_flag("--mutator=bytes", &err));
  EXPECT_EQ(all.mutator, Mutator::kBytes);
  EXPECT_TRUE(all.parse_flag("--steps=7", &err));
  EXPECT_EQ(all.run.step_budget, 7u);
  EXPECT_FALSE(all.parse_flag("--no-such-flag=1", &err));
  EXPECT_FALSE(all.parse_flag("--design", &err));  // a value flag needs its value
}

TEST(FuzzerFlags, ASwitchTakesNoValue) {
  FuzzerFlags f;
  std::string err;
  EXPECT_FALSE(f.parse_flag("--keep-going=1", &err));
  EXPECT_FALSE(f.keep_going);
  EXPECT_TRUE(f.parse_flag("--keep-going", &err));
  EXPECT_TRUE(f.keep_going);
}

TEST(FuzzerFlags, BadValuesNameTheFlagAndTheValidOnes) {
  FuzzerFlags f;
  std::string err;
  EXPECT_TRUE(f.parse_flag("--mutator=foo", &err));
  EXPECT_EQ(err, "--mutator=foo: unknown mutator (structure, bytes)");
  EXPECT_TRUE(f.parse_flag("--stats=0", &err));
  EXPECT_EQ(err, "--stats=0: want a number of seconds > 0");
  EXPECT_TRUE(f.parse_flag("--strategy=fast", &err));
  EXPECT_EQ(err, "--strategy=fast: unknown strategy (valid: input, random, pct, any)");
}

TEST(FuzzerFlags, EnvironmentNamesComeFromTheFlagsSpelling) {
  std::string names;
  for (const FlagDoc& d : fuzzer_flag_docs())
    if (d.env == FlagEnv::kAlsoEnv) names += d.env_name() + " ";
  EXPECT_EQ(names, "PINFUZZ_DESIGN PINFUZZ_STRATEGY PINFUZZ_MEMORY PINFUZZ_STEPS PINFUZZ_EXPECT ");
  ASSERT_EQ(::setenv("PINFUZZ_STRATEGY", "input", 1), 0);
  RunConfig c;
  EXPECT_EQ(c.parse_env(), "");
  ::unsetenv("PINFUZZ_STRATEGY");
  EXPECT_TRUE(c.given(RunFlag::strategy));
  EXPECT_EQ(c.strategy, ScheduleKind::kInput);
}

}  // namespace
}  // namespace pf
