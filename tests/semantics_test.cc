// One test per rule of SEMANTICS.md, run sequentially on real objects,
// asserting exact counts and flags.
#include "tests/test_util.h"

namespace pf {
namespace {

using test::design;
using test::first_violation;
using test::mapped;
using test::world;

// --- 1. Counts -----------------------------------------------------------

TEST(FolioPincount, SmallPagePinAddsBias) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  EXPECT_EQ(w->ref(pfn), 1);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_EQ(w->ref(pfn), 1 + GUP_PIN_COUNTING_BIAS);
  EXPECT_TRUE(folio_maybe_dma_pinned(*w, &t, pfn));
  unpin_user_page(*w, t, 0);
  EXPECT_EQ(w->ref(pfn), 1);
  EXPECT_FALSE(folio_maybe_dma_pinned(*w, &t, pfn));
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(FolioPincount, LargeFolioPinAddsOneRefAndOnePincount) {
  auto w = world("folio_pincount", Backing::kAnon, /*order=*/2);
  Task& t = w->tasks[0];
  Pfn head = mapped(*w, 0);
  EXPECT_EQ(w->ref(head), 4);  // one per mapping PTE
  ASSERT_EQ(pin_user_pages(*w, t, 1, 1, {.write = true}), 1);  // a tail page
  EXPECT_EQ(t.held[0].pfn, head + 1);
  EXPECT_EQ(t.held[0].head, head);
  EXPECT_EQ(w->ref(head), 5);
  EXPECT_EQ(w->page(head).pincount.peek(), 1);
  EXPECT_TRUE(folio_maybe_dma_pinned(*w, &t, head + 1));
  unpin_user_page(*w, t, 0);
  EXPECT_EQ(w->ref(head), 4);
  EXPECT_EQ(w->page(head).pincount.peek(), 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(PinBias, OrderOneCompoundUsesTheBias) {
  // v5.7: hpage_pinned_refcount only for order > 1.
  auto w = world("pin_bias", Backing::kAnon, /*order=*/1);
  Task& t = w->tasks[0];
  Pfn head = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_EQ(w->ref(head), 2 + GUP_PIN_COUNTING_BIAS);
  EXPECT_EQ(w->page(head).pincount.peek(), 0);
  unpin_user_page(*w, t, 0);
  EXPECT_EQ(w->ref(head), 2);
}

TEST(PinBias, ThousandGetsLookPinnedWhichIsAnAllowedFalsePositive) {
  auto w = world("pin_bias", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  for (int i = 0; i < GUP_PIN_COUNTING_BIAS; ++i) ASSERT_TRUE(folio_try_get(*w, &t, pfn));
  EXPECT_TRUE(folio_maybe_dma_pinned(*w, &t, pfn));
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(FolioPincount, ZeroPageIsNeverPinned) {
  auto w = world("folio_pincount", Backing::kZeroPage, 0, /*writable=*/false);
  Task& t = w->tasks[0];
  Pfn z = mapped(*w, 0);
  ASSERT_EQ(z, w->zero_pfn);
  int32_t before = w->ref(z);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_EQ(w->ref(z), before);
  EXPECT_EQ(w->ghost.pins_acquired.load(), 0);
  unpin_user_page(*w, t, 0);
  EXPECT_EQ(w->ref(z), before);
  final_check(*w);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(GetOnly, GupAddsOneReferenceAndPutPageDropsIt) {
  auto w = world("get_only", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_EQ(w->ref(pfn), 2);
  EXPECT_FALSE(folio_maybe_dma_pinned(*w, &t, pfn));  // v4.20 cannot tell
  put_page(*w, t, 0);
  EXPECT_EQ(w->ref(pfn), 1);
}

// mm/gup.c (pre-6.17): only a devmap PTE (fs-dax) makes GUP take the
// pagemap reference, so only there does a teardown that killed the
// reference (memunmap_pages()'s percpu_ref_kill()) refuse a GUP. A
// device-coherent or p2pdma page is a normal page to GUP, and a GUP racing
// the teardown of its memory gets it.
TEST(Gup, OnlyDevmapPagesNeedALivePagemap) {
  struct Case {
    Backing backing;
    bool refused;
  };
  for (Case c : {Case{Backing::kDax, true}, Case{Backing::kDeviceCoherent, false},
                 Case{Backing::kP2pdma, false}}) {
    auto w = world("folio_pincount", c.backing);
    const Pfn pfn = mapped(*w, 0);
    w->pgmaps[static_cast<size_t>(w->page(pfn).pgmap)].ref.kill();
    const int slow = get_user_pages(*w, w->tasks[0], 0, 1, {.p2pdma = true});
    const int fast = get_user_pages_fast(*w, w->tasks[1], 0, 1, {.p2pdma = true});
    EXPECT_EQ(slow < 0, c.refused) << backing_name(c.backing) << ": " << slow;
    EXPECT_EQ(fast <= 0, c.refused) << backing_name(c.backing) << ": " << fast;
  }
}

TEST(Gup, LongtermRequiresPin) {
  auto w = world("folio_pincount", Backing::kAnon);
  EXPECT_EQ(get_user_pages(*w, w->tasks[0], 0, 1, {.longterm = true}), -kEINVAL);
}

TEST(Gup, LongtermWritablePinOfFileMappingIsRefused) {
  auto w = world("folio_pincount", Backing::kFile);
  EXPECT_LT(pin_user_pages(*w, w->tasks[0], 0, 1, {.write = true, .longterm = true}), 0);
  EXPECT_LT(pin_user_pages_fast(*w, w->tasks[0], 0, 1, {.write = true, .longterm = true}), 0);
}

// check_vma_flags(): -EOPNOTSUPP, as the caller (VFIO, RDMA) sees it.
TEST(Gup, LongtermPinOfFsDaxIsRefused) {
  auto w = world("folio_pincount", Backing::kDax);
  EXPECT_EQ(pin_user_pages(*w, w->tasks[0], 0, 1, {.longterm = true}), -kEOPNOTSUPP);
}

TEST(Gup, P2pdmaPagesNeedTheFlag) {
  auto w = world("folio_pincount", Backing::kP2pdma);
  Task& t = w->tasks[0];
  EXPECT_LT(pin_user_pages(*w, t, 0, 1, {}), 0);
  EXPECT_EQ(pin_user_pages(*w, t, 0, 1, {.p2pdma = true}), 1);
  unpin_user_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(Gup, LongtermPinMigratesMovablePageFirst) {
  auto w = world("folio_pincount", Backing::kAnonMovable);
  Task& t = w->tasks[0];
  Pfn old = mapped(*w, 0);
  ASSERT_EQ(w->page(old).zone, Zone::kMovable);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true, .longterm = true}), 1);
  Pfn now = t.held[0].pfn;
  EXPECT_NE(now, old);
  EXPECT_EQ(w->page(now).zone, Zone::kNormal);
  EXPECT_EQ(mapped(*w, 0), now);
  EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(old)].load());
  unpin_user_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(Gup, DevicePrivatePageIsMigratedToRamNotReturned) {
  auto w = world("folio_pincount", Backing::kDevicePrivate);
  Task& t = w->tasks[0];
  Pfn dev = mapped(*w, 0);
  ASSERT_TRUE(w->page(dev).is_device());
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_FALSE(w->page(t.held[0].pfn).is_device());
  EXPECT_EQ(w->ghost.page_free_calls[static_cast<size_t>(dev)].load(), 1);
  put_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(Overflow, TryGrabRefusesOnceTheCountIsNotPositive) {
  // CVE-2019-11487: with a 12-bit counter two pins wrap it negative; the
  // third is refused rather than wrapping further.
  auto w = world("folio_pincount,counter_bits=12", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {}), 1);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_LT(w->ref(pfn), 0);
  EXPECT_EQ(pin_user_pages(*w, t, 0, 1, {}), -kENOMEM);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
  unpin_user_page(*w, t, 0);
  unpin_user_page(*w, t, 1);
  EXPECT_EQ(w->ref(pfn), 3);
}

// --- 2. Release and dirtying --------------------------------------------

TEST(UnpinDirtyLock, MarksCleanPageDirtyAndDataReachesDisk) {
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_TRUE(w->page(pfn).flags.peek() & PG_dirty);  // FOLL_TOUCH
  ASSERT_TRUE(writeback(*w, t, 0));
  EXPECT_FALSE(w->page(pfn).flags.peek() & PG_dirty);
  int64_t v = dma_write(*w, t, 0);
  int slot = 0;
  unpin_user_pages_dirty_lock(*w, t, {&slot, 1}, MakeDirty::kYes);
  EXPECT_TRUE(w->page(pfn).flags.peek() & PG_dirty);
  sync_file(*w, t);
  EXPECT_EQ(w->file.disk[0].peek(), v);
  final_check(*w);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(UnpinDirtyLock, SeeingThePageDirtyAndSkippingIsHarmless) {
  // Kernel comment case 1: the release sees the page dirty, writeback
  // then cleans it and writes the data the device already put there.
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  int64_t v = dma_write(*w, t, 0);
  int slot = 0;
  unpin_user_pages_dirty_lock(*w, t, {&slot, 1}, MakeDirty::kYes);  // already dirty: skipped
  ASSERT_TRUE(writeback(*w, t, 0));
  EXPECT_EQ(w->file.disk[0].peek(), v);
  final_check(*w);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(SetPageDirtyLock, TruncatedPageIsNotDirtiedIntoTheFile) {
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  ASSERT_TRUE(writeback(*w, t, 0));
  truncate_index(*w, t, 0);
  EXPECT_EQ(w->page(pfn).mapping.peek(), kNoMapping);
  int slot = 0;
  unpin_user_pages_dirty_lock(*w, t, {&slot, 1}, MakeDirty::kYes);
  EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(pfn)].load());
  final_check(*w);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// --- 3. Writeback and reclaim ----------------------------------------------

TEST(Reclaim, BacksOffAPinnedFilePageAndKeepsItsBuffers) {
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  ASSERT_TRUE(writeback(*w, t, 0));
  EXPECT_FALSE(reclaim_file(*w, t, 0));
  EXPECT_TRUE(w->page(pfn).flags.peek() & PG_private);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(Reclaim, GetOnlyStripsBuffersUnderADmaUser) {
  auto w = world("get_only", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {.write = true}), 1);
  ASSERT_TRUE(writeback(*w, t, 0));
  EXPECT_FALSE(reclaim_file(*w, t, 0));  // the GUP reference defeats the freeze...
  EXPECT_FALSE(w->page(pfn).flags.peek() & PG_private);  // ...after buffers went
  EXPECT_EQ(w->file.cache[0].peek(), pfn);
}

TEST(Reclaim, FreesACleanUnreferencedFilePage) {
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  EXPECT_TRUE(reclaim_file(*w, t, 0));
  EXPECT_EQ(w->file.cache[0].peek(), kNoPfn);
  EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(pfn)].load());
  EXPECT_EQ(Pte::unpack(w->mm[0].pte(0).peek()).pfn, kNoPfn);
  EXPECT_GT(user_read(*w, t, 0, 0), 0);  // refaults from disk
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(Reclaim, SwapOutBacksOffAPinnedAnonPage) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_FALSE(reclaim_vpn(*w, t, 0));
  EXPECT_EQ(mapped(*w, 0), pfn);
  EXPECT_TRUE(w->page(pfn).flags.peek() & PG_anon_exclusive);
  unpin_user_page(*w, t, 0);
  EXPECT_TRUE(reclaim_vpn(*w, t, 0));
  EXPECT_TRUE(Pte::unpack(w->mm[0].pte(0).peek()).swap);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// 1493a1913e34 (v5.19): a page with a FOLL_GET|FOLL_WRITE reference (an
// O_DIRECT read into anon memory) is unmapped by swap-out but cannot be
// freed; it stays in the swap cache, the swap PTE remembers it was
// exclusive, and the next fault maps the same page exclusive and writable
// again. Before, it came back read-only and shared, the process's next
// write copied it, and the device's data went to a page the process no
// longer mapped.
TEST(Reclaim, SwapCacheKeepsAFollGetPageExclusive) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  const Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_FALSE(reclaim_vpn(*w, t, 0));  // the GUP reference keeps it
  const Pte entry = Pte::unpack(w->mm[0].pte(0).peek());
  ASSERT_TRUE(entry.swap);
  EXPECT_TRUE(entry.exclusive);
  EXPECT_TRUE(w->page(pfn).flags.peek() & PG_swapcache);
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_EQ(mapped(*w, 0), pfn) << "the swap cache's page, reused in place";
  EXPECT_TRUE(w->page(pfn).flags.peek() & PG_anon_exclusive);
  const int64_t dma = dma_write(*w, t, 0);
  EXPECT_EQ(user_read(*w, t, 0, 0), dma) << "the process sees what the device wrote";
  put_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// The same page after fork shared its swap entry: the entry is no longer
// exclusive, so with the GUP reference still there the swap-in maps the
// cached page read-only, and a write copies it (FOLL_GET gives no
// guarantee once fork is involved: 1493a1913e34's commit message).
TEST(Reclaim, SwapEntrySharedByForkComesBackShared) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  const Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_FALSE(reclaim_vpn(*w, t, 0));
  ASSERT_EQ(fork_mm(*w, t), 1);
  const Pte parent = Pte::unpack(w->mm[0].pte(0).peek());
  const Pte child = Pte::unpack(w->mm[1].pte(0).peek());
  ASSERT_TRUE(parent.swap && child.swap);
  EXPECT_FALSE(parent.exclusive || child.exclusive);
  EXPECT_EQ(parent.pfn, child.pfn) << "one slot";
  EXPECT_GT(user_read(*w, t, 0, 0), 0);
  EXPECT_EQ(mapped(*w, 0), pfn);
  EXPECT_FALSE(w->page(pfn).flags.peek() & PG_anon_exclusive);
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_NE(mapped(*w, 0), pfn) << "written through a copy";
  put_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// The FOLL_GET oracle's terms (get_page_replaced, docs/model.md): a FOLL_GET
// of a page that is already shared carries no promise, so when the process's
// write copies the page away from the GUP user nothing is reported; the same
// reference on an exclusive page stays coherent through the write.
TEST(FollGet, OnlyAnExclusivePageStaysTheProcesssPage) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  const Pfn shared = mapped(*w, 0);
  ASSERT_EQ(fork_mm(*w, t), 1);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {}), 1);  // a read GUP does not unshare
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_NE(mapped(*w, 0), shared) << "the write copied the page away from the GUP user";
  EXPECT_FALSE(w->violated()) << first_violation(*w);
  put_page(*w, t, 0);

  const Pfn mine = mapped(*w, 0);  // the copy: exclusive, and no fork since
  ASSERT_TRUE(w->page(mine).flags.peek() & PG_anon_exclusive);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_EQ(mapped(*w, 0), mine) << "an exclusive page is reused, whatever the refcount";
  put_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// A large page-cache folio (folio_expected_refs(): the cache holds one
// reference per page): a store through any page dirties the folio, and
// writeback of any of its indexes writes every page to its own index.
// Reclaim refuses it while a page is pinned and frees it whole once not.
TEST(FileFolio, WritebackWritesEveryPageAndReclaimFreesTheFolioWhole) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    auto w = world(d.c_str(), Backing::kFile, /*order=*/2);
    Task& t = w->tasks[0];
    const Pfn head = mapped(*w, 0);
    EXPECT_EQ(mapped(*w, 3), head + 3) << d;
    EXPECT_EQ(w->file.cache[3].peek(), head + 3) << d;
    EXPECT_EQ(w->ref(head), 4 + 4 + 1) << d;  // PTEs, cache, buffers
    const int64_t v = user_write(*w, t, 0, 2);
    ASSERT_GE(v, 0) << d;
    EXPECT_TRUE(w->page(head).flags.peek() & PG_dirty) << d;
    EXPECT_TRUE(writeback(*w, t, 3)) << d;
    complete_io(*w, &t);
    EXPECT_EQ(w->file.disk[2].peek(), static_cast<uint32_t>(v)) << d;
    EXPECT_EQ(w->file.disk[3].peek(), w->page(head + 3).data.peek()) << d;
    EXPECT_FALSE(writeback(*w, t, 0)) << d;  // clean now
    ASSERT_EQ(pin_user_pages(*w, t, 1, 1, {}), 1);
    EXPECT_FALSE(reclaim_file(*w, t, 2)) << d;
    EXPECT_EQ(w->file.cache[0].peek(), head) << d;
    unpin_user_page(*w, t, 0);
    EXPECT_TRUE(reclaim_file(*w, t, 2)) << d;
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(w->file.cache[static_cast<size_t>(i)].peek(), kNoPfn) << d << " index " << i;
      EXPECT_FALSE(Pte::unpack(w->mm[0].pte(i).peek()).present) << d << " vpn " << i;
    }
    EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(head)].load()) << d;
    final_check(*w);
    EXPECT_FALSE(w->violated()) << d << ": " << first_violation(*w);
  }
}

