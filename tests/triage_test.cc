// Campaign triage (fuzz/campaign/triage.h): a crash file replays only as the
// worker that wrote it decoded it. Workers run with --design and a
// --strategy that replace what the input's bytes say, so triage must decode
// with both, or a crash found under a random schedule is replayed under the
// preemption points its seed bytes happen to spell.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fuzz/campaign/triage.h"
#include "fuzz/harness/search.h"
#include "tests/test_util.h"

namespace pf {
namespace {

class Triage : public test::TempDirTest {
 protected:
  Triage() : TempDirTest("triage_test") {}
};

// The byte form a worker under --design writes: no design text, and the
// schedule kind byte of an input strategy, which --strategy=random skips.
std::vector<uint8_t> crash_bytes(Scenario s) {
  s.design.reset();
  std::vector<uint8_t> b = encode_bytes(s);
  const size_t kind_at = b.size() - 10;  // random: kind, u64 seed, u8 one_in
  EXPECT_EQ(b[kind_at], static_cast<uint8_t>(ScheduleKind::kRandom));
  b[kind_at] = static_cast<uint8_t>(ScheduleKind::kInput);
  return b;
}

TEST_F(Triage, ReplaysACrashFileAsItsWorkerDecodedIt) {
  const Design d = *parse_design("get_only").design;
  Runner runner;
  // A crash under a random schedule whose bytes, read as their own (input)
  // kind, run clean: the case where decoding differently loses the crash.
  for (uint64_t seed = 1; seed < 50; ++seed) {
    SearchResult found = search(d, SearchStrategy::kRandom, seed, std::nullopt,
                                SearchBudget{200000, 30});
    ASSERT_TRUE(found.found) << "seed " << seed;
    const std::vector<uint8_t> bytes = crash_bytes(found.scenario);
    ByteDecode own = decode_bytes(bytes, DecodeOptions{.ignore_design = true});
    ASSERT_TRUE(own.scenario) << own.error;
    if (runner.run(*own.scenario, d).violation) continue;  // violates either way

    const std::string path = (dir_ / "crash-1").string();
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    campaign::TriageInput in;
    in.path = path;
    in.design = "get_only";
    in.slug = "get_only";
    in.strategy = ScheduleKind::kRandom;
    campaign::TriageResult r =
        campaign::triage(in, (dir_ / "crashes").string(), [](const std::string&) { return false; });
    ASSERT_EQ(r.kind, campaign::TriageResult::Kind::kNew) << r.message;
    EXPECT_EQ(r.finding.kind, found.violation->kind);

    in.strategy.reset();  // the input's own kind: clean, so unreproducible
    r = campaign::triage(in, (dir_ / "crashes").string(), [](const std::string&) { return false; });
    EXPECT_EQ(r.kind, campaign::TriageResult::Kind::kUnreproducible) << r.message;
    return;
  }
  FAIL() << "no random-schedule crash of get_only ran clean as preemption points";
}

}  // namespace
}  // namespace pf
