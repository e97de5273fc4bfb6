// The scenario forms keep their contracts: text and bytes are two spellings
// of one value, the byte decoder is total, the text parser rejects anything
// it would not print with an error that points at the offending word, and
// scenario files load whichever form they hold.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fuzz/scenario/scenario.h"
#include "tests/test_util.h"

namespace pf {
namespace {

namespace fs = std::filesystem;

// Hand-written scenarios in canonical form: across them every op kind,
// every backing and every schedule kind appears (checked below).
const char* const kCanonical[] = {
    R"(pinfuzz-scenario 1
design pin_bias,counter_bits=12,no_gup_fast_recheck=on
free_pages 3
vpn 0 anon order=2
vpn 4 file
vpn 5 zero ro
vpn 6 dax
vpn 7 p2pdma
thread 0
  gup 0 4 write longterm
  pin_fast 7 1 p2pdma
  put_user_pages_dirty_lock 0 dirty
  unpin_dirty all dirty
  dma_write 7
thread 1
  gup_fast 4 1
  pin 6 2 write
  put_page 0
  put_user_page all
  unpin 1
thread 2
schedule input 3:1 0:0 32767:255
)",
    R"(pinfuzz-scenario 1
design folio_pincount,writeback=bounce,devmap_base=one
vpn 0 anon_movable order=1
vpn 2 device_private
vpn 3 device_coherent ro
vpn 4 anon order=2 ro
thread 0
  user_write 3 7
  user_read 0 1
  writeback 7
  sync
  reclaim_file 0
  reclaim_anon 4
thread 1
  migrate 0
  fork
  munmap 2
  truncate 5
  memunmap 3
  collapse 6
schedule random seed=18446744073709551615 one_in=1
)",
    R"(pinfuzz-scenario 1
free_pages 0
vpn 7 anon
thread 0
  fork
thread 1
thread 2
thread 3
  sync
schedule pct seed=7 depth=8 k=65535
)",
    R"(pinfuzz-scenario 1
free_pages 16
thread 0
schedule input
)",
    R"(pinfuzz-scenario 1
design get_only
vpn 0 anon order=3
thread 0
  pin 0 4
  pin 1 4
  pin 2 4
  pin 3 4
  pin 4 4
  pin 5 4
  pin 6 4
  pin 7 4
  unpin 0
  unpin 1
  unpin 2
  unpin 3
  unpin 4
  unpin 5
  unpin 6
  unpin 7
schedule pct seed=0 depth=1 k=1
)",
};

Scenario parsed(std::string_view text) {
  TextParse r = parse_text(text, "t.scn");
  EXPECT_TRUE(r.scenario) << r.error;
  return r.scenario.value_or(Scenario{});
}

bool is_canonical(const Scenario& s) {
  if (s.program.world != s.program.world.canonical()) return false;
  if (s.program.threads.empty() || s.program.threads.size() > kMaxThreads) return false;
  for (const auto& ops : s.program.threads) {
    if (ops.size() > static_cast<size_t>(kMaxOpsPerThread)) return false;
    for (const Op& op : ops)
      if (op != op.canonical()) return false;
  }
  return s.schedule.points.size() <= sched::kMaxPreemptions;
}

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
      "pinfuzz-scenario 1\n"
      "vpn 0 anon_movable order=1 ro\n"
      "vpn 2 anon\n"
      "thread 0\n"
      "  pin 0 1 write longterm\n"
      "  unpin all\n"
      "schedule random seed=5 one_in=8\n");
  EXPECT_EQ(messy, tidy);
}

TEST(ScenarioText, AbsentScheduleIsInputWithNoPoints) {
  Scenario s = parsed("pinfuzz-scenario 1\nthread 0\n");
  EXPECT_EQ(s.schedule, Schedule{});
  EXPECT_EQ(print_text(s), "pinfuzz-scenario 1\nthread 0\nschedule input\n");
}

TEST(ScenarioText, OptionsOmittedTakeTheirDefaults) {
  Scenario pct = parsed("pinfuzz-scenario 1\nthread 0\nschedule pct seed=9\n");
  EXPECT_EQ(pct.schedule.depth, 3);
  EXPECT_EQ(pct.schedule.k, 200);
  EXPECT_EQ(print_text(pct), "pinfuzz-scenario 1\nthread 0\nschedule pct seed=9 depth=3 k=200\n");
}

// ---- text and bytes agree ---------------------------------------------------------

TEST(ScenarioBytes, TextThenBytesThenTextIsIdentity) {
  for (const char* text : kCanonical) {
    Scenario s = parsed(text);
    ByteDecode d = decode_bytes(encode_bytes(s));
    ASSERT_TRUE(d.scenario) << d.error;
    EXPECT_EQ(*d.scenario, s);
    EXPECT_EQ(print_text(*d.scenario), text);
  }
}

