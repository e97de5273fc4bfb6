// Known kernel limitations (model/limitations.def): outcomes the real kernel
// has, reported apart from design violations. Each scenario here has an
// input schedule, so the interleaving is exact.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"
#include "model/violation.h"
#include "tests/test_util.h"

namespace pf {
namespace {

// Thread 0 pins a device-coherent page; after 14 steps (the pin taken, the
// release at its exit not yet) thread 1 tears the device down. The driver's
// single migrate_device_range() pass finds the page pinned and leaves it
// mapped, so memunmap_pages() waits for a page nobody will free: the hang
// 249881232e14 describes (nouveau_dmem_evict_chunk(), test_hmm's
// dmirror_device_evict_chunk(): one pass, a skipped page ignored).
constexpr const char* kPinnedAtTeardown = R"(pinfuzz-scenario 8
vpn 0 device_coherent
thread 0
  pin 0 1
thread 1
  memunmap 0
schedule input 14:1
)";

RunResult run(const char* text, const char* design) {
  TextParse p = parse_text(text, "test");
  EXPECT_TRUE(p.scenario) << p.error;
  Runner runner;
  return runner.run(p.scenario.value_or(Scenario{}), test::design(design));
}

TEST(Limitations, EveryRowIsAKindWithAReference) {
  int rows = 0;
  for (int k = 0; k < kNumViolationKinds; ++k) {
    const auto kind = static_cast<ViolationKind>(k);
    if (!is_kernel_limitation(kind)) continue;
    ++rows;
    EXPECT_NE(std::string(limitation_reference(kind)), "") << violation_name(kind);
    EXPECT_NE(std::string(limitation_description(kind)), "") << violation_name(kind);
  }
  EXPECT_GE(rows, 1);
  EXPECT_TRUE(is_kernel_limitation(ViolationKind::teardown_hang));
  EXPECT_FALSE(is_kernel_limitation(ViolationKind::deadlock));
}

// Every correct design meets the hang, and it is not a violation of theirs.
TEST(Limitations, PinnedDevicePageAtTeardownHangsEveryCorrectDesign) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run(kPinnedAtTeardown, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    ASSERT_TRUE(r.limitation) << d;
    EXPECT_EQ(r.limitation->kind, ViolationKind::teardown_hang) << d;
    EXPECT_NE(r.limitation->detail.find("pfn 0 (still mapped)"), std::string::npos)
        << r.limitation->detail;
  }
}

// A write to /proc/pid/mem of a shared file page (thread 0's poke) is a
// FOLL_GET, not a pin: after 29 steps (the page grabbed, not yet written)
// writeback cleans it (thread 2), then reclaim unmaps it, sees no pin and
// releases its buffers (thread 1, whose __remove_mapping() then fails on
// the extra reference). The poke's set_page_dirty_lock() dirties a page
// without buffers: ext4_dirty_folio()'s warning, in every design, because no
// design sees a FOLL_GET. The kernel's own (pin_user_pages.rst, CASE 5).
constexpr const char* kPokeVsReclaim = R"(pinfuzz-scenario 8
vpn 0 file
thread 0
  poke 0 0
thread 1
  reclaim_file 0
thread 2
  writeback 0
schedule input 29:2 23:1
)";

TEST(Limitations, FollGetDirtierMeetsReleasedBuffersUnderEveryDesign) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run(kPokeVsReclaim, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    ASSERT_TRUE(r.limitation) << d;
    EXPECT_EQ(r.limitation->kind, ViolationKind::get_dirty_without_buffers) << d;
  }
  // The same run with a pin-tracking design that cannot tell a pin from a
  // get: the same limitation, not its dirty_without_buffers row.
  RunResult g = run(kPokeVsReclaim, "get_only");
  EXPECT_FALSE(g.violation) << g.violation->to_string();
  ASSERT_TRUE(g.limitation);
  EXPECT_EQ(g.limitation->kind, ViolationKind::get_dirty_without_buffers);
}

// A write to /proc/pid/mem (thread 2's poke, a FOLL_GET that dirties the
// folio only after its copy) lands in page 1 of a large page-cache folio
// that writeback (thread 1) has just cleaned; then thread 1 punches a hole
// at index 3 of the same folio. truncate_inode_partial_folio() cannot split
// it (the poke's reference) and drops the clean folio whole, so the data at
// index 1, which nobody truncated, never reaches the file. The kernel's own
// (mm/truncate.c), under every correct design; found by a campaign.
constexpr const char* kPokeVsHolePunch = R"(pinfuzz-scenario 8
free_pages 0
vpn 0 file order=2
thread 0
  user_write 0 0
thread 1
  writeback 3
  truncate 3
thread 2
  user_write 0 0
  poke 0 1
schedule input 29:1 35:0 46:1
)";

TEST(Limitations, HolePunchDropsACleanLargeFolioAGetUserWrote) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run(kPokeVsHolePunch, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    ASSERT_TRUE(r.limitation) << d;
    EXPECT_EQ(r.limitation->kind, ViolationKind::large_folio_truncated_whole) << d;
    EXPECT_NE(r.limitation->detail.find("index(es) 1 "), std::string::npos)
        << r.limitation->detail;
  }
}

