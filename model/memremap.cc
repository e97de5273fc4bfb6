// mm/memremap.c: dev_pagemap references, zone_device_page_init(),
// free_zone_device_folio(), memunmap_pages(); include/linux/mm_types.h: the
// pgmap / zone_device_data words overlay page->lru.
#include <fmt/format.h>

#include "model/memremap.h"
#include "model/internal.h"

namespace pf {

int32_t devmap_idle_base(const World& w) {
  return w.design.devmap_base == DevmapBase::one ? 1 : 0;
}

Pfn device_alloc_setup(World& w, int id) {
  DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
  for (int i = 0; i < pg.nr; ++i) {
    Pfn pfn = static_cast<Pfn>(pg.first + i);
    if (pg.idle[static_cast<size_t>(pfn)].peek() != 1) continue;
    pg.idle[static_cast<size_t>(pfn)].init(0);
    // zone_device_page_init(): refcount base + 1, and for device-private /
    // coherent a pgmap reference per allocated page (0dc45ca1ce18).
    w.page(pfn).refcount.init(devmap_idle_base(w) + 1);
    if (pg.type == PgmapType::kDevicePrivate || pg.type == PgmapType::kDeviceCoherent)
      pg.ref.get_many(1);
    w.ghost.device_allocs[static_cast<size_t>(pfn)].fetch_add(1);
    return pfn;
  }
  std::fprintf(stderr, "pinfuzz: pagemap %d has no idle page at setup\n", id);
  std::abort();
}

int page_pgmap(World& w, const Task* t, Pfn pfn) {
  Page& p = w.page(pfn);
  uint64_t word = p.lru[0].load(std::memory_order_acquire);
  uint64_t want = kPgmapTag | static_cast<uint64_t>(p.pgmap);
  if (word != want) {
    w.report(ViolationKind::pgmap_corrupted, pfn, t, "page_pgmap",
             fmt::format("page->pgmap reads {:#x}, pagemap {} expected", word, p.pgmap));
    return -1;
  }
  return p.pgmap;
}

bool pte_devmap(const World& w, Pfn pfn) {
  const Page& p = w.pages[static_cast<size_t>(pfn)];
  return p.is_device() && w.pgmaps[static_cast<size_t>(p.pgmap)].type == PgmapType::kFsDax;
}

bool get_dev_pagemap(World& w, const Task* t, Pfn pfn) {
  int id = page_pgmap(w, t, pfn);
  if (id < 0) return false;
  return w.pgmaps[static_cast<size_t>(id)].ref.tryget_live();
}

// percpu_ref_put_many() on pagemap `pg`, and the report if it underflowed:
// lib/percpu-refcount.c WARNs "percpu ref (...) <= 0" and the pagemap's
// count is corrupt from then on (its release can run while pages are in use).
// The put is the caller's step (`s`), as it was before this helper.
static void pgmap_put(World& w, const Task* t, DevPagemap& pg, int pfn, int64_t n, const char* fn,
                      sync::Site s = sync::Site::here()) {
  const bool before = pg.ref.underflowed();
  pg.ref.put_many(n, s);
  if (!before && pg.ref.underflowed())
    w.report(ViolationKind::pgmap_corrupted, pfn, t, fn,
             "percpu_ref underflow: the pagemap's reference was put more often than taken");
}

void put_dev_pagemap(World& w, const Task* t, Pfn pfn) {
  pgmap_put(w, t, w.pgmaps[static_cast<size_t>(w.page(pfn).pgmap)], pfn, 1, "put_dev_pagemap");
}

void free_zone_device_folio(World& w, const Task* t, Pfn pfn) {
  Page& p = w.page(pfn);
  int id = page_pgmap(w, t, pfn);
  if (id < 0) return;
  DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
  if (pg.torn_down.load(std::memory_order_acquire)) {
    w.report(ViolationKind::use_after_free, pfn, t, "free_zone_device_folio",
             fmt::format("page freed after pagemap {} was torn down", id));
    return;
  }
  w.ghost.page_free_calls[static_cast<size_t>(pfn)].fetch_add(1);
  int32_t ref = w.ref(pfn);
  if (ref != devmap_idle_base(w)) {
    w.report(ViolationKind::page_free_count, pfn, t, "free_zone_device_folio",
             fmt::format("ops->page_free() while the refcount is {} (idle at {})", ref,
                         devmap_idle_base(w)));
  }
  // mm/memremap.c: free_zone_device_folio(): device-private, coherent and
  // p2pdma pages go back to their allocator through ops->page_free(), so a
  // second call is a double free. An fsdax page is only woken up for
  // dax_layout_busy_page() (wake_up_var(); pmem_pagemap_page_free() before
  // v5.18): it stays the file's, and under devmap_base=one GUP-fast's
  // speculative grab of an idle page (page_ref_add_unless(page, n, 0)
  // succeeds at 1) and its release after a failed PTE re-check reach that
  // wake-up again, harmlessly.
  if (pg.type != PgmapType::kFsDax &&
      pg.idle[static_cast<size_t>(pfn)].load(std::memory_order_acquire) == 1) {
    w.report(ViolationKind::page_free_count, pfn, t, "free_zone_device_folio",
             "ops->page_free() on a page that was already freed");
  }
  // "folio->mapping = NULL"; anon state is cleared for the next user.
  p.mapping.store(kNoMapping, std::memory_order_relaxed);
  p.flags.fetch_and(~(PG_anon | PG_anon_exclusive | PG_dirty), std::memory_order_relaxed);
  pg.idle[static_cast<size_t>(pfn)].store(1, std::memory_order_release);  // ops->page_free()
  p.put_seq.fetch_add(1, std::memory_order_release);  // a waiter's condition may hold now
  sync::wake(&p);  // fs_dax: wake_up_var() for dax_layout_busy_page waiters
  if (pg.type == PgmapType::kDevicePrivate || pg.type == PgmapType::kDeviceCoherent)
    pgmap_put(w, t, pg, pfn, 1, "free_zone_device_folio");  // put_dev_pagemap()
}

// The first page of pagemap `pg` that some PTE still maps - present, a
// device-private entry, or a migration entry (a move in flight may yet put
// the page back; *migrating says so) - or kNoPfn. Each mm's PTEs are read
// under its PTL, as the rmap walk of migrate_device_range() reads them: a
// zap in flight or an unmap that clears a PTE and backs off holds that
// lock, so a transient state is waited out, never taken for "unmapped".
static Pfn first_mapped(World& w, const DevPagemap& pg, bool* migrating,
                        sync::Atomic<uint64_t>** where) {
  for (int m = 0; m < kMaxMm; ++m) {
    Mm& mm = w.mm[static_cast<size_t>(m)];
    if (!mm.live.load()) continue;
    Pfn found = kNoPfn;
    mm.ptl.lock();
    for (int v = 0; v < kMaxVpn && found == kNoPfn; ++v) {
      Pte pte = Pte::unpack(mm.pte(v).load(std::memory_order_acquire));
      if ((pte.present || pte.device_private || pte.migration) && pte.pfn >= pg.first &&
          pte.pfn < pg.first + pg.nr) {
        found = pte.pfn;
        *migrating = pte.migration;
        *where = &mm.pte(v);
      }
    }
    mm.ptl.unlock();
    if (found != kNoPfn) return found;
  }
  return kNoPfn;
}

// One eviction of a device page, as migrate_device_range() makes it
// (mm/migrate_device.c, linux-next 6.19: migrate_device_pfn_lock() takes a
// reference unless the page is free and trylocks it; migrate_device_unmap()
// unmaps every mapping and restores them if one stays or the page holds
// more references than its mappings, migrate_vma_check_page()). Under
// single_pass a busy page is skipped: it stays mapped, and only the caller
// could try again. Returns true if the page was moved.
static bool evict_device_page(World& w, Task& t, const DevPagemap& pg, Pfn pfn) {
  auto maps = mappings_of(w, pfn);
  if (maps.empty()) return false;
  auto [mm, vpn] = *maps.begin();  // either function reaches every mapping
  if (pg.type == PgmapType::kDeviceCoherent)
    return migrate_folio_at(w, &t, mm, vpn, /*nofail=*/true, /*evict=*/true) == 0;
  Mm& m = w.mm[static_cast<size_t>(mm)];
  m.mmap_lock.down_read();
  const int r = migrate_to_ram(w, &t, mm, vpn, /*write=*/false, /*nofail=*/true, /*evict=*/true);
  m.mmap_lock.up_read();
  return r == 0;
}

// The driver's part of a teardown, before memunmap_pages(): empty the
// device memory (teardown=single_pass|devm|retry) or, for fs-dax and
// p2pdma, unmap the users and wait for their references.
static void evict_and_unmap(World& w, Task& t, DevPagemap& pg) {
  if (pg.type == PgmapType::kDevicePrivate || pg.type == PgmapType::kDeviceCoherent) {
    if (w.design.teardown == TeardownPolicy::devm) return;  // amdkfd: nothing evicted
    if (w.design.teardown == TeardownPolicy::single_pass) {
      // nouveau_dmem_evict_chunk(), dmirror_device_evict_chunk(): one
      // migrate_device_range() over the chunk, a skipped page ignored.
      for (int i = 0; i < pg.nr; ++i) evict_device_page(w, t, pg, static_cast<Pfn>(pg.first + i));
      return;
    }
    // retry, kinder than any driver: migrate_device_range() skips a page
    // someone else holds a reference on at that instant (another
    // migration, a GUP user), so the model's driver retries, after
    // sleeping until only the mappings reference the page.
    for (;;) {
      for (int i = 0; i < pg.nr; ++i) {
        Pfn pfn = static_cast<Pfn>(pg.first + i);
        for (auto [mm, vpn] : mappings_of(w, pfn)) {
          if (pg.type == PgmapType::kDeviceCoherent) {
            migrate_folio_at(w, &t, mm, vpn, /*nofail=*/true);
            continue;
          }
          Mm& m = w.mm[static_cast<size_t>(mm)];
          m.mmap_lock.down_read();
          migrate_to_ram(w, &t, mm, vpn, /*write=*/false, /*nofail=*/true);
          m.mmap_lock.up_read();
        }
      }
      bool migrating = false;
      sync::Atomic<uint64_t>* entry = nullptr;
      Pfn busy = first_mapped(w, pg, &migrating, &entry);
      if (busy == kNoPfn) break;
      Page& p = w.page(busy);
      if (migrating) {
        // migration_entry_wait(): the migration wakes the page when it
        // ends, moved or put back (its frozen count says nothing meanwhile).
        // The entry is read again right before sleeping: the move may have
        // ended since the PTL was dropped.
        Pte e = Pte::unpack(entry->load(std::memory_order_acquire));
        if (e.migration && e.pfn == busy) sync::block(sync::Site::here(), &p);
        continue;
      }
      // Wait until no reference is left beyond the mappings'. Mappings
      // change the count and the mapcount together under a PTL, so the pair
      // is read with the PTLs held; the extra references (GUP users,
      // isolations) go by puts, which bump put_seq and wake the page. (Two
      // counters cannot be reread atomically outside the PTL: a fork, count
      // and mapcount up, then a put, count back where it was, is an ABA.)
      for (;;) {
        const uint32_t seq = p.put_seq.load(std::memory_order_acquire);
        std::array<bool, kMaxMm> locked{};  // a fork may make an mm live meanwhile
        for (int mm = 0; mm < kMaxMm; ++mm)
          if ((locked[static_cast<size_t>(mm)] = w.mm[static_cast<size_t>(mm)].live.load()))
            w.mm[static_cast<size_t>(mm)].ptl.lock();
        const int32_t mapped = p.mapcount.load(std::memory_order_relaxed);
        const int32_t raw = p.refcount.load(std::memory_order_acquire);
        for (int mm = kMaxMm; mm-- > 0;)
          if (locked[static_cast<size_t>(mm)]) w.mm[static_cast<size_t>(mm)].ptl.unlock();
        if (w.width.value(raw) <= devmap_idle_base(w) + mapped) break;
        // Only a put removes an extra reference; sleep unless one happened
        // since before the snapshot (read last: a later put wakes us).
        if (p.put_seq.load(std::memory_order_acquire) == seq) sync::block(sync::Site::here(), &p);
      }
    }
  } else {
    // fs-dax and p2pdma pages are not migrated away: their users are
    // unmapped (unmap_mapping_range(); for fs-dax the filesystem's
    // dax_break_layout()) and the teardown waits until no one references a
    // page any more (dax_layout_busy_page() / the p2pdma allocator's ref).
    for (int i = 0; i < pg.nr; ++i) {
      Pfn pfn = static_cast<Pfn>(pg.first + i);
      for (auto [mm, vpn] : mappings_of(w, pfn)) zap_pte(w, &t, mm, vpn);
    }
    // Idle means freed: free_zone_device_folio() has run to its end (it
    // wakes the waiter, as fsdax's wake_up_var() does), not merely that the
    // count reached its base, which a put does before it frees.
    for (int i = 0; i < pg.nr; ++i) {
      Pfn pfn = static_cast<Pfn>(pg.first + i);
      while (pg.idle[static_cast<size_t>(pfn)].load(std::memory_order_acquire) != 1)
        sync::block(sync::Site::here(), &w.page(pfn));
    }
  }
}

void driver_teardown(World& w, Task& t, int id) {
  if (id < 0 || id >= w.npgmaps) return;
  DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
  // From here until the teardown returns (a hang unwinds past the reset:
  // the harness reads it to tell the kernel's hang from a design's).
  t.teardown = id;
  {
    // One teardown at a time, and only once: the driver's lock, and its
    // "chunks already removed" check.
    sync::Guard<sync::Mutex> driver(pg.driver_lock);
    if (!pg.torn_down.load(std::memory_order_acquire)) {
      evict_and_unmap(w, t, pg);
      memunmap_pages(w, t, id);
    }
  }
  t.teardown = -1;
}

void memunmap_pages(World& w, Task& t, int id) {
  if (id < 0 || id >= w.npgmaps) return;
  DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
  if (pg.torn_down.load(std::memory_order_acquire) || pg.ref.is_dead()) return;
  // percpu_ref_kill(); fs_dax/p2pdma: drop the per-page refs from setup.
  const bool sound = !pg.ref.underflowed();
  pg.ref.kill();
  if (sound && pg.ref.underflowed())
    w.report(ViolationKind::pgmap_corrupted, -1, &t, "memunmap_pages",
             "percpu_ref underflow: the pagemap's initial reference was already put");
  if (pg.type == PgmapType::kFsDax || pg.type == PgmapType::kP2pdma)
    pgmap_put(w, &t, pg, -1, pg.nr, "memunmap_pages");
  // wait_for_completion(&pgmap->done): every page's reference is gone.
  // Uninterruptible, without a timeout (kernel/sched/completion.c): a
  // page left mapped keeps this thread here for good (teardown_hang).
  if (!w.design.memunmap_no_wait) {
    t.memunmap_waiting = true;
    pg.ref.wait_for_zero();
    t.memunmap_waiting = false;
  }
  if (pg.type == PgmapType::kDevicePrivate || pg.type == PgmapType::kDeviceCoherent) {
    for (int i = 0; i < pg.nr; ++i) {
      Pfn pfn = static_cast<Pfn>(pg.first + i);
      int32_t ref = w.ref(pfn);
      if (ref != devmap_idle_base(w))
        w.report(ViolationKind::pgmap_teardown_busy, pfn, &t, "memunmap_pages",
                 fmt::format("pagemap {} torn down while pfn {} has refcount {}", id, pfn, ref));
    }
  }
  pg.torn_down.store(1, std::memory_order_release);  // pageunmap_range()
}

std::string teardown_hang_detail(const World& w, std::span<const bool> unfinished) {
  std::array<bool, kMaxPgmaps> waited{};
  bool any = false;
  for (size_t i = 0; i < unfinished.size(); ++i) {
    if (!unfinished[i]) continue;
    const Task& t = w.tasks[i];
    if (t.teardown < 0) return "";  // stuck outside a teardown
    if (t.memunmap_waiting) waited[static_cast<size_t>(t.teardown)] = any = true;
  }
  if (!any) return "";
  // The others: waiting for the driver's lock a memunmap_pages() waiter holds.
  for (size_t i = 0; i < unfinished.size(); ++i)
    if (unfinished[i] && !w.tasks[i].memunmap_waiting &&
        !waited[static_cast<size_t>(w.tasks[i].teardown)])
      return "";
  std::string why;
  for (int id = 0; id < w.npgmaps; ++id) {
    if (!waited[static_cast<size_t>(id)]) continue;
    const DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
    // mm/memremap.c: only device-private/coherent pages hold the pagemap
    // (zone_device_page_init() .. free_zone_device_folio()); the others'
    // references were dropped by memunmap_pages() itself.
    if (pg.type != PgmapType::kDevicePrivate && pg.type != PgmapType::kDeviceCoherent) return "";
    int64_t allocated = 0;
    std::string pages;
    for (int i = 0; i < pg.nr; ++i) {
      const Pfn pfn = static_cast<Pfn>(pg.first + i);
      if (pg.idle[static_cast<size_t>(pfn)].peek() == 1) continue;
      ++allocated;
      const Page& p = w.pages[static_cast<size_t>(pfn)];
      bool held = false;
      for (size_t k = 0; k < unfinished.size(); ++k)
        for (const Held& h : w.tasks[k].held)
          held |= unfinished[k] && h.live && h.head == p.head();
      if (p.mapcount.peek() <= 0 && !held) return "";  // a reference nobody owns
      pages += fmt::format("{}pfn {} ({})", pages.empty() ? "" : ", ", pfn,
                           p.mapcount.peek() > 0 ? "still mapped" : "held");
    }
    // Every pagemap reference is a page's: none leaked by a design.
    if (pg.ref.count() != allocated) return "";
    why += fmt::format("{}memunmap_pages() of pagemap {} waits forever for {}", why.empty() ? "" : "; ",
                       id, pages);
  }
  return why;
}

}  // namespace pf
