// Page references, the page lock and dirtying: include/linux/page_ref.h,
// include/linux/mm.h, mm/swap.c (__folio_put), mm/filemap.c (folio_lock),
// mm/page-writeback.c (folio_mark_dirty), fs/ext4/inode.c (ext4_dirty_folio).
#include <fmt/format.h>

#include "model/internal.h"
#include "model/memremap.h"
#include "model/mm.h"

namespace pf {

// The oracle for every increment: a reference taken on a count of 0 is a
// use after free (the page is free or frozen); one taken on a negative count
// means the counter already wrapped, which try_get_page()'s check forbids.
static void check_increment(World& w, const Task* t, Pfn head, int32_t old,
                            const char* fn) {
  if (old == 0) {
    w.report(ViolationKind::use_after_free, head, t, fn,
             "reference taken on a page whose refcount is 0 (free or frozen)");
  } else if (old < 0) {
    w.report(ViolationKind::refcount_overflow, head, t, fn,
             fmt::format("reference taken on a wrapped refcount ({} in {} bits)",
                         old, w.width.bits));
  }
}

void folio_ref_add(World& w, const Task* t, Pfn head, int32_t refs) {
  // include/linux/page_ref.h: folio_ref_add() -> atomic_add()
  int32_t raw = w.page(head).refcount.fetch_add(refs, std::memory_order_relaxed);
  check_increment(w, t, head, w.width.value(raw), "folio_ref_add");
}

bool folio_try_get(World& w, const Task* t, Pfn head) {
  // include/linux/page_ref.h: folio_ref_try_add_rcu() -> atomic_add_unless(v, 1, 0):
  // a read, then a cmpxchg that fails if anything changed in between.
  Page& p = w.page(head);
  for (;;) {
    int32_t raw = p.refcount.load(std::memory_order_relaxed);
    int32_t v = w.width.value(raw);
    if (v == 0) return false;
    // mm/gup.c: try_get_folio(): WARN_ON_ONCE(folio_ref_count(folio) < 0)
    if (v < 0 && !w.design.no_overflow_check) return false;
    if (p.refcount.cmpxchg(raw, raw + 1, std::memory_order_acquire) == raw) {
      check_increment(w, t, head, v, "folio_try_get");
      return true;
    }
  }
}

bool folio_ref_freeze(World& w, Pfn head, int32_t expected) {
  // include/linux/page_ref.h: folio_ref_freeze() -> atomic_cmpxchg(expected, 0).
  // The model reads the raw word first (counter_bits may be narrow); the
  // cmpxchg fails if anything changed since, so this is the same single step.
  Page& p = w.page(head);
  int32_t raw = p.refcount.load(std::memory_order_relaxed);
  if (w.width.value(raw) != expected) return false;
  return p.refcount.cmpxchg(raw, 0, std::memory_order_acquire) == raw;
}

void folio_ref_unfreeze(World& w, Pfn head, int32_t count) {
  // include/linux/page_ref.h: folio_ref_unfreeze() -> atomic_set_release()
  w.page(head).refcount.store(count, std::memory_order_release);
}

// mm/swap.c: __folio_put(): the last reference of a normal folio is gone.
static void folio_free(World& w, const Task* t, Pfn head) {
  Page& p = w.page(head);
  if (head == w.zero_pfn || head == w.huge_zero_pfn) {
    w.report(ViolationKind::refcount_underflow, head, t, "__folio_put",
             head == w.zero_pfn ? "the zero page's refcount reached 0"
                                : "the huge zero folio's refcount reached 0");
    return;
  }
  if (w.ghost.pins[static_cast<size_t>(head)].load() > 0) {
    w.report(ViolationKind::use_after_free, head, t, "__folio_put",
             fmt::format("folio freed with {} pin(s) outstanding",
                         w.ghost.pins[static_cast<size_t>(head)].load()));
  }
  // mm/page_alloc.c: free_pages_prepare() -> bad_page() ("BAD page state"):
  // PG_locked is in PAGE_FLAGS_CHECK_AT_FREE. Someone still holds the lock
  // of a folio whose last reference is gone: they will unlock a free page.
  if (p.flags.peek() & PG_locked)
    w.report(ViolationKind::use_after_free, head, t, "free_pages_prepare",
             "a locked folio was freed (bad_page(): its lock holder has no reference)");
  // lruvec_del_folio(); the page leaves the LRU and loses its identity.
  p.flags.fetch_and(~(PG_lru | PG_dirty | PG_anon | PG_anon_exclusive | PG_private |
                      PG_dma_pinned | PG_dma_pinned_was_lru),
                    std::memory_order_relaxed);
  p.mapping.store(kNoMapping, std::memory_order_relaxed);
  w.free_page(head);
}

void free_frozen_folio(World& w, const Task* t, Pfn head) {
  if (w.page(head).is_device()) {
    folio_ref_unfreeze(w, head, devmap_idle_base(w));
    free_zone_device_folio(w, t, head);
    return;
  }
  folio_free(w, t, head);
}

// Device pages: which refcount convention frees them (27674ef6c73f). With
// devmap_mixed_base the free path uses the other base than the pages have.
static DevmapBase free_convention(const World& w) {
  DevmapBase b = w.design.devmap_base;
  if (w.design.devmap_mixed_base)
    b = b == DevmapBase::zero ? DevmapBase::one : DevmapBase::zero;
  return b;
}

void folio_put_refs(World& w, const Task* t, Pfn head, int32_t refs) {
  Page& p = w.page(head);
  // Whatever the design makes put_page() do, whoever calls it.
  w.tracking.on_put_page(w, t, head, sync::Site::here());
  note_pin_lost(w, head, "put_page");
  // include/linux/mm.h: folio_put_refs() -> folio_ref_sub_and_test()
  int32_t raw = p.refcount.fetch_sub(refs, std::memory_order_acq_rel);
  int32_t old = w.width.value(raw);
  int32_t now = w.width.value(raw - refs);
  if (old >= 0 && old - refs < 0) {
    w.report(ViolationKind::refcount_underflow, head, t, "folio_put_refs",
             fmt::format("refcount {} - {} goes below zero", old, refs));
    return;
  }
  if (old < 0) return;  // a wrapped counter: the overflow was reported when it wrapped
  if (p.is_device()) {
    p.put_seq.fetch_add(1, std::memory_order_release);
    sync::wake(&p);  // a driver evicting its memory waits for busy pages
    // include/linux/mm.h: put_devmap_managed_page_refs() (base one, before
    // v5.18): "if (count == 1) free_devmap_managed_page(); else if (!count)
    // __put_page()"; since v5.18 the free happens at 0.
    if (free_convention(w) == DevmapBase::one) {
      if (now == 1) free_zone_device_folio(w, t, head);
      // now == 0: __put_page() on a device page: the generic path, which
      // never calls ops->page_free().
      return;
    }
    if (now == 0) free_zone_device_folio(w, t, head);
    return;
  }
  if (now == 0) folio_free(w, t, head);
}

void folio_lock(World& w, Pfn head) {
  // mm/filemap.c: folio_lock() -> folio_trylock() or __folio_lock() (sleep)
  Page& p = w.page(head);
  while (p.flags.fetch_or(PG_locked, std::memory_order_acquire) & PG_locked)
    sync::block(sync::Site::here(), &p);
}

bool folio_trylock(World& w, Pfn head) {
  return !(w.page(head).flags.fetch_or(PG_locked, std::memory_order_acquire) & PG_locked);
}

void folio_unlock(World& w, Pfn head) {
  // mm/filemap.c: folio_unlock() -> clear_bit_unlock_is_negative_byte + wake
  Page& p = w.page(head);
  // "VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio)": the caller's lock
  // is gone. With a correct design only a model bug gets here; a buggy one
  // gets here after a lost reference let the folio be freed and reused
  // (locked and unlocked by its new owner) under the lock holder.
  if (!(p.flags.fetch_and(~PG_locked, std::memory_order_release) & PG_locked))
    w.report(ViolationKind::use_after_free, head, nullptr, "folio_unlock",
             "unlock of a folio that is not locked (VM_BUG_ON_FOLIO): it was freed and "
             "reused under its lock holder",
             "unlock_of_unlocked_folio");
  sync::wake(&p);
}

bool folio_mark_dirty(World& w, const Task* t, Pfn head) {
  // mm/page-writeback.c: folio_mark_dirty(): mapping = folio_mapping(folio);
  // if (mapping) return mapping->a_ops->dirty_folio(mapping, folio);
  Page& p = w.page(head);
  int32_t mapping = p.mapping.load(std::memory_order_acquire);
  if (mapping == kBufferedFile) {
    // fs/ext4/inode.c: ext4_dirty_folio(): WARN_ON_ONCE(!folio_buffers(folio))
    // then block_dirty_folio(). Writeback of such a page is the 2018 crash.
    uint32_t flags = p.flags.load(std::memory_order_acquire);
    if (!(flags & PG_private)) {
      if (t && t->dirtying_foll_get) {
        w.ghost.get_dirtied[static_cast<size_t>(p.index.peek())].store(1);
        w.report(ViolationKind::get_dirty_without_buffers, head, t, "ext4_dirty_folio",
                 "a FOLL_GET user's set_page_dirty_lock() on a file page whose buffers "
                 "reclaim released");
      } else {
        w.report(ViolationKind::dirty_without_buffers, head, t, "ext4_dirty_folio",
                 "set_page_dirty() on a file page whose buffers were released");
      }
    }
  }
  // noop_dirty_folio / block_dirty_folio: TestSetPageDirty
  uint32_t old = p.flags.fetch_or(PG_dirty, std::memory_order_release);
  return !(old & PG_dirty);
}

bool set_page_dirty_lock(World& w, const Task* t, Pfn head) {
  // mm/page-writeback.c: set_page_dirty_lock(): the lock keeps page->mapping
  // stable against truncation and excludes ->writepage.
  folio_lock(w, head);
  bool r = folio_mark_dirty(w, t, head);
  folio_unlock(w, head);
  return r;
}

uint32_t next_data_value(World& w) { return w.ghost.next_value.fetch_add(1); }

}  // namespace pf