// The teardown policies: devm evicts nothing (hang), retry waits for the
// unpin and evicts again (no hang; kinder than any driver).
TEST(Limitations, TeardownPolicies) {
  RunResult devm = run(kPinnedAtTeardown, "folio_pincount,teardown=devm");
  EXPECT_FALSE(devm.violation);
  ASSERT_TRUE(devm.limitation);
  EXPECT_EQ(devm.limitation->kind, ViolationKind::teardown_hang);
  RunResult retry = run(kPinnedAtTeardown, "folio_pincount,teardown=retry");
  EXPECT_FALSE(retry.violation) << retry.violation->to_string();
  EXPECT_FALSE(retry.limitation) << retry.limitation->to_string();
}

// The memunmap_no_wait row, as the kernel bug was (0dc45ca1ce18): a pinned
// device-coherent page at teardown, and memunmap_pages() tears the pagemap
// down under it instead of waiting.
TEST(Limitations, MemunmapNoWaitTearsDownUnderAPinnedPage) {
  RunResult r = run(kPinnedAtTeardown, "folio_pincount,memunmap_no_wait=on");
  ASSERT_TRUE(r.violation);
  EXPECT_EQ(r.violation->kind, ViolationKind::pgmap_teardown_busy);
  EXPECT_FALSE(r.limitation);
}

// A limitation never hides a design bug in the same run: the teardown hangs,
// and the end-of-run check still finds the unbalanced _pincount that
// small_unpin_pincount leaves on the anon page.
TEST(Limitations, HangDoesNotHideADesignBug) {
  constexpr const char* kBoth = R"(pinfuzz-scenario 8
vpn 0 device_coherent
vpn 1 anon
thread 0
  pin 1 1
  pin 0 1
thread 1
  memunmap 0
schedule input 28:1
)";
  RunResult buggy = run(kBoth, "folio_pincount,small_unpin_pincount=on");
  ASSERT_TRUE(buggy.violation);
  EXPECT_EQ(buggy.violation->kind, ViolationKind::unbalanced_pins);
  ASSERT_TRUE(buggy.limitation);
  EXPECT_EQ(buggy.limitation->kind, ViolationKind::teardown_hang);
  RunResult fixed = run(kBoth, "folio_pincount");
  EXPECT_FALSE(fixed.violation) << fixed.violation->to_string();
  EXPECT_TRUE(fixed.limitation);
}

// teardown_hang_detail() itself: the hang is the kernel's only when every
// reference the pagemap still holds is a page that stays mapped (or is
// held by the stuck thread), and every stuck thread is in the teardown.
TEST(Limitations, OnlyAnExplainedHangIsTheKernels) {
  auto w = test::world("folio_pincount", Backing::kDeviceCoherent);
  const Pfn pfn = test::mapped(*w, 0);
  DevPagemap& pg = w->pgmaps[static_cast<size_t>(w->page(pfn).pgmap)];
  pg.ref.kill();  // memunmap_pages(): the initial reference dropped
  Task& t = w->tasks[0];
  t.teardown = w->page(pfn).pgmap;
  t.memunmap_waiting = true;
  const std::array<bool, 2> stuck{true, false};
  EXPECT_NE(teardown_hang_detail(*w, stuck), "") << "a mapped page keeps the pagemap";
  // Another thread stuck outside any teardown: a design's deadlock.
  const std::array<bool, 2> both{true, true};
  EXPECT_EQ(teardown_hang_detail(*w, both), "");
  // A pagemap reference no page explains (a leaked get_dev_pagemap()).
  pg.ref.get_many(1);
  EXPECT_EQ(teardown_hang_detail(*w, stuck), "");
  pg.ref.put_many(1);
  // The page unmapped, yet not freed: its reference is nobody's.
  w->page(pfn).mapcount.init(0);
  EXPECT_EQ(teardown_hang_detail(*w, stuck), "");
  w->page(pfn).mapcount.init(1);
  // Not in memunmap_pages(): stuck somewhere else in the teardown.
  t.memunmap_waiting = false;
  EXPECT_EQ(teardown_hang_detail(*w, stuck), "");
}

}  // namespace
}  // namespace pf

namespace pf {
namespace {

// A pagemap put more often than taken (a device page freed twice puts it
// twice): lib/percpu-refcount.c WARNs and runs on, so the model reports
// pgmap_corrupted and never aborts (a campaign worker once aborted on
// tests/data/pgmap-underflow.txt, which reached it through GUP-fast's
// pagemap reference on a device-coherent page; GUP takes none for those
// any more, and that scenario now stops at the double free before it).
TEST(Oracles, PagemapUnderflowIsReportedNotAborted) {
  auto w = test::world("folio_pincount", Backing::kDeviceCoherent);
  const Pfn pfn = test::mapped(*w, 0);
  // The initial reference and the page's: two puts leave it at zero, the
  // third underflows.
  for (int i = 0; i < 3; ++i) put_dev_pagemap(*w, &w->tasks[0], pfn);
  auto v = w->violations.first();
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, ViolationKind::pgmap_corrupted);
  EXPECT_NE(v->detail.find("percpu_ref underflow"), std::string::npos) << v->detail;
}

}  // namespace
}  // namespace pf
