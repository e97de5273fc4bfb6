// The byte form of a scenario keeps its contract: text and bytes are two
// spellings of one value, the decoder is total (every byte string is a
// scenario or a rejection), and an input says where it was cut short.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fuzz/scenario/scenario.h"
#include "tests/scenario_samples.h"

namespace pf {
namespace {

using test::kCanonical;
using test::kHead;
using test::parsed;
using test::is_canonical;

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
  Scenario s = parsed("pinfuzz-scenario 8\nthread 0\n");
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
  EXPECT_NE(d.error.find(fmt::format("format version {}", kFormatVersion + 1)), std::string::npos)
      << d.error;
  EXPECT_NE(d.error.find(fmt::format("reads versions 1 to {}", kFormatVersion)), std::string::npos)
      << d.error;
  EXPECT_EQ(decode_bytes(std::vector<uint8_t>{}).error, "empty input");
}

// Issue 16: version 2 added a backing (file_private, 9), spec bit 7 (prot=r)
// and ops 22..25 (poke, madvise_dontneed, mprotect, vmsplice). The same bytes under
// version 1 mean what they always meant: backing 9 is 9 mod 9 = none, bit 7
// is ignored, kind 22 is dropped.
TEST(ScenarioBytes, VersionOneInputsKeepTheirMeaning) {
  const std::vector<uint8_t> body = {0,    0,  // no design
                                     8,           // free_pages
                                     2,    0, 0x89, 1, 0x81,  // vpn 0: 9|bit7, vpn 1: anon|bit7
                                     0,           // one thread
                                     2,    22, 0, 0, 0, 13, 0, 0, 0,  // poke 0 0, sync
                                     0};          // schedule input
  std::vector<uint8_t> v1 = {1}, v2 = {2};
  v1.insert(v1.end(), body.begin(), body.end());
  v2.insert(v2.end(), body.begin(), body.end());
  ByteDecode old = decode_bytes(v1);
  ASSERT_TRUE(old.scenario) << old.error;
  EXPECT_EQ(print_text(*old.scenario), kHead + "vpn 1 anon\nthread 0\n  sync\nschedule input\n");
  ByteDecode now = decode_bytes(v2);
  ASSERT_TRUE(now.scenario) << now.error;
  EXPECT_EQ(print_text(*now.scenario),
            kHead + "vpn 0 file_private prot=r\nvpn 1 anon prot=r\nthread 0\n  poke 0 0\n"
                    "  sync\nschedule input\n");
  // Re-encoding writes the current version, with the same meaning.
  ByteDecode again = decode_bytes(encode_bytes(*old.scenario));
  ASSERT_TRUE(again.scenario);
  EXPECT_EQ(*again.scenario, *old.scenario);
  // A version-1 text reads as the same text under version 2.
  TextParse t1 = parse_text("pinfuzz-scenario 1\nvpn 1 anon\nthread 0\n  sync\n", "v1");
  ASSERT_TRUE(t1.scenario) << t1.error;
  EXPECT_EQ(*t1.scenario, *old.scenario);
}

// The same bytes under version `v` and `v + 1`: version v + 1 gave some
// bytes a meaning (an appended op, which a version-v input dropped when it
// was written, and still drops; an order bit it ignored, and still ignores).
// `world` is the vpn-spec part of the body, `ops` one thread's op bytes;
// `before`/`after` the text each version prints after the header.
void expect_appended_op_keeps_meaning(uint8_t v, std::vector<uint8_t> world,
                                      std::vector<uint8_t> ops, const std::string& before,
                                      const std::string& after) {
  std::vector<uint8_t> body = {0, 0, 8};  // no design, free_pages 8
  body.insert(body.end(), world.begin(), world.end());
  body.push_back(0);  // one thread
  body.insert(body.end(), ops.begin(), ops.end());
  body.push_back(0);  // schedule input
  std::vector<uint8_t> older = {v}, newer = {static_cast<uint8_t>(v + 1)};
  older.insert(older.end(), body.begin(), body.end());
  newer.insert(newer.end(), body.begin(), body.end());
  ByteDecode old = decode_bytes(older);
  ASSERT_TRUE(old.scenario) << old.error;
  EXPECT_EQ(print_text(*old.scenario), kHead + before);
  ByteDecode now = decode_bytes(newer);
  ASSERT_TRUE(now.scenario) << now.error;
  EXPECT_EQ(print_text(*now.scenario), kHead + after);
  ByteDecode again = decode_bytes(encode_bytes(*old.scenario));
  ASSERT_TRUE(again.scenario);
  EXPECT_EQ(*again.scenario, *old.scenario);
}

// Version 3 added op 26 (uffd_continue). A version-2 input's kind 26 was
// dropped when it was written, and still is.
TEST(ScenarioBytes, VersionTwoInputsKeepTheirMeaning) {
  expect_appended_op_keeps_meaning(
      2, {1, 0, 0x89},                         // vpn 0: file_private prot=r
      {2, 26, 0, 0, 0, 22, 0, 0, 0},           // uffd_continue 0, poke 0 0
      "vpn 0 file_private prot=r\nthread 0\n  poke 0 0\nschedule input\n",
      "vpn 0 file_private prot=r\nthread 0\n  uffd_continue 0\n  poke 0 0\nschedule input\n");
}

// Version 4 (issue 17) added op 27 (split).
TEST(ScenarioBytes, VersionThreeInputsKeepTheirMeaning) {
  expect_appended_op_keeps_meaning(
      3, {1, 0, 0x21},                         // vpn 0: anon order=2
      {2, 27, 0, 0, 0, 26, 0, 0, 0},           // split 0, uffd_continue 0
      "vpn 0 anon order=2\nthread 0\n  uffd_continue 0\nschedule input\n",
      "vpn 0 anon order=2\nthread 0\n  split 0\n  uffd_continue 0\nschedule input\n");
}

// Version 7 (issue 19) added op 28 (ksm).
TEST(ScenarioBytes, VersionSixInputsKeepTheirMeaning) {
  expect_appended_op_keeps_meaning(
      6, {1, 0, 0x01},                         // vpn 0: anon
      {2, 28, 0, 0, 0, 15, 0, 0, 0},           // ksm 0, reclaim_anon 0
      "vpn 0 anon\nthread 0\n  reclaim_anon 0\nschedule input\n",
      "vpn 0 anon\nthread 0\n  ksm 0\n  reclaim_anon 0\nschedule input\n");
}

// Version 8 (issue 16) added backing 10 (thp). A version-7 input's backing
// bits are still read mod 10: 0x0a was an unmapped vpn, and stays one.
TEST(ScenarioBytes, VersionSevenInputsKeepTheirMeaning) {
  expect_appended_op_keeps_meaning(
      7, {1, 2, 0x0a},                         // vpn 2: backing 10
      {1, 11, 0, 2, 0},                        // user_read 0 2
      "thread 0\n  user_read 0 2\nschedule input\n",
      "vpn 2 thp\nthread 0\n  user_read 0 2\nschedule input\n");
}

// Version 5 (issue 17) lets a file vpn be a large page-cache folio. A
// version-4 input's order bits on a file vpn were ignored, and still are.
TEST(ScenarioBytes, VersionFourInputsKeepTheirMeaning) {
  expect_appended_op_keeps_meaning(
      4, {1, 0, 0x14},                         // vpn 0: file, order bits 1
      {1, 12, 1, 0, 0},                        // writeback 1
      "vpn 0 file\nthread 0\n  writeback 1\nschedule input\n",
      "vpn 0 file order=1\nthread 0\n  writeback 1\nschedule input\n");
}

// Version 6 (issue 19) reads the memory model from bits 2-3 of the schedule
// kind byte. A version-5 input runs under sc whatever those bits say; a
// version-6 one under the model they name, and it round-trips.
TEST(ScenarioBytes, VersionFiveInputsRunUnderScWhateverTheKindByteSays) {
  // no design, free_pages 8, no vpn, 1 thread with no ops, kind byte 0x06
  // (input, memory bits 1 = tso), no points.
  for (int version : {5, 6}) {
    const std::vector<uint8_t> in = {static_cast<uint8_t>(version), 0, 0, 8, 0, 0, 0, 0x06};
    ByteDecode d = decode_bytes(in);
    ASSERT_TRUE(d.scenario) << d.error;
    EXPECT_EQ(d.scenario->schedule.kind, ScheduleKind::kInput);
    EXPECT_EQ(d.scenario->schedule.memory,
              version == 5 ? sync::Memory::kSc : sync::Memory::kTso);
  }
  for (sync::Memory m : {sync::Memory::kSc, sync::Memory::kTso, sync::Memory::kArm})
    for (ScheduleKind k : {ScheduleKind::kInput, ScheduleKind::kRandom, ScheduleKind::kPct}) {
      Scenario s;
      s.program.threads.resize(1);
      s.schedule.kind = k;
      s.schedule.memory = m;
      ByteDecode d = decode_bytes(encode_bytes(s));
      ASSERT_TRUE(d.scenario) << d.error;
      EXPECT_EQ(*d.scenario, s) << sync::memory_name(m);
      EXPECT_EQ(encode_bytes(s)[7] == static_cast<uint8_t>(k), m == sync::Memory::kSc)
          << "a sc scenario's kind byte is what version 5 wrote";
    }
  // --memory replaces the input's.
  const std::vector<uint8_t> tso = {6, 0, 0, 8, 0, 0, 0, 0x06};
  ByteDecode forced = decode_bytes(tso, DecodeOptions{.memory = sync::Memory::kArm});
  ASSERT_TRUE(forced.scenario);
  EXPECT_EQ(forced.scenario->schedule.memory, sync::Memory::kArm);
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

}  // namespace
}  // namespace pf
