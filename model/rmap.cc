// mm/rmap.c: try_to_unmap_one() (swap-out) and try_to_migrate_one()
// (migration) over every PTE of a page, with the anon-exclusive handshake
// that pairs with GUP-fast: clear the PTE, smp_mb(), and if the folio may
// be pinned, put the PTE back and give up (__folio_try_share_anon_rmap()).
#include "model/internal.h"

namespace pf {

bool folio_try_share_anon_rmap(World& w, const Task* t, Pfn pfn, bool check_pins,
                               const char* why) {
  // include/linux/rmap.h: __folio_try_share_anon_rmap(): "Paired with the
  // memory barrier in try_grab_folio()": smp_mb(), then back off if the
  // folio may be pinned, else the page is no longer exclusive.
  // no_try_share_barrier deletes the barrier (the PTE clear may then still
  // wait in the store buffer under --memory=arm).
  if (!w.design.no_try_share_barrier) sync::smp_mb();
  if (check_pins && folio_maybe_dma_pinned(w, t, pfn)) return false;
  Page& p = w.page(pfn);
  p.flags.fetch_and(~PG_anon_exclusive, std::memory_order_release);
  w.ghost.note_shared(p.head(), why);
  return true;
}

UnmapResult try_to_unmap(World& w, const Task* t, Pfn pfn, UnmapFor why, bool check_pins) {
  UnmapResult r;
  Page& p = w.page(pfn);
  const Pfn head = p.head();
  for (auto [mm, vpn] : mappings_of(w, pfn)) {
    Mm& m = w.mm[static_cast<size_t>(mm)];
    m.ptl.lock();
    const uint64_t raw = m.pte(vpn).load(std::memory_order_acquire);
    const Pte cur = Pte::unpack(raw);
    if (!cur.present || cur.pfn != pfn) {  // changed since the walk
      m.ptl.unlock();
      continue;
    }
    // ptep_clear_flush() -> ptep_get_and_clear(): an xchg (x86: locked;
    // arm64: xchg_relaxed(), hence the smp_mb() below).
    m.pte(vpn).xchg(kPteNone, std::memory_order_relaxed);
    w.ghost.note_replaced(mm, pfn, why == UnmapFor::kSwap ? "swap" : "migration");
    bool exclusive = false;
    if (p.flags.load(std::memory_order_acquire) & PG_anon_exclusive) {
      exclusive = true;
      // The page is shared from here on, unless it may be pinned; a
      // migration entry keeps what it was in the entry (below) and
      // remove_migration_pte() gives it back.
      if (!folio_try_share_anon_rmap(w, t, pfn, check_pins,
                                     why == UnmapFor::kSwap ? "swap" : "migration")) {
        m.pte(vpn).store(raw, std::memory_order_release);  // set_pte_at()
        m.ptl.unlock();
        r.busy = true;
        break;
      }
    }
    Pte entry;
    if (why == UnmapFor::kSwap) {
      // try_to_unmap_one(): folio_dup_swap(), then swp_entry_to_pte() with
      // pte_swp_mkexclusive() if the page was exclusive (1493a1913e34):
      // do_swap_page() may then map the cached folio exclusive again, even
      // with a FOLL_GET reference on it.
      const int slot = p.swap.load(std::memory_order_relaxed);
      swap_duplicate(w, slot);
      entry.swap = true;
      entry.pfn = static_cast<Pfn>(slot);
      // no_swp_exclusive: the rule before 1493a1913e34 (v5.19): the entry
      // forgets, and do_swap_page() goes by the refcount alone.
      entry.exclusive = exclusive && !w.design.no_swp_exclusive;
    } else {
      // make_{readable,writable}_migration_entry(): remembers whether the
      // PTE was writable, and the dirty bit goes with it.
      entry.pfn = pfn;
      entry.migration = true;
      entry.writable = cur.writable;
      entry.dirty = cur.dirty;
      entry.exclusive = exclusive;
    }
    m.pte(vpn).store(entry.pack(), std::memory_order_release);
    m.ptl.unlock();
    p.mapcount.fetch_sub(1, std::memory_order_relaxed);  // folio_remove_rmap_pte()
    folio_put(w, t, head);  // the mapping's reference; the caller holds one
    r.done[static_cast<size_t>(r.n++)] = Unmapped{mm, vpn, cur};
  }
  return r;
}

bool unmap_folio(World& w, const Task* t, Pfn head, bool check_pins) {
  bool busy = false;
  for (int i = 0; i < (1 << w.page(head).order()) && !busy; ++i)
    busy = try_to_unmap(w, t, static_cast<Pfn>(head + i), UnmapFor::kMigration, check_pins).busy;
  return busy;
}

}  // namespace pf
