#include <gtest/gtest.h>

#include "model/design.h"

namespace pf {
namespace {

TEST(Design, DefaultIsFolioPincountAndCorrect) {
  auto r = parse_design("folio_pincount");
  ASSERT_TRUE(r.design);
  EXPECT_EQ(*r.design, Design{});
  EXPECT_TRUE(r.design->is_correct());
  EXPECT_EQ(r.design->name(), "folio_pincount");
}

TEST(Design, UnknownDesignNamesTheValidOnes) {
  auto r = parse_design("pin_count");
  EXPECT_FALSE(r.design);
  EXPECT_NE(r.error.find("unknown design 'pin_count'"), std::string::npos);
  for (const std::string& n : design_names(DesignSet::kAll))
    EXPECT_NE(r.error.find(n), std::string::npos) << r.error;
}

TEST(Design, UnknownKnobNamesTheValidOnes) {
  auto r = parse_design("folio_pincount,no_such_knob=on");
  EXPECT_FALSE(r.design);
  EXPECT_NE(r.error.find("unknown knob 'no_such_knob'"), std::string::npos);
  EXPECT_NE(r.error.find("no_gup_fast_recheck"), std::string::npos) << r.error;
}

TEST(Design, BadKnobValuesAreRejectedWithTheAllowedRange) {
  EXPECT_NE(parse_design("pin_bias,counter_bits=40").error.find("12..32"), std::string::npos);
  EXPECT_NE(parse_design("pin_bias,writeback=later").error.find("ignore|skip|bounce|wait"),
            std::string::npos);
  EXPECT_NE(parse_design("pin_bias,migrate_pinned=maybe").error.find("on|off"), std::string::npos);
}

TEST(Design, NegatedFormOfAMistakeKnobIsAccepted) {
  auto a = parse_design("folio_pincount,gup_fast_recheck=off");
  auto b = parse_design("folio_pincount,no_gup_fast_recheck=on");
  auto c = parse_design("folio_pincount,no_gup_fast_recheck");
  ASSERT_TRUE(a.design && b.design && c.design) << a.error << b.error << c.error;
  EXPECT_EQ(*a.design, *b.design);
  EXPECT_EQ(*b.design, *c.design);
  EXPECT_TRUE(a.design->no_gup_fast_recheck);
  EXPECT_FALSE(a.design->is_correct());
}

TEST(Design, CanonicalNameRoundTrips) {
  for (const char* text : {"get_only", "pin_bias,counter_bits=12,no_overflow_check=on",
                           "folio_pincount,writeback=bounce,devmap_base=one",
                           "lru_count,migrate_pinned=on,memunmap_no_wait=on"}) {
    auto r = parse_design(text);
    ASSERT_TRUE(r.design) << r.error;
    EXPECT_EQ(r.design->name(), text);
    EXPECT_EQ(*parse_design(r.design->name()).design, *r.design);
  }
}

TEST(Design, PolicyAndBaseChoicesKeepACorrectDesignCorrect) {
  EXPECT_TRUE(parse_design("pin_bias,writeback=bounce").design->is_correct());
  EXPECT_FALSE(parse_design("pin_bias,devmap_base=one").design->is_correct());
  EXPECT_TRUE(parse_design("folio_pincount,writeback=skip").design->is_correct());
  // wait deadlocks against unpin_user_pages_dirty_lock() (catalog: writeback_wait).
  EXPECT_FALSE(parse_design("folio_pincount,writeback=wait").design->is_correct());
  EXPECT_FALSE(parse_design("get_only").design->is_correct());
  EXPECT_FALSE(parse_design("pin_bias,no_cow_for_dma").design->is_correct());
}

}  // namespace
}  // namespace pf
