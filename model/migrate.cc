// mm/migrate.c: migrate_pages() of one folio: isolate, lock, unmap to
// migration entries (try_to_migrate(), with __folio_try_share_anon_rmap()),
// folio_ref_freeze(folio_expected_refs()), copy, remove_migration_ptes().
// Also what check_and_migrate_movable_pages() uses for FOLL_LONGTERM.
#include <fmt/format.h>

#include "model/internal.h"
#include "model/memremap.h"

namespace pf {

int migrate_vpn(World& w, Task& t, int vpn) { return migrate_folio_at(w, &t, t.mm, vpn); }

int migrate_folio_at(World& w, const Task* tp, int mm_id, int vpn) {
  const Task& t = *tp;
  Mm& m = w.mm[static_cast<size_t>(mm_id)];
  Pte pte = Pte::unpack(m.pte[static_cast<size_t>(vpn)].load(std::memory_order_acquire));
  if (!pte.present) return -kEFAULT;
  Pfn pfn = pte.pfn;
  Page& p = w.page(pfn);
  Pfn head = p.head;
  if (pfn == w.zero_pfn || p.order > 0) return -kEINVAL;  // large folios: not modelled
  bool device = p.is_device();
  if (device && w.pgmaps[static_cast<size_t>(p.pgmap)].type != PgmapType::kDeviceCoherent)
    return -kEINVAL;
  bool file = p.mapping.load(std::memory_order_acquire) == kBufferedFile;
  // isolate_lru_page() (device coherent: migrate_device_coherent_folio())
  if (!folio_try_get(w, &t, head)) return -kEAGAIN;
  if (!device && !(p.flags.fetch_and(~PG_lru, std::memory_order_acq_rel) & PG_lru)) {
    folio_put(w, &t, head);
    return -kEAGAIN;
  }
  auto putback = [&] {
    if (!device) p.flags.fetch_or(PG_lru, std::memory_order_release);
    folio_put(w, &t, head);
  };
  folio_lock(w, head);
  if ((p.flags.load(std::memory_order_acquire) & PG_writeback) ||
      (file && p.mapping.load() < 0)) {
    folio_unlock(w, head);
    putback();
    return -kEAGAIN;
  }
  Pfn np = w.alloc_page();
  if (np == kNoPfn) {
    folio_unlock(w, head);
    putback();
    return -kENOMEM;
  }
  // try_to_migrate(): every PTE becomes a migration entry.
  struct Unmapped {
    int mm, vpn;
    Pte pte;
  };
  std::array<Unmapped, kMaxMm * kMaxVpn> done{};
  int ndone = 0;
  bool busy = false;
  for_each_mapping(w, pfn, [&](int mm, int v) {
    if (busy) return;
    Mm& mmr = w.mm[static_cast<size_t>(mm)];
    mmr.ptl.lock();
    uint64_t raw = mmr.pte[static_cast<size_t>(v)].load(std::memory_order_acquire);
    Pte cur = Pte::unpack(raw);
    if (!cur.present || cur.pfn != pfn) {
      mmr.ptl.unlock();
      return;
    }
    Pte mig;
    mig.pfn = pfn;
    mig.migration = true;
    mmr.pte[static_cast<size_t>(v)].store(mig.pack(), std::memory_order_release);
    if (p.flags.load(std::memory_order_acquire) & PG_anon_exclusive) {
      sync::smp_mb();  // folio_try_share_anon_rmap_pte()
      if (!w.design.no_try_share_check && !w.design.migrate_pinned &&
          folio_maybe_dma_pinned(w, &t, pfn)) {
        mmr.pte[static_cast<size_t>(v)].store(raw, std::memory_order_release);
        mmr.ptl.unlock();
        busy = true;
        return;
      }
    }
    mmr.ptl.unlock();
    p.mapcount.fetch_sub(1, std::memory_order_relaxed);
    done[static_cast<size_t>(ndone++)] = {mm, v, cur};
  });
  // folio_expected_refs(): 1 (ours) + mapping (nr pages) + private; the
  // mapping refs of the PTEs we replaced are still on the folio.
  bool has_private = p.flags.load(std::memory_order_acquire) & PG_private;
  int32_t base = device ? devmap_idle_base(w) : 0;
  int32_t expected = base + 1 + (file ? 1 : 0) + (has_private ? 1 : 0) + ndone;
  bool frozen = !busy && folio_ref_freeze(w, head, expected);
  if (!frozen && (busy || !w.design.migrate_pinned)) {
    // remove_migration_ptes(folio, folio): put the old PTEs back.
    for (int i = 0; i < ndone; ++i) {
      Mm& mmr = w.mm[static_cast<size_t>(done[i].mm)];
      mmr.ptl.lock();
      mmr.pte[static_cast<size_t>(done[i].vpn)].store(done[i].pte.pack(),
                                                      std::memory_order_release);
      mmr.ptl.unlock();
      p.mapcount.fetch_add(1, std::memory_order_relaxed);
    }
    folio_unlock(w, head);
    sync::wake(&p);
    folio_put(w, &t, np);
    putback();
    return -kEAGAIN;
  }
  // The move commits: a pinned folio must never get here.
  int32_t pins = w.ghost.pins[static_cast<size_t>(head)].load();
  if (pins > 0)
    w.report(ViolationKind::pinned_page_replaced, head, &t, "migrate_folio",
             fmt::format("folio with {} pin(s) migrated to pfn {}", pins, np));
  // folio_migrate_mapping() + folio_migrate_flags() + folio_copy()
  Page& n = w.page(np);
  n.data.store(p.data.load(std::memory_order_acquire), std::memory_order_relaxed);
  uint32_t keep = p.flags.load() & (PG_anon | PG_anon_exclusive | PG_dirty | PG_private);
  n.mapping.store(p.mapping.load(), std::memory_order_relaxed);
  n.index.store(p.index.load(), std::memory_order_relaxed);
  n.lru[0].store(kLruLinked, std::memory_order_relaxed);
  n.lru[1].store(kLruLinked, std::memory_order_relaxed);
  n.flags.fetch_or(keep | PG_lru, std::memory_order_release);
  if (file) {
    File& f = w.file;
    f.i_pages_lock.lock();
    folio_ref_add(w, &t, np, 1 + (has_private ? 1 : 0));
    f.cache[static_cast<size_t>(p.index.load())].store(np, std::memory_order_release);
    f.i_pages_lock.unlock();
  }
  for (int i = 0; i < ndone; ++i) {  // remove_migration_ptes(src, dst)
    Mm& mmr = w.mm[static_cast<size_t>(done[i].mm)];
    Pte np_pte = done[i].pte;
    np_pte.pfn = np;
    folio_ref_add(w, &t, np, 1);
    n.mapcount.fetch_add(1, std::memory_order_relaxed);
    mmr.ptl.lock();
    mmr.pte[static_cast<size_t>(done[i].vpn)].store(np_pte.pack(), std::memory_order_release);
    mmr.ptl.unlock();
  }
  p.mapping.store(kNoMapping, std::memory_order_release);
  p.flags.fetch_and(~(PG_anon | PG_anon_exclusive | PG_dirty | PG_private),
                    std::memory_order_release);
  folio_unlock(w, head);
  sync::wake(&p);  // migration_entry_wait() sleepers
  folio_put(w, &t, np);  // our allocation reference: the new folio is on the LRU
  if (frozen) {
    free_frozen_folio(w, &t, head);
  } else {
    // migrate_pinned: the old folio drops the references the move took over
    // and lives on with the extra ones (a GUP pin, say).
    folio_put_refs(w, &t, head, expected - base);
  }
  return 0;
}

}  // namespace pf
