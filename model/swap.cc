// mm/swapfile.c and mm/swap_state.c: swap slots and the swap cache, as far
// as the pin/exclusivity rules need them (1493a1913e34, v5.19: "mm/swap:
// remember PG_anon_exclusive via a swp pte bit"). Read in linux-next
// (ColinIanKing/linux-next, ~6.19): mm/swap_state.c, mm/swapfile.c,
// mm/memory.c do_swap_page(), mm/rmap.c try_to_unmap_one().
#include "model/internal.h"

namespace pf {

SwapSlot& swap_slot(World& w, int slot) { return w.swap[static_cast<size_t>(slot)]; }

// A slot is free again once no PTE names it and no folio caches it. Under
// si->lock (World::swap_mu), as allocation is, so a slot reallocated
// meanwhile (its cache set under the lock) is never freed by a late check.
static void swap_slot_maybe_free(World& w, int slot) {
  SwapSlot& s = swap_slot(w, slot);
  std::lock_guard<std::mutex> lock(w.swap_mu);
  if (s.count.peek() == 0 && s.cache.peek() == kNoPfn) s.used.store(false);
}

bool add_to_swap(World& w, const Task* t, Pfn head) {
  // mm/swap_state.c: folio_alloc_swap() -> get_swap_pages(): a free slot.
  int slot = -1;
  {
    std::lock_guard<std::mutex> lock(w.swap_mu);
    for (int i = 0; i < kMaxSwap && slot < 0; ++i) {
      SwapSlot& s = w.swap[static_cast<size_t>(i)];
      if (s.used.load()) continue;
      s.used.store(true);
      s.cache.init(head);  // the swap cache's xarray slot, under the same lock here
      slot = i;
    }
  }
  if (slot < 0) return false;  // swap is full: the folio stays where it is
  // add_to_swap_cache(): the cache takes a reference per page, and the folio
  // knows its entry (folio->swap) under PG_swapcache.
  Page& p = w.page(head);
  folio_ref_add(w, t, head, 1);
  p.swap.store(slot, std::memory_order_relaxed);
  p.flags.fetch_or(PG_swapcache, std::memory_order_release);
  return true;
}

void delete_from_swap_cache(World& w, Pfn head) {
  // __delete_from_swap_cache(): the caller holds the folio lock and drops
  // the cache's reference itself (or froze it, in __remove_mapping()).
  Page& p = w.page(head);
  const int slot = p.swap.load(std::memory_order_relaxed);
  swap_slot(w, slot).cache.store(kNoPfn, std::memory_order_release);
  p.flags.fetch_and(~PG_swapcache, std::memory_order_release);
  p.swap.store(-1, std::memory_order_relaxed);
  swap_slot_maybe_free(w, slot);
}

bool folio_free_swap(World& w, const Task* t, Pfn head) {
  // mm/swapfile.c: folio_free_swap(), folio locked: only when no swap PTE
  // needs the folio any more (folio_swapcount() == 0).
  Page& p = w.page(head);
  if (!(p.flags.load(std::memory_order_acquire) & PG_swapcache)) return false;
  const int slot = p.swap.load(std::memory_order_relaxed);
  if (swap_slot(w, slot).count.load(std::memory_order_acquire) != 0) return false;
  delete_from_swap_cache(w, head);
  folio_put(w, t, head);  // the cache's reference
  return true;
}

void swap_duplicate(World& w, int slot) {
  // mm/swapfile.c: swap_duplicate() (fork), folio_dup_swap() (unmap).
  swap_slot(w, slot).count.fetch_add(1, std::memory_order_relaxed);
}

void swap_free(World& w, int slot) {
  // mm/swapfile.c: swap_free_nr(): one swap PTE less.
  swap_slot(w, slot).count.fetch_sub(1, std::memory_order_acq_rel);
  swap_slot_maybe_free(w, slot);
}

void free_swap_and_cache(World& w, const Task* t, int slot) {
  // mm/swapfile.c: free_swap_and_cache_nr(): a zapped swap PTE. When it was
  // the last one, the cached folio goes too if its lock can be had
  // (__try_to_reclaim_swap(): trylock; otherwise it stays cached until
  // someone frees it, as in the kernel).
  SwapSlot& s = swap_slot(w, slot);
  if (s.count.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  swap_slot_maybe_free(w, slot);
  Pfn folio = swap_cache_get_folio(w, t, slot);
  if (folio < 0) return;
  if (folio_trylock(w, folio)) {
    if (w.page(folio).mapcount.load(std::memory_order_acquire) == 0)
      folio_free_swap(w, t, folio);
    folio_unlock(w, folio);
  }
  folio_put(w, t, folio);
}

bool swapcache_prepare(World& w, int slot) {
  // mm/swapfile.c: swapcache_prepare(), as do_swap_page()'s swap-in that
  // skips the swap cache uses it (13ddaf26be32, "mm/swap: fix race when
  // skipping swapcache"): the entry is marked as having a cache, so no
  // other swap-in proceeds and the slot cannot be freed and reused while
  // this one reads it: "It's undetectable as pte_same() returns true due to
  // entry reuse." Under si->lock, not a scheduling point.
  SwapSlot& s = swap_slot(w, slot);
  std::lock_guard<std::mutex> lock(w.swap_mu);
  if (!s.used.load() || s.count.peek() == 0 || s.cache.peek() != kNoPfn) return false;
  s.cache.init(kSwapInClaim);
  return true;
}

void swapcache_clear(World& w, int slot) {
  // mm/swapfile.c: swapcache_clear(), then wake_up(&swapcache_wq).
  SwapSlot& s = swap_slot(w, slot);
  {
    std::lock_guard<std::mutex> lock(w.swap_mu);
    s.cache.init(kNoPfn);
    if (s.count.peek() == 0) s.used.store(false);
  }
  sync::wake(&s.cache);
}

Pfn swap_cache_get_folio(World& w, const Task* t, int slot) {
  // mm/swap_state.c: swap_cache_get_folio(): a speculative reference, then
  // a recheck that the folio still caches this entry (it may have been
  // freed and reused meanwhile). A folio that is there but cannot be had
  // (frozen by reclaim or migration) is kSwapCacheBusy, not "absent": the
  // kernel's swap-in then finds the entry taken (swapcache_prepare():
  // -EEXIST) and retries; it never reads the slot under a cached folio.
  SwapSlot& s = swap_slot(w, slot);
  const Pfn folio = s.cache.load(std::memory_order_acquire);
  if (folio == kNoPfn) return kNoPfn;
  if (folio == kSwapInClaim || !folio_try_get(w, t, folio)) return kSwapCacheBusy;
  Page& p = w.page(folio);
  if (s.cache.load(std::memory_order_acquire) != folio ||
      !(p.flags.load(std::memory_order_acquire) & PG_swapcache) ||
      p.swap.load(std::memory_order_relaxed) != slot) {
    folio_put(w, t, folio);
    return kSwapCacheBusy;
  }
  return folio;
}

}  // namespace pf
