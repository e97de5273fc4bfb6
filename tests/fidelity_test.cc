// Where the model used to be kinder than the kernel (issue 15): each test is
// a scenario with an input schedule that puts the race exactly where the
// kernel has it, and checks both that the race happened (in the trace) and
// what the kernel does about it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"
#include "model/violation.h"
#include "model/world.h"
#include "tests/test_util.h"

namespace pf {
namespace {

RunResult run_traced(const char* text, const char* design) {
  TextParse p = parse_text(text, "test");
  EXPECT_TRUE(p.scenario) << p.error;
  Runner runner;
  RunOptions opts;
  opts.recording = sched::Recording::kFullTrace;
  return runner.run(p.scenario.value_or(Scenario{}), test::design(design), opts);
}

// The index of the first (or last) step of `thread` in model function `fn`;
// -1 if there is none.
int64_t first_step(const RunResult& r, int thread, std::string_view fn) {
  for (const auto& s : r.trace)
    if (s.thread == thread && fn == s.fn) return static_cast<int64_t>(s.index);
  return -1;
}
int64_t last_step(const RunResult& r, int thread, std::string_view fn) {
  int64_t last = -1;
  for (const auto& s : r.trace)
    if (s.thread == thread && fn == s.fn) last = static_cast<int64_t>(s.index);
  return last;
}

// --- fork's copy of a maybe-pinned page (mm/memory.c, 6.x) --------------------
//
// Thread 1 pins the page, so fork must copy it for the child. The copy needs
// a preallocated folio: copy_present_page() returns -EAGAIN, copy_pte_range()
// drops the PTLs, allocates, and goes `again`. In that window thread 1 unpins
// and reclaim swaps the page out and frees it. The kernel re-reads the PTE,
// finds a swap entry and duplicates it; the model used to drop the PTL and copy
// from the page after it was freed (found by `pinfuzz run --strategy=pct`,
// then minimized).
constexpr const char* kForkCopyVsSwapOut = R"(pinfuzz-scenario 3
free_pages 1
vpn 0 anon
thread 0
  fork
thread 1
  pin 0 1
  unpin 0
  reclaim_anon 0
schedule input 0:1 11:0 1:0 9:1
)";

TEST(Fidelity, ForkRereadsThePteAfterPreallocatingItsCopy) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run_traced(kForkCopyVsSwapOut, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    // The race happened: the page was freed (by thread 1's reclaim) after
    // fork first read the PTE and before it read it again.
    const int64_t first_read = first_step(r, 0, "copy_present_pte");
    const int64_t freed = first_step(r, 1, "folio_free");
    const int64_t reread = last_step(r, 0, "copy_present_pte");
    ASSERT_GE(first_read, 0) << d;
    ASSERT_GE(freed, 0) << d << ": the reclaim did not free the page";
    EXPECT_LT(first_read, freed) << d;
    EXPECT_LT(freed, reread) << d << ": fork did not re-read the PTE after the free";
  }
}

// --- FOLL_LONGTERM's migration keeps a reference (mm/gup.c, 6.x) --------------
//
// A LONGTERM pin of a device-coherent page must migrate it first. The
// kernel turns the pin into a plain reference before it drops the pins
// (migrate_longterm_unpinnable_folios(): folio_get(), then gup_put_folio()),
// so the page cannot be freed before migration has it. The model used to
// drop the pins and then look the page up again through its PTE: a munmap in
// between (thread 1, after step 16) freed the device page under it, the
// window the old devmap_base_one regression went through.
constexpr const char* kLongtermPinVsMunmap = R"(pinfuzz-scenario 3
free_pages 0
vpn 2 device_coherent
thread 0
  pin 2 1 longterm
thread 1
  munmap 2
schedule input 16:1
)";

