// The text form of a scenario keeps its contract: canonical text prints
// back unchanged, the parser rejects anything it would not print with an
// error that points at the offending word (and never crashes on garbage),
// and docs/scenario-format.md lists every op as ops.def has it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fuzz/scenario/scenario.h"
#include "tests/scenario_samples.h"

namespace pf {
namespace {

namespace fs = std::filesystem;
using test::kCanonical;
using test::parsed;
using test::is_canonical;
using test::kHead;

// ---- text round trip --------------------------------------------------------------

TEST(ScenarioText, CanonicalTextPrintsBackUnchanged) {
  for (const char* text : kCanonical) {
    Scenario s = parsed(text);
    EXPECT_EQ(print_text(s), text);
    EXPECT_EQ(parse_text(print_text(s)).scenario, s);
    EXPECT_TRUE(is_canonical(s)) << text;
  }
}

TEST(ScenarioText, HandWrittenScenariosCoverEveryOpBackingAndScheduleKind) {
  std::set<OpKind> ops;
  std::set<Backing> backings;
  std::set<ScheduleKind> kinds;
  for (const char* text : kCanonical) {
    Scenario s = parsed(text);
    for (const auto& thread : s.program.threads)
      for (const Op& op : thread) ops.insert(op.kind);
    for (const VpnSpec& v : s.program.world.vpn) backings.insert(v.backing);
    kinds.insert(s.schedule.kind);
  }
  EXPECT_EQ(ops.size(), static_cast<size_t>(kNumOps));
  EXPECT_EQ(backings.size(), static_cast<size_t>(kNumBackings));  // kNone included
  EXPECT_EQ(kinds.size(), static_cast<size_t>(kNumScheduleKinds));
}

TEST(ScenarioText, ParsedValuesAreWhatTheTextSays) {
  Scenario s = parsed(kCanonical[0]);
  ASSERT_TRUE(s.design);
  EXPECT_EQ(s.design->tracking, TrackingId::pin_bias);
  EXPECT_EQ(s.design->counter_bits, 12);
  EXPECT_TRUE(s.design->no_gup_fast_recheck);
  const WorldSpec& w = s.program.world;
  EXPECT_EQ(w.free_pages, 3);
  EXPECT_EQ(w.vpn[0], (VpnSpec{Backing::kAnon, 2, true}));
  EXPECT_EQ(w.vpn[1].backing, Backing::kNone);  // inside the order-2 folio
  EXPECT_EQ(w.vpn[5], (VpnSpec{Backing::kZeroPage, 0, false}));
  ASSERT_EQ(s.program.threads.size(), 3u);
  EXPECT_TRUE(s.program.threads[2].empty());
  EXPECT_EQ(s.program.threads[0][0], (Op{OpKind::gup, 0, 4, kOpWrite | kOpLongterm}));
  EXPECT_EQ(s.program.threads[0][3], (Op{OpKind::unpin_dirty, -1, 0, kOpDirty}));
  EXPECT_EQ(s.program.threads[1][4], (Op{OpKind::unpin, 1, 0, 0}));
  EXPECT_EQ(s.schedule.kind, ScheduleKind::kInput);
  EXPECT_EQ(s.schedule.points, (std::vector<sched::Preemption>{{3, 1}, {0, 0}, {32767, 255}}));

  Scenario r = parsed(kCanonical[1]);
  EXPECT_EQ(r.schedule.seed, UINT64_MAX);
  EXPECT_EQ(r.schedule.one_in, 1);
  EXPECT_EQ(r.program.threads[0][0], (Op{OpKind::user_write, 3, 7, 0}));
  EXPECT_FALSE(parsed(kCanonical[2]).design);
}

TEST(ScenarioText, CommentsLayoutFlagOrderAndDefaultsAreFree) {
  Scenario messy = parsed(
      "# a seed\n"
      "\n"
      "   pinfuzz-scenario   1   # version\n"
      "free_pages 8\n"
      "vpn 2 anon order=0\n"
      "vpn 0 anon_movable ro order=1\n"
      "thread 0\r\n"
      "pin 0 1 longterm write#no space before the comment\n"
      "\tunpin all\n"
      "schedule random seed=5\n");
  Scenario tidy = parsed(
      "pinfuzz-scenario 8\n"
      "vpn 0 anon_movable order=1 ro\n"
      "vpn 2 anon\n"
      "thread 0\n"
      "  pin 0 1 write longterm\n"
      "  unpin all\n"
      "schedule random seed=5 one_in=8\n");
  EXPECT_EQ(messy, tidy);
}

TEST(ScenarioText, AbsentScheduleIsInputWithNoPoints) {
  Scenario s = parsed("pinfuzz-scenario 8\nthread 0\n");
  EXPECT_EQ(s.schedule, Schedule{});
  EXPECT_EQ(print_text(s), "pinfuzz-scenario 8\nthread 0\nschedule input\n");
}

// The memory model (format 6): a statement before the schedule, printed
// only when it is not sc, so a sc scenario prints as it always did.
TEST(ScenarioText, MemoryStatementNamesTheModelAndScIsTheDefault) {
  Scenario tso = parsed("pinfuzz-scenario 8\nthread 0\nmemory tso\nschedule random seed=3\n");
  EXPECT_EQ(tso.schedule.memory, sync::Memory::kTso);
  EXPECT_EQ(tso.schedule.kind, ScheduleKind::kRandom);
  EXPECT_EQ(print_text(tso),
            "pinfuzz-scenario 8\nthread 0\nmemory tso\nschedule random seed=3 one_in=8\n");
  Scenario arm = parsed("pinfuzz-scenario 8\nthread 0\nmemory arm\n");
  EXPECT_EQ(arm.schedule.memory, sync::Memory::kArm);
  EXPECT_EQ(arm.schedule.kind, ScheduleKind::kInput);
  Scenario sc = parsed("pinfuzz-scenario 8\nthread 0\nmemory sc\nschedule input\n");
  EXPECT_EQ(sc, parsed("pinfuzz-scenario 8\nthread 0\nschedule input\n"));
  EXPECT_EQ(print_text(sc), "pinfuzz-scenario 8\nthread 0\nschedule input\n");
}

TEST(ScenarioText, OptionsOmittedTakeTheirDefaults) {
  Scenario pct = parsed("pinfuzz-scenario 8\nthread 0\nschedule pct seed=9\n");
  EXPECT_EQ(pct.schedule.depth, 3);
  EXPECT_EQ(pct.schedule.k, 200);
  EXPECT_EQ(print_text(pct), "pinfuzz-scenario 8\nthread 0\nschedule pct seed=9 depth=3 k=200\n");
}

// ---- text errors ------------------------------------------------------------------

struct BadText {
  std::string text;
  std::string where;   // "LINE:COL"
  std::string phrase;  // part of the message
};

TEST(ScenarioTextErrors, EachMistakeIsNamedAtItsLineAndColumn) {
  std::string seventeen = kHead + "thread 0\n";
  for (int i = 0; i < 17; ++i) seventeen += "  sync\n";
  const std::vector<BadText> cases = {
      {"", "1:1", "missing 'pinfuzz-scenario 8' header, got end of input"},
      {"# only a comment\nthread 0\n", "2:1", "missing 'pinfuzz-scenario 8' header, got 'thread'"},
      {"pinfuzz-scenario 99\nthread 0\n", "1:18",
       "scenario format version 99; this build reads versions 1 to"},
      {kHead, "2:1", "no thread: a scenario needs 1 to 4"},
      {kHead + "vpn 9 anon\nthread 0\n", "2:5", "vpn 9 is out of range 0..7"},
      {kHead + "vpn 1 anon order=2\nvpn 2 file\n", "3:5",
       "vpn 2 is inside the order-2 folio at vpn 1"},
      {kHead + "vpn 3 anon\nvpn 2 anon order=1\n", "3:12",
       "the order-1 folio at vpn 2 would cover vpn 3, declared on line 2"},
      {kHead + "vpn 0 anon\nvpn 0 file\n", "3:5", "vpn 0 is already declared on line 2"},
      {kHead + "vpn 0 file_private order=1\n", "2:20",
       "order applies only to anon, anon_movable and file, not file_private"},
      {kHead + "vpn 6 anon order=2\n", "2:12", "an order-2 folio at vpn 6 does not fit"},
      {kHead + "vpn 0 none\n", "2:7", "expected a backing (anon anon_movable zero file"},
      {kHead + "free_pages 17\n", "2:12", "free_pages 17 is out of range 0..16"},
      {kHead + "design pin_biass\n", "2:8", "design: unknown design 'pin_biass'"},
      {kHead + "thread 0\n  pin 0\n", "3:3", "op 'pin' takes 2 arguments (vpn n), got 1"},
      {kHead + "thread 0\n  fork 1\n", "3:8", "op 'fork' takes no arguments, got 1"},
      {kHead + "thread 0\n  pinn 0 1\n", "3:3", "unknown op 'pinn' (valid ops: gup, gup_fast, pin,"},
      {kHead + "thread 0\n  pin 0 1 dirty\n", "3:11",
       "flag 'dirty' is not allowed for 'pin' (allowed: write longterm p2pdma)"},
      {kHead + "thread 0\n  pin 0 1 write write\n", "3:17", "flag 'write' given twice"},
      {kHead + "thread 0\n  pin 0 1 wirte\n", "3:11",
       "expected a flag (write longterm p2pdma) or end of line, got 'wirte'"},
      {kHead + "thread 0\n  pin 0 5\n", "3:9", "n 5 is out of range 1..4"},
      {kHead + "thread 0\n  unpin -1\n", "3:9", "expected a slot 0..7 or 'all', got '-1'"},
      {kHead + "thread 0\n  user_write 4 0\n", "3:14", "mm 4 is out of range 0..3"},
      {kHead + "thread 0\n  memunmap 4\n", "3:12", "pgmap 4 is out of range 0..3"},
      {kHead + "thread 0\nthread 2\n", "3:8", "thread 1 expected, got thread 2"},
      {kHead + "thread 0\nthread 1\nthread 2\nthread 3\nthread 4\n", "6:8",
       "a scenario has at most 4 threads (0..3), got thread 4"},
      {seventeen, "19:3", "more than 16 ops in thread 0"},
      {kHead + "pin 0 1\n", "2:1", "op 'pin' outside a thread: expected 'thread 0' before it"},
      {kHead + "thread 0\nfree_pages 3\n", "3:1",
       "expected an op, thread, memory or schedule, got 'free_pages' (statements go in this order"},
      {kHead + "thread 0\nmemory weak\n", "3:8", "expected a memory model (sc, tso or arm), got 'weak'"},
      {"pinfuzz-scenario 5\nthread 0\nmemory tso\n", "3:1",
       "the memory statement needs scenario format 6 or later"},
      {"pinfuzz-scenario 7\nvpn 0 thp\n", "2:7", "the thp backing needs scenario format 8 or later"},
      {kHead + "vpn 3 thp\n", "2:5", "a thp range covers one PMD, vpns 2k..2k+1: it must start at an even vpn, not 3"},
      {kHead + "vpn 2 thp order=1\n", "2:11", "order applies only to anon, anon_movable and file, not thp"},
      {kHead + "vpn 2 thp\nvpn 3 anon\n", "3:5", "vpn 3 is inside the order-1 folio at vpn 2"},
      {kHead + "vpn 3 anon\nvpn 2 thp\n", "3:7", "the order-1 folio at vpn 2 would cover vpn 3, declared on line 2"},
      {kHead + "thread 0\nschedule input\nmemory tso\n", "4:1",
       "expected end of input after the schedule, got 'memory'"},
      {kHead + "memory tso\nthread 0\n", "2:1", "expected design, free_pages, vpn or thread, got 'memory'"},
      {kHead + "schedule input\n", "2:1", "expected design, free_pages, vpn or thread, got "
                                          "'schedule'"},
      {kHead + "thread 0\nschedule input\nsync\n", "4:1",
       "expected end of input after the schedule, got 'sync'"},
      {kHead + "thread 0\nschedule input 3:1 x\n", "3:20",
       "expected a preemption point AFTER:THREAD (e.g. 3:1), got 'x'"},
      {kHead + "thread 0\nschedule input 40000:1\n", "3:16", "after 40000 is out of range 0..32767"},
      {kHead + "thread 0\nschedule random one_in=4 # no seed\n", "3:26",
       "expected seed=S (a random schedule needs one), got end of line"},
      {kHead + "thread 0\nschedule pct seed=1 depth=9\n", "3:27", "depth 9 is out of range 1..8"},
      {kHead + "thread 0\nschedule pct seed=18446744073709551616\n", "3:19",
       "seed 18446744073709551616 is out of range 0..18446744073709551615"},
      {kHead + "thread 0\nschedule random seed=1 seed=2\n", "3:24", "option 'seed' given twice"},
      {kHead + "thread 0\nschedule fifo\n", "3:10",
       "expected a schedule kind (input, random or pct), got 'fifo'"},
      {kHead + "free_pages 3 4\n", "2:14", "expected end of line, got '4'"},
      {std::string("\x00\xff junk\n", 8), "1:1", "missing 'pinfuzz-scenario 8' header, got '\\x00\\xff'"},
  };
  for (const BadText& c : cases) {
    TextParse r = parse_text(c.text, "t.scn");
    EXPECT_FALSE(r.scenario) << c.text;
    std::string prefix = "t.scn:" + c.where + ": error: ";
    EXPECT_EQ(r.error.rfind(prefix, 0), 0u) << "want " << prefix << "\ngot  " << r.error;
    EXPECT_NE(r.error.find(c.phrase), std::string::npos)
        << "want ..." << c.phrase << "...\ngot  " << r.error;
  }
}

TEST(ScenarioTextErrors, GarbageAndMutationsNeverCrashAndAlwaysSayWhere) {
  const std::regex located(R"(^t\.scn:[0-9]+:[0-9]+: error: .+)");
  sched::SplitMix64 rng(42);
  std::vector<std::string> inputs;
  inputs.push_back(kHead + std::string(1 << 20, 'x'));         // one very long word
  inputs.push_back(kHead + "thread 0\n" + std::string(1 << 20, ' ') + "sync 1\n");
  inputs.push_back(std::string("pinfuzz-scenario 8\0\nthread 0\n", 29));
  inputs.push_back(kHead + "vpn 99999999999999999999999999 anon\n");
  for (int i = 0; i < 1000; ++i) {  // binary garbage, half of it after a valid header
    std::string s(rng.below(200), '\0');
    for (char& c : s) c = static_cast<char>(rng.next());
    inputs.push_back(i % 2 ? kHead + s : s);
  }
  for (int i = 0; i < 20000; ++i) {
    std::string s = kCanonical[rng.below(std::size(kCanonical))];
    for (int edits = 1 + static_cast<int>(rng.below(3)); edits > 0; --edits) {
      size_t at = rng.below(s.size() + 1);
      char c = static_cast<char>(rng.below(4) == 0 ? rng.next() : " \n#:=0123456789all"[rng.below(18)]);
      switch (rng.below(3)) {
        case 0: s.insert(at, 1, c); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        default: if (at < s.size()) s[at] = c; break;
      }
    }
    inputs.push_back(std::move(s));
  }
  int rejected = 0;
  for (const std::string& in : inputs) {
    TextParse r = parse_text(in, "t.scn");
    if (r.scenario) {
      // Whatever parses is canonical: it prints and parses back unchanged.
      EXPECT_TRUE(is_canonical(*r.scenario)) << in;
      EXPECT_EQ(parse_text(print_text(*r.scenario)).scenario, r.scenario) << in;
      continue;
    }
    ++rejected;
    EXPECT_LT(r.error.size(), 2000u);  // echoes are truncated
    EXPECT_TRUE(std::regex_search(r.error, located)) << r.error;
  }
  EXPECT_GT(rejected, 1000);
}

// ---- docs -------------------------------------------------------------------------

// docs/scenario-format.md lists every op with its kernel function and
// argument shape, as ops.def has them.
TEST(ScenarioDocs, FormatDocumentNamesEveryOpAsTheTableDoes) {
  fs::path doc = fs::path(__FILE__).parent_path().parent_path() / "docs" / "scenario-format.md";
  std::ifstream in(doc);
  if (!in) GTEST_SKIP() << "no " << doc;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (int i = 0; i < kNumOps; ++i) {
    auto k = static_cast<OpKind>(i);
    std::string row = fmt::format("| `{}` | {} |", op_name(k), op_kernel_function(k));
    EXPECT_NE(text.find(row), std::string::npos) << "docs lack the row starting " << row;
  }
  for (int i = 1; i < kNumBackings; ++i)
    EXPECT_NE(text.find(fmt::format("| `{}` |", backing_name(static_cast<Backing>(i)))),
              std::string::npos);
  // The annotated example is a valid scenario.
  size_t at = text.find("### Example\n\n```\n");
  ASSERT_NE(at, std::string::npos);
  at = text.find('\n', text.find("```", at)) + 1;
  std::string example = text.substr(at, text.find("```", at) - at);
  TextParse r = parse_text(example, "example");
  EXPECT_TRUE(r.scenario) << r.error;
}

}  // namespace
}  // namespace pf
