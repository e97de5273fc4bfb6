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
  // A PMD-mapped THP: split_folio() -> unmap_folio() splits its PMD first
  // (TTU_SPLIT_HUGE_PMD); the model does that before the walk.
  split_huge_pmd(w, &t, t.mm, vpn);
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

// ------------------------------------------------------------ PMD-mapped THPs
//
// A `thp` VMA's PMD (docs/model.md "PMD-mapped THPs"): none until a fault,
// then the huge zero folio or an anon THP mapped by the PMD itself, or a
// table. Sources read: a v6.12-era mm/huge_memory.c (stored copy):
// do_huge_pmd_anonymous_page(), set_huge_zero_folio(), do_huge_pmd_wp_page(),
// __split_huge_pmd_locked(), __split_huge_zero_page_pmd(), zap_huge_pmd(),
// touch_pmd(); v4.14 for the FOLL_COW era's can_follow_write_pmd().

// thp_vma_suitable_order(): the PMD-aligned range lies in one THP-eligible
// VMA (both vpns alike but for their offsets). Caller holds mmap_lock.
bool huge_pmd_suitable(const Mm& m, int vpn) {
  const int base = vpn - vpn % kVpnPerPmd;
  const Vma a = m.vma(base);
  for (int i = 1; i < kVpnPerPmd; ++i) {
    const Vma b = m.vma(base + i);
    if (!b.thp || b.kind != a.kind || b.readonly != a.readonly) return false;
  }
  return a.thp && a.kind == VmaKind::kAnon;
}

// __split_huge_pmd() -> __split_huge_pmd_locked(), under the PTL: the leaf
// becomes a table mapping the same pages. pmdp_invalidate() first (a
// GUP-fast walker that read the leaf sees the PMD change), then the PTEs,
// then pmd_populate() ("smp_wmb(); /* make pte visible before pmd */").
// The huge zero folio: every PTE maps the zero page read-only
// (__split_huge_zero_page_pmd()). An anon THP: each PTE keeps the leaf's
// write and dirty bits, each page PG_anon_exclusive if the head was
// ("anon_exclusive = PageAnonExclusive(page)"), and the PMD's one reference
// becomes one per PTE ("folio_ref_add(folio, HPAGE_PMD_NR - 1)").
static void split_huge_pmd_locked(World& w, const Task* t, Mm& m, int vpn, uint32_t v) {
  auto& pmd = m.pmd_of(vpn);
  const int base = vpn - vpn % kVpnPerPmd;
  const Pfn head = pmd_leaf_pfn(v);
  pmd.store((v & kPmdLowBits) | kPmdNone, std::memory_order_relaxed);  // pmdp_invalidate()
  if (head == w.huge_zero_pfn) {
    for (int i = 0; i < kVpnPerPmd; ++i)
      m.pte_in(base + i, v).store(present_pte(w.zero_pfn, false, false).pack(),
                                  std::memory_order_relaxed);
  } else {
    const bool exclusive = w.page(head).flags.load(std::memory_order_acquire) & PG_anon_exclusive;
    folio_ref_add(w, t, head, kVpnPerPmd - 1);
    for (int i = 0; i < kVpnPerPmd; ++i) {
      const Pfn pfn = static_cast<Pfn>(head + i);
      if (exclusive && i > 0) w.page(pfn).flags.fetch_or(PG_anon_exclusive, std::memory_order_relaxed);
      m.pte_in(base + i, v).store(
          present_pte(pfn, (v & kPmdLeafWrite) != 0, (v & kPmdLeafDirty) != 0).pack(),
          std::memory_order_relaxed);
    }
  }
  pmd.store(v & kPmdLowBits & ~kPmdNone, std::memory_order_release);  // pmd_populate()
}

void split_huge_pmd(World& w, const Task* t, int mm, int vpn) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  if (!m.vma_unlocked(vpn).thp) return;
  m.ptl.lock();  // pmd_lock()
  const uint32_t v = m.pmd_of(vpn).load(std::memory_order_acquire);
  if (pmd_leaf(v)) split_huge_pmd_locked(w, t, m, vpn, v);
  m.ptl.unlock();
}