TEST(Fidelity, LongtermMigrationHoldsTheFolioAcrossTheUnpin) {
  for (const char* d : {"folio_pincount", "folio_pincount,devmap_base=one", "pin_bias"}) {
    RunResult r = run_traced(kLongtermPinVsMunmap, d);
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    // The race happened: the munmap zapped the page after the pin was
    // dropped and before migration looked at the PTE again.
    const int64_t unpinned = first_step(r, 0, "folio_put_refs");
    const int64_t zapped = first_step(r, 1, "zap_one");
    const int64_t migrate = first_step(r, 0, "migrate_folio_at");
    ASSERT_GE(unpinned, 0) << d;
    ASSERT_GE(zapped, 0) << d;
    EXPECT_LT(unpinned, zapped) << d;
    EXPECT_LT(zapped, migrate) << d;
    // ... and the page was freed by the GUP's own reference, not the zap.
    EXPECT_EQ(first_step(r, 1, "free_zone_device_folio"), -1) << d;
    EXPECT_GT(first_step(r, 0, "free_zone_device_folio"), migrate) << d;
  }
}

// --- A swap-in that skips the swap cache holds the entry (13ddaf26be32) ------
//
// Found by a 10-minute campaign as a false positive of the correct designs
// (get_page_replaced under folio_pincount and pin_bias), minimized: T0's
// swap-in reads swap entry slot 0 with no folio cached and starts reading
// the slot into a private page; meanwhile T1 swaps the page in, takes a
// FOLL_GET reference, and swaps it out again into the same slot, so the
// new swap PTE is bit-identical to the one T0 read. pte_same() passes and
// T0 would map its stale private copy over the GUP user's page. The kernel
// marks the entry (swapcache_prepare()) for the whole private swap-in, so
// T1 waits ("It's undetectable as pte_same() returns true due to entry
// reuse").
constexpr const char* kSwapInVsSwapInAndReuse = R"(pinfuzz-scenario 3
free_pages 1
vpn 0 anon
vpn 1 anon_movable order=1
thread 0
  user_read 0 0
thread 1
  user_read 0 1
  gup 0 4
  reclaim_anon 0
thread 2
  reclaim_anon 0
schedule input 0:1 0:2 2:1 4:2 17:0 32:1 20:0 22:0 28:0
)";

TEST(Fidelity, PrivateSwapInHoldsTheEntryAgainstReuse) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run_traced(kSwapInVsSwapInAndReuse, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    // The race happened: T1's swap-in found the entry held by T0's and
    // looked at the slot's cache word (only the waiting path reads it).
    bool waited = false;
    for (size_t i = 0; i < r.trace.size(); ++i)
      waited |= r.trace[i].thread == 1 && std::string_view(r.trace[i].fn) == "do_swap_page" &&
                r.objects[i] == "swap slot 0 cache";
    EXPECT_TRUE(waited) << d << ": T1 did not meet T0's swap-in";
  }
}

// --- a store through a stale TLB entry (the TLB model, model/memory.cc) ---------
//
// Thread 0 writes the page (its walk fills its TLB), then writes it again.
// Thread 1 runs mprotect(PROT_READ) to just after the PTE's write-protect,
// before the flush_tlb_range(): thread 0's second store goes through its
// stale writable entry into the page, with no walk and no mmap_lock (which
// mprotect holds for write). After the flush, the third store walks, finds
// no VM_WRITE and fails.
constexpr const char* kStoreVsWriteProtect = R"(pinfuzz-scenario 3
vpn 0 anon
thread 0
  user_write 0 0
  user_write 0 0
  user_write 0 0
thread 1
  mprotect 0
schedule input 8:1 4:0 1:1
)";

