// mm/truncate.c: truncate_inode_pages_range() for one index (a hole punch
// of one page): truncate_inode_folio() -> unmap_mapping_folio(),
// truncate_cleanup_folio() (->invalidate_folio drops buffers,
// folio_cancel_dirty), filemap_remove_folio(); for an index inside a large
// folio, truncate_inode_partial_folio().
#include <fmt/format.h>

#include "model/internal.h"

namespace pf {

// mm/truncate.c: truncate_inode_folio(): the whole folio leaves the file.
static void truncate_inode_folio(World& w, Task& t, Pfn head) {
  File& f = w.file;
  Page& p = w.page(head);
  const int nr = 1 << p.order();
  const int first = p.index.peek();  // stable: we hold the folio lock
  unmap_mapping_folio(w, &t, head);
  if (p.flags.fetch_and(~PG_private, std::memory_order_acq_rel) & PG_private)
    folio_put(w, &t, head);  // the buffers' reference
  p.flags.fetch_and(~PG_dirty, std::memory_order_release);  // folio_cancel_dirty()
  f.i_pages_lock.lock();
  for (int i = 0; i < nr; ++i)
    f.cache[static_cast<size_t>(first + i)].store(kNoPfn, std::memory_order_release);
  p.mapping.store(kNoMapping, std::memory_order_release);  // page_cache_delete()
  f.i_pages_lock.unlock();
  w.ghost.get_dirtied[static_cast<size_t>(first)].store(0);  // keyed by the folio's first index
  folio_put_refs(w, &t, head, nr);  // the page cache's references
}

// mm/truncate.c: truncate_inode_partial_folio() for one page of a large
// folio (v6.12): the range is unmapped (truncate_pagecache_range()'s
// unmap_mapping_range() of the hole) and zeroed (folio_zero_range());
// folio_invalidate() of part of a folio keeps its buffers
// (block_invalidate_folio() releases them only for the whole folio). Then
// "if (split_folio(folio) == 0) return true; if (folio_test_dirty(folio))
// return false; truncate_inode_folio(folio->mapping, folio);". The model
// does not split page-cache folios, so it always takes the failed-split
// path, as the kernel does whenever the folio has a reference beyond the
// cache's and its mappings: a dirty folio stays whole, a clean one leaves
// the file whole, every other page with it (docs/model.md).
static void truncate_partial_folio(World& w, Task& t, Pfn head, int index) {
  Page& p = w.page(head);
  const int first = p.index.peek();  // stable: we hold the folio lock
  const Pfn page = static_cast<Pfn>(head + (index - first));
  unmap_mapping_pages(w, &t, head, first, index, 1);
  w.page(page).data.store(0, std::memory_order_relaxed);  // folio_zero_range()
  if (p.flags.load(std::memory_order_acquire) & PG_dirty) return;
  const int nr = 1 << p.order();
  truncate_inode_folio(w, t, head);
  // The other pages left the cache with it. What a GUP user wrote into one
  // of them since writeback cleaned the folio (a /proc/pid/mem write dirties
  // it only after its copy: __access_remote_vm()) never reaches the file,
  // nor what a pinner's device writes from now on (limitations.def). Like
  // the hole's own index (truncate_index()), each index's truncate
  // generation moves, and its expectation is dropped, once the folio is
  // gone, so that a GUP user that raced the removal counts as one before.
  std::string lost;
  for (int i = 0; i < nr; ++i) {
    const size_t at = static_cast<size_t>(first + i);
    if (first + i == index) continue;
    if (w.ghost.expected_disk[at].load() > static_cast<int64_t>(w.file.disk[at].peek()))
      lost += fmt::format("{}{}", lost.empty() ? "" : ", ", first + i);
    w.ghost.expected_disk[at].store(-1);
    w.ghost.trunc_gen[at].fetch_add(1);
  }
  const int32_t pins = w.ghost.pins[static_cast<size_t>(head)].load();
  if (pins > 0 || !lost.empty())
    w.report(ViolationKind::large_folio_truncated_whole, head, &t, "truncate_inode_partial_folio",
             fmt::format("a hole punched at file index {} dropped the whole clean large folio "
                         "(indexes {}..{}) from the page cache{}{}",
                         index, first, first + nr - 1,
                         pins > 0 ? fmt::format(" with {} pin(s) on it", pins) : "",
                         lost.empty() ? ""
                                      : fmt::format("; data written at index(es) {} after the "
                                                    "folio was cleaned is lost",
                                                    lost)));
}

void truncate_index(World& w, Task& t, int index) {
  File& f = w.file;
  f.invalidate_lock.down_write();
  Pfn pfn = f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire);
  if (pfn != kNoPfn && folio_try_get(w, &t, w.page(pfn).head())) {
    Pfn head = w.page(pfn).head();
    Page& p = w.page(head);
    folio_lock(w, head);
    if (p.mapping.load(std::memory_order_acquire) == 0 && folio_contains(w, head, index)) {
      folio_wait_writeback(w, &t, head);
      if (p.order() > 0)
        truncate_partial_folio(w, t, head, index);
      else
        truncate_inode_folio(w, t, head);
    }
    folio_unlock(w, head);
    folio_put(w, &t, head);  // ours
  }
  // The blocks are freed: the data is gone, on purpose.
  f.disk[static_cast<size_t>(index)].store(0, std::memory_order_release);
  w.ghost.expected_disk[static_cast<size_t>(index)].store(-1);
  w.ghost.trunc_gen[static_cast<size_t>(index)].fetch_add(1);
  f.invalidate_lock.up_write();
}

}  // namespace pf
