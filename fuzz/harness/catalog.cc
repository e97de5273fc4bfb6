#include "fuzz/harness/catalog.h"

#include <cstdlib>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"

namespace pf {
namespace {

// The design of a bug catalog row (bugs.def), by the row's name.
std::string bug_design(std::string_view bug) {
  const BugConfig* b = find_bug(bug);
  if (!b) std::abort();  // a row this table names must exist (tests run the table)
  return std::string(b->design);
}

// The default design (designs.def) with these knobs: most entries plant a
// mistake into whatever design the kernel has today.
std::string with_knobs(std::string_view knobs) {
  std::string d = tracking_name(kDefaultTracking);
  if (!knobs.empty()) d += "," + std::string(knobs);
  return d;
}

Op op(OpKind k, int a = 0, int b = 1, uint8_t flags = 0) {
  return Op{k, static_cast<int8_t>(a), static_cast<int8_t>(b), flags};
}

WorldSpec one(Backing b, uint8_t order = 0) {
  WorldSpec s;
  s.vpn[0] = VpnSpec{b, order, true};
  return s;
}

std::vector<CatalogEntry> build() {
  using K = OpKind;
  std::vector<CatalogEntry> c;
  // The seed's original crash (LWN 753027): writeback cleans the page,
  // reclaim strips its buffers under a DMA user, the release dirties it.
  c.push_back({"writeback_strips_buffers_under_dma", bug_design("get_only"),
               ViolationKind::dirty_without_buffers, "LWN 753027; ext4 cc5095747edf",
               Program{one(Backing::kFile),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::writeback, 0), op(K::reclaim_file, 0),
                         op(K::dma_write, 0), op(K::put_user_pages_dirty_lock, -1, 1, kOpDirty)}}},
               true});
  // "A random put_page could affect your dma-pinned pages" (John Hubbard).
  c.push_back({"random_put_page_clears_pin_bit", bug_design("page_flag"), ViolationKind::pin_count_mismatch,
               "seed thread, Dec 2018",
               Program{one(Backing::kAnon),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::user_read, 0, 0),
                         op(K::unpin_dirty, -1, 1, kOpDirty)},
                        {op(K::gup, 0, 1), op(K::put_page, -1)}}},
               true});
  // The seed's objection to the RFC: lru holds pgmap on ZONE_DEVICE pages.
  c.push_back({"lru_count_corrupts_pgmap", bug_design("lru_count"), ViolationKind::pgmap_corrupted,
               "seed thread (Dan Williams / John Hubbard)",
               Program{one(Backing::kDax),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::unpin, -1),
                         op(K::gup, 0, 1), op(K::put_page, -1)}}},
               true});
  c.push_back({"fork_shares_pinned_page", with_knobs("no_cow_for_dma"),
               ViolationKind::pinned_page_replaced, "70e806e4e645 (v5.9)",
               Program{one(Backing::kAnon),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::fork), op(K::user_write, 0, 0),
                         op(K::dma_write, 0), op(K::unpin_dirty, -1, 1, kOpDirty)}}},
               true});
  // 1493a1913e34: an O_DIRECT read (FOLL_GET|FOLL_WRITE) into anon memory
  // racing swap-out; the process writes, and then the device.
  c.push_back({"swap_in_copies_get_page", with_knobs("no_swp_exclusive"),
               ViolationKind::get_page_replaced, "1493a1913e34 (v5.19)",
               Program{one(Backing::kAnon),
                       {{op(K::gup, 0, 1, kOpWrite), op(K::reclaim_anon, 0), op(K::user_write, 0, 0),
                         op(K::dma_write, 0), op(K::user_read, 0, 0), op(K::put_page, -1)}}},
               true});
  c.push_back({"child_reads_parents_pinned_page", with_knobs("no_cow_for_dma"),
               ViolationKind::cow_leak, "CVE-2020-29374 (leak direction), cow.c",
               Program{one(Backing::kAnon),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::fork), op(K::dma_write, 0),
                         op(K::user_read, 1, 0), op(K::unpin, -1)}}},
               true});
  {
    CatalogEntry e{"refcount_wraps_without_check", with_knobs("counter_bits=12,no_overflow_check"),
                   ViolationKind::refcount_overflow, "CVE-2019-11487, 8fde12ca79af",
                   Program{one(Backing::kFile),
                           {{op(K::pin, 0, 1), op(K::pin, 0, 1), op(K::pin, 0, 1), op(K::unpin, -1)}}},
                   true};
    c.push_back(e);
  }
  c.push_back({"large_folio_unpinned_with_bias", with_knobs("large_unpin_bias"),
               ViolationKind::refcount_underflow, "mm/gup.c: gup_put_folio()",
               Program{one(Backing::kAnon, 2), {{op(K::pin, 1, 1, kOpWrite), op(K::unpin, -1)}}},
               true});
  c.push_back({"large_folio_pincount_left_behind", with_knobs("large_unpin_bias"),
               ViolationKind::unbalanced_pins, "mm/gup.c: gup_put_folio()",
               Program{one(Backing::kAnon, 2), {{op(K::pin, 1, 1, kOpWrite), op(K::unpin, -1)}}},
               true});
  c.push_back({"migration_moves_pinned_file_page", with_knobs("migrate_pinned"),
               ViolationKind::lost_dma_write, "mm/migrate.c: folio_expected_refs()",
               Program{one(Backing::kFile),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::migrate, 0), op(K::dma_write, 0),
                         op(K::unpin_dirty, -1, 1, kOpDirty)}}},
               true});
  c.push_back({"migration_moves_pinned_anon_page", with_knobs("migrate_pinned"),
               ViolationKind::pinned_page_replaced, "mm/migrate.c: folio_expected_refs()",
               Program{one(Backing::kAnon),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::migrate, 0), op(K::dma_write, 0),
                         op(K::unpin_dirty, -1, 1, kOpDirty)}}},
               true});
  c.push_back({"devmap_base_mixed_frees_mapped_page", with_knobs("devmap_mixed_base"),
               ViolationKind::page_free_count, "27674ef6c73f (v5.18)",
               Program{one(Backing::kDeviceCoherent),
                       {{op(K::gup, 0, 1), op(K::put_page, -1), op(K::munmap, 0)}}},
               true});
  c.push_back({"devmap_base_mixed_never_frees", with_knobs("devmap_base=one,devmap_mixed_base"),
               ViolationKind::page_free_count, "27674ef6c73f (v5.18)",
               Program{one(Backing::kDevicePrivate), {{op(K::munmap, 0)}}},
               true});
  // The kernel bug (0dc45ca1ce18): a device-coherent page pinned when the
  // driver tears its memory down. The driver's one migrate_device_range()
  // pass skips the pinned page, which stays mapped; memunmap_pages() must
  // wait for it (forever, unless it is unmapped: the teardown_hang
  // limitation), and without the wait tears the pagemap down under it.
  c.push_back({"memunmap_returns_while_busy", with_knobs("memunmap_no_wait"),
               ViolationKind::pgmap_teardown_busy, "0dc45ca1ce18 (fixes 27674ef6c73f)",
               Program{one(Backing::kDeviceCoherent),
                       {{op(K::pin, 0, 1), op(K::unpin, -1), op(K::munmap, 0)},
                        {op(K::memunmap, 0)}}},
               false});  // the correct design waits: sequentially, that is a deadlock
  c.push_back({"device_page_freed_after_teardown", with_knobs("memunmap_no_wait"),
               ViolationKind::use_after_free, "0dc45ca1ce18 (fixes 27674ef6c73f)",
               Program{one(Backing::kDeviceCoherent),
                       {{op(K::pin, 0, 1), op(K::unpin, -1), op(K::munmap, 0)},
                        {op(K::memunmap, 0)}}},
               false});
  c.push_back({"unpin_of_a_plain_get", with_knobs(""), ViolationKind::api_misuse,
               "mm/gup.c: unpin_user_page() contract",
               Program{one(Backing::kAnon), {{op(K::gup, 0, 1), op(K::unpin, 0)}}},
               false});  // the caller's mistake: designs that can tell report it
  // CVE-2020-29374, the vmsplice form, under the rule before 09854ba94c6a
  // (v5.9; 17839856fd58 had first worked around it in GUP): the process
  // splices a page into a pipe (a read-only FOLL_GET), forks, and drops its
  // own mapping; the child's write fault sees mapcount 1 and reuses the page,
  // so the pipe's reader gets what the child wrote after the fork.
  c.push_back({"vmsplice_reads_childs_write", bug_design("cow_reuse_by_mapcount"),
               ViolationKind::cow_leak, "CVE-2020-29374 (vmsplice), 09854ba94c6a (v5.9)",
               Program{one(Backing::kAnon),
                       {{op(K::vmsplice, 0), op(K::fork), op(K::madvise_dontneed, 0),
                         op(K::user_write, 1, 0), op(K::put_page, -1)}}},
               true});
  // The same lesson for large folios (1da190f4d0a6, v6.15, the
  // large_cow_reuse_by_mapcount row): once the parent has dropped both its
  // mappings of the order-1 folio, all of them are the child's, and only the
  // refcount says that the pipe still reads page 0.
  c.push_back({"large_folio_reused_under_vmsplice", bug_design("large_cow_reuse_by_mapcount"),
               ViolationKind::cow_leak, "1da190f4d0a6 (v6.15)",
               Program{one(Backing::kAnon, 1),
                       {{op(K::vmsplice, 0), op(K::fork), op(K::madvise_dontneed, 0),
                         op(K::madvise_dontneed, 1), op(K::user_write, 1, 0),
                         op(K::put_page, -1)}}},
               true});
  // CVE-2016-5195 (the dirty_cow row): a /proc/pid/mem write at a read-only
  // private file mapping COWs, drops FOLL_WRITE (v4.8's faultin_page()),
  // and after 28 steps, between that fault and the retried lookup,
  // MADV_DONTNEED zaps the copy; the retry's read fault maps the page cache's
  // page and the write lands in the file.
  {
    WorldSpec w;
    w.vpn[0] = VpnSpec{Backing::kFilePrivate, 0, false, /*vm_write=*/false};
    c.push_back({"dirty_cow_writes_page_cache", bug_design("dirty_cow"),
                 ViolationKind::ro_file_written, "CVE-2016-5195, 19be0eaffa3a (v4.9)",
                 Program{w, {{op(K::poke, 0, 0)}, {op(K::madvise_dontneed, 0)}}}, true,
                 {{28, 1}}});
  }
  // CVE-2022-2590 (the foll_cow row): the poke's first fault copies the
  // read-only page cache page (VM_FAULT_WRITE: FOLL_COW), MADV_DONTNEED frees
  // the copy, and while the second fault is copying again UFFDIO_CONTINUE
  // maps the page cache's page read-only and dirty: the retry follows it.
  {
    WorldSpec w;
    w.free_pages = 1;
    w.vpn[0] = VpnSpec{Backing::kFilePrivate, 0, false, /*vm_write=*/false};
    c.push_back({"foll_cow_trusts_uffd_dirty_pte", bug_design("foll_cow"),
                 ViolationKind::ro_file_written, "CVE-2022-2590, 5535be309971 (v6.0)",
                 Program{w, {{op(K::poke, 0, 0)}, {op(K::madvise_dontneed, 0)},
                             {op(K::uffd_continue, 0)}}},
                 true, {{27, 1}, {20, 1}}});
  }
  // CVE-2017-1000405 (the huge_dirty_cow row): the poke's write fault maps a
  // THP read-only at the none PMD, its second fault reuses it (FOLL_COW);
  // after 33 steps MADV_DONTNEED zaps the huge PMD, a read-only GUP maps the
  // huge zero page and touch_pmd() dirties the PMD, and the retry writes it.
  {
    WorldSpec w;
    w.free_pages = 0;
    w.vpn[0] = VpnSpec{Backing::kThp, kCollapseOrder, false, /*vm_write=*/false};
    c.push_back({"huge_dirty_cow_writes_huge_zero_page", bug_design("huge_dirty_cow"),
                 ViolationKind::zero_page_written, "CVE-2017-1000405, a8f97366452e (v4.15)",
                 Program{w, {{op(K::poke, 0, 0)}, {op(K::madvise_dontneed, 0), op(K::gup, 0, 1)}}},
                 true, {{33, 1}}});
  }
  // A split that ignores extra references (split_ignores_pins): the folio
  // is pinned through its tail page, the split goes ahead, and the piece
  // that holds the page is a small folio without the pin's bias.
  c.push_back({"split_drops_tail_pin", bug_design("split_ignores_pins"),
               ViolationKind::pin_count_mismatch, "mm/huge_memory.c: can_split_folio()",
               Program{one(Backing::kAnon, 2),
                       {{op(K::pin, 1, 1, kOpWrite), op(K::split, 0), op(K::dma_write, 0),
                         op(K::unpin, -1)}}},
               true});
  // c24d37322548 (the no_grab_folio_recheck row): GUP-fast reads
  // page_folio() of a tail page; the whole split runs before its increment,
  // which lands on the old head, now a small folio of its own.
  c.push_back({"gup_fast_grabs_split_head", bug_design("no_grab_folio_recheck"),
               ViolationKind::pin_count_mismatch, "c24d37322548 (v5.14)",
               Program{one(Backing::kAnon, 2),
                       {{op(K::pin_fast, 1, 1), op(K::unpin, -1)}, {op(K::split, 0)}}},
               true, {{5, 1}}});
  c.push_back({"writeback_wait_on_own_pin", with_knobs("writeback=wait"),
               ViolationKind::deadlock, "Documentation/core-api/pin_user_pages.rst (open item)",
               Program{one(Backing::kFile),
                       {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::writeback, 0),
                         op(K::unpin_dirty, -1, 1, kOpDirty)}}},
               true});
  return c;
}

}  // namespace

Outcome run_catalog_entry(const Design& d, const CatalogEntry& e) {
  if (e.schedule.empty()) return run_sequential(d, e.program);
  Scenario s;
  s.program = e.program;
  s.schedule.kind = ScheduleKind::kInput;
  s.schedule.points = e.schedule;
  Runner runner;
  const RunResult r = runner.run(s, d, RunOptions{});
  return Outcome{r.violation, r.kinds, r.steps};
}

const std::vector<CatalogEntry>& catalog() {
  static const std::vector<CatalogEntry> c = build();
  return c;
}

std::vector<std::string> selfcheck_designs() { return design_names(DesignSet::kAll); }

}  // namespace pf
