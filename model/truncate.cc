// mm/truncate.c: truncate_inode_pages_range() for one index:
// truncate_inode_folio() -> unmap_mapping_folio(), truncate_cleanup_folio()
// (->invalidate_folio drops buffers, folio_cancel_dirty), filemap_remove_folio().
#include "model/internal.h"

namespace pf {

void truncate_index(World& w, Task& t, int index) {
  File& f = w.file;
  f.invalidate_lock.down_write();
  Pfn pfn = f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire);
  if (pfn != kNoPfn && folio_try_get(w, &t, w.page(pfn).head())) {
    Pfn head = w.page(pfn).head();
    Page& p = w.page(head);
    folio_lock(w, head);
    if (p.mapping.load(std::memory_order_acquire) == 0 && p.index.load() == index) {
      folio_wait_writeback(w, &t, head);
      unmap_mapping_folio(w, &t, head);
      if (p.flags.fetch_and(~PG_private, std::memory_order_acq_rel) & PG_private)
        folio_put(w, &t, head);  // the buffers' reference
      p.flags.fetch_and(~PG_dirty, std::memory_order_release);  // folio_cancel_dirty()
      f.i_pages_lock.lock();
      f.cache[static_cast<size_t>(index)].store(kNoPfn, std::memory_order_release);
      p.mapping.store(kNoMapping, std::memory_order_release);  // page_cache_delete()
      f.i_pages_lock.unlock();
      folio_unlock(w, head);
      folio_put(w, &t, head);  // the page cache's reference
    } else {
      folio_unlock(w, head);
    }
    folio_put(w, &t, head);  // ours
  }
  // The blocks are freed: the data is gone, on purpose.
  f.disk[static_cast<size_t>(index)].store(0, std::memory_order_release);
  w.ghost.expected_disk[static_cast<size_t>(index)].store(-1);
  w.ghost.trunc_gen[static_cast<size_t>(index)].fetch_add(1);
  w.ghost.get_dirtied[static_cast<size_t>(index)].store(0);
  f.invalidate_lock.up_write();
}

}  // namespace pf