// Known bug in bytes.cc: the design field holds at most 255 bytes and
// Every knob at once spells a design name of several hundred bytes; the
// byte form's 16-bit length must carry it.
TEST(ScenarioBytes, DesignWithEveryKnobSurvivesTheByteForm) {
  auto d = parse_design(
      "lru_count,writeback=bounce,counter_bits=12,no_overflow_check,no_gup_fast_recheck,"
      "no_gup_fast_pmd_recheck,no_fork_wp_seq,no_cow_for_dma,no_try_share_check,"
      "no_try_share_barrier,no_ro_pin_unshare,cow_reuse_by_mapcount,large_unpin_bias,"
      "small_unpin_pincount,unlocked_dirty,migrate_pinned,memunmap_no_wait,devmap_base=one,"
      "devmap_mixed_base");
  ASSERT_TRUE(d.design) << d.error;
  Scenario s = parsed("pinfuzz-scenario 1\nthread 0\n");
  s.design = d.design;
  EXPECT_EQ(print_text(*decode_bytes(encode_bytes(s)).scenario), print_text(s));
}

// Random byte strings, mostly with the right version byte and a design field
// that is empty, valid or garbage.
std::vector<uint8_t> random_input(sched::SplitMix64& rng) {
  static const char* const kDesigns[] = {"get_only", "pin_bias,counter_bits=13",
                                         "folio_pincount,no_fork_wp_seq=on"};
  std::vector<uint8_t> b(rng.below(301));
  for (auto& x : b) x = static_cast<uint8_t>(rng.next());
  if (b.size() >= 3 && rng.below(10) < 9) {
    b[0] = kFormatVersion;
    uint64_t design = rng.below(10);
    if (design < 6) {
      b[1] = b[2] = 0;  // u16 design length 0
    } else if (design < 9) {
      std::string_view name = kDesigns[design - 6];
      b[1] = static_cast<uint8_t>(name.size());
      b[2] = 0;
      b.insert(b.begin() + 3, name.begin(), name.end());
    }
  }
  return b;
}

TEST(ScenarioBytes, DecodeIsTotalAndEncodeOfDecodeIsAFixedPoint) {
  sched::SplitMix64 rng(0x5ce7a210);
  int decoded = 0;
  for (int i = 0; i < 5000; ++i) {
    std::vector<uint8_t> in = random_input(rng);
    ByteDecode d = decode_bytes(in);
    if (!d.scenario) {
      EXPECT_TRUE(d.error == "empty input" || d.error.rfind("format version ", 0) == 0 ||
                  d.error.rfind("design field: ", 0) == 0)
          << d.error;
      continue;
    }
    ++decoded;
    const Scenario& s = *d.scenario;
    ASSERT_TRUE(is_canonical(s)) << print_text(s);
    std::vector<uint8_t> once = encode_bytes(s);
    ByteDecode again = decode_bytes(once);
    ASSERT_TRUE(again.scenario) << again.error;
    ASSERT_EQ(again.ended_in, "") << "the encoder wrote an input that ends early";
    ASSERT_EQ(*again.scenario, s) << print_text(s);
    ASSERT_EQ(encode_bytes(*again.scenario), once);
    // And the text form holds the same value.
    TextParse t = parse_text(print_text(s));
    ASSERT_TRUE(t.scenario) << t.error << "\n" << print_text(s);
    ASSERT_EQ(*t.scenario, s) << print_text(s);
  }
  EXPECT_GT(decoded, 3000);  // the property was exercised, not skipped
}

TEST(ScenarioBytes, AnotherVersionIsRejectedNamingBothVersions) {
  ByteDecode d = decode_bytes(std::vector<uint8_t>{kFormatVersion + 1, 0, 8, 0, 0});
  EXPECT_FALSE(d.scenario);
  EXPECT_NE(d.error.find("format version 2"), std::string::npos) << d.error;
  EXPECT_NE(d.error.find("reads version 1"), std::string::npos) << d.error;
  EXPECT_EQ(decode_bytes(std::vector<uint8_t>{}).error, "empty input");
}

TEST(ScenarioBytes, IgnoreDesignSkipsAnInvalidDesignField) {
  std::vector<uint8_t> in = {kFormatVersion, 3, 0, 'b', 'a', 'd', 8, 0, 0, 0, 0};
  ByteDecode strict = decode_bytes(in);
  EXPECT_FALSE(strict.scenario);
  EXPECT_NE(strict.error.find("design field: unknown design 'bad'"), std::string::npos)
      << strict.error;
  ByteDecode lax = decode_bytes(in, DecodeOptions{.ignore_design = true});
  ASSERT_TRUE(lax.scenario) << lax.error;
  EXPECT_FALSE(lax.scenario->design);
  EXPECT_EQ(lax.scenario->program.world.free_pages, 8);  // the field after it
}