// A fresh anon THP's pages (__folio_alloc(), folio_add_new_anon_rmap() with
// RMAP_EXCLUSIVE: PageAnonExclusive on the head only, for a PMD mapping;
// folio_add_lru_vma()). PG_anon on every page, as the model's other large
// anon folios have it (PageAnon() reads the head's mapping). The model
// keeps the PMD's mapping in every page's mapcount (the kernel's
// entire_mapcount), so folio_large_mapcount() counts it kVpnPerPmd times
// where the kernel counts it once: no path reads a PMD-mapped folio's
// mapcount against its refcount (those that would split the PMD first).
static void init_huge_anon(World& w, Pfn head, int base) {
  for (int i = 0; i < kVpnPerPmd; ++i) {
    Page& p = w.page(static_cast<Pfn>(head + i));
    p.mapping.store(kAnonMapping, std::memory_order_relaxed);
    p.index.store(base + i, std::memory_order_relaxed);
    p.mapcount.store(1, std::memory_order_relaxed);
    if (i > 0) p.flags.fetch_or(PG_anon, std::memory_order_relaxed);
  }
  Page& h = w.page(head);
  h.lru[0].store(kLruLinked, std::memory_order_relaxed);
  h.lru[1].store(kLruLinked, std::memory_order_relaxed);
  h.flags.fetch_or(PG_anon | PG_anon_exclusive | PG_lru, std::memory_order_release);
}

int huge_pmd_fault(World& w, const Task* t, int mm, int vpn, const Vma& vma, bool write,
                   bool unshare) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  auto& pmd = m.pmd_of(vpn);
  const int base = vpn - vpn % kVpnPerPmd;
  m.ptl.lock();
  uint32_t v = pmd.load(std::memory_order_acquire);
  if (!pmd_leaf(v) && !pmd_none(v)) {  // a table: the PTE level's
    m.ptl.unlock();
    return kPmdFallback;
  }
  if (!pmd_leaf(v)) {
    // __handle_mm_fault(): "if (pmd_none(*vmf.pmd) && thp_vma_allowable_order(...))
    // ret = create_huge_pmd(&vmf)": do_huge_pmd_anonymous_page().
    const bool suitable = huge_pmd_suitable(m, vpn);
    if (suitable && !write && !unshare) {
      // "if (!(vmf->flags & FAULT_FLAG_WRITE) && !mm_forbids_zeropage(vma->vm_mm) &&
      // transparent_hugepage_use_zero_page())": set_huge_zero_folio():
      // "entry = mk_pmd(&zero_folio->page, vma->vm_page_prot); entry =
      // pmd_mkhuge(entry);" - neither writable nor dirty.
      pmd.store(make_pmd_leaf(v, w.huge_zero_pfn, false, false), std::memory_order_release);
      m.ptl.unlock();
      return 0;
    }
    m.ptl.unlock();
    // __do_huge_pmd_anonymous_page(): a THP (vma_alloc_anon_folio_pmd()),
    // or VM_FAULT_FALLBACK if none can be had (count_vm_event(THP_FAULT_FALLBACK)).
    const Pfn head = suitable ? w.alloc_folio() : kNoPfn;
    if (head != kNoPfn) {
      init_huge_anon(w, head, base);
      m.ptl.lock();
      v = pmd.load(std::memory_order_acquire);
      const bool still_none = pmd_none(v);
      // map_anon_folio_pmd(): "entry = mk_huge_pmd(page, vma->vm_page_prot);
      // entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma);"
      if (still_none)
        pmd.store(make_pmd_leaf(v, head, !vma.readonly, true), std::memory_order_release);
      m.ptl.unlock();
      if (!still_none) {  // "if (unlikely(!pmd_none(*vmf->pmd))) goto unlock_release;"
        for (int i = 0; i < kVpnPerPmd; ++i)
          w.page(static_cast<Pfn>(head + i)).mapcount.store(0, std::memory_order_relaxed);
        folio_put(w, t, head);
      }
      return 0;
    }
    // The PTE level: __pte_alloc() -> pmd_populate() of an empty table.
    m.ptl.lock();
    v = pmd.load(std::memory_order_acquire);
    if (pmd_none(v)) pmd.store(v & ~kPmdNone, std::memory_order_release);
    m.ptl.unlock();
    return pmd_leaf(v) ? 0 : kPmdFallback;  // a leaf came meanwhile: retry
  }
  // A leaf. __handle_mm_fault(): "if (pmd_trans_huge(vmf.orig_pmd)) { ...
  // if ((flags & FAULT_FLAG_WRITE) && !pmd_write(vmf.orig_pmd)) return
  // wp_huge_pmd(&vmf); ... huge_pmd_set_accessed(&vmf); return 0; }":
  // the access bit only (dirty only for a write, which takes wp_huge_pmd()).
  if ((!write && !unshare) || (v & kPmdLeafWrite)) {
    m.ptl.unlock();
    return 0;
  }
  const Pfn head = pmd_leaf_pfn(v);
  // do_huge_pmd_wp_page(): "if (is_huge_zero_pmd(orig_pmd)) goto fallback;"
  // and a folio that is not exclusive is split too (the model does not
  // share PMD mappings: fork splits them, see fork_mm()). "fallback:
  // __split_huge_pmd(vma, vmf->pmd, vmf->address, false); return
  // VM_FAULT_FALLBACK;"
  if (head == w.huge_zero_pfn ||
      !(w.page(head).flags.load(std::memory_order_acquire) & PG_anon_exclusive)) {
    split_huge_pmd_locked(w, t, m, vpn, v);
    m.ptl.unlock();
    return kPmdFallback;
  }
  // "reuse: if (unlikely(unshare)) { spin_unlock(vmf->ptl); return 0; }
  // entry = pmd_mkyoung(orig_pmd); entry = maybe_pmd_mkwrite(pmd_mkdirty(entry), vma);"
  if (unshare) {
    m.ptl.unlock();
    return 0;
  }
  pmd.store(make_pmd_leaf(v, head, !vma.readonly, true), std::memory_order_release);
  m.ptl.unlock();
  return kVmFaultWrite;  // the v4.x VM_FAULT_WRITE: COW is broken
}

