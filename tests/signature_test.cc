// The violation line is written and read by one module
// (fuzz/harness/signature.h): what violation_line() prints,
// parse_violation_line() reads back field for field, and it reads nothing
// else - a campaign counts a worker's violation only from a whole line.
#include <gtest/gtest.h>

#include <string>

#include "fuzz/harness/signature.h"

namespace pf {
namespace {

Violation sample() {
  Violation v;
  v.kind = ViolationKind::pinned_page_replaced;
  v.pfn = 3;
  v.thread = 1;
  v.step = 145;
  v.fn = "unpin_user_page";
  v.detail = "mm 0 vpn 1 now maps pfn 2 while pfn 3 is pinned there";
  return v;
}

void expect_same(const Violation& a, const Violation& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.pfn, b.pfn);
  EXPECT_EQ(a.thread, b.thread);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.fn, b.fn);
  EXPECT_EQ(a.detail, b.detail);
}

TEST(ViolationLine, IsTheLineTestsAndScriptsGrepFor) {
  EXPECT_EQ(violation_line(sample(), "folio_pincount,no_try_share_check=on"),
            "pinfuzz: VIOLATION pinned_page_replaced design=folio_pincount,no_try_share_check=on "
            "pfn=3 thread=1 step=145 in unpin_user_page(): mm 0 vpn 1 now maps pfn 2 while pfn "
            "3 is pinned there");
}

TEST(ViolationLine, FormatThenParseGivesTheSameFields) {
  Violation end_of_run = sample();
  end_of_run.kind = ViolationKind::deadlock;
  end_of_run.pfn = -1;
  end_of_run.thread = -1;
  end_of_run.step = 0;
  end_of_run.fn = "scheduler";
  Violation odd_detail = sample();
  odd_detail.detail = "a detail with in x(): and design=y in it";
  Violation no_detail = sample();
  no_detail.detail = "";
  for (const Violation& v : {sample(), end_of_run, odd_detail, no_detail}) {
    for (const char* design : {"get_only", "folio_pincount,counter_bits=12,no_overflow_check=on"}) {
      auto parsed = parse_violation_line(violation_line(v, design));
      ASSERT_TRUE(parsed) << violation_line(v, design);
      expect_same(parsed->violation, v);
      EXPECT_EQ(parsed->design, design);
    }
  }
}

TEST(ViolationLine, EveryKindRoundTrips) {
  for (int i = 0; i < kNumViolationKinds; ++i) {
    Violation v = sample();
    v.kind = static_cast<ViolationKind>(i);
    auto parsed = parse_violation_line(violation_line(v, "pin_bias"));
    ASSERT_TRUE(parsed) << violation_name(v.kind);
    EXPECT_EQ(parsed->violation.kind, v.kind);
  }
}

TEST(ViolationLine, GarbageIsRejected) {
  for (const char* line : {"", "pinfuzz: VIOLATION", "garbage", "pinfuzz: saved crash-1",
                           "#42\tNEW    cov: 10 ft: 20 corp: 3/30b",
                           "xpinfuzz: VIOLATION deadlock design=d pfn=1 thread=1 step=1 in f(): x",
                           "pinfuzz: VIOLATION deadlock design=d pfn=one thread=1 step=1 in f(): x",
                           "pinfuzz: VIOLATION deadlock design= pfn=1 thread=1 step=1 in f(): x",
                           "pinfuzz: VIOLATION deadlock pfn=1 thread=1 step=1 in f(): x"})
    EXPECT_FALSE(parse_violation_line(line)) << line;
}

TEST(ViolationLine, ALineCutShortIsRejected) {
  const std::string line = violation_line(sample(), "get_only");
  const size_t detail = line.find("(): ") + 4;
  for (size_t n = 0; n < detail; ++n)
    EXPECT_FALSE(parse_violation_line(line.substr(0, n))) << line.substr(0, n);
  EXPECT_TRUE(parse_violation_line(line.substr(0, detail)));  // an empty detail is one
}

TEST(ViolationLine, AnUnknownKindIsRejected) {
  std::string line = violation_line(sample(), "get_only");
  line.replace(line.find("pinned_page_replaced"), 20, "pinned_page_misplaced");
  EXPECT_FALSE(parse_violation_line(line));
}

TEST(Signature, KnownAndSignatureLinesNameTheDesign) {
  const Signature race{ViolationKind::lost_dma_write, "writeback", "", "dma_write"};
  EXPECT_EQ(known_line("get_only", race), "design=get_only lost_dma_write in writeback()");
  EXPECT_EQ(signature_line("get_only", race),
            "design=get_only lost_dma_write in writeback() (lost_dma_write in writeback() vs "
            "dma_write())");
  const Signature alone{ViolationKind::unbalanced_pins, "final_check", "", ""};
  EXPECT_EQ(signature_line("pin_bias", alone), "design=pin_bias unbalanced_pins in final_check()");
}

TEST(Signature, ACauseIsTheBucketWhateverFunctionReportedIt) {
  // One mistake (a COW replaced the pinned page), seen at two places.
  const Signature at_unpin{ViolationKind::pinned_page_replaced, "unpin_user_pages",
                           "replaced_by_cow", "wp_page_copy"};
  const Signature at_write{ViolationKind::pinned_page_replaced, "user_write", "replaced_by_cow",
                           "folio_unlock"};
  EXPECT_TRUE(at_unpin.same_bucket(at_write));
  EXPECT_EQ(at_unpin.key(), "pinned_page_replaced replaced_by_cow");
  EXPECT_EQ(known_line("page_flag", at_write), "design=page_flag pinned_page_replaced replaced_by_cow");
  // The fine-grained signatures stay apart.
  EXPECT_NE(at_unpin.to_string(), at_write.to_string());
  const Signature by_swap{ViolationKind::pinned_page_replaced, "unpin_user_pages",
                          "replaced_by_swap", "wp_page_copy"};
  EXPECT_FALSE(at_unpin.same_bucket(by_swap));
}

TEST(ViolationLine, ACauseRoundTrips) {
  Violation v = sample();
  v.cause = "replaced_by_cow";
  const std::string line = violation_line(v, "get_only");
  EXPECT_NE(line.find(" cause=replaced_by_cow in "), std::string::npos) << line;
  auto p = parse_violation_line(line);
  ASSERT_TRUE(p) << line;
  EXPECT_EQ(p->violation.cause, "replaced_by_cow");
  EXPECT_EQ(p->violation.fn, v.fn);
  EXPECT_EQ(p->violation.detail, v.detail);
}

}  // namespace
}  // namespace pf
