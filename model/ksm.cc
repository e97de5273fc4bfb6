// mm/ksm.c: the first step of a merge, write_protect_page(), on the page
// ksmd found at a vpn (try_to_merge_with_ksm_page() ->
// try_to_merge_one_page(vma, page, NULL)). It is the one place that clears
// PageAnonExclusive and then puts back a PTE GUP-fast cannot tell from the
// old one: an exclusive page already mapped read-only and clean gets its
// PTE back unchanged. The pairing that makes that safe is
// __folio_try_share_anon_rmap()'s smp_mb() against GUP-fast's barrier after
// the grab, and gup_must_unshare()'s smp_rmb() after the PTE recheck
// (088b8aa537c2). Quoted from the v6.1-era source (CachyOS/linux mm/ksm.c,
// page_try_share_anon_rmap()); the folio_* names are today's.
//
// Not modelled: the stable and unstable trees, the merge itself
// (replace_page()), PageKsm. The page stays an anon page that is no longer
// exclusive, so a later write fault copies it unless it is the only
// reference (a KSM page would always be copied).
#include "model/internal.h"

namespace pf {

int ksm_write_protect(World& w, Task& t, int vpn) {
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  // try_to_merge_with_ksm_page(): mmap_read_lock(), find_mergeable_vma():
  // a VM_MERGEABLE VMA, which ksm_madvise() allows for any private mapping
  // ("if (*vm_flags & (VM_MERGEABLE | VM_SHARED | VM_MAYSHARE | ...)) return
  // 0;"): anon memory, and a private file mapping's COW copies (its
  // page-cache pages are not PageAnon and are skipped below).
  m.mmap_lock.down_read();
  const Vma vma = m.vma(vpn);
  if (!vma.cow()) {
    m.mmap_lock.up_read();
    return -kEFAULT;
  }
  // scan_get_next_rmap_item(): follow_page(vma, addr, FOLL_GET) ->
  // follow_page_pte(): under the PTL, the page the PTE maps gets a
  // reference of ksmd's own (the "+ 1" below) before anything looks at it;
  // no page for a non-present PTE, the zero page (vm_normal_page()) or
  // device memory.
  m.ptl.lock();
  const Pte seen = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  if (!seen.present || seen.pfn == w.zero_pfn || w.page(seen.pfn).is_device()) {
    m.ptl.unlock();
    m.mmap_lock.up_read();
    return -kEFAULT;
  }
  const Pfn pfn = seen.pfn;
  Page& p = w.page(pfn);
  const Pfn head = p.head();
  const bool got = folio_try_get(w, &t, head);  // the mapping holds one: never 0
  m.ptl.unlock();
  // Then, with the reference: "if (!IS_ERR_OR_NULL(page) && PageAnon(page))"
  // - a page-cache page of a private file mapping is skipped. "BUG_ON(
  // PageTransCompound(page))" after try_to_merge_one_page()'s
  // split_huge_page(): the model leaves large folios alone.
  if (!got || !(w.page(head).flags.load(std::memory_order_acquire) & PG_anon) ||
      w.page(head).order() > 0) {
    if (got) folio_put(w, &t, head);
    m.mmap_lock.up_read();
    return -kEFAULT;
  }
  // try_to_merge_one_page(): trylock_page(), "we don't want to wait here".
  int err = -kEFAULT;
  if (folio_trylock(w, head)) {
    m.ptl.lock();  // page_vma_mapped_walk()
    const uint64_t raw = m.pte(vpn).load(std::memory_order_acquire);
    Pte entry = Pte::unpack(raw);
    if (entry.present && entry.pfn == pfn) {
      err = 0;
      const bool anon_exclusive = p.flags.load(std::memory_order_acquire) & PG_anon_exclusive;
      if (entry.writable || entry.dirty || anon_exclusive) {
        const int swapped = (p.flags.load(std::memory_order_acquire) & PG_swapcache) ? 1 : 0;
        // "we clear the pte and flush the tlb before the check": ptep_clear_flush().
        // The check relies on the flush: the clear must be visible before
        // the refcount is read, or a GUP-fast reference taken meanwhile is
        // missed while its PTE recheck still sees the old entry. A valid
        // PTE is always flushed (arm64's pte_accessible() is pte_valid()
        // since 07509e10dcc7), and arm64's flush_tlb_page() ends in
        // dsb(ish), a full barrier; x86's xchg is locked. So a fully
        // ordered xchg here, where try_to_unmap()'s clear stays relaxed:
        // its flush may be deferred (should_defer_flush()), and
        // __folio_try_share_anon_rmap() "assume[s] that there might not be
        // a memory barrier after clearing/invalidating the PTE".
        m.pte(vpn).xchg(kPteNone, std::memory_order_seq_cst);
        // "Check that no O_DIRECT or similar I/O is in progress on the page":
        // page_mapcount(page) + 1 + swapped != page_count(page).
        const int32_t mapcount = p.mapcount.load(std::memory_order_relaxed);
        const int32_t refs = w.width.value(p.refcount.load(std::memory_order_acquire));
        bool back_off = mapcount + 1 + swapped != refs;
        // "See page_try_share_anon_rmap(): clear PTE first."
        if (!back_off && anon_exclusive)
          back_off = !folio_try_share_anon_rmap(w, &t, pfn, !w.design.no_try_share_check, "ksm");
        if (back_off) {
          m.pte(vpn).store(raw, std::memory_order_release);  // set_pte_at()
          err = -kEFAULT;
        } else {
          // "if (pte_dirty(entry)) set_page_dirty(page)"; then
          // pte_mkclean(pte_wrprotect(entry)) and set_pte_at_notify().
          if (entry.dirty) p.flags.fetch_or(PG_dirty, std::memory_order_release);
          entry.writable = false;
          entry.dirty = false;
          m.pte(vpn).store(entry.pack(), std::memory_order_release);
        }
      }
    }
    m.ptl.unlock();
    // try_to_merge_one_page(), kpage == NULL: "Page reclaim just frees a
    // clean page with no dirty ptes: make sure that the ksm page would be
    // swapped": SetPageDirty().
    if (err == 0) p.flags.fetch_or(PG_dirty, std::memory_order_release);
    folio_unlock(w, head);
  }
  folio_put(w, &t, head);
  m.mmap_lock.up_read();
  return err;
}

}  // namespace pf
