// mm/khugepaged.c: collapse_huge_page() for one PMD of the model: its
// kVpnPerPmd order-0 anon pages are copied into one new folio of
// kCollapseOrder. The kernel maps that folio with the PMD; the model has no
// PMD leaf, so the new table maps it with PTEs, as a PTE-mapped THP (after a
// PMD split) or an mTHP is mapped: GUP, fork, COW, split and reclaim then
// treat it as any large anon folio. Allocate, lock the old folios, clear the
// PMD (pmdp_collapse_flush(); the old PTE table is detached but stays
// readable to a GUP-fast walker that already holds its address), check that
// no one but the mapping holds a reference (__collapse_huge_page_isolate():
// a GUP pin fails the collapse), then copy, point the PMD at the new table
// and drop the old pages. GUP-fast's PMD recheck is what catches a grab that
// lands after the reference check (70cbc3cc78a9).
#include "model/internal.h"

namespace pf {

int collapse_pmd(World& w, Task& t, int vpn) {
  if (vpn < 0 || vpn >= kMaxVpn) return -kEINVAL;
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  const int first = vpn / kVpnPerPmd * kVpnPerPmd;
  auto& pmd = m.pmd[static_cast<size_t>(first / kVpnPerPmd)];
  std::array<Pfn, kVpnPerPmd> old{};
  old.fill(kNoPfn);
  Pfn folio = kNoPfn;
  int locked = 0;
  int result = 0;

  m.mmap_lock.down_write();  // collapse_huge_page(): mmap_write_lock()
  // __collapse_huge_page_isolate(): under the PTE lock, each PTE must map an
  // exclusive order-0 anon page, and its folio is trylocked there (so it
  // cannot be unmapped, migrated or freed in between).
  for (int k = 0; k < kVpnPerPmd && result == 0; ++k) {
    const int v = first + k;
    m.ptl.lock();
    Pte pte = Pte::unpack(m.pte(v).load(std::memory_order_acquire));
    if (m.vma(v).kind != VmaKind::kAnon || !pte.present ||
        pte.pfn == w.zero_pfn) {
      result = -kEINVAL;
    } else {
      Page& p = w.page(pte.pfn);
      uint32_t f = p.flags.load(std::memory_order_acquire);
      if (p.is_device() || p.order() > 0 || !(f & PG_anon) || !(f & PG_anon_exclusive))
        result = -kEINVAL;
      else if (!folio_trylock(w, pte.pfn))
        result = -kEAGAIN;
      else
        old[static_cast<size_t>(locked++)] = pte.pfn;  // only a lock we got is ours to drop
    }
    m.ptl.unlock();
  }
  // alloc_charge_folio(): SCAN_ALLOC_HUGE_PAGE_FAIL when no folio of the
  // order is free (the kernel allocates first; the order does not matter
  // to anyone else here).
  if (result == 0) {
    folio = w.alloc_folio();
    if (folio == kNoPfn) result = -kENOMEM;
  }

  uint32_t v = 0;
  if (result == 0) {
    // pmdp_collapse_flush(): the PMD is cleared under the PTL; GUP-fast
    // walkers that read it before keep walking the old table.
    m.ptl.lock();
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
    }
    m.ptl.lock();
    if (result != 0) {
      // Put the same table back, as a new generation.
      pmd.store((v & ~kPmdNone) + kPmdGen, std::memory_order_release);
    } else {
      // __collapse_huge_page_copy(), then folio_add_new_anon_rmap(RMAP_EXCLUSIVE)
      // (every page AnonExclusive, each mapped once), folio_add_lru_vma()
      // and set_pmd_at(): the new folio goes into the other table, which the
      // PMD then points at; the old one is left as it was (detached). One
      // reference per mapping PTE, as the model counts a PTE-mapped folio's
      // (do_anonymous_page(): folio_ref_add(folio, nr_pages - 1)).
      const uint32_t next = ((v & ~(kPmdNone | kPmdTable)) + kPmdGen) | ((v & kPmdTable) ^ kPmdTable);
      Page& head = w.page(folio);
      for (int k = 0; k < kVpnPerPmd; ++k) {
        Pfn np = static_cast<Pfn>(folio + k);
        Page& n = w.page(np);
        copy_highpage(w, &t, np, old[static_cast<size_t>(k)]);
        n.mapping.store(kAnonMapping, std::memory_order_relaxed);
        n.index.store(first + k, std::memory_order_relaxed);
        n.mapcount.store(1, std::memory_order_relaxed);
        n.flags.fetch_or(PG_anon | PG_anon_exclusive, std::memory_order_release);
      }
      head.refcount.fetch_add(kVpnPerPmd - 1, std::memory_order_relaxed);
      head.lru[0].store(kLruLinked, std::memory_order_relaxed);
      head.lru[1].store(kLruLinked, std::memory_order_relaxed);
      head.flags.fetch_or(PG_lru, std::memory_order_release);
      for (int k = 0; k < kVpnPerPmd; ++k) {
        Pte pte;
        pte.pfn = static_cast<Pfn>(folio + k);
        pte.present = pte.dirty = true;
        pte.writable = !m.vma(first + k).readonly;  // maybe_pmd_mkwrite()
        m.pte_in(first + k, next).store(pte.pack(), std::memory_order_release);
      }
      pmd.store(next, std::memory_order_release);
      for (int k = 0; k < kVpnPerPmd; ++k)
        w.ghost.note_replaced(t.mm, old[static_cast<size_t>(k)], "collapse");
    }
    m.ptl.unlock();
  }
  // __collapse_huge_page_copy_succeeded() -> free_swap_cache(): an old
  // folio leaves the swap cache if no swap PTE needs it.
  if (result == 0)
    for (int k = 0; k < kVpnPerPmd; ++k) folio_free_swap(w, &t, old[static_cast<size_t>(k)]);
  for (int k = 0; k < locked; ++k) folio_unlock(w, old[static_cast<size_t>(k)]);
  if (result == 0) {
    // release_pte_folios(): the old pages lose their mapping and reference.
    for (int k = 0; k < kVpnPerPmd; ++k) {
      Pfn op = old[static_cast<size_t>(k)];
      w.page(op).mapcount.fetch_sub(1, std::memory_order_relaxed);
      folio_put(w, &t, op);
    }
  } else if (folio != kNoPfn) {
    folio_put(w, &t, folio);
  }
  m.mmap_lock.up_write();
  return result;
}

}  // namespace pf