TEST(ScenarioBytes, ChosenStrategyReadsTheBodyAsThatKind) {
  // kind byte 1 (random), then a body: seed 7, then 2, then 16 0.
  std::vector<uint8_t> in = {kFormatVersion, 0, 0, 8, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0, 2, 16, 0};
  ByteDecode own = decode_bytes(in);
  ASSERT_TRUE(own.scenario);
  EXPECT_EQ(own.scenario->schedule.kind, ScheduleKind::kRandom);
  EXPECT_EQ(own.scenario->schedule.one_in, 2);

  ByteDecode pct = decode_bytes(in, DecodeOptions{.strategy = ScheduleKind::kPct});
  ASSERT_TRUE(pct.scenario);
  const Schedule& p = pct.scenario->schedule;
  EXPECT_EQ(p.kind, ScheduleKind::kPct);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_EQ(p.depth, 3);  // 1 + 2 % 8
  EXPECT_EQ(p.k, 16);

  ByteDecode input = decode_bytes(in, DecodeOptions{.strategy = ScheduleKind::kInput});
  ASSERT_TRUE(input.scenario);
  EXPECT_EQ(input.scenario->schedule.kind, ScheduleKind::kInput);
  ASSERT_FALSE(input.scenario->schedule.points.empty());
  EXPECT_EQ(input.scenario->schedule.points[0], (sched::Preemption{7, 0}));
}

// A byte input cut short still decodes (totality), and says where it
// ended: every proper prefix of a scenario with a seeded schedule, whose
// last byte belongs to the schedule, is reported.
TEST(ScenarioBytes, EveryTruncationSaysWhereTheInputEnded) {
  const std::vector<uint8_t> whole = encode_bytes(parsed(kCanonical[1]));
  EXPECT_EQ(decode_bytes(whole).ended_in, "");
  std::set<std::string> parts;
  for (size_t n = 1; n < whole.size(); ++n) {
    ByteDecode d = decode_bytes(std::span(whole).first(n));
    if (!d.scenario) {  // a design cut short is often no design
      EXPECT_EQ(d.error.rfind("design field: ", 0), 0u) << d.error;
      continue;
    }
    ASSERT_NE(d.ended_in, "") << "a prefix of " << n << " of " << whole.size()
                              << " bytes went unnoticed";
    parts.insert(d.ended_in);
  }
  EXPECT_EQ(parts, (std::set<std::string>{"the design field", "the world", "thread 0's ops",
                                          "thread 1's ops", "the schedule"}));
}

// ---- text errors ------------------------------------------------------------------

struct BadText {
  std::string text;
  std::string where;   // "LINE:COL"
  std::string phrase;  // part of the message
};

const std::string kHead = "pinfuzz-scenario 1\n";

