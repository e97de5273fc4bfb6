// mm/migrate.c: migrate_pages() of one folio: isolate, lock, unmap to
// migration entries (try_to_migrate(), with __folio_try_share_anon_rmap()),
// folio_ref_freeze(folio_expected_refs()), copy, remove_migration_ptes().
// Also what check_and_migrate_movable_pages() uses for FOLL_LONGTERM.
#include <fmt/format.h>

#include "model/internal.h"
#include "model/memremap.h"

namespace pf {

int migrate_vpn(World& w, Task& t, int vpn) {
  // A PMD-mapped THP: try_to_migrate(TTU_SPLIT_HUGE_PMD) splits the PMD
  // (the model has no PMD migration entries); split first, as reclaim_vpn().
  split_huge_pmd(w, &t, t.mm, vpn);
  return migrate_folio_at(w, &t, t.mm, vpn);
}

// mm/migrate.c: remove_migration_ptes() -> remove_migration_pte(): the
// rmap walk finds every migration entry for `from` - those try_to_migrate()
// made, and copies a fork made of them meanwhile - and maps `to` there (with
// a reference and a mapcount), writable if the entry was. A slot zapped
// meanwhile (munmap) holds no entry and stays empty.
void remove_migration_ptes(World& w, const Task* t, Pfn from, Pfn to) {
  for (int mm = 0; mm < kMaxMm; ++mm) {
    Mm& m = w.mm[static_cast<size_t>(mm)];
    if (!m.live.load()) continue;
    for (int vpn = 0; vpn < kMaxVpn; ++vpn) {
      Pte seen = Pte::unpack(m.pte(vpn).peek());
      if (!seen.migration || seen.pfn != from) continue;
      auto& slot = m.pte(vpn);
      m.ptl.lock();
      Pte entry = Pte::unpack(slot.load(std::memory_order_acquire));
      if (entry.migration && entry.pfn == from) {
        Pte pte;
        pte.pfn = to;
        pte.present = true;
        pte.writable = entry.writable;
        pte.dirty = entry.dirty;
        // restore_exclusive: an entry that was exclusive gives the page back
        // its PageAnonExclusive.
        if (entry.exclusive)
          w.page(to).flags.fetch_or(PG_anon_exclusive, std::memory_order_release);
        folio_ref_add(w, t, w.page(to).head(), 1);
        // folio_add_anon_rmap_pte() -> __folio_add_rmap():
        // atomic_inc_and_test(&page->_mapcount), value-returning and so
        // fully ordered (Documentation/atomic_t.txt), and for a large folio
        // folio_add_return_large_mapcount() under folio_lock_large_mapcount().
        // Either way the reference above is visible before the mapping is
        // counted: __wp_can_reuse_large_anon_folio() in another mm must not
        // see the mapcount without it (relaxed, a search under --memory=arm
        // found a false cow_leak that way; docs/model.md, "Weak memory").
        w.page(to).mapcount.fetch_add(1, std::memory_order_seq_cst);
        slot.store(pte.pack(), std::memory_order_release);
      }
      m.ptl.unlock();
    }
  }
}

void remove_folio_migration_ptes(World& w, const Task* t, Pfn from, Pfn to, int nr) {
  for (int i = 0; i < nr; ++i)
    remove_migration_ptes(w, t, static_cast<Pfn>(from + i), static_cast<Pfn>(to + i));
}

// mm/migrate.c: migrate_pages_batch() of a large anon folio moved whole
// (only kCollapseOrder has a folio to move to: World::alloc_folio()).
// Isolate and lock it (migrate_folio_unmap()), unmap every page to a
// migration entry (try_to_migrate(), with __folio_try_share_anon_rmap()'s
// back-off for an exclusive page that may be pinned), freeze the refcount to
// folio_expected_refs() (ours: no page cache, no swap cache for a large anon
// folio in the model), copy each page (folio_copy()), and point each entry
// at the new folio's page (remove_migration_ptes()). The caller holds its
// reference and keeps it (it is the one the freeze counts, and the one the
// free of the old folio needs). -ENOMEM when no folio of the order is free,
// -EAGAIN when the folio is busy (pinned, off the LRU, under writeback).
static int migrate_large_folio(World& w, const Task& t, Pfn head) {
  Page& h = w.page(head);
  const int nr = 1 << h.order();
  if (h.order() != kCollapseOrder) return -kENOMEM;
  // folio_isolate_lru()
  if (!(h.flags.fetch_and(~PG_lru, std::memory_order_acq_rel) & PG_lru)) return -kEAGAIN;
  folio_lock(w, head);
  auto putback = [&](int r) {
    folio_unlock(w, head);
    h.flags.fetch_or(PG_lru, std::memory_order_release);  // folio_putback_lru()
    return r;
  };
  if (h.flags.load(std::memory_order_acquire) & (PG_writeback | PG_swapcache))
    return putback(-kEAGAIN);
  const Pfn np = w.alloc_folio();
  if (np == kNoPfn) return putback(-kENOMEM);
  folio_lock(w, np);  // migrate_folio_unmap(): dst is locked until the move is done
  const bool busy =
      unmap_folio(w, &t, head, /*check_pins=*/!w.design.no_try_share_check && !w.design.migrate_pinned);
  // folio_expected_refs(): 1, ours. The PTEs' references went with the unmap.
  const bool frozen = !busy && folio_ref_freeze(w, head, 1);
  if (!frozen && (busy || !w.design.migrate_pinned)) {
    remove_folio_migration_ptes(w, &t, head, head, nr);  // put the old PTEs back
    sync::wake(&h);
    folio_unlock(w, np);
    folio_put(w, &t, np);
    return putback(-kEAGAIN);
  }
  const int32_t pins = w.ghost.pins[static_cast<size_t>(head)].load();
  if (pins > 0)
    w.report(ViolationKind::pinned_page_replaced, head, &t, "migrate_folio",
             fmt::format("large folio with {} pin(s) migrated to pfn {}{}", pins, np,
                         pin_fate_detail(w, head)),
             "replaced_by_migration");
  // folio_migrate_mapping() + folio_migrate_flags() + folio_copy(): per
  // page, the data, mapping and index; PG_dirty is the folio's;
  // exclusivity comes back per migration entry.
  for (int i = 0; i < nr; ++i) {
    Page& o = w.page(static_cast<Pfn>(head + i));
    Page& n = w.page(static_cast<Pfn>(np + i));
    copy_highpage(w, &t, static_cast<Pfn>(np + i), static_cast<Pfn>(head + i));
    n.mapping.store(o.mapping.load(), std::memory_order_relaxed);
    n.index.store(o.index.load(), std::memory_order_relaxed);
    n.flags.fetch_or(PG_anon, std::memory_order_release);
  }
  Page& nh = w.page(np);
  nh.lru[0].store(kLruLinked, std::memory_order_relaxed);
  nh.lru[1].store(kLruLinked, std::memory_order_relaxed);
  nh.flags.fetch_or((h.flags.load() & PG_dirty) | PG_lru, std::memory_order_release);
  remove_folio_migration_ptes(w, &t, head, np, nr);
  for (int i = 0; i < nr; ++i) {
    Page& o = w.page(static_cast<Pfn>(head + i));
    o.mapping.store(kNoMapping, std::memory_order_release);
    o.flags.fetch_and(~(PG_anon | PG_anon_exclusive | PG_dirty), std::memory_order_release);
  }
  folio_unlock(w, head);
  sync::wake(&h);  // migration_entry_wait() sleepers
  folio_unlock(w, np);
  folio_put(w, &t, np);  // our allocation reference: the new folio is on the LRU
  // Frozen, the old folio's count is 0: give back the reference the freeze
  // took, for the caller's folio_put() to drop, which frees it. Not frozen
  // (migrate_pinned), it lives on with the extra references (a GUP pin, say)
  // and the caller's folio_put() drops ours.
  if (frozen) folio_ref_unfreeze(w, head, 1);
  return 0;
}

int migrate_folio_at(World& w, const Task* tp, int mm_id, int vpn, bool nofail, bool evict,
                     Pfn held) {
  const Task& t = *tp;
  Mm& m = w.mm[static_cast<size_t>(mm_id)];
  // A caller's reference on `held` is ours from here: every return drops it.
  auto give_back = [&](int r) {
    if (held != kNoPfn) folio_put(w, &t, held);
    return r;
  };
  Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  // A held folio that (mm, vpn) no longer maps: the kernel migrates it all
  // the same (an isolated folio needs no mapping) and GUP's retry faults
  // in whatever is there now; the model has nothing to move it for.
  if (held != kNoPfn && (!pte.present || w.page(pte.pfn).head() != held)) return give_back(0);
  if (!pte.present) return -kEFAULT;
  Pfn pfn = pte.pfn;
  Page& p = w.page(pfn);
  Pfn head = p.head();
  if (pfn == w.zero_pfn) return give_back(-kEINVAL);
  if (p.order() > 0) {
    if (p.is_device() || !(w.page(head).flags.load(std::memory_order_acquire) & PG_anon))
      return give_back(-kEINVAL);
    if (held == kNoPfn) {
      if (!folio_try_get(w, &t, head)) return -kEAGAIN;
      if (m.pte(vpn).load(std::memory_order_acquire) != pte.pack()) {
        folio_put(w, &t, head);
        return -kEAGAIN;
      }
    }
    // migrate_pages_batch(): the folio moves whole when a folio of its
    // order can be allocated; on -ENOMEM "Large folio migration might be
    // unsupported or the allocation might be failed so we should retry on
    // the same folio with the large folio split to normal folios":
    // try_split_folio() (folio_lock(), split_folio_to_list(),
    // folio_unlock()), and the pieces migrate as small folios. Ours is the
    // split's caller reference.
    const int whole = migrate_large_folio(w, t, head);
    if (whole != -kENOMEM) {
      folio_put(w, &t, head);
      return whole;
    }
    folio_lock(w, head);
    const int r = split_folio(w, &t, head);
    folio_unlock(w, head);
    folio_put(w, &t, head);
    if (r != 0) return r;
    return migrate_folio_at(w, tp, mm_id, vpn, nofail, evict);
  }
  bool device = p.is_device();
  if (device && w.pgmaps[static_cast<size_t>(p.pgmap)].type != PgmapType::kDeviceCoherent)
    return give_back(-kEINVAL);
  bool file = p.mapping.load(std::memory_order_acquire) == kBufferedFile;
  // isolate_lru_page() (device coherent: migrate_device_coherent_folio()),
  // unless the caller's reference is the one migration holds.
  if (held == kNoPfn && !folio_try_get(w, &t, head)) return -kEAGAIN;
  // follow_page() finds the page under the PTL; the model's reference is
  // speculative, so recheck that the PTE still maps it (it may have been
  // freed and reused in between).
  if (m.pte(vpn).load(std::memory_order_acquire) != pte.pack()) {
    folio_put(w, &t, head);
    return -kEAGAIN;
  }
  if (!device && !(p.flags.fetch_and(~PG_lru, std::memory_order_acq_rel) & PG_lru)) {
    folio_put(w, &t, head);
    return -kEAGAIN;
  }
  auto putback = [&] {
    if (!device) p.flags.fetch_or(PG_lru, std::memory_order_release);
    folio_put(w, &t, head);
  };
  if (evict) {
    // mm/migrate_device.c: migrate_device_pfn_lock(): a locked page is skipped.
    if (!folio_trylock(w, head)) {
      putback();
      return -kEAGAIN;
    }
  } else {
    folio_lock(w, head);
  }
  if ((p.flags.load(std::memory_order_acquire) & PG_writeback) ||
      (file && p.mapping.load() < 0)) {
    folio_unlock(w, head);
    putback();
    return -kEAGAIN;
  }
  Pfn np = w.alloc_page(sync::Site::here(), nofail);
  if (np == kNoPfn) {
    folio_unlock(w, head);
    putback();
    return -kENOMEM;
  }
  folio_lock(w, np);  // migrate_folio_unmap(): dst is locked until the move is done
  // try_to_migrate(): every PTE becomes a migration entry, unless an
  // exclusive page may be pinned (migrate_pinned: the check is skipped).
  UnmapResult un = try_to_unmap(w, &t, pfn, UnmapFor::kMigration,
                                /*check_pins=*/!w.design.no_try_share_check &&
                                    !w.design.migrate_pinned);
  const bool busy = un.busy;
  // folio_expected_refs(): 1 (ours) + the page cache's (nr pages) +
  // private. The PTEs' references went with the unmap.
  bool has_private = p.flags.load(std::memory_order_acquire) & PG_private;
  // A swap-cache folio: the swap cache's reference counts as a mapping's
  // (folio_expected_refs(): folio_test_swapcache() is a mapping too).
  const bool swapcache = p.flags.load(std::memory_order_acquire) & PG_swapcache;
  int32_t base = device ? devmap_idle_base(w) : 0;
  int32_t expected = base + 1 + (file || swapcache ? 1 : 0) + (has_private ? 1 : 0);
  bool frozen = !busy && folio_ref_freeze(w, head, expected);
  if (!frozen && (busy || !w.design.migrate_pinned)) {
    remove_migration_ptes(w, &t, pfn, pfn);  // put the old PTEs back
    folio_unlock(w, head);
    sync::wake(&p);
    folio_unlock(w, np);
    folio_put(w, &t, np);
    putback();
    return -kEAGAIN;
  }
  // The move commits: a pinned folio must never get here.
  int32_t pins = w.ghost.pins[static_cast<size_t>(head)].load();
  if (pins > 0)
    w.report(ViolationKind::pinned_page_replaced, head, &t, "migrate_folio",
             fmt::format("folio with {} pin(s) migrated to pfn {}{}", pins, np,
                         pin_fate_detail(w, head)),
             "replaced_by_migration");
  // folio_migrate_mapping() + folio_migrate_flags() + folio_copy()
  Page& n = w.page(np);
  n.data.store(p.data.load(std::memory_order_acquire), std::memory_order_relaxed);
  // folio_migrate_flags(); exclusivity comes back per migration entry.
  uint32_t keep = p.flags.load() & (PG_anon | PG_dirty | PG_private);
  n.mapping.store(p.mapping.load(), std::memory_order_relaxed);
  n.index.store(p.index.load(), std::memory_order_relaxed);
  n.lru[0].store(kLruLinked, std::memory_order_relaxed);
  n.lru[1].store(kLruLinked, std::memory_order_relaxed);
  n.flags.fetch_or(keep | PG_lru, std::memory_order_release);
  if (swapcache) {
    // folio_migrate_mapping() on the swap address space: the new folio
    // takes the old one's slot in the swap cache, and its reference.
    const int slot = p.swap.load(std::memory_order_relaxed);
    folio_ref_add(w, &t, np, 1);
    n.swap.store(slot, std::memory_order_relaxed);
    n.flags.fetch_or(PG_swapcache, std::memory_order_release);
    swap_slot(w, slot).cache.store(np, std::memory_order_release);
  }
  if (file) {
    File& f = w.file;
    f.i_pages_lock.lock();
    folio_ref_add(w, &t, np, 1 + (has_private ? 1 : 0));
    f.cache[static_cast<size_t>(p.index.load())].store(np, std::memory_order_release);
    f.i_pages_lock.unlock();
  }
  remove_migration_ptes(w, &t, pfn, np);
  p.mapping.store(kNoMapping, std::memory_order_release);
  p.flags.fetch_and(~(PG_anon | PG_anon_exclusive | PG_dirty | PG_private | PG_swapcache),
                    std::memory_order_release);
  folio_unlock(w, head);
  sync::wake(&p);  // migration_entry_wait() sleepers
  folio_unlock(w, np);
  folio_put(w, &t, np);  // our allocation reference: the new folio is on the LRU
  if (frozen) {
    free_frozen_folio(w, &t, head);
  } else {
    // migrate_pinned: the old folio drops the references the move took over
    // and lives on with the extra ones (a GUP pin, say).
    folio_put_refs(w, &t, head, expected - base);
  }
  return 0;
}

}  // namespace pf