TEST(Fidelity, StaleTlbStoreLandsUntilTheFlush) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run_traced(kStoreVsWriteProtect, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    const int64_t protect = first_step(r, 1, "mprotect_vpn");
    const int64_t done = last_step(r, 1, "mprotect_vpn");
    // The store through the TLB: one step, the page's data, inside
    // mprotect's critical section.
    int64_t stale = -1;
    for (size_t i = 0; i < r.trace.size(); ++i)
      if (r.trace[i].thread == 0 && std::string_view(r.trace[i].fn) == "tlb_access" &&
          r.objects[i] == "page 0 data")
        stale = static_cast<int64_t>(r.trace[i].index);
    ASSERT_GE(protect, 0) << d;
    EXPECT_GT(stale, protect) << d << ": no store through the stale entry";
    EXPECT_LT(stale, done) << d << ": the stale store came after the flush";
  }
}

// --- UFFDIO_CONTINUE's dirty read-only PTE (mm/userfaultfd.c) ------------------
//
// After MADV_DONTNEED empties the PTE, uffd_continue maps the page cache's
// page read-only but dirty in a private mapping (mfill_atomic_install_pte()).
// A FOLL_FORCE write must not take the dirty bit for a finished COW: it
// faults and copies (do_wp_page()), under today's rule and under the
// FOLL_COW rule alike, since nothing has set FOLL_COW yet. Only the race of
// the foll_cow row defeats the old rule.
constexpr const char* kPokeAfterUffdContinue = R"(pinfuzz-scenario 3
vpn 0 file_private prot=r
thread 0
  madvise_dontneed 0
  uffd_continue 0
  poke 0 0
  user_read 0 0
schedule input
)";

TEST(Fidelity, ForceWriteAfterUffdContinueCopies) {
  std::vector<std::string> designs = design_names(DesignSet::kCorrect);
  designs.push_back("folio_pincount,foll_cow=on");
  for (const std::string& d : designs) {
    RunResult r = run_traced(kPokeAfterUffdContinue, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    const int64_t mapped = first_step(r, 0, "uffd_continue");
    const int64_t copied = first_step(r, 0, "wp_page_copy");
    ASSERT_GE(mapped, 0) << d;
    EXPECT_GT(copied, mapped) << d << ": the poke wrote without copying the page cache's page";
    // What the poke's lookup found was the dirty read-only PTE.
    bool dirty_ro_seen = false;
    for (size_t i = 0; i < r.trace.size(); ++i)
      if (static_cast<int64_t>(r.trace[i].index) > mapped &&
          static_cast<int64_t>(r.trace[i].index) < copied &&
          r.objects[i].find("pte[0]") != std::string::npos && r.trace[i].has_value) {
        const Pte pte = Pte::unpack(static_cast<uint64_t>(r.trace[i].after));
        dirty_ro_seen |= pte.present && pte.dirty && !pte.writable;
      }
    EXPECT_TRUE(dirty_ro_seen) << d << ": uffd_continue did not map a dirty read-only PTE";
  }
}

// --- GUP-fast of a tail page against a split (c24d37322548) -------------------
//
// After GUP-fast's page_folio() of vpn 1's page (a tail of the order-2 folio)
// the whole split runs; the increment then lands on the old head, now a
// small folio, and remap_page() put back the same PTE, so only
// try_get_folio()'s re-check of page_folio() sees it. Every correct design
// drops that reference and retries; without the re-check the page is
// returned with its pin on another folio (which shows the race happened).
constexpr const char* kGupFastVsSplit = R"(pinfuzz-scenario 8
vpn 0 anon order=2
thread 0
  pin_fast 1 1
  unpin 0
thread 1
  split 0
schedule input 5:1
)";

TEST(Fidelity, GupFastRechecksTheFolioAfterASplit) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run_traced(kGupFastVsSplit, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    EXPECT_GT(first_step(r, 0, "folio_try_get"), last_step(r, 1, "split_folio")) << d;
  }
  RunResult bad = run_traced(kGupFastVsSplit, "folio_pincount,no_grab_folio_recheck=on");
  ASSERT_TRUE(bad.violation);
  EXPECT_EQ(bad.violation->kind, ViolationKind::pin_count_mismatch);
  EXPECT_EQ(bad.violation->cause, "pin_on_split_folio");
}

}  // namespace
}  // namespace pf