TEST(ScenarioTextErrors, EachMistakeIsNamedAtItsLineAndColumn) {
  std::string seventeen = kHead + "thread 0\n";
  for (int i = 0; i < 17; ++i) seventeen += "  sync\n";
  const std::vector<BadText> cases = {
      {"", "1:1", "missing 'pinfuzz-scenario 1' header, got end of input"},
      {"# only a comment\nthread 0\n", "2:1", "missing 'pinfuzz-scenario 1' header, got 'thread'"},
      {"pinfuzz-scenario 2\nthread 0\n", "1:18",
       "scenario format version 2; this build reads version 1"},
      {kHead, "2:1", "no thread: a scenario needs 1 to 4"},
      {kHead + "vpn 9 anon\nthread 0\n", "2:5", "vpn 9 is out of range 0..7"},
      {kHead + "vpn 1 anon order=2\nvpn 2 file\n", "3:5",
       "vpn 2 is inside the order-2 folio at vpn 1"},
      {kHead + "vpn 3 anon\nvpn 2 anon order=1\n", "3:12",
       "the order-1 folio at vpn 2 would cover vpn 3, declared on line 2"},
      {kHead + "vpn 0 anon\nvpn 0 file\n", "3:5", "vpn 0 is already declared on line 2"},
      {kHead + "vpn 0 file order=1\n", "2:12",
       "order applies only to anon and anon_movable, not file"},
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
       "expected an op, thread or schedule, got 'free_pages' (statements go in this order"},
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
      {std::string("\x00\xff junk\n", 8), "1:1", "missing 'pinfuzz-scenario 1' header, got '\\x00\\xff'"},
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
  inputs.push_back(std::string("pinfuzz-scenario 1\0\nthread 0\n", 29));
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

// ---- files ------------------------------------------------------------------------

class ScenarioFiles : public test::TempDirTest {
 protected:
  ScenarioFiles() : TempDirTest("scenario_test") {}
  std::string path(const char* name) const { return (dir_ / name).string(); }
  std::string write(const char* name, std::string_view data) const {
    std::ofstream(path(name), std::ios::binary) << data;
    return path(name);
  }
};

TEST_F(ScenarioFiles, TextFileLoadsAsText) {
  LoadedScenario l = load_scenario_file(write("a.scn", kCanonical[0]));
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_TRUE(l.was_text);
  EXPECT_EQ(*l.scenario, parsed(kCanonical[0]));
}

TEST_F(ScenarioFiles, ByteFileLoadsAsBytes) {
  auto b = encode_bytes(parsed(kCanonical[1]));
  LoadedScenario l = load_scenario_file(write("a.bin", std::string(b.begin(), b.end())));
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_FALSE(l.was_text);
  EXPECT_EQ(*l.scenario, parsed(kCanonical[1]));
}

TEST_F(ScenarioFiles, TextParseErrorNamesTheFileLineAndColumn) {
  std::string p = write("bad.scn", kHead + "vpn 8 anon\n");
  LoadedScenario l = load_scenario_file(p);
  EXPECT_FALSE(l.scenario);
  EXPECT_EQ(l.error.rfind(p + ":2:5: error: vpn 8 is out of range", 0), 0u) << l.error;
}

TEST_F(ScenarioFiles, EmptyMissingAndFutureFilesAreRejectedNamingThePath) {
  std::string empty = write("empty", "");
  LoadedScenario e = load_scenario_file(empty);
  EXPECT_FALSE(e.scenario);
  EXPECT_EQ(e.error, empty + ": empty file");

  std::string missing = path("missing");
  LoadedScenario m = load_scenario_file(missing);
  EXPECT_FALSE(m.scenario);
  EXPECT_EQ(m.error.rfind(missing + ": cannot open", 0), 0u) << m.error;

  std::string future = write("future", std::string{"\x02\x00\x08\x00\x00", 5});
  LoadedScenario f = load_scenario_file(future);
  EXPECT_FALSE(f.scenario);
  EXPECT_EQ(f.error.rfind(future + ": ", 0), 0u) << f.error;
  EXPECT_NE(f.error.find("format version 2; this build reads version 1"), std::string::npos)
      << f.error;
}

// The byte form is total: past the end every byte reads as 0, so a file of
// just the version byte is the all-zero scenario, not an error.
TEST_F(ScenarioFiles, VersionByteAloneLoadsAsTheAllZeroScenario) {
  LoadedScenario l = load_scenario_file(write("short.bin", std::string{"\x01", 1}));
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_FALSE(l.was_text);
  EXPECT_EQ(print_text(*l.scenario),
            "pinfuzz-scenario 1\nfree_pages 0\nthread 0\nschedule input\n");
}

TEST_F(ScenarioFiles, AtomicWriteLeavesOnlyTheFile) {
  std::string p = path("out.bin");
  ASSERT_EQ(write_file_atomic(p, "first"), "");
  ASSERT_EQ(write_file_atomic(p, std::string("second\0", 7)), "");
  std::ifstream in(p, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, std::string("second\0", 7));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"out.bin"});
}

TEST_F(ScenarioFiles, ByteFileCutShortLoadsWithAWarningNamingThePart) {
  auto b = encode_bytes(parsed(kCanonical[1]));
  std::string p = write("cut.bin", std::string(b.begin(), b.end() - 3));
  LoadedScenario l = load_scenario_file(p);
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_EQ(l.warning.rfind(fmt::format("{} ends inside the schedule ({} bytes)", p, b.size() - 3), 0),
            0u)
      << l.warning;
  std::string whole = write("whole.bin", std::string(b.begin(), b.end()));
  EXPECT_EQ(load_scenario_file(whole).warning, "");
}

// A path that is not a regular file (a FIFO here; /dev/stdout, /dev/full)
// is written in place: renaming over it would replace it with a file.
TEST_F(ScenarioFiles, AtomicWriteToAFifoWritesIntoIt) {
  std::string p = path("fifo");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  int rd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rd, 0);
  ASSERT_EQ(write_file_atomic(p, "through"), "");
  char buf[16] = {};
  EXPECT_EQ(::read(rd, buf, sizeof buf), 7);
  ::close(rd);
  EXPECT_EQ(std::string(buf), "through");
  EXPECT_TRUE(fs::is_fifo(p));
}

TEST_F(ScenarioFiles, AtomicWriteIntoAMissingDirectoryNamesThePath) {
  std::string p = path("no/such/dir/out.bin");
  std::string err = write_file_atomic(p, "x");
  EXPECT_NE(err, "");
  EXPECT_NE(err.find(p), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(p));
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