bool zap_huge_pmd(World& w, const Task* t, int mm, int vpn, const char* why, bool dontneed) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  m.ptl.lock();
  const uint32_t v = m.pmd_of(vpn).load(std::memory_order_acquire);
  if (!pmd_leaf(v)) {
    m.ptl.unlock();
    return false;
  }
  // zap_huge_pmd(): "orig_pmd = pmdp_huge_get_and_clear_full(vma, addr, pmd,
  // tlb->fullmm);" - an xchg, as ptep_get_and_clear_full().
  m.pmd_of(vpn).xchg((v & kPmdLowBits) | kPmdNone, std::memory_order_relaxed);
  const int base = vpn - vpn % kVpnPerPmd;
  const Pfn head = pmd_leaf_pfn(v);
  const bool zero = head == w.huge_zero_pfn;
  sync::when_visible([g = &w.ghost, mm, base, dontneed, why, head, zero] {
    for (int i = 0; i < kVpnPerPmd; ++i) {
      if (dontneed) g->zap_gen[static_cast<size_t>(mm)][static_cast<size_t>(base + i)].fetch_add(1);
      if (!zero) g->note_replaced(mm, static_cast<Pfn>(head + i), why);
    }
  });
  if (zero) {  // "if (is_huge_zero_pmd(orig_pmd)) ... zap_deposited_table()"
    m.ptl.unlock();
    return true;
  }
  // folio_remove_rmap_pmd(); the reference goes after the TLB flush
  // (tlb_remove_page_size()).
  for (int i = 0; i < kVpnPerPmd; ++i)
    w.page(static_cast<Pfn>(head + i)).mapcount.fetch_sub(1, std::memory_order_relaxed);
  m.ptl.unlock();
  folio_put(w, t, head);
  return true;
}

}  // namespace pf
