// mm/huge_memory.c: split_huge_page_to_list_to_order() of a large anon
// folio to order 0, as split_huge_pages_pid() (the debugfs split_huge_pages
// knob) and deferred_split_scan() drive it. Source read: a v6.12-era
// mm/huge_memory.c (stored copy): can_split_folio(), unmap_folio(),
// __split_huge_page(), __split_huge_page_tail(), remap_page().
//
// The protocol GUP-fast relies on: the split refuses a folio with
// references beyond its mappings and the caller's (a pin, a GUP get), it
// unmaps every page to a migration entry first, and it freezes the
// refcount, so a speculative folio_try_get() either lands before the freeze
// (and the freeze fails) or fails on 0. What the freeze cannot stop is a
// GUP-fast that read page_folio() before the split and increments after it:
// try_get_folio()'s re-check of page_folio() (c24d37322548) catches that.
#include "model/internal.h"

namespace pf {

// Ghost: a handle on a page of the folio follows the page to its piece (the
// kernel's unpin goes to page_folio(page), which is now the piece). Only a
// split that ignores extra references (split_ignores_pins) ever splits a
// folio someone holds; the design's own count stays where the split left
// it, and the oracles compare the two per piece.
static void ghost_split(World& w, Pfn head, int nr) {
  std::lock_guard<std::mutex> lock(w.held_mu);
  for (auto& t : w.tasks)
    for (auto& h : t.held) {
      if (!h.live || h.head != head || h.pfn == head || h.pfn < head || h.pfn >= head + nr)
        continue;
      ghost_released(w, h);
      const bool pin = h.how == GupHow::kPin && design_pins(w, head);
      if (pin) w.ghost.pin_grabs[static_cast<size_t>(head)].fetch_sub(1);
      h.head = h.pfn;
      ghost_grabbed(w, h);
      if (pin) w.ghost.pin_grabs[static_cast<size_t>(h.pfn)].fetch_add(1);
    }
}

// split_huge_page_to_list_to_order(folio, NULL, 0): the folio is locked and
// the caller holds one reference, which stays with the head piece.
int split_folio(World& w, const Task* t, Pfn head) {
  Page& h = w.page(head);
  const int nr = 1 << h.order();
  // "if (folio_test_writeback(folio)) return -EBUSY;"
  if (h.flags.load(std::memory_order_acquire) & PG_writeback) return -kEBUSY;
  // can_split_folio(folio, 1, &extra_pins): "Additional pins from page
  // cache": the swap cache's, one per page. "Racy check whether the huge
  // page can be split": folio_mapcount(folio) == folio_ref_count(folio) -
  // extra_pins - caller_pins.
  const bool swapcache = h.flags.load(std::memory_order_acquire) & PG_swapcache;
  const int extra = swapcache ? nr : 0;
  const int mapcount = folio_large_mapcount(w, head);
  const int32_t refs = w.width.value(h.refcount.load(std::memory_order_acquire));
  // split_ignores_pins: no extra-reference check, and the freeze takes the
  // count as it finds it.
  if (!w.design.split_ignores_pins && mapcount != refs - extra - 1) return -kEAGAIN;
  // unmap_folio() -> try_to_migrate(folio, TTU_SPLIT_HUGE_PMD | TTU_SYNC).
  const bool busy = unmap_folio(
      w, t, head, /*check_pins=*/!w.design.no_try_share_check && !w.design.split_ignores_pins);
  // remap_page(): remove_migration_ptes() for every page (each a folio of
  // its own once the split is done).
  auto remap_page = [&] { remove_folio_migration_ptes(w, t, head, head, nr); };
  // "if (folio_ref_freeze(folio, 1 + extra_pins))"
  const int32_t expect =
      w.design.split_ignores_pins ? w.width.value(h.refcount.load(std::memory_order_acquire))
                                  : 1 + extra;
  if (busy || !folio_ref_freeze(w, head, expect)) {
    remap_page();  // "remap_page(folio, folio_nr_pages(folio), 0); ret = -EAGAIN;"
    return -kEAGAIN;
  }
  // __split_huge_page() -> __split_huge_page_tail(), last tail first.
  const uint32_t hf = h.flags.load(std::memory_order_acquire);
  const int32_t index = h.index.load(std::memory_order_relaxed);
  const int32_t mapping = h.mapping.load(std::memory_order_relaxed);
  const int slot = h.swap.load(std::memory_order_relaxed);
  for (int i = nr - 1; i >= 1; --i) {
    const Pfn pfn = static_cast<Pfn>(head + i);
    Page& p = w.page(pfn);
    // "Clone page flags before unfreezing refcount": PG_locked, PG_dirty,
    // PG_swapcache...; PG_anon_exclusive is the page's own (unmap_folio()
    // moved it into the migration entry of a mapped page).
    p.flags.store((p.flags.load(std::memory_order_relaxed) & PG_anon_exclusive) |
                      (hf & (PG_locked | PG_dirty | PG_anon | PG_swapcache)),
                  std::memory_order_relaxed);
    p.mapping.store(mapping, std::memory_order_relaxed);
    p.index.store(index + i, std::memory_order_relaxed);
    if (swapcache) p.swap.store(slot + i, std::memory_order_relaxed);
    // lru_add_page_tail()
    p.lru[0].store(kLruLinked, std::memory_order_relaxed);
    p.lru[1].store(kLruLinked, std::memory_order_relaxed);
    p.flags.fetch_or(PG_lru, std::memory_order_relaxed);
    // "Page flags must be visible before we make the page non-compound":
    // smp_wmb(); clear_compound_head(page_tail) - release in set_folio().
    p.set_folio(pfn, 0);
    // "Finally unfreeze refcount. Additional reference from page cache."
    folio_ref_unfreeze(w, pfn, 1 + (swapcache ? 1 : 0));
  }
  // ClearPageCompound(head); "Additional pin to swap cache": the head keeps
  // the caller's reference (and the swap cache's).
  h.flags.fetch_and(~PG_head, std::memory_order_relaxed);
  h.set_folio(head, 0);
  folio_ref_unfreeze(w, head, 1 + (swapcache ? 1 : 0));
  ghost_split(w, head, nr);
  remap_page();
  // "Subpages may be freed if there wasn't any mapping": folio_unlock() and
  // free_page_and_swap_cache() of every piece but the caller's.
  for (int i = 1; i < nr; ++i) {
    folio_unlock(w, static_cast<Pfn>(head + i));
    folio_put(w, t, static_cast<Pfn>(head + i));
  }
  return 0;
}

int split_folio_vpn(World& w, Task& t, int vpn) {
  if (vpn < 0 || vpn >= kMaxVpn) return -kEINVAL;
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  // split_huge_pages_pid(): mmap_read_lock(); folio_walk_start() finds the
  // folio under the PTL, "if (!is_transparent_hugepage(folio)) goto next",
  // folio_get(); then "if (!folio_trylock(folio)) goto next".
  m.mmap_lock.down_read();
  m.ptl.lock();
  const Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  Pfn head = pte.present ? w.page(pte.pfn).head() : kNoPfn;
  int r = 0;
  if (head == kNoPfn) {
    r = -kEFAULT;
  } else if (w.page(head).is_device() || head == w.zero_pfn || w.page(head).order() == 0 ||
             !(w.page(head).flags.load(std::memory_order_acquire) & PG_anon)) {
    r = -kEINVAL;
  } else {
    folio_ref_add(w, &t, head, 1);  // folio_get(): the PTE's reference keeps it above 0
  }
  m.ptl.unlock();
  if (r == 0) {
    if (!folio_trylock(w, head)) {
      r = -kEAGAIN;
    } else {
      r = split_folio(w, &t, head);
      folio_unlock(w, head);
    }
    folio_put(w, &t, head);
  }
  m.mmap_lock.up_read();
  return r;
}

}  // namespace pf
