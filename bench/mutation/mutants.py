"""Mutants of the model's correct code paths (issue 18, the mutation benchmark).

Each is one small source change a kernel developer could plausibly make, and
that no design knob (model/knobs.def) plants: a recheck dropped after a lock
is taken, an error path that forgets to restore a PTE, a reference lost on a
retry path, an ordering swapped, a flag cleared too early. `old` must occur
exactly once in `file`; the runner replaces it by `new` in a scratch copy.
`breaks` says in one line what the mutant breaks.

A mutant judged equivalent (no run of today's model can tell it from the real
code) carries `equivalent` with the reason: it is still run, so that it shows
when the model grows a path that can kill it, but it is left out of the score.
A mutant that survives without being equivalent stays unmarked and counts
against the score; a comment above it says what lets it survive (a gap in the
oracles or in what the engine can express).
"""

MUTANTS = [
    dict(
        id="swapin_no_pte_same",
        file="model/memory.cc",
        old="  if (m.pte(vpn).load(std::memory_order_acquire) != orig.pack()) {  // pte_same()",
        new="  if (false) {  // pte_same() forgotten",
        breaks="do_swap_page() maps the cached folio without re-checking the PTE under the PTL",
    ),
    dict(
        id="unmap_busy_no_restore",
        file="model/rmap.cc",
        old="        m.pte(vpn).store(raw, std::memory_order_release);  // set_pte_at()",
        new="        // set_pte_at() forgotten on the -EBUSY path",
        breaks="try_to_unmap_one() backs off from a maybe-pinned page but leaves the PTE cleared",
    ),
    dict(
        id="fork_share_no_wrprotect",
        file="model/memory.cc",
        old="  ro.writable = false;  // COW: write-protect both sides",
        new="  // the COW write-protect is forgotten",
        breaks="fork shares an anon page without write-protecting the parent and child PTEs",
    ),
    dict(
        id="migrate_fail_no_restore",
        file="model/migrate.cc",
        old="    remove_migration_ptes(w, &t, pfn, pfn);  // put the old PTEs back",
        new="    // remove_migration_ptes() forgotten on the failure path",
        breaks="a failed migration leaves its migration entries in place",
    ),
    dict(
        id="reclaim_file_no_slot_recheck",
        file="model/vmscan.cc",
        old="  if (f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire) != pfn) {",
        new="  if (false) {  // the speculative get's recheck is forgotten",
        breaks="reclaim of a page-cache folio trusts a speculative reference on a slot that may have changed",
        equivalent="the check under the folio lock right after (__remove_mapping()'s mapping and "
        "index test) refuses a folio that was freed and reused, and a folio reused at the same "
        "index is the right one: the kernel has both checks too, and either suffices here",
    ),
    dict(
        id="swapin_always_exclusive",
        file="model/memory.cc",
        old="      exclusive_entry || w.width.value(p.refcount.load(std::memory_order_acquire)) == 1;",
        new="      true;  // the swap entry's exclusive bit and the refcount are not consulted",
        breaks="do_swap_page() maps a cached folio exclusive even when fork shared the entry",
    ),
    dict(
        id="gup_fast_recheck_leaks_ref",
        file="model/gup.cc",
        old="""    if (pmd_changed || pte_changed) {
      gup_put_folio(w, &t, head, how);""",
        new="""    if (pmd_changed || pte_changed) {
      // the grabbed reference is not dropped on the retry path""",
        breaks="GUP-fast falls back after a failed recheck without dropping the reference it took",
    ),
    dict(
        id="wp_copy_ref_after_unlock",
        file="model/memory.cc",
        old="""  const bool copy = same && !exclusive;
  if (copy) folio_ref_add(w, t, head, 1);  // folio_get()
  m.ptl.unlock();""",
        new="""  const bool copy = same && !exclusive;
  m.ptl.unlock();
  if (copy) folio_ref_add(w, t, head, 1);  // folio_get() moved after the PTL""",
        breaks="do_wp_page() takes its reference on the old folio after dropping the PTL",
    ),
    dict(
        id="anon_fault_no_none_check",
        file="model/memory.cc",
        old="""      bool still_none = m.pte(vpn).load() == kPteNone;
      if (still_none) m.pte(vpn).store(present_pte(np, !vma.readonly, write && !vma.readonly).pack());""",
        new="""      bool still_none = true;  // the PTE is not re-checked under the PTL
      if (still_none) m.pte(vpn).store(present_pte(np, !vma.readonly, write && !vma.readonly).pack());""",
        breaks="do_anonymous_page() installs its new page over whatever a racing fault installed",
        # Judged equivalent until scenario format 2: every anon vpn started
        # populated and nothing emptied an anon PTE while its VMA lived.
        # madvise_dontneed (issue 16) now reaches do_anonymous_page().
    ),
    dict(
        id="reclaim_file_no_mapping_recheck",
        file="model/vmscan.cc",
        old="  if (p.mapping.load(std::memory_order_acquire) != 0 ||",
        new="  if (false ||",
        breaks="reclaim does not re-check under the folio lock that the folio still belongs to the file",
    ),
    dict(
        id="gup_slow_no_has_pinned",
        file="model/gup.cc",
        old="""  if (how == GupHow::kPin && !(m.flags.load(std::memory_order_relaxed) & MMF_HAS_PINNED))
    m.flags.fetch_or(MMF_HAS_PINNED, std::memory_order_relaxed);  // mm_set_has_pinned_flag()""",
        new="  // mm_set_has_pinned_flag() forgotten on the slow path",
        breaks="__gup_longterm_locked() pins without mm_set_has_pinned_flag(), so fork's folio_needs_cow_for_dma() shares the pinned page with the child",
    ),
    dict(
        id="longterm_migrate_no_ref",
        file="model/gup.cc",
        old="""    folio_ref_add(w, &t, mv.head, 1);
    for (int i = 0; i < n; ++i) gup_put_folio(w, &t, got[static_cast<size_t>(i)].head, how);""",
        new="""    // the pin is not converted to a plain reference before it is dropped
    for (int i = 0; i < n; ++i) gup_put_folio(w, &t, got[static_cast<size_t>(i)].head, how);""",
        breaks="check_and_migrate_movable_pages() unpins the folio it is about to migrate without converting the pin to a reference, so migration puts a reference it never held",
    ),
    dict(
        id="gup_fast_no_write_check",
        file="model/gup.cc",
        old="    if (!pte.present || (f.write && !pte.writable)) break;",
        new="    if (!pte.present) break;  // pte_access_permitted() forgotten for FOLL_WRITE",
        breaks="gup_fast_pte_range() grabs the page of a read-only PTE for FOLL_WRITE (pte_access_permitted() forgotten) instead of leaving it to the faulting slow path",
    ),
    dict(
        id="gup_slow_dax_pgmap_leak",
        file="model/gup.cc",
        old="""    int r = try_grab_page(w, &t, pfn, how);
    if (devmap) put_dev_pagemap(w, &t, pfn);""",
        new="""    int r = try_grab_page(w, &t, pfn, how);
    // put_dev_pagemap() forgotten""",
        breaks="follow_page_pte() keeps the dev_pagemap reference it took for a devmap (fs-dax) PTE, so memunmap_pages() waits for it forever",
    ),
    dict(
        id="put_testzero_split",
        file="model/page_ref.cc",
        old="  int32_t raw = p.refcount.fetch_sub(refs, std::memory_order_acq_rel);",
        new="""  p.refcount.fetch_sub(refs, std::memory_order_relaxed);  // atomic_sub(), then a separate read
  int32_t raw = p.refcount.load(std::memory_order_acquire) + refs;""",
        breaks="folio_put_refs() does atomic_sub() and then atomic_read() == 0 instead of folio_ref_sub_and_test(), so two racing puts can both free the folio",
    ),
    dict(
        id="pin_bias_grab_off_by_one",
        file="model/tracking/pin_bias.cc",
        old="    folio_ref_add(w, t, head, GUP_PIN_COUNTING_BIAS - 1);",
        new="    folio_ref_add(w, t, head, GUP_PIN_COUNTING_BIAS);  // the grab's own +1 counted twice",
        breaks="try_grab_folio() adds the whole GUP_PIN_COUNTING_BIAS on top of the reference it already took, so every pin of a small folio leaks one reference",
    ),
    dict(
        id="writeback_no_mkclean",
        file="model/writeback.cc",
        old="  if (page_mkclean(w, &t, head)) folio_mark_dirty(w, &t, head);",
        new="  // folio_mkclean() forgotten: the PTEs stay writable and dirty",
        breaks="folio_clear_dirty_for_io() clears PG_dirty without folio_mkclean(), so stores through the still-writable PTEs never redirty the folio",
    ),
    dict(
        id="writeback_truncated_no_unlock",
        file="model/writeback.cc",
        old="      folio_unlock(w, head);  // truncated (or migrated) meanwhile",
        new="      // folio_unlock() forgotten on the truncated path",
        breaks="write_cache_pages() skips a folio truncated (or migrated) meanwhile and returns with it still locked",
    ),
    dict(
        id="swapcache_clear_no_wake",
        file="model/swap.cc",
        old="  sync::wake(&s.cache);",
        new="  // wake_up(&swapcache_wq) forgotten",
        breaks="swapcache_clear() drops a swap-in's claim on the entry without waking the do_swap_page() that sleeps on it",
    ),
    dict(
        id="reclaim_file_no_pin_check",
        file="model/vmscan.cc",
        old="  if (folio_maybe_dma_pinned(w, &t, head)) return give_up();",
        new="  // the maybe-pinned check (d824ec2a1546) is forgotten",
        breaks="shrink_folio_list() frees the buffers of a pinned page-cache folio: the folio_maybe_dma_pinned() back-off before filemap_release_folio() is forgotten (d824ec2a1546)",
    ),
    # Survives pct and random: nothing checks anon data. The store is lost (a later
    # user_read returns the older value), but no oracle compares what a process reads
    # from an anon page with what it wrote; lost_dma_write covers the file only.
    dict(
        id="swapout_write_before_unmap",
        file="model/vmscan.cc",
        old="""  UnmapResult un = try_to_unmap(w, &t, pfn, UnmapFor::kSwap,
                                /*check_pins=*/!w.design.no_try_share_check);
  if (!un.busy) {
    // pageout() -> swap_writepage(): the slot gets the data (the model's
    // I/O is synchronous).
    const int slot = h.swap.load(std::memory_order_relaxed);
    swap_slot(w, slot).data.store(h.data.load(std::memory_order_acquire),
                                  std::memory_order_release);""",
        new="""  // pageout() moved before try_to_unmap(): stores in between are lost
  const int slot = h.swap.load(std::memory_order_relaxed);
  swap_slot(w, slot).data.store(h.data.load(std::memory_order_acquire),
                                std::memory_order_release);
  UnmapResult un = try_to_unmap(w, &t, pfn, UnmapFor::kSwap,
                                /*check_pins=*/!w.design.no_try_share_check);
  if (!un.busy) {""",
        breaks="shrink_folio_list() writes the folio to its swap slot (pageout()) before try_to_unmap(), so a store through the PTE in between is lost once the folio is freed",
    ),
    # Survives pct and random: the orphan is mapped read-only; reads return its stale
    # data (no oracle compares them with the file), and every later write fault or
    # FOLL_WRITE GUP loops on page_mkwrite()'s own truncation check (a livelock in the
    # kernel) until kFaultRetries turns it into a quiet -EFAULT.
    dict(
        id="file_fault_no_truncate_recheck",
        file="model/memory.cc",
        old="""  if (h.mapping.load(std::memory_order_acquire) == kBufferedFile && folio_contains(w, head, pgoff))
    return true;""",
        new="""  if (true)  // "Did it get truncated?" forgotten
    return true;""",
        breaks="filemap_fault() maps the folio it locked without re-checking that truncate removed it meanwhile (\"Did it get truncated?\")",
    ),
    dict(
        id="zap_put_before_tlb_flush",
        file="model/memory.cc",
        old="""  tlb_flush(w, mm, vpn);
  folio_put(w, t, head);
  return true;""",
        new="""  folio_put(w, t, head);  // the mmu_gather frees before it flushes
  tlb_flush(w, mm, vpn);
  return true;""",
        breaks="zap_pte_range()'s mmu_gather frees the page before the TLB flush, so a CPU's stale entry writes a freed page (the rule eb66ae030829, CVE-2018-18281, restored in mremap)",
    ),
    dict(
        id="zap_dirty_after_ptl_unlock",
        file="model/memory.cc",
        old="""  Pfn head = w.page(pte.pfn).head();
  if (pte.dirty && w.page(head).mapping.load(std::memory_order_relaxed) >= 0 && file_dirty)
    folio_mark_dirty(w, t, head);
  w.page(pte.pfn).mapcount.fetch_sub(1, std::memory_order_relaxed);
  m.ptl.unlock();""",
        new="""  Pfn head = w.page(pte.pfn).head();
  m.ptl.unlock();  // dropped before the folio is dirtied and the rmap goes
  if (pte.dirty && w.page(head).mapping.load(std::memory_order_relaxed) >= 0 && file_dirty)
    folio_mark_dirty(w, t, head);
  w.page(pte.pfn).mapcount.fetch_sub(1, std::memory_order_relaxed);""",
        breaks="zap_pte_range() drops the PTL after clearing a dirty PTE and dirties the folio outside it, racing truncate's release of the buffers",
    ),
    dict(
        id="wp_reuse_without_folio_lock",
        file="model/memory.cc",
        old="""  if (anon && !exclusive && p.order() == 0 && folio_trylock(w, head)) {
    // cow_reuse_by_mapcount: the rule before 09854ba94c6a (v5.9): reuse
    // when this is the only mapping, whoever else holds a reference.
    const int32_t base = p.is_device() ? devmap_idle_base(w) : 0;
    // wp_can_reuse_anon_folio(): "if (folio_test_swapcache(folio))
    // folio_free_swap(folio)": the swap cache's reference goes first, if no
    // swap PTE still needs the folio.
    folio_free_swap(w, t, head);
    const bool only = w.design.cow_reuse_by_mapcount
                          ? p.mapcount.load(std::memory_order_acquire) == 1
                          : w.width.value(p.refcount.load(std::memory_order_acquire)) == base + 1;
    if (only) {
      w.page(pfn).flags.fetch_or(PG_anon_exclusive, std::memory_order_release);
      exclusive = true;
    }
    folio_unlock(w, head);
  }""",
        new="""  if (anon && !exclusive && p.order() == 0) {  // no folio_trylock(): the count is trusted unlocked
    const int32_t base = p.is_device() ? devmap_idle_base(w) : 0;
    folio_free_swap(w, t, head);
    const bool only = w.design.cow_reuse_by_mapcount
                          ? p.mapcount.load(std::memory_order_acquire) == 1
                          : w.width.value(p.refcount.load(std::memory_order_acquire)) == base + 1;
    if (only) {
      w.page(pfn).flags.fetch_or(PG_anon_exclusive, std::memory_order_release);
      exclusive = true;
    }
  }""",
        breaks="wp_can_reuse_anon_folio() reuses a non-exclusive page on its refcount without folio_trylock(), while a migration still holding the lock is mapping it",
    ),
    dict(
        id="fork_swap_no_dup",
        file="model/memory.cc",
        old="""    swap_duplicate(w, pte.pfn);
    Pte shared = pte;""",
        new="""    // swap_duplicate() forgotten
    Pte shared = pte;""",
        breaks="copy_nonpresent_pte() copies a swap entry into the child without swap_duplicate(): the slot's swap count is one short and the slot is freed, and reused, while a PTE still names it",
    ),
    dict(
        id="migrate_to_ram_shared_exclusive",
        file="model/memory.cc",
        old="  if (shared) n.flags.fetch_and(~PG_anon_exclusive, std::memory_order_release);",
        new="  // PG_anon_exclusive is left set on the new folio even when fork shared the device page",
        breaks="the device-private migrate_to_ram() leaves the new folio PG_anon_exclusive although fork shared the device page, so a write fault in either mm reuses it",
    ),
    dict(
        id="migrate_dst_unlocked_early",
        file="model/migrate.cc",
        old="""  remove_migration_ptes(w, &t, pfn, np);
  p.mapping.store(kNoMapping, std::memory_order_release);
  p.flags.fetch_and(~(PG_anon | PG_anon_exclusive | PG_dirty | PG_private | PG_swapcache),
                    std::memory_order_release);
  folio_unlock(w, head);
  sync::wake(&p);  // migration_entry_wait() sleepers
  folio_unlock(w, np);""",
        new="""  folio_unlock(w, np);  // the destination unlocked before its mappings are in place
  remove_migration_ptes(w, &t, pfn, np);
  p.mapping.store(kNoMapping, std::memory_order_release);
  p.flags.fetch_and(~(PG_anon | PG_anon_exclusive | PG_dirty | PG_private | PG_swapcache),
                    std::memory_order_release);
  folio_unlock(w, head);
  sync::wake(&p);  // migration_entry_wait() sleepers""",
        breaks="migrate_folio_move() unlocks the destination folio before remove_migration_ptes() has put every mapping of it in place",
    ),
    dict(
        id="try_share_clears_exclusive_early",
        file="model/rmap.cc",
        old="  if (!w.design.no_try_share_barrier) sync::smp_mb();",
        new="""  w.page(pfn).flags.fetch_and(~PG_anon_exclusive, std::memory_order_release);  // before the pin check
  if (!w.design.no_try_share_barrier) sync::smp_mb();""",
        breaks="__folio_try_share_anon_rmap() clears PG_anon_exclusive before the maybe-pinned check, so a backed-off pinned page stays mapped but shared",
    ),
    dict(
        id="collapse_refcount_check_before_pmd_clear",
        file="model/khugepaged.cc",
        old="""    m.ptl.lock();
    v = pmd.load(std::memory_order_acquire);
    pmd.store(v | kPmdNone, std::memory_order_release);
    m.ptl.unlock();
    sync::smp_mb();  // the TLB flush IPI, which GUP-fast's irq-off walk waits out
    // "Check if the page has any GUP (or other external) pins": only the
    // mapping's reference may be there, and the swap cache's
    // (is_refcount_suitable()).
    for (int k = 0; k < kVpnPerPmd; ++k) {
      Page& op = w.page(old[static_cast<size_t>(k)]);
      const int32_t expected = 1 + ((op.flags.load(std::memory_order_acquire) & PG_swapcache) ? 1 : 0);
      if (w.width.value(op.refcount.load(std::memory_order_acquire)) != expected)
        result = -kEBUSY;
    }""",
        new="""    // the pin check moved before the PMD is cleared
    for (int k = 0; k < kVpnPerPmd; ++k) {
      Page& op = w.page(old[static_cast<size_t>(k)]);
      const int32_t expected = 1 + ((op.flags.load(std::memory_order_acquire) & PG_swapcache) ? 1 : 0);
      if (w.width.value(op.refcount.load(std::memory_order_acquire)) != expected)
        result = -kEBUSY;
    }
    m.ptl.lock();
    v = pmd.load(std::memory_order_acquire);
    pmd.store(v | kPmdNone, std::memory_order_release);
    m.ptl.unlock();
    sync::smp_mb();  // the TLB flush IPI, which GUP-fast's irq-off walk waits out""",
        breaks="collapse_huge_page() checks the old pages' refcounts before pmdp_collapse_flush(), so a GUP-fast pin landing in between passes its PMD recheck",
    ),
    dict(
        id="collapse_no_tlb_flush_ipi",
        file="model/khugepaged.cc",
        old="    sync::smp_mb();  // the TLB flush IPI, which GUP-fast's irq-off walk waits out",
        new="    // no flush_tlb_range() IPI after the PMD clear",
        breaks="pmdp_collapse_flush() clears the PMD without the TLB flush IPI that GUP-fast's irq-disabled walk must wait out",
        equivalent="the barrier is all the model has of the IPI, and the deterministic engine is "
        "sequentially consistent (docs/model.md, weak memory, issue 19): a fence is a scheduling "
        "point that changes no state, so every schedule of the mutant is one of the original "
        "with a step less, and the refcount check still follows the PMD clear in program order; "
        "in `pinfuzz stress` on x86 the PTL unlock right before it is a locked RMW, a full "
        "barrier anyway, and ThreadSanitizer does not report a missing fence between atomics",
    ),
    dict(
        id="dax_teardown_waits_for_count",
        file="model/memremap.cc",
        old="      while (pg.idle[static_cast<size_t>(pfn)].load(std::memory_order_acquire) != 1)",
        new="      while (w.width.value(w.page(pfn).refcount.load(std::memory_order_acquire)) != devmap_idle_base(w))",
        breaks="the fs-dax/p2pdma teardown (dax_layout_busy_page()) waits until a page's refcount reaches its idle base, not until free_zone_device_folio() has run, so memunmap_pages() tears the pagemap down under the free",
    ),
    dict(
        id="split_fail_no_remap",
        file="model/huge_memory.cc",
        old="""    remap_page();  // "remap_page(folio, folio_nr_pages(folio), 0); ret = -EAGAIN;\"""",
        new="""    // remap_page() forgotten on the failed-freeze path""",
        breaks="a split whose freeze fails returns -EAGAIN without remap_page(): the folio's PTEs stay migration entries and its mapping references are gone",
    ),
    dict(
        id="split_tail_head_after_unfreeze",
        file="model/huge_memory.cc",
        old="""    p.set_folio(pfn, 0);
    // "Finally unfreeze refcount. Additional reference from page cache."
    folio_ref_unfreeze(w, pfn, 1 + (swapcache ? 1 : 0));""",
        new="""    folio_ref_unfreeze(w, pfn, 1 + (swapcache ? 1 : 0));  // unfrozen while still a tail
    p.set_folio(pfn, 0);""",
        breaks="__split_huge_page_tail() unfreezes a tail's refcount before clear_compound_head(), so a speculative get of the page succeeds while page_folio() still names the frozen head",
        equivalent="writing page->compound_head is not a scheduling point (model/page.h: "
        "Page::set_folio()), so no other thread can run between the unfreeze and it: every "
        "schedule of the mutant is a schedule of the original; only weak memory (issue 19) "
        "or `pinfuzz stress` on real cores could show the window",
    ),
    dict(
        id="large_reuse_ignores_other_mms",
        file="model/memory.cc",
        old="""    if (other_mm_mapping(w, mm, static_cast<Pfn>(head + i))) return true;""",
        new="""    if (false && other_mm_mapping(w, mm, static_cast<Pfn>(head + i))) return true;  // folio_test_large_maybe_mapped_shared() forgotten""",
        breaks="__wp_can_reuse_large_anon_folio() reuses a page of a large folio another mm still maps, when the refcount equals the total mapcount",
    ),
    # Survives pct and random by construction: the deterministic engine ignores memory
    # orders (model/sync/atomic.h); only ThreadSanitizer under `pinfuzz stress` can
    # see it, as it sees the mmap_lock_no_acquire knob on the other side of the lock.
    dict(
        id="rwsem_up_write_relaxed",
        file="model/sync/locks.h",
        old="    if (count_.cmpxchg(-1, 0, std::memory_order_release, s) != -1) std::abort();",
        new="    if (count_.cmpxchg(-1, 0, std::memory_order_relaxed, s) != -1) std::abort();  // no RELEASE",
        breaks="up_write() releases mmap_lock without RELEASE, so a fault or GUP under down_read() may read the VMA fields munmap() changed as they were",
    ),
    dict(
        id="collapse_folio_one_ref",
        file="model/khugepaged.cc",
        old="""      head.refcount.fetch_add(kVpnPerPmd - 1, std::memory_order_relaxed);""",
        new="""      // one reference for the folio, as if the PMD mapped it""",
        breaks="collapse_huge_page() maps the new folio with PTEs but leaves it the single reference a PMD mapping holds, so each PTE's zap puts a reference the folio never had",
    ),
]

EQUIVALENT = {m["id"]: m["equivalent"] for m in MUTANTS if "equivalent" in m}