// mm/truncate.c: truncate_inode_partial_folio(): a hole punched in one page
// of a large page-cache folio zeroes and unmaps that page; the split the
// model never makes fails, so a dirty folio stays whole in the cache and a
// clean one leaves it whole. With a pin on another page of the clean folio,
// that is the large_folio_truncated_whole kernel limitation, not a violation,
// and the pin's release is clean.
TEST(FileFolio, PartialTruncateKeepsADirtyFolioAndDropsACleanOne) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    for (const bool dirty : {true, false}) {
      auto w = world(d.c_str(), Backing::kFile, /*order=*/1);
      Task& t = w->tasks[0];
      const Pfn head = mapped(*w, 0);
      if (dirty) ASSERT_GE(user_write(*w, t, 0, 0), 0);
      ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {}), 1);  // page 0, not the hole
      truncate_index(*w, t, 1);
      EXPECT_FALSE(Pte::unpack(w->mm[0].pte(1).peek()).present) << d;
      EXPECT_EQ(w->page(head + 1).data.peek(), 0u) << d;
      EXPECT_EQ(w->file.disk[1].peek(), 0u) << d;
      if (dirty) {
        EXPECT_EQ(w->file.cache[0].peek(), head) << d;
        EXPECT_EQ(w->file.cache[1].peek(), head + 1) << d;
        EXPECT_EQ(mapped(*w, 0), head) << d;
        EXPECT_FALSE(w->limitations.first()) << d;
      } else {
        EXPECT_EQ(w->file.cache[0].peek(), kNoPfn) << d;
        EXPECT_EQ(w->file.cache[1].peek(), kNoPfn) << d;
        EXPECT_FALSE(Pte::unpack(w->mm[0].pte(0).peek()).present) << d;
        ASSERT_TRUE(w->limitations.first()) << d;
        EXPECT_EQ(w->limitations.first()->kind, ViolationKind::large_folio_truncated_whole) << d;
      }
      unpin_user_page(*w, t, 0);
      final_check(*w);
      EXPECT_FALSE(w->violated()) << d << " dirty=" << dirty << ": " << first_violation(*w);
    }
  }
}

