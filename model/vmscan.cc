// mm/vmscan.c: shrink_folio_list() for one folio; mm/rmap.c:
// try_to_unmap_one() and __folio_try_share_anon_rmap() (the other half of
// GUP-fast's Dekker protocol: clear PTE, smp_mb(), check maybe-pinned).
#include "model/internal.h"

namespace pf {

// folio_isolate_lru(): a reference plus PG_lru cleared; false if someone
// else has it isolated (or it is not on the LRU).
static bool isolate(World& w, const Task* t, Pfn head) {
  if (!folio_try_get(w, t, head)) return false;
  if (!(w.page(head).flags.fetch_and(~PG_lru, std::memory_order_acq_rel) & PG_lru)) {
    folio_put(w, t, head);
    return false;
  }
  return true;
}

// folio_putback_lru()
static void putback(World& w, const Task* t, Pfn head) {
  w.page(head).flags.fetch_or(PG_lru, std::memory_order_release);
  folio_put(w, t, head);
}

bool reclaim_file(World& w, Task& t, int index) {
  File& f = w.file;
  Pfn pfn = f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire);
  if (pfn == kNoPfn) return false;
  Pfn head = w.page(pfn).head();
  Page& p = w.page(head);
  if (!isolate(w, &t, head)) return false;
  // filemap_get_entry(): the reference was taken speculatively; the page may
  // have been freed and reused since the slot was read. Recheck the slot.
  if (f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire) != pfn) {
    putback(w, &t, head);
    return false;
  }
  auto give_up = [&] {
    folio_unlock(w, head);
    putback(w, &t, head);
    return false;
  };
  if (!folio_trylock(w, head)) {
    putback(w, &t, head);
    return false;
  }
  // shrink_folio_list() -> __remove_mapping(): under the lock, the folio
  // must still belong to this file at this index.
  if (p.mapping.load(std::memory_order_acquire) != 0 ||
      !folio_contains(w, head, index) ||
      (p.flags.load(std::memory_order_acquire) & (PG_writeback | PG_dirty)))
    return give_up();  // truncated or reused, or dirty (pageout is writeback's job here)
  // try_to_unmap(): file PTEs go (a dirty PTE dirties the folio).
  int nr = 1 << p.order();
  unmap_mapping_folio(w, &t, head);
  if (p.flags.load(std::memory_order_acquire) & PG_dirty) return give_up();
  // "Folio is unmapped now so it cannot be newly pinned anymore. No point in
  // trying to reclaim folio if it is pinned. Furthermore we don't want to
  // reclaim underlying fs metadata if the folio is pinned" (Jan Kara, 2023;
  // get_only cannot tell, which is the seed's crash).
  if (folio_maybe_dma_pinned(w, &t, head)) return give_up();
  // filemap_release_folio() -> try_to_free_buffers(): buffers are clean.
  if (p.flags.fetch_and(~PG_private, std::memory_order_acq_rel) & PG_private)
    folio_put(w, &t, head);
  // __remove_mapping(): freeze against 1 (ours) + the page cache's refs.
  f.i_pages_lock.lock();
  if (!folio_ref_freeze(w, head, 1 + nr)) {
    f.i_pages_lock.unlock();
    return give_up();  // extra references: a GUP user, say
  }
  int first = p.index.load(std::memory_order_relaxed);  // the head's index
  for (int i = 0; i < nr; ++i) f.cache[static_cast<size_t>(first + i)].store(kNoPfn);
  p.mapping.store(kNoMapping, std::memory_order_release);
  f.i_pages_lock.unlock();
  folio_unlock(w, head);
  free_frozen_folio(w, &t, head);
  return true;
}

bool reclaim_vpn(World& w, Task& t, int vpn) {
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  // A PMD-mapped THP is unmapped with TTU_SPLIT_HUGE_PMD: its PMD is split
  // (split_huge_pmd_locked() in try_to_unmap_one()). The model splits it
  // first, then reclaims the PTE-mapped folio (docs/model.md "PMD-mapped THPs").
  split_huge_pmd(w, &t, t.mm, vpn);
  Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  if (!pte.present || pte.pfn == w.zero_pfn) return false;
  Pfn pfn = pte.pfn;
  Page& p = w.page(pfn);
  // page_folio() and folio_order() read together: a split may make the
  // page a small folio of its own at any later step, never the reverse.
  Pfn head = p.head();
  Page& h = w.page(head);
  const bool large = h.order() > 0;
  if (h.mapping.load(std::memory_order_acquire) == kBufferedFile)
    return reclaim_file(w, t, h.index.load());
  if (p.is_device() || !(h.flags.load() & PG_anon)) return false;
  if (!isolate(w, &t, head)) return false;
  // The reference is speculative (the PTE was read without the PTL): the
  // page may have been freed and reused meanwhile. Recheck the PTE.
  if (m.pte(vpn).load(std::memory_order_acquire) != pte.pack()) {
    putback(w, &t, head);
    return false;
  }
  if (!folio_trylock(w, head)) {
    putback(w, &t, head);
    return false;
  }
  if (large) {
    // shrink_folio_list(): a large anon folio "cannot split folio, skip it"
    // unless can_split_folio(); add_to_swap() of a large folio needs THP
    // swap, which the model has not, so "Fallback to swap normal pages":
    // split_folio_to_list(). The pieces go back to the LRU, and reclaim
    // goes on with the one that holds the page (it comes round again in the
    // kernel, from the list).
    const int r = split_folio(w, &t, head);
    folio_unlock(w, head);
    putback(w, &t, head);
    if (r != 0 || w.page(pfn).head() != pfn) return false;
    return reclaim_vpn(w, t, vpn);
  }
  // shrink_folio_list() -> add_to_swap(): the folio gets a slot and joins
  // the swap cache (unless it is there already: an earlier attempt left it).
  if (!(h.flags.load(std::memory_order_acquire) & PG_swapcache) && !add_to_swap(w, &t, head)) {
    folio_unlock(w, head);
    putback(w, &t, head);
    return false;
  }
  // try_to_unmap() -> try_to_unmap_one() for each PTE, backing off from a
  // maybe-pinned exclusive page.
  UnmapResult un = try_to_unmap(w, &t, pfn, UnmapFor::kSwap,
                                /*check_pins=*/!w.design.no_try_share_check);
  if (!un.busy) {
    // pageout() -> swap_writepage(): the slot gets the data (the model's
    // I/O is synchronous).
    const int slot = h.swap.load(std::memory_order_relaxed);
    swap_slot(w, slot).data.store(h.data.load(std::memory_order_acquire),
                                  std::memory_order_release);
    // __remove_mapping(): freeze against our reference and the swap
    // cache's; then __delete_from_swap_cache() and the folio is freed.
    if (folio_ref_freeze(w, head, 2)) {
      delete_from_swap_cache(w, head);
      folio_unlock(w, head);
      free_frozen_folio(w, &t, head);
      return true;
    }
  }
  // A mapping left (a maybe-pinned page) or extra references (a FOLL_GET
  // user): the folio stays in the swap cache. Since 1493a1913e34 (v5.19)
  // the swap PTEs remember whether the page was exclusive, and
  // do_swap_page() maps this same folio again, exclusive if it was.
  folio_unlock(w, head);
  putback(w, &t, head);
  return false;
}

}  // namespace pf
