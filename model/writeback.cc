// mm/page-writeback.c: write_cache_pages(), folio_clear_dirty_for_io(),
// folio_mkclean() (mm/rmap.c), folio_start_writeback()/folio_end_writeback();
// fs/ext4/inode.c: ext4_writepage() on a page without buffers (the 2018 BUG,
// made a WARN by cc5095747edf). The writeback policy for maybe-pinned pages
// is a design knob (Documentation/core-api/pin_user_pages.rst lists it as not yet done).
#include "model/internal.h"

namespace pf {

bool page_mkclean(World& w, const Task* t, Pfn head) {
  bool was_dirty = false;
  int nr = 1 << w.page(head).order();
  for (int i = 0; i < nr; ++i) {
    Pfn pfn = static_cast<Pfn>(head + i);
    for (auto [mm, vpn] : mappings_of(w, pfn)) {
      Mm& m = w.mm[static_cast<size_t>(mm)];
      // mm/rmap.c: invalid_mkclean_vma(): only VM_SHARED mappings are
      // cleaned. A private mapping's PTE of the cache's page stays as it is
      // (read-only; dirty only if UFFDIO_CONTINUE installed it).
      if (m.vma_unlocked(vpn).kind == VmaKind::kFilePrivate) continue;
      m.ptl.lock();
      uint64_t raw = m.pte(vpn).load(std::memory_order_acquire);
      Pte pte = Pte::unpack(raw);
      if (pte.present && pte.pfn == pfn && (pte.dirty || pte.writable)) {
        was_dirty |= pte.dirty;
        pte.dirty = false;
        pte.writable = false;
        m.pte(vpn).store(pte.pack(), std::memory_order_release);
      }
      m.ptl.unlock();
    }
  }
  return was_dirty;
}

void complete_io(World& w, const Task* t) {
  IoCompletion c;
  while (w.pop_io(c)) {
    Page& p = w.page(c.pfn);
    // The device reads each page during the I/O unless writeback bounced it.
    for (int i = 0; i < (1 << p.order()); ++i) {
      const int64_t snap = c.snapshot[static_cast<size_t>(i)];
      uint32_t data = snap >= 0 ? static_cast<uint32_t>(snap)
                                : w.page(static_cast<Pfn>(c.pfn + i)).data.load(std::memory_order_relaxed);
      w.file.disk[static_cast<size_t>(c.index + i)].store(data, std::memory_order_release);
    }
    // folio_end_writeback(): clear PG_writeback, wake waiters.
    p.flags.fetch_and(~PG_writeback, std::memory_order_release);
    sync::wake(&p);
    folio_put(w, t, c.pfn);  // the reference the I/O held
  }
}

void folio_wait_writeback(World& w, const Task* t, Pfn head) {
  // mm/page-writeback.c: folio_wait_writeback(): sleep on the folio until
  // PG_writeback clears. The model's waiter completes queued I/O itself,
  // which is what the completion context would do meanwhile; if another
  // thread has taken the completion off the queue, it sleeps until that
  // thread's folio_end_writeback() wakes it (never a busy loop: a
  // deterministic schedule need not preempt a spinner).
  Page& p = w.page(head);
  while (p.flags.load(std::memory_order_acquire) & PG_writeback) {
    complete_io(w, t);
    if (p.flags.load(std::memory_order_acquire) & PG_writeback)
      sync::block(sync::Site::here(), &p);
  }
}

bool writeback(World& w, Task& t, int index) {
  File& f = w.file;
  Pfn pfn = f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire);
  if (pfn == kNoPfn) return false;
  Pfn head = w.page(pfn).head();
  if (!folio_try_get(w, &t, head)) return false;
  Page& p = w.page(head);
  folio_lock(w, head);
  for (;;) {
    if (p.mapping.load(std::memory_order_acquire) != 0 || !folio_contains(w, head, index)) {
      folio_unlock(w, head);  // truncated (or migrated) meanwhile
      folio_put(w, &t, head);
      return false;
    }
    folio_wait_writeback(w, &t, head);
    if (!(p.flags.load(std::memory_order_acquire) & PG_dirty)) {
      folio_unlock(w, head);
      folio_put(w, &t, head);
      return false;
    }
    if (w.design.writeback == WritebackPolicy::ignore ||
        !folio_maybe_dma_pinned(w, &t, head))
      break;
    if (w.design.writeback == WritebackPolicy::skip) {  // leave it dirty
      folio_unlock(w, head);
      folio_put(w, &t, head);
      return false;
    }
    if (w.design.writeback == WritebackPolicy::bounce) break;
    // kWait: sleep until unpinned, then start over.
    folio_unlock(w, head);
    while (folio_maybe_dma_pinned(w, nullptr, head)) sync::block(sync::Site::here(), &p);
    folio_lock(w, head);
  }
  // folio_clear_dirty_for_io(): "if (folio_mkclean(folio)) folio_mark_dirty(folio);
  // return folio_test_clear_dirty(folio);"
  if (page_mkclean(w, &t, head)) folio_mark_dirty(w, &t, head);
  if (!(p.flags.fetch_and(~PG_dirty, std::memory_order_acq_rel) & PG_dirty)) {
    folio_unlock(w, head);
    folio_put(w, &t, head);
    return false;
  }
  // The whole folio is written, from its first index
  // (write_cache_pages() -> ->writepage on the folio).
  const int first = p.index.peek();  // stable: we hold the folio lock
  const int nr = 1 << p.order();
  // ->writepage: ext4 expects buffers on every dirty page it writes.
  if (!(p.flags.load(std::memory_order_acquire) & PG_private)) {
    if (w.ghost.get_dirtied[static_cast<size_t>(first)].load())
      w.report(ViolationKind::get_dirty_without_buffers, head, &t, "ext4_writepage",
               "writeback of a page a FOLL_GET user dirtied after its buffers were released");
    else
      w.report(ViolationKind::dirty_without_buffers, head, &t, "ext4_writepage",
               "writeback of a dirty page whose buffers were released");
  }
  IoCompletion io{head, static_cast<int16_t>(first), {}};
  io.snapshot.fill(-1);
  if (w.design.writeback == WritebackPolicy::bounce)
    for (int i = 0; i < nr; ++i)  // a stable copy, after the clear
      io.snapshot[static_cast<size_t>(i)] =
          w.page(static_cast<Pfn>(head + i)).data.load(std::memory_order_acquire);
  p.flags.fetch_or(PG_writeback, std::memory_order_release);  // folio_start_writeback()
  folio_unlock(w, head);
  // Our reference travels with the I/O and is dropped at completion.
  w.submit_io(io);
  complete_io(w, &t);
  return true;
}

void sync_file(World& w, Task& t) {
  for (int i = 0; i < kMaxFileIdx; ++i) writeback(w, t, i);
  complete_io(w, &t);
}

}  // namespace pf