// --- 4. Fork, COW, anon exclusivity ----------------------------------------

TEST(Fork, CopiesAPinnedPageForTheChild) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {.write = true}), 1);
  uint32_t seq = w->mm[0].write_protect_seq.peek();
  ASSERT_EQ(fork_mm(*w, t), 1);
  EXPECT_EQ(w->mm[0].write_protect_seq.peek(), seq + 2);
  EXPECT_EQ(mapped(*w, 0, 0), pfn);
  EXPECT_NE(mapped(*w, 0, 1), pfn);
  EXPECT_TRUE(Pte::unpack(w->mm[0].pte(0).peek()).writable);
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_EQ(mapped(*w, 0, 0), pfn);
  unpin_user_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// mm/memory.c: __wp_can_reuse_large_anon_folio() (v6.15): once only the
// child maps the order-1 folio (the parent dropped both pages), its write
// reuses the page, unless a GUP reference (a get taken before the fork)
// makes the refcount exceed the mapcount: then it copies.
TEST(Fork, LargeFolioPageIsReusedOnlyWhenEveryReferenceIsAMapping) {
  for (const bool get : {false, true}) {
    auto w = world("folio_pincount", Backing::kAnon, /*order=*/1);
    Task& t = w->tasks[0];
    const Pfn head = mapped(*w, 0);
    if (get) ASSERT_EQ(get_user_pages(*w, t, 1, 1, {}), 1);
    ASSERT_EQ(fork_mm(*w, t), 1);
    ASSERT_EQ(madvise_dontneed(*w, t, 0), 0);
    ASSERT_EQ(madvise_dontneed(*w, t, 1), 0);
    EXPECT_GT(user_write(*w, t, 1, 0), 0);
    if (get) {
      EXPECT_NE(mapped(*w, 0, 1), head) << "reused a page a GUP reference still reads";
      put_page(*w, t, 0);
    } else {
      EXPECT_EQ(mapped(*w, 0, 1), head) << "copied a page only this mm maps";
      EXPECT_TRUE(w->page(head).flags.peek() & PG_anon_exclusive);
      EXPECT_FALSE(w->page(head + 1).flags.peek() & PG_anon_exclusive);  // this page only
    }
    EXPECT_FALSE(w->violated()) << first_violation(*w);
  }
}

