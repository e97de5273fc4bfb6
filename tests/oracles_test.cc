// Every oracle kind, provoked by a sequential op sequence under a design
// that has the flaw, and the same sequence clean under the correct designs.
// The sequences are the self-check catalog (fuzz/harness/catalog.cc); this
// test checks that together they cover every violation kind.
#include <atomic>
#include <set>
#include <thread>

#include "fuzz/harness/catalog.h"
#include "fuzz/harness/program.h"
#include "tests/test_util.h"

namespace pf {
namespace {

class CatalogEntryTest : public ::testing::TestWithParam<size_t> {};

TEST_P(CatalogEntryTest, FlawRaisesItsViolationAndCorrectDesignsStayClean) {
  const CatalogEntry& e = catalog()[GetParam()];
  Outcome bug = run_catalog_entry(test::design(e.buggy_design.c_str()), e);
  EXPECT_TRUE(bug.saw(e.expected))
      << e.name << " under " << e.buggy_design << ": expected " << violation_name(e.expected)
      << ", got " << (bug.violation ? bug.violation->to_string() : "clean");
  if (!e.clean_under_correct) return;
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    Outcome ok = run_catalog_entry(test::design(d.c_str()), e);
    EXPECT_FALSE(ok.violation) << e.name << " under " << d << ": "
                               << ok.violation->to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Catalog, CatalogEntryTest,
                         ::testing::Range<size_t>(0, catalog().size()),
                         [](const auto& info) { return catalog()[info.param].name; });

TEST(Oracles, CatalogCoversEveryViolationKindButHang) {
  std::set<ViolationKind> covered;
  for (const auto& e : catalog()) covered.insert(e.expected);
  for (int k = 0; k < kNumViolationKinds; ++k) {
    auto kind = static_cast<ViolationKind>(k);
    if (kind == ViolationKind::hang) continue;  // HangWhenStepBudgetRunsOut
    if (is_kernel_limitation(kind)) continue;    // limitations_test.cc
    EXPECT_TRUE(covered.count(kind)) << violation_name(kind) << " has no catalog entry";
  }
}

TEST(Oracles, HangWhenStepBudgetRunsOut) {
  const CatalogEntry& e = catalog()[0];
  Outcome o = run_sequential(test::design("folio_pincount"), e.program, {.step_budget = 10});
  EXPECT_TRUE(o.saw(ViolationKind::hang));
  Outcome full = run_sequential(test::design("folio_pincount"), e.program);
  EXPECT_FALSE(full.violation);
  EXPECT_GT(full.steps, 10u);
}

TEST(Oracles, PageBitLosesAPinToAnUnrelatedPutPage) {
  // The seed's argument, step by step: two users, one pins, the other's
  // put_page() clears the only bit there is.
  auto w = test::world("page_flag", Backing::kAnon);
  Task& pinner = w->tasks[0];
  Task& other = w->tasks[1];
  Pfn pfn = test::mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, pinner, 0, 1, {.write = true}), 1);
  ASSERT_EQ(get_user_pages(*w, other, 0, 1, {}), 1);
  put_page(*w, other, 0);
  EXPECT_FALSE(folio_maybe_dma_pinned(*w, &pinner, pfn));
  EXPECT_TRUE(w->violations.saw(ViolationKind::pin_count_mismatch));
}

TEST(Oracles, LruCountPinOnDevicePageCorruptsPgmap) {
  auto w = test::world("lru_count", Backing::kDax);
  Task& t = w->tasks[0];
  Pfn pfn = test::mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_NE(w->page(pfn).lru[0].peek(), kPgmapTag | 0u);  // the real storage changed
  EXPECT_EQ(page_pgmap(*w, &t, pfn), -1);
  EXPECT_TRUE(w->violations.saw(ViolationKind::pgmap_corrupted));
}

// memunmap_pages() against a thread that frees the last device page: the
// correct design waits for it; memunmap_no_wait tears down first. Real
// threads; the freeing thread starts only once the pagemap is being killed.
Outcome memunmap_race(const char* d) {
  auto w = test::world(d, Backing::kDevicePrivate);
  std::thread teardown([&] { memunmap_pages(*w, w->tasks[0], 0); });
  std::thread unmap([&] {
    while (!w->pgmaps[0].ref.is_dead()) std::this_thread::yield();
    if (!w->design.memunmap_no_wait) munmap_vpn(*w, w->tasks[1], 0);
    else {
      while (!w->pgmaps[0].torn_down.peek()) std::this_thread::yield();
      munmap_vpn(*w, w->tasks[1], 0);
    }
  });
  teardown.join();
  unmap.join();
  Outcome o;
  o.violation = w->violations.first();
  o.kinds = w->violations.kinds_seen();
  return o;
}

TEST(Oracles, MemunmapWaitsForDevicePagesUnlessTheKnobSaysNot) {
  EXPECT_FALSE(memunmap_race("folio_pincount").violation);
  Outcome bad = memunmap_race("folio_pincount,memunmap_no_wait");
  EXPECT_TRUE(bad.saw(ViolationKind::pgmap_teardown_busy));
  EXPECT_TRUE(bad.saw(ViolationKind::use_after_free));
}

}  // namespace
}  // namespace pf
