#include "model/world.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "model/memremap.h"

namespace pf {

const char* pgmap_type_name(PgmapType t) {
  switch (t) {
    case PgmapType::kDevicePrivate: return "device_private";
    case PgmapType::kDeviceCoherent: return "device_coherent";
    case PgmapType::kFsDax: return "fs_dax";
    case PgmapType::kP2pdma: return "p2pdma";
  }
  return "?";
}

const char* backing_name(Backing b) {
  switch (b) {
    case Backing::kNone: return "none";
    case Backing::kAnon: return "anon";
    case Backing::kAnonMovable: return "anon_movable";
    case Backing::kZeroPage: return "zero";
    case Backing::kFile: return "file";
    case Backing::kDax: return "dax";
    case Backing::kDevicePrivate: return "device_private";
    case Backing::kDeviceCoherent: return "device_coherent";
    case Backing::kP2pdma: return "p2pdma";
    case Backing::kFilePrivate: return "file_private";
    case Backing::kThp: return "thp";
  }
  return "?";
}

WorldSpec WorldSpec::canonical() const {
  WorldSpec c;
  c.free_pages = std::clamp(free_pages, 0, kMaxFreePages);
  int vpn = 0;
  while (vpn < kMaxVpn) {
    VpnSpec v = this->vpn[static_cast<size_t>(vpn)];
    if (v.backing == Backing::kNone) {
      ++vpn;
      continue;
    }
    if (v.backing == Backing::kThp) {
      // One whole PMD, not faulted in: PMD-aligned and nothing mapped
      // (so no PTE to be read-only), else not THP-eligible and left out.
      if (vpn % kVpnPerPmd != 0 || vpn + kVpnPerPmd > kMaxVpn) {
        ++vpn;
        continue;
      }
      v.order = kCollapseOrder;
      v.writable = false;
      c.vpn[static_cast<size_t>(vpn)] = v;
      vpn += kVpnPerPmd;
      continue;
    }
    bool large_ok = v.backing == Backing::kAnon || v.backing == Backing::kAnonMovable ||
                    v.backing == Backing::kFile;
    // Mapped read-only: the zero page always; a page-cache page in a private
    // mapping (do_read_fault() maps it without write, a write COWs it); any
    // page of a mapping without VM_WRITE.
    if (v.backing == Backing::kZeroPage || v.backing == Backing::kFilePrivate || !v.vm_write)
      v.writable = false;
    int order = large_ok ? std::min<int>(v.order, kMaxOrder) : 0;
    if (vpn + (1 << order) > kMaxVpn) order = 0;  // World::build: a folio must fit
    v.order = static_cast<uint8_t>(order);
    c.vpn[static_cast<size_t>(vpn)] = v;
    vpn += 1 << order;
  }
  return c;
}

int Task::nheld() const {
  int n = 0;
  for (auto& h : held) n += h.live;
  return n;
}

int Task::add(const Held& h) {
  for (int i = 0; i < kMaxHeld; ++i) {
    if (!held[i].live) {
      held[i] = h;
      held[i].live = true;
      return i;
    }
  }
  return -1;
}

World::World(const Design& d, const WorldSpec& s)
    : design(d), tracking(tracking_of(d.tracking)), spec(s.canonical()) {
  for (int i = 0; i < kMaxThreads; ++i) tasks[static_cast<size_t>(i)].id = i;
  width.bits = d.counter_bits;
  for (auto& e : ghost.expected_disk) e.store(-1);
  // kernel/locking/rwsem.c: down_read() has ACQUIRE; the knob plants the
  // slowpath exit that lacked it (e1b98fa31664).
  if (d.mmap_lock_no_acquire)
    for (Mm& m : mm) m.mmap_lock.set_read_order(std::memory_order_relaxed);
  build(spec);
}

Pfn World::take_setup_pages(int n) {
  if (npages_ + n > kMaxPages) {
    std::fprintf(stderr, "pinfuzz: world spec needs more than %d pages\n", kMaxPages);
    std::abort();
  }
  Pfn first = static_cast<Pfn>(npages_);
  npages_ += n;
  return first;
}

int World::add_pgmap(PgmapType type, int nr_pages) {
  int id = npgmaps++;
  DevPagemap& pg = pgmaps[id];
  pg.type = type;
  pg.ref.init();
  pg.first = take_setup_pages(nr_pages);
  pg.nr = nr_pages;
  for (int i = 0; i < nr_pages; ++i) {
    Page& p = page(static_cast<Pfn>(pg.first + i));
    p.zone = Zone::kDevice;
    p.pgmap = static_cast<int8_t>(id);
    p.set_folio(static_cast<Pfn>(pg.first + i), 0);
    // mm/memremap.c: memremap_pages() -> page->pgmap = pgmap
    p.lru[0].init(kPgmapTag | static_cast<uint64_t>(id));
    p.lru[1].init(0);  // zone_device_data
    // Idle refcount: 0 since v5.18 (27674ef6c73f), 1 before.
    p.refcount.init(design.devmap_base == DevmapBase::one ? 1 : 0);
    pg.idle[static_cast<size_t>(p.head())].init(1);
  }
  // mm/memremap.c: memremap_pages() takes one pgmap ref per page for the
  // types whose pages are not allocated one by one.
  if (type == PgmapType::kFsDax || type == PgmapType::kP2pdma)
    pg.ref.get_many(nr_pages);
  return id;
}

void World::make_zero_page() {
  if (zero_pfn != kNoPfn) return;
  zero_pfn = take_setup_pages(1);
  Page& z = page(zero_pfn);
  z.set_folio(zero_pfn, 0);
  z.flags.init(PG_zero);
  z.refcount.init(1);
}

void World::build(const WorldSpec& s) {
  Mm& m = mm[0];
  m.live.store(true);
  m.ready.store(true);
  int pgmap_of[4] = {-1, -1, -1, -1};  // by PgmapType
  auto pgmap_for = [&](PgmapType t) {
    int& id = pgmap_of[static_cast<int>(t)];
    if (id < 0) {
      int nr = 0;
      for (auto& v : s.vpn) {
        bool match = (t == PgmapType::kFsDax && v.backing == Backing::kDax) ||
                     (t == PgmapType::kDevicePrivate && v.backing == Backing::kDevicePrivate) ||
                     (t == PgmapType::kDeviceCoherent && v.backing == Backing::kDeviceCoherent) ||
                     (t == PgmapType::kP2pdma && v.backing == Backing::kP2pdma);
        nr += match;
      }
      id = add_pgmap(t, nr + 1);  // one spare idle page for the driver
    }
    return id;
  };

  int vpn = 0;
  while (vpn < kMaxVpn) {
    const VpnSpec& v = s.vpn[vpn];
    int nr = 1;
    auto map = [&](Pfn pfn, int at, bool writable) {
      Pte pte;
      pte.pfn = pfn;
      pte.present = true;
      pte.writable = writable && v.vm_write;  // no writable PTE without VM_WRITE
      m.pte(at).init(pte.pack());
    };
    switch (v.backing) {
      case Backing::kNone:
        break;
      case Backing::kZeroPage: {
        make_zero_page();
        m.set_vma(vpn, {VmaKind::kAnon, 0, !v.vm_write});
        map(zero_pfn, vpn, false);  // the zero page is never mapped writable
        break;
      }
      case Backing::kThp: {
        // A THP-eligible anonymous range (MADV_HUGEPAGE), its PMD none. The
        // zero page and the huge zero folio are made here, for its faults
        // and splits (get_huge_zero_folio() on first use in the kernel).
        make_zero_page();
        if (huge_zero_pfn == kNoPfn) {
          huge_zero_pfn = take_setup_pages(kVpnPerPmd);
          for (int i = 0; i < kVpnPerPmd; ++i) {
            Page& z = page(static_cast<Pfn>(huge_zero_pfn + i));
            z.set_folio(huge_zero_pfn, kCollapseOrder);
            z.flags.init(i == 0 ? PG_zero | PG_head : 0);
          }
          page(huge_zero_pfn).refcount.init(1);  // huge_zero_refcount: never freed
        }
        nr = kVpnPerPmd;
        for (int i = 0; i < nr; ++i)
          m.set_vma(vpn + i, {VmaKind::kAnon, vpn + i, !v.vm_write, /*thp=*/true});
        m.pmd_of(vpn).init(kPmdNone);
        break;
      }
      case Backing::kAnon:
      case Backing::kAnonMovable:
      case Backing::kFile:
      case Backing::kFilePrivate: {
        // A large folio is anonymous or a shared file's page-cache folio
        // (every index of it in the cache, one reference per page:
        // folio_expected_refs()); a private file mapping's is order 0.
        const bool is_file = v.backing == Backing::kFile || v.backing == Backing::kFilePrivate;
        nr = v.backing == Backing::kFilePrivate ? 1 : 1 << v.order;
        if (vpn + nr > kMaxVpn) nr = 1;  // a folio must fit the mm
        int order = nr > 1 ? v.order : 0;
        Pfn head = take_setup_pages(nr);
        const VmaKind kind = v.backing == Backing::kFilePrivate ? VmaKind::kFilePrivate
                             : is_file                          ? VmaKind::kFile
                                                                : VmaKind::kAnon;
        for (int i = 0; i < nr; ++i) {
          Pfn pfn = static_cast<Pfn>(head + i);
          Page& p = page(pfn);
          p.set_folio(head, static_cast<uint8_t>(order));
          p.zone = v.backing == Backing::kAnonMovable ? Zone::kMovable : Zone::kNormal;
          p.mapcount.init(1);
          p.index.init(vpn + i);
          p.mapping.init(is_file ? 0 : kAnonMapping);
          p.data.init(static_cast<uint32_t>(100 + vpn + i));
          uint32_t f = 0;
          if (i == 0) f |= PG_lru | (order > 0 ? PG_head : 0);
          if (!is_file) f |= PG_anon | PG_anon_exclusive;
          if (is_file && i == 0) f |= PG_private;
          p.flags.init(f);
          if (i == 0) p.lru[0].init(kLruLinked), p.lru[1].init(kLruLinked);
          m.set_vma(vpn + i, {kind, vpn + i, !v.vm_write});
          // mm/mmap.c: vma_wants_writenotify(): a shared file mapping whose
          // filesystem has ->page_mkwrite starts write-protected, so the
          // first store faults and dirties the folio (page_mkwrite).
          map(pfn, vpn + i, v.writable && !is_file);
          if (is_file) {
            file.cache[static_cast<size_t>(vpn + i)].init(pfn);
            file.disk[static_cast<size_t>(vpn + i)].init(static_cast<uint32_t>(100 + vpn + i));
          }
        }
        // Refs: one per mapping PTE; page cache holds nr; buffers hold one
        // (folio_attach_private()).
        int refs = nr + (is_file ? nr + 1 : 0);
        page(head).refcount.init(refs);
        break;
      }
      case Backing::kDax:
      case Backing::kDevicePrivate:
      case Backing::kDeviceCoherent:
      case Backing::kP2pdma: {
        PgmapType t = v.backing == Backing::kDax              ? PgmapType::kFsDax
                      : v.backing == Backing::kDevicePrivate  ? PgmapType::kDevicePrivate
                      : v.backing == Backing::kDeviceCoherent ? PgmapType::kDeviceCoherent
                                                              : PgmapType::kP2pdma;
        int id = pgmap_for(t);
        Pfn pfn = device_alloc_setup(*this, id);
        Page& p = page(pfn);
        p.mapcount.init(1);
        p.index.init(vpn);
        p.data.init(static_cast<uint32_t>(100 + vpn));
        if (t == PgmapType::kFsDax) {
          m.set_vma(vpn, {VmaKind::kDax, vpn, !v.vm_write});
          p.mapping.init(kDaxFile);
        } else if (t == PgmapType::kP2pdma) {
          m.set_vma(vpn, {VmaKind::kP2pdma, 0, !v.vm_write});
        } else {
          m.set_vma(vpn, {VmaKind::kAnon, vpn, !v.vm_write});
          p.mapping.init(kAnonMapping);
          p.flags.init(p.flags.peek() | PG_anon | PG_anon_exclusive);
        }
        if (t == PgmapType::kDevicePrivate) {
          Pte pte;
          pte.pfn = pfn;
          pte.device_private = true;
          pte.writable = v.writable && v.vm_write;
          m.pte(vpn).init(pte.pack());
        } else {
          map(pfn, vpn, v.writable);
        }
        break;
      }
    }
    vpn += nr;
  }

  // A reserve only __GFP_NOFAIL allocations get: enough for a driver to
  // evict every device-private / device-coherent page once.
  int reserve = 0;
  for (int id = 0; id < npgmaps; ++id) {
    PgmapType t = pgmaps[static_cast<size_t>(id)].type;
    if (t == PgmapType::kDevicePrivate || t == PgmapType::kDeviceCoherent)
      reserve += pgmaps[static_cast<size_t>(id)].nr;
  }
  for (int i = 0; i < s.free_pages + reserve && npages_ < kMaxPages; ++i) {
    Pfn pfn = take_setup_pages(1);
    Page& p = page(pfn);
    p.set_folio(pfn, 0);
    p.data.init(kPoison);
    ghost.freed[static_cast<size_t>(pfn)].store(1);
    if (i < s.free_pages) {
      free_list_.push(pfn);
      nfree_.fetch_add(1);
    } else {
      reserve_.push(pfn);
      reserve_count_.fetch_add(1);
    }
  }
  reserve_target_ = reserve;
  // World::alloc_folio()'s pool, last, so that no other page moves.
  for (int i = 0; i < kThpPool && npages_ + kVpnPerPmd <= kMaxPages; ++i) {
    Pfn head = take_setup_pages(kVpnPerPmd);
    for (int k = 0; k < kVpnPerPmd; ++k) {
      Page& p = page(static_cast<Pfn>(head + k));
      p.set_folio(head, kCollapseOrder);
      p.data.init(kPoison);
      ghost.freed[static_cast<size_t>(head + k)].store(1);
    }
    thp_pool_.push(head);
  }
}

Pfn World::alloc_page(sync::Site s, bool nofail) {
  alloc_word_.fetch_add(1, std::memory_order_acq_rel, s);  // zone->lock
  Pfn pfn = kNoPfn;
  if (free_list_.pop(pfn)) {
    nfree_.fetch_sub(1);
  } else if (nofail && reserve_.pop(pfn)) {
    reserve_count_.fetch_sub(1);
  } else {
    return kNoPfn;
  }
  // mm/page_alloc.c: prep_new_page() -> set_page_refcounted()
  prep_new_page(pfn, 0);
  page(pfn).refcount.store(1, std::memory_order_release, s);
  return pfn;
}

void World::prep_new_page(Pfn pfn, uint32_t flags) {
  Page& p = page(pfn);
  p.flags.init(flags);
  p.mapping.init(kNoMapping);
  p.mapcount.init(0);
  p.pincount.init(0);
  p.lru[0].init(0);
  p.lru[1].init(0);
  p.data.init(0);
  p.swap.init(-1);
  ghost.freed[static_cast<size_t>(pfn)].store(0);
}

Pfn World::alloc_folio(sync::Site s) {
  alloc_word_.fetch_add(1, std::memory_order_acq_rel, s);  // zone->lock
  Pfn head = kNoPfn;
  if (!thp_pool_.pop(head)) return kNoPfn;
  // mm/page_alloc.c: prep_new_page() -> prep_compound_page(): every page
  // clean, the head's flags say head, one reference.
  for (int k = 0; k < (1 << kCollapseOrder); ++k)
    prep_new_page(static_cast<Pfn>(head + k), k == 0 ? PG_head : 0);
  page(head).refcount.store(1, std::memory_order_release, s);
  return head;
}

void World::free_page(Pfn pfn, sync::Site s) {
  Page& p = page(pfn);
  if (p.is_device() || p.order() > 0 || pfn == zero_pfn) {
    // Device pages go back to their driver (memremap.cc); a large folio of
    // kCollapseOrder goes back to alloc_folio()'s pool, other orders are
    // built at setup and not reused; the zero page is never freed. All of
    // them are poisoned here all the same.
    ghost.freed[static_cast<size_t>(pfn)].store(1);
    for (int i = 1; i < (1 << p.order()); ++i)
      ghost.freed[static_cast<size_t>(pfn + i)].store(1);
    p.data.store(kPoison, std::memory_order_relaxed, s);
    if (!p.is_device() && pfn != zero_pfn && pfn != huge_zero_pfn &&
        p.order() == kCollapseOrder) {
      for (int i = 1; i < (1 << kCollapseOrder); ++i)
        page(static_cast<Pfn>(pfn + i)).data.init(kPoison);
      alloc_word_.fetch_add(1, std::memory_order_acq_rel, s);  // zone->lock
      thp_pool_.push(pfn);
    }
    return;
  }
  p.data.store(kPoison, std::memory_order_relaxed, s);
  p.flags.store(0, std::memory_order_relaxed, s);
  ghost.freed[static_cast<size_t>(pfn)].store(1);
  alloc_word_.fetch_add(1, std::memory_order_acq_rel, s);  // zone->lock
  // A freed page refills the __GFP_NOFAIL reserve first, so that ordinary
  // allocations cannot drain what a driver's eviction will need.
  if (reserve_count_.load() < reserve_target_) {
    reserve_.push(pfn);
    reserve_count_.fetch_add(1);
    return;
  }
  free_list_.push(pfn);
  nfree_.fetch_add(1);
}

bool World::submit_io(const IoCompletion& c, sync::Site s) {
  io_word_.fetch_add(1, std::memory_order_release, s);
  return io_queue_.push(c);
}

bool World::pop_io(IoCompletion& c, sync::Site s) {
  io_word_.fetch_add(1, std::memory_order_acquire, s);
  return io_queue_.pop(c);
}

std::string World::describe(const void* obj) const {
  if (!obj) return "";
  for (int i = 0; i < npages_; ++i) {
    const Page& p = pages[static_cast<size_t>(i)];
    const char* field = obj == &p.refcount  ? "refcount"
                        : obj == &p.mapcount ? "mapcount"
                        : obj == &p.flags    ? "flags"
                        : obj == &p.lru[0]   ? (p.is_device() ? "pgmap" : "lru.next")
                        : obj == &p.lru[1]   ? (p.is_device() ? "zone_device_data" : "lru.prev")
                        : obj == &p.mapping  ? "mapping"
                        : obj == &p.index    ? "index"
                        : obj == &p.pincount ? "_pincount"
                        : obj == &p.data     ? "data"
                        : obj == &p.put_seq  ? "put_seq"
                        : obj == &p.swap     ? "swap"
                                             : nullptr;
    if (field) return fmt::format("page {} {}", i, field);
    const PageExt& e = page_ext_[static_cast<size_t>(i)];
    for (size_t k = 0; k < e.word.size(); ++k)
      if (obj == &e.word[k]) return fmt::format("page {} page_ext[{}]", i, k);
  }
  for (int m = 0; m < kMaxMm; ++m) {
    const Mm& x = mm[static_cast<size_t>(m)];
    for (int v = 0; v < kMaxVpn; ++v) {
      if (obj == &x.pte(v)) return fmt::format("mm {} pte[{}]", m, v);
      if (obj == &x.pte_in(v, x.pmd[static_cast<size_t>(v / kVpnPerPmd)].peek() ^ kPmdTable))
        return fmt::format("mm {} pte[{}] (detached table)", m, v);
    }
    for (int p = 0; p < kNumPmds; ++p)
      if (obj == &x.pmd[static_cast<size_t>(p)]) return fmt::format("mm {} pmd[{}]", m, p);
    if (obj == &x.mmap_lock) return fmt::format("mm {} mmap_lock", m);
    if (obj == &x.ptl) return fmt::format("mm {} ptl", m);
    if (obj == &x.write_protect_seq) return fmt::format("mm {} write_protect_seq", m);
    if (obj == &x.flags) return fmt::format("mm {} flags", m);
  }
  for (int i = 0; i < kMaxFileIdx; ++i) {
    if (obj == &file.cache[static_cast<size_t>(i)]) return fmt::format("file cache[{}]", i);
    if (obj == &file.disk[static_cast<size_t>(i)]) return fmt::format("file disk[{}]", i);
  }
  for (int i = 0; i < kMaxSwap; ++i) {
    const SwapSlot& sl = swap[static_cast<size_t>(i)];
    if (obj == &sl.count) return fmt::format("swap slot {} count", i);
    if (obj == &sl.cache) return fmt::format("swap slot {} cache", i);
    if (obj == &sl.data) return fmt::format("swap slot {} data", i);
  }
  if (obj == &file.i_pages_lock) return "file i_pages_lock";
  if (obj == &file.invalidate_lock) return "file invalidate_lock";
  for (int g = 0; g < npgmaps; ++g) {
    const DevPagemap& pg = pgmaps[static_cast<size_t>(g)];
    if (obj == &pg.ref) return fmt::format("pgmap {} ref", g);
    if (obj == &pg.torn_down) return fmt::format("pgmap {} torn_down", g);
    for (int i = 0; i < kMaxPages; ++i)
      if (obj == &pg.idle[static_cast<size_t>(i)]) return fmt::format("pgmap {} idle[{}]", g, i);
  }
  if (obj == &lru_lock) return "lru_lock";
  if (obj == &mm_count) return "mm_count";
  if (obj == &alloc_word_) return "page allocator";
  if (obj == &io_word_) return "I/O completion queue";
  return "?";
}

void World::report(ViolationKind kind, int pfn, const Task* t, const char* fn,
                   std::string detail, std::string cause) {
  Violation v;
  v.kind = kind;
  v.pfn = pfn;
  v.thread = t ? t->id : -1;
  v.fn = fn ? fn : "";
  v.detail = std::move(detail);
  v.cause = std::move(cause);
  (is_kernel_limitation(kind) ? limitations : violations).report(std::move(v));
}

}  // namespace pf