TEST(Fork, SharesAnUnpinnedPageReadOnlyAndWriteCopies) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(fork_mm(*w, t), 1);
  EXPECT_EQ(mapped(*w, 0, 1), pfn);
  EXPECT_EQ(w->ref(pfn), 2);
  EXPECT_FALSE(w->page(pfn).flags.peek() & PG_anon_exclusive);
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_NE(mapped(*w, 0, 0), pfn);  // COW: the writer got a copy
  EXPECT_EQ(mapped(*w, 0, 1), pfn);
  EXPECT_EQ(w->ref(pfn), 1);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// do_wp_page() -> wp_can_reuse_anon_folio(): a shared anon folio whose
// other mappings are gone is reused when the writer holds the only
// reference. Device-coherent anon pages take the same path (they are not
// on the LRU, which only makes the kernel drain the LRU caches first); only
// device-private pages, never mapped present, cannot get here.
TEST(Fork, WriteReusesAnonPageWhoseOtherMappingWentAway) {
  for (Backing b : {Backing::kAnon, Backing::kDeviceCoherent}) {
    auto w = world("folio_pincount", b);
    Task& t = w->tasks[0];
    const Pfn pfn = mapped(*w, 0);
    ASSERT_EQ(fork_mm(*w, t), 1);
    Task& child = w->tasks[1];
    child.mm = 1;
    munmap_vpn(*w, child, 0);
    EXPECT_FALSE(w->page(pfn).flags.peek() & PG_anon_exclusive) << backing_name(b);
    EXPECT_GT(user_write(*w, t, 0, 0), 0);
    EXPECT_EQ(mapped(*w, 0, 0), pfn) << backing_name(b) << ": reused, not copied";
    EXPECT_TRUE(w->page(pfn).flags.peek() & PG_anon_exclusive) << backing_name(b);
    EXPECT_FALSE(w->violated()) << first_violation(*w);
  }
}

