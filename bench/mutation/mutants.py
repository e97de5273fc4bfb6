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
      gup_put_folio(w, &t, p.head, how);""",
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
      if (still_none) m.pte(vpn).store(present(np, true, write).pack());""",
        new="""      bool still_none = true;  // the PTE is not re-checked under the PTL
      if (still_none) m.pte(vpn).store(present(np, true, write).pack());""",
        breaks="do_anonymous_page() installs its new page over whatever a racing fault installed",
        equivalent="unreachable in today's model: every anon vpn starts populated and nothing "
        "empties an anon PTE while its VMA lives (no MADV_DONTNEED, issue 16), so no fault "
        "takes this path; docs/model.md lists the gap",
    ),
    dict(
        id="reclaim_file_no_mapping_recheck",
        file="model/vmscan.cc",
        old="  if (p.mapping.load(std::memory_order_acquire) != 0 ||",
        new="  if (false ||",
        breaks="reclaim does not re-check under the folio lock that the folio still belongs to the file",
    ),
]

EQUIVALENT = {m["id"]: m["equivalent"] for m in MUTANTS if "equivalent" in m}