TEST(Unshare, ReadOnlyPinOfASharedAnonPageUnsharesFirst) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn shared = mapped(*w, 0);
  ASSERT_EQ(fork_mm(*w, t), 1);
  ASSERT_EQ(pin_user_pages(*w, t, 0, 1, {}), 1);
  Pfn pinned = t.held[0].pfn;
  EXPECT_NE(pinned, shared);
  EXPECT_EQ(mapped(*w, 0, 0), pinned);
  EXPECT_TRUE(w->page(pinned).flags.peek() & PG_anon_exclusive);
  EXPECT_GT(user_write(*w, t, 0, 0), 0);
  EXPECT_EQ(mapped(*w, 0, 0), pinned);  // the pin keeps seeing what the process writes
  unpin_user_page(*w, t, 0);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(GupFast, PinsAnExclusivePageAndSetsHasPinned) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  ASSERT_EQ(pin_user_pages_fast(*w, t, 0, 1, {.write = true}), 1);
  EXPECT_TRUE(w->mm[0].flags.peek() & MMF_HAS_PINNED);
  EXPECT_EQ(w->ref(mapped(*w, 0)), 1 + GUP_PIN_COUNTING_BIAS);
  unpin_user_page(*w, t, 0);
}

// --- 5. Migration ------------------------------------------------------------

TEST(Migrate, FailsWithAnExtraReferenceAndMovesAnUnreferencedPage) {
  auto w = world("folio_pincount", Backing::kAnon);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  ASSERT_EQ(get_user_pages(*w, t, 0, 1, {}), 1);
  EXPECT_EQ(migrate_vpn(*w, t, 0), -kEAGAIN);
  EXPECT_EQ(mapped(*w, 0), pfn);
  put_page(*w, t, 0);
  EXPECT_EQ(migrate_vpn(*w, t, 0), 0);
  EXPECT_NE(mapped(*w, 0), pfn);
  EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(pfn)].load());
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// mm/migrate.c: migrate_pages_batch() moves a large anon folio whole when a
// folio of its order is free: a pin of a tail page keeps it where it is
// (try_to_migrate()'s back-off, then folio_expected_refs()); unpinned, every
// page moves with its data and exclusivity into one new folio and the old
// one is freed. With no folio of that order free it splits first
// (try_split_folio()) and the page's piece moves alone. Every correct design.
TEST(Migrate, MovesALargeFolioWholeOrSplitsItWhenNoneIsFree) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    auto w = world(d.c_str(), Backing::kAnon, /*order=*/kCollapseOrder);
    Task& t = w->tasks[0];
    const Pfn head = mapped(*w, 0);
    const uint32_t data1 = w->page(head + 1).data.peek();
    ASSERT_EQ(pin_user_pages(*w, t, 1, 1, {.write = true}), 1);
    EXPECT_EQ(migrate_vpn(*w, t, 0), -kEAGAIN) << d;
    EXPECT_EQ(mapped(*w, 0), head) << d;
    EXPECT_EQ(mapped(*w, 1), head + 1) << d;
    unpin_user_page(*w, t, 0);
    ASSERT_EQ(migrate_vpn(*w, t, 1), 0) << d;
    const Pfn moved = mapped(*w, 0);
    EXPECT_NE(moved, head) << d;
    EXPECT_EQ(mapped(*w, 1), moved + 1) << d;
    EXPECT_EQ(w->page(moved).order(), kCollapseOrder) << d;
    EXPECT_EQ(w->ref(moved), 2) << d;
    EXPECT_EQ(w->page(moved + 1).data.peek(), data1) << d;
    EXPECT_TRUE(w->page(moved + 1).flags.peek() & PG_anon_exclusive) << d;
    EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(head)].load()) << d;
    // Empty the pool: the next migration splits.
    while (w->alloc_folio() != kNoPfn) {
    }
    ASSERT_EQ(migrate_vpn(*w, t, 1), 0) << d;
    EXPECT_EQ(w->page(moved).order(), 0) << d;
    EXPECT_EQ(mapped(*w, 0), moved) << d;  // the other piece stays
    EXPECT_EQ(w->page(mapped(*w, 1)).order(), 0) << d;
    EXPECT_EQ(w->page(mapped(*w, 1)).data.peek(), data1) << d;
    EXPECT_NE(mapped(*w, 1), moved + 1) << d;
    final_check(*w);
    EXPECT_FALSE(w->violated()) << d << ": " << first_violation(*w);
  }
}

// mm/huge_memory.c: can_split_folio() refuses a folio with a reference
// beyond its mappings (a pin of a tail page, a GUP get), leaving it whole;
// once they are gone the split makes every page an order-0 folio holding
// its own mapping's reference, and a page munmap()ed before (the deferred
// split case) is freed. Under every correct design.
TEST(Split, RefusesAReferencedFolioAndMakesOrderZeroPieces) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    for (const bool pin : {true, false}) {
      auto w = world(d.c_str(), Backing::kAnon, /*order=*/2);
      Task& t = w->tasks[0];
      const Pfn head = mapped(*w, 0);
      ASSERT_EQ(pin ? pin_user_pages(*w, t, 2, 1, {.write = true})
                    : get_user_pages(*w, t, 2, 1, {}),
                1);
      EXPECT_EQ(split_folio_vpn(*w, t, 0), -kEAGAIN) << d;
      EXPECT_EQ(w->page(head + 2).head(), head) << d;
      EXPECT_EQ(w->page(head).order(), 2) << d;
      if (pin) unpin_user_page(*w, t, 0);
      else put_page(*w, t, 0);
      munmap_vpn(*w, t, 3);
      const int32_t whole = w->ref(head);
      EXPECT_EQ(whole, 3) << d;  // three PTEs left
      EXPECT_EQ(split_folio_vpn(*w, t, 1), 0) << d;
      for (int i = 0; i < 4; ++i) {
        const Pfn p = static_cast<Pfn>(head + i);
        EXPECT_EQ(w->page(p).head(), p) << d << " page " << i;
        EXPECT_EQ(w->page(p).order(), 0) << d << " page " << i;
        if (i < 3) {
          EXPECT_EQ(mapped(*w, i), p) << d << " page " << i;  // the PTE came back
          EXPECT_EQ(w->ref(p), 1) << d << " page " << i;
          EXPECT_FALSE(w->ghost.freed[static_cast<size_t>(p)].load()) << d;
        } else {
          EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(p)].load()) << d;  // unmapped piece
        }
      }
      EXPECT_FALSE(w->page(head).flags.peek() & (PG_head | PG_locked)) << d;
      // The pieces are order-0 folios: a pin of one uses the small-folio rule.
      ASSERT_EQ(pin_user_pages(*w, t, 1, 1, {.write = true}), 1);
      EXPECT_EQ(t.held[0].head, head + 1) << d;
      EXPECT_TRUE(folio_maybe_dma_pinned(*w, &t, head + 1)) << d;
      EXPECT_EQ(split_folio_vpn(*w, t, 1), -kEINVAL) << d;  // not large any more
      unpin_user_page(*w, t, 0);
      final_check(*w);
      EXPECT_FALSE(w->violated()) << d << ": " << first_violation(*w);
    }
  }
}

// mm/khugepaged.c: collapse_huge_page() refuses while a GUP reference holds
// one of the PMD's pages (is_refcount_suitable()), leaving the old pages
// mapped; once it is gone, the PMD maps one new folio of kCollapseOrder with
// the old data, every page AnonExclusive and mapped once, one reference per
// PTE; the old pages are freed. The new folio is a large folio like any: a
// pin of its tail counts on its head, and when it is freed the allocator
// can hand it to the next collapse. Under every correct design.
TEST(Collapse, MakesOneLargeFolioOnlyWhenNoReferenceButTheMappings) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    WorldSpec s;
    s.vpn[2] = VpnSpec{Backing::kAnon, 0, true};
    s.vpn[3] = VpnSpec{Backing::kAnon, 0, true};
    auto w = std::make_unique<World>(design(d.c_str()), s);
    Task& t = w->tasks[0];
    const Pfn old2 = mapped(*w, 2), old3 = mapped(*w, 3);
    const uint32_t data3 = w->page(old3).data.peek();
    ASSERT_EQ(get_user_pages(*w, t, 3, 1, {}), 1);
    EXPECT_EQ(collapse_pmd(*w, t, 2), -kEBUSY) << d;
    EXPECT_EQ(mapped(*w, 2), old2) << d;
    EXPECT_EQ(mapped(*w, 3), old3) << d;
    put_page(*w, t, 0);
    ASSERT_EQ(collapse_pmd(*w, t, 3), 0) << d;
    const Pfn head = mapped(*w, 2);
    EXPECT_NE(head, old2) << d;
    EXPECT_EQ(mapped(*w, 3), head + 1) << d;
    EXPECT_EQ(w->page(head).order(), kCollapseOrder) << d;
    EXPECT_EQ(w->page(head + 1).head(), head) << d;
    EXPECT_EQ(w->ref(head), kVpnPerPmd) << d;
    EXPECT_EQ(w->page(head + 1).data.peek(), data3) << d;
    for (int k = 0; k < kVpnPerPmd; ++k) {
      const Page& p = w->page(static_cast<Pfn>(head + k));
      EXPECT_EQ(p.mapcount.peek(), 1) << d << " page " << k;
      EXPECT_TRUE(p.flags.peek() & PG_anon_exclusive) << d << " page " << k;
    }
    EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(old2)].load()) << d;
    EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(old3)].load()) << d;
    EXPECT_EQ(collapse_pmd(*w, t, 2), -kEINVAL) << d;  // already large
    // A pin of the tail page is the folio's.
    ASSERT_EQ(pin_user_pages(*w, t, 3, 1, {.write = true}), 1);
    EXPECT_EQ(t.held[0].head, head) << d;
    EXPECT_TRUE(folio_maybe_dma_pinned(*w, &t, head)) << d;
    unpin_user_page(*w, t, 0);
    munmap_vpn(*w, t, 2);
    munmap_vpn(*w, t, 3);
    EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(head)].load()) << d;
    EXPECT_EQ(w->alloc_folio(), head) << d;  // back in the pool
    final_check(*w);
    EXPECT_FALSE(w->violated()) << d << ": " << first_violation(*w);
  }
}

// --- 6. ZONE_DEVICE -----------------------------------------------------------

TEST(ZoneDevice, IdleRefcountFollowsTheBase) {
  for (const char* d : {"folio_pincount", "folio_pincount,devmap_base=one"}) {
    auto w = world(d, Backing::kDevicePrivate);
    Pfn pfn = mapped(*w, 0);
    int32_t base = devmap_idle_base(*w);
    EXPECT_EQ(w->ref(pfn), base + 1) << d;
    Task& t = w->tasks[0];
    munmap_vpn(*w, t, 0);
    EXPECT_EQ(w->ref(pfn), base) << d;
    EXPECT_EQ(w->ghost.page_free_calls[static_cast<size_t>(pfn)].load(), 1) << d;
    final_check(*w);
    EXPECT_FALSE(w->violated()) << d << ": " << first_violation(*w);
  }
}

TEST(ZoneDevice, PgmapWordHoldsThePagemap) {
  auto w = world("folio_pincount", Backing::kDax);
  Pfn pfn = mapped(*w, 0);
  EXPECT_EQ(page_pgmap(*w, nullptr, pfn), 0);
  EXPECT_TRUE(get_dev_pagemap(*w, nullptr, pfn));
  put_dev_pagemap(*w, nullptr, pfn);
}

TEST(ZoneDevice, MemunmapWaitsThenTearsDownAndGetDevPagemapFails) {
  auto w = world("folio_pincount", Backing::kDevicePrivate);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  munmap_vpn(*w, t, 0);  // the device page's last reference
  memunmap_pages(*w, t, 0);
  EXPECT_TRUE(w->pgmaps[0].torn_down.peek());
  EXPECT_FALSE(get_dev_pagemap(*w, nullptr, pfn));
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

// --- 8. The kernel's own checks ------------------------------------------------

// mm/filemap.c: folio_unlock(): VM_BUG_ON_FOLIO(!folio_test_locked(folio)).
// A second unlock is reported (a buggy design's lost reference gets there),
// and the run goes on.
TEST(FolioLock, UnlockOfAnUnlockedFolioIsReported) {
  auto w = world("folio_pincount", Backing::kAnon);
  const Pfn pfn = mapped(*w, 0);
  folio_lock(*w, pfn);
  folio_unlock(*w, pfn);
  EXPECT_FALSE(w->violated());
  folio_unlock(*w, pfn);
  ASSERT_TRUE(w->violated());
  EXPECT_EQ(w->violations.first()->kind, ViolationKind::use_after_free);
  EXPECT_EQ(w->violations.first()->cause, "unlock_of_unlocked_folio");
  EXPECT_FALSE(w->page(pfn).flags.peek() & PG_locked);
}

TEST(Vmstat, PinsAcquiredEqualReleasedWhenNoneHeld) {
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  for (int i = 0; i < 3; ++i) ASSERT_EQ(pin_user_pages_fast(*w, t, 0, 1, {}), 1);
  EXPECT_EQ(w->ghost.pins_acquired.load(), 3);
  std::array<int, 3> slots{0, 1, 2};
  unpin_user_pages(*w, t, slots);
  EXPECT_EQ(w->ghost.pins_released.load(), 3);
  final_check(*w);
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

TEST(Truncate, RemovesThePageAndItsData) {
  auto w = world("folio_pincount", Backing::kFile);
  Task& t = w->tasks[0];
  Pfn pfn = mapped(*w, 0);
  truncate_index(*w, t, 0);
  EXPECT_EQ(w->file.cache[0].peek(), kNoPfn);
  EXPECT_EQ(w->file.disk[0].peek(), 0u);
  EXPECT_TRUE(w->ghost.freed[static_cast<size_t>(pfn)].load());
  EXPECT_FALSE(w->violated()) << first_violation(*w);
}

}  // namespace
}  // namespace pf
