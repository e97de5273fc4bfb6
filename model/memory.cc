// mm/memory.c and mm/rmap.c: faults, COW, fork, munmap, CPU access; the
// device's DMA; and the ghost bookkeeping behind the oracles.
#include <fmt/format.h>

#include <optional>

#include "model/internal.h"
#include "model/memremap.h"

namespace pf {

// ------------------------------------------------------------ ghost

void ghost_grabbed(World& w, const Held& h) {
  if (h.how == GupHow::kPin) {
    if (!design_pins(w, h.head)) return;
    if (w.ghost.pins[static_cast<size_t>(h.head)].fetch_add(1) == 0)
      w.ghost.pinned_heads.fetch_or(uint64_t{1} << h.head);
  } else {
    w.ghost.gup_refs[static_cast<size_t>(h.head)].fetch_add(1);
  }
}

void ghost_released(World& w, const Held& h) {
  if (h.how == GupHow::kPin) {
    if (!design_pins(w, h.head)) return;
    if (w.ghost.pins[static_cast<size_t>(h.head)].fetch_sub(1) == 1)
      w.ghost.pinned_heads.fetch_and(~(uint64_t{1} << h.head));
  } else {
    w.ghost.gup_refs[static_cast<size_t>(h.head)].fetch_sub(1);
  }
}

void note_pin_lost(World& w, Pfn head, const char* where) {
  if (w.ghost.pin_grabs[static_cast<size_t>(head)].load() <= 0 ||
      folio_maybe_dma_pinned_peek(w, head))
    return;
  w.ghost.pin_lost_at[static_cast<size_t>(head)].set_if_none(where);
}

std::string pin_loss_cause(const World& w, Pfn head) {
  const char* where = w.ghost.pin_lost_at[static_cast<size_t>(head)].load();
  return where ? fmt::format("lost_at_{}", where) : std::string("lost");
}

std::string pin_fate_detail(const World& w, Pfn head) {
  if (const char* where = w.ghost.pin_lost_at[static_cast<size_t>(head)].load())
    return fmt::format(" (the design lost the pin at {})", where);
  if (const char* by = w.ghost.shared_by[static_cast<size_t>(head)].load())
  {
    // What cleared PG_anon_exclusive: fork shares the page with the child;
    // swap-out and migration unmap it (the page is then no one's exclusive
    // page, whether or not another mm maps it); a R/O pin of a page that
    // was never exclusive.
    const std::string_view why(by);
    if (why == "pin_of_shared_page")
      return " (the pin was taken on a page that was not exclusive)";
    if (why == "fork") return " (fork shared the page with the child while it was pinned)";
    return fmt::format(" (the page lost PG_anon_exclusive to {} while pinned)", by);
  }
  return "";
}

int live_pins(World& w, Pfn head, int mm) {
  std::lock_guard<std::mutex> lock(w.held_mu);
  int n = 0;
  for (auto& t : w.tasks)
    for (auto& h : t.held)
      if (h.live && h.how == GupHow::kPin && h.head == head && (mm < 0 || h.mm == mm)) ++n;
  return n;
}

// How the first live GUP handle on `pfn` from another mm was taken (only
// pins if `pins_only`), read under held_mu.
static std::optional<GupHow> other_mm_handle(World& w, Pfn pfn, int mm, bool pins_only) {
  std::lock_guard<std::mutex> lock(w.held_mu);
  for (auto& t : w.tasks)
    for (auto& h : t.held)
      if (h.live && h.pfn == pfn && h.mm != mm && (!pins_only || h.how == GupHow::kPin))
        return h.how;
  return std::nullopt;
}
bool held_by_other_mm(World& w, Pfn pfn, int mm) {
  return other_mm_handle(w, pfn, mm, /*pins_only=*/false).has_value();
}

static bool zapped_since(const World& w, const Held& h) {
  return w.ghost.zap_gen[static_cast<size_t>(h.mm)][static_cast<size_t>(h.vpn)].load() != h.zap_gen;
}

void check_pin_stable(World& w, const Task* t, const Held& h, const char* fn) {
  // tools/testing/selftests/mm/cow.c: a pin keeps observing the page the
  // process reads and writes through its page table.
  // The zero pages: a pin of one sees zeros, whatever the process maps.
  if (h.how != GupHow::kPin || h.pfn == w.zero_pfn || h.head == w.huge_zero_pfn ||
      !design_pins(w, h.head))
    return;
  // mm/truncate.c: truncation removes a page from the file whether or not
  // it is pinned; the pinner keeps the orphan and a later fault maps a new
  // page. That is the file's contract, not a replacement under the pin.
  if (h.index >= 0 &&
      w.ghost.trunc_gen[static_cast<size_t>(h.index)].load() != h.trunc_gen)
    return;
  // mm/madvise.c: MADV_DONTNEED throws the page away whether or not it is
  // pinned; the next touch maps a new one. The caller asked for that. And a
  // page-cache page of a private mapping is copied away by the next write
  // (Held::file_cow).
  if (h.file_cow || zapped_since(w, h)) return;
  Mm& m = w.mm[static_cast<size_t>(h.mm)];
  if (!m.live.load() || m.vma_unlocked(h.vpn).kind == VmaKind::kNone) return;
  const Pte pte = m.mapped(h.vpn);  // through a PMD leaf too
  if ((pte.present && pte.pfn != h.pfn) || pte.swap) {
    // The bucket is the operation that replaced the page; how the pin came
    // to be unprotected (lost by the design, shared under it) is the detail.
    const char* by = w.ghost.replaced_by[static_cast<size_t>(h.mm)][static_cast<size_t>(h.pfn)].load();
    w.report(ViolationKind::pinned_page_replaced, h.pfn, t, fn,
             fmt::format("mm {} vpn {} now maps {} while pfn {} is pinned there{}", h.mm, h.vpn,
                         pte.swap ? std::string("a swap entry") : fmt::format("pfn {}", pte.pfn),
                         h.pfn, pin_fate_detail(w, h.head)),
             by ? fmt::format("replaced_by_{}", by) : "replaced");
  }
}

// tools/testing/selftests/mm/cow.c's question for a FOLL_GET holder (an
// O_DIRECT read into anon memory, vmsplice): does the holder's page stay
// the one the process maps? The kernel promises it only for a page that was
// exclusive anon when grabbed and an mm that has not forked since
// (1493a1913e34: "R/O FOLL_GET references were never really reliable,
// especially when taking one on a shared page ... FOLL_GET, including R/W
// references, were never really reliable once fork was involved"); it
// makes it hold across swap-out (the swap cache and exclusive swap
// entries), migration and collapse (both refuse a page with an extra
// reference), and a write fault (an exclusive page is reused). Outside
// those terms the kernel guarantees only that the page is not freed.
static void check_get_coherent(World& w, const Task* t, const Held& h, const char* fn) {
  if (h.how != GupHow::kGet || !h.exclusive) return;
  const uint32_t seq = w.ghost.fork_seq[static_cast<size_t>(h.mm)].load();
  if (seq != h.fork_seq || (seq & 1)) return;  // forked since, or during the GUP
  if (zapped_since(w, h)) return;               // MADV_DONTNEED since the GUP
  Mm& m = w.mm[static_cast<size_t>(h.mm)];
  if (!m.live.load() || m.vma_unlocked(h.vpn).kind != VmaKind::kAnon) return;
  const Pte pte = m.mapped(h.vpn);  // through a PMD leaf too
  if (!pte.present || pte.pfn == h.pfn) return;  // a swap entry still names it
  const char* by = w.ghost.replaced_by[static_cast<size_t>(h.mm)][static_cast<size_t>(h.pfn)].load();
  w.report(ViolationKind::get_page_replaced, h.pfn, t, fn,
           fmt::format("mm {} vpn {} now maps pfn {} while a FOLL_GET{} user holds pfn {}, "
                       "taken on an exclusive anon page with no fork since",
                       h.mm, h.vpn, pte.pfn, h.write ? "|FOLL_WRITE" : "", h.pfn),
           by ? fmt::format("replaced_by_{}", by) : "replaced");
}

// Checks made at every CPU access through the page table.
static void check_cpu_access(World& w, const Task& t, int mm, int vpn, Pfn pfn, bool write) {
  if (w.ghost.freed[static_cast<size_t>(pfn)].load()) {
    w.report(ViolationKind::use_after_free, pfn, &t, write ? "user_write" : "user_read",
             fmt::format("mm {} vpn {} maps a freed page", mm, vpn));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(w.held_mu);
    for (auto& other : w.tasks)
      for (auto& h : other.held)
        if (h.live && h.mm == mm && h.vpn == vpn) {
          check_pin_stable(w, &t, h, write ? "user_write" : "user_read");
          check_get_coherent(w, &t, h, write ? "user_write" : "user_read");
        }
  }
  // CVE-2020-29374: another process's GUP reference must not see this
  // process's private data (write), nor this process see another's pinned
  // page (read).
  Page& p = w.page(pfn);
  if (!(p.flags.peek() & PG_anon) || pfn == w.zero_pfn) return;
  // Nor another process's page table: a private anon page two mms map is
  // read-only in both until a COW gives the writer its own (the model has
  // no KSM and no shared anon mapping).
  if (write)
    if (const auto other = other_mm_mapping(w, mm, pfn)) {
      w.report(ViolationKind::cow_leak, pfn, &t, "user_write",
               fmt::format("mm {} wrote an anon page mm {} maps at vpn {}", mm, other->mm,
                           other->vpn),
               "write_under_other_mms_mapping");
      return;
    }
  if (const auto how = other_mm_handle(w, pfn, mm, /*pins_only=*/!write)) {
    const bool pin = *how == GupHow::kPin;
    // The bucket is which way the data leaked and through what reference;
    // how the pinned page came to be shared is the detail.
    w.report(ViolationKind::cow_leak, pfn, &t, write ? "user_write" : "user_read",
             fmt::format("mm {} {} an anon page that another mm holds a GUP reference on{}", mm,
                         write ? "wrote" : "read", pin ? pin_fate_detail(w, p.head()) : ""),
             fmt::format("{}_under_other_mms_{}", write ? "write" : "read", pin ? "pin" : "get"));
  }
}

// ------------------------------------------------------------ helpers

Mappings mappings_of(World& w, Pfn pfn) {
  Mappings out;
  for (int m = 0; m < kMaxMm; ++m) {
    if (!w.mm[static_cast<size_t>(m)].live.load()) continue;
    for (int v = 0; v < kMaxVpn; ++v) {
      const Pte pte = w.mm[static_cast<size_t>(m)].mapped(v);
      if ((pte.present || pte.device_private) && pte.pfn == pfn)
        out.at[static_cast<size_t>(out.n++)] = Mapping{m, v};
    }
  }
  return out;
}

std::optional<Mapping> other_mm_mapping(World& w, int mm, Pfn pfn) {
  for (const Mapping& m : mappings_of(w, pfn))
    if (m.mm != mm) return m;
  return std::nullopt;
}

bool folio_contains(World& w, Pfn head, int index) {
  const int first = w.page(head).index.load(std::memory_order_relaxed);
  return index >= first && index < first + (1 << w.page(head).order());
}

int folio_large_mapcount(World& w, Pfn head) {
  int n = 0;
  for (int i = 0; i < (1 << w.page(head).order()); ++i)
    n += w.page(static_cast<Pfn>(head + i)).mapcount.load(std::memory_order_acquire);
  return n;
}

// copy_mc_user_highpage() / folio_copy(). The oracle: the source must not
// have been freed, or the copy hands its owner whatever the page holds next.
void copy_highpage(World& w, const Task* t, Pfn to, Pfn from) {
  if (w.ghost.freed[static_cast<size_t>(from)].load())
    w.report(ViolationKind::use_after_free, from, t, "copy_mc_user_highpage",
             fmt::format("copied a freed page into pfn {}", to));
  w.page(to).data.store(w.page(from).data.load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
}

Pfn alloc_copy(World& w, const Task* t, Pfn from, bool nofail) {
  Pfn pfn = w.alloc_page(sync::Site::here(), nofail);
  if (pfn == kNoPfn) return kNoPfn;
  copy_highpage(w, t, pfn, from);
  return pfn;
}

static void init_anon(World& w, Pfn pfn, int vpn) {
  Page& p = w.page(pfn);
  p.mapping.store(kAnonMapping, std::memory_order_relaxed);
  p.index.store(vpn, std::memory_order_relaxed);
  p.mapcount.store(1, std::memory_order_relaxed);
  p.lru[0].store(kLruLinked, std::memory_order_relaxed);
  p.lru[1].store(kLruLinked, std::memory_order_relaxed);
  // folio_add_new_anon_rmap(): exclusive; folio_add_lru()
  p.flags.fetch_or(PG_anon | PG_anon_exclusive | PG_lru, std::memory_order_release);
}

// mm/memory.c: zap_pte_range(), for the PTE at (mm, vpn) if it maps `only`
// (any page if kNoPfn): ptep_get_and_clear_full(), then for a present page,
// still under the PTL, a dirty PTE dirties the folio and the rmap goes
// (folio_remove_rmap_pte(), so folio_mapped() stays true until then); the
// reference goes after the TLB flush (tlb_finish_mmu). Returns whether it
// zapped a page mapping.
// `why` names the zap for the oracles (Ghost::replaced_by).
// `dontneed`: MADV_DONTNEED's zap, which the ghost counts (Ghost::zap_gen)
// in the same step as the PTE clear: a GUP that read the PTE before it sees
// the count change, and no check in between sees the PTE gone and the count
// not.
static bool zap_one(World& w, const Task* t, int mm, int vpn, Pfn only, const char* why,
                    bool dontneed = false) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  m.ptl.lock();
  Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  if (only != kNoPfn && !((pte.present || pte.device_private) && pte.pfn == only)) {
    m.ptl.unlock();
    return false;
  }
  // ptep_get_and_clear_full(): an xchg (x86: locked, a full barrier; arm64:
  // xchg_relaxed()).
  m.pte(vpn).xchg(kPteNone, std::memory_order_relaxed);
  // zap_present_folio_ptes(): "if (pte_dirty(ptent)) folio_mark_dirty()" for
  // a page-cache folio. A private mapping's PTE of one is dirty only if
  // UFFDIO_CONTINUE installed it, i.e. the file is shmem, whose
  // ->dirty_folio (noop_dirty_folio) only sets PG_dirty on unchanged data;
  // the model's ext4-like file has no such path, so that dirty bit is not
  // carried over (see uffd_continue() in mm.h).
  const bool file_dirty = pte.present && pte.dirty && pte.pfn != w.zero_pfn &&
                          w.page(w.page(pte.pfn).head()).mapping.peek() >= 0 &&
                          m.vma_unlocked(vpn).kind != VmaKind::kFilePrivate;
  // The mmu_gather flushes the TLBs later: until then a CPU may still use
  // its entry for this PTE (tlb_flush() below closes the window). Not for a
  // dirty file page: zap_present_folio_ptes() sets "force_flush" and
  // zap_pte_range() flushes, and only then removes the rmap
  // (tlb_flush_rmaps()), before dropping the PTL, so folio_mkclean() (which
  // skips an unmapped folio) waits on the PTL and no store lands after a
  // writeback cleaned the page: 5df397dec7c4 ("mm: delay page_remove_rmap()
  // until after the TLB has been flushed", v6.1). The model, whose
  // page_mkclean() finds PTEs rather than rmap entries, gets the same
  // outcome by leaving no window for that page (its stale stores would land
  // in the page cache's page before the flush either way).
  if (pte.present && !file_dirty) tlb_defer(w, mm, vpn, pte.pack());
  // The ghost's notes change with the PTE, when other CPUs can see it go.
  sync::when_visible([g = &w.ghost, mm, vpn, dontneed, why,
                      replaced = pte.present || pte.device_private ? pte.pfn : kNoPfn] {
    if (dontneed) g->zap_gen[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].fetch_add(1);
    if (replaced != kNoPfn) g->note_replaced(mm, replaced, why);
  });
  if (pte.swap) {
    // zap_nonpresent_ptes() -> free_swap_and_cache_nr()
    free_swap_and_cache(w, t, pte.pfn);
    m.ptl.unlock();
    return false;
  }
  if (!(pte.present || pte.device_private) || pte.pfn == w.zero_pfn) {
    m.ptl.unlock();
    tlb_flush(w, mm, vpn);
    return false;
  }
  Pfn head = w.page(pte.pfn).head();
  if (pte.dirty && w.page(head).mapping.load(std::memory_order_relaxed) >= 0 && file_dirty)
    folio_mark_dirty(w, t, head);
  w.page(pte.pfn).mapcount.fetch_sub(1, std::memory_order_relaxed);
  m.ptl.unlock();
  // The flush: a dirty file page's before the PTL goes ("force_flush"),
  // anything else's in tlb_finish_mmu(); both before the page is freed. In
  // the model both end the window here, after the unlock's step.
  tlb_flush(w, mm, vpn);
  folio_put(w, t, head);
  return true;
}

void zap_pte(World& w, const Task* t, int mm, int vpn) { zap_one(w, t, mm, vpn, kNoPfn, "munmap"); }

void unmap_mapping_folio(World& w, const Task* t, Pfn head) {
  Page& h = w.page(head);
  const int nr = 1 << h.order();
  const int first = h.index.load(std::memory_order_relaxed);
  unmap_mapping_pages(w, t, head, first, first, nr);
}

void unmap_mapping_pages(World& w, const Task* t, Pfn head, int first, int from, int nr) {
  // mm/memory.c: unmap_mapping_folio() / unmap_mapping_pages() -> the
  // file's i_mmap tree: every VMA that maps an index of [from, from + nr),
  // each PTE examined under its PTL, so a zap in flight elsewhere (munmap)
  // is waited for, not missed. `first` is the folio's first index.
  for (int mm = 0; mm < kMaxMm; ++mm) {
    Mm& m = w.mm[static_cast<size_t>(mm)];
    if (!m.live.load()) continue;
    for (int vpn = 0; vpn < kMaxVpn; ++vpn) {
      const Vma vma = m.vma_unlocked(vpn);  // the i_mmap tree's view
      // Private mappings too: their PTEs that still map the cache's page
      // (zap_one() zaps only PTEs mapping this folio, never a COW copy).
      if (!vma.file() || vma.pgoff < from || vma.pgoff >= from + nr) continue;
      zap_one(w, t, mm, vpn, static_cast<Pfn>(head + (vma.pgoff - first)), "file_unmap");
    }
  }
}

// The page-cache side of a file fault: find the folio (with a reference) or
// read it from disk into a new one (filemap_fault / filemap_add_folio).
// `noalloc`: only find it (shmem_get_folio(SGP_NOALLOC)): kNoPfn if absent.
static Pfn filemap_get_folio(World& w, const Task* t, int index, bool noalloc = false) {
  File& f = w.file;
  for (int attempt = 0; attempt < kFaultRetries; ++attempt) {
    Pfn pfn = f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire);
    if (pfn != kNoPfn) {
      if (folio_try_get(w, t, w.page(pfn).head())) {
        // filemap_get_entry(): recheck the slot after the speculative get.
        if (f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire) == pfn)
          return pfn;
        folio_put(w, t, w.page(pfn).head());
      }
      continue;
    }
    if (noalloc) return kNoPfn;
    // filemap_fault() -> filemap_invalidate_lock_shared(): the page cache is
    // refilled only under the invalidate lock, so no page reappears at an
    // index while truncate (which holds it for write) is removing it.
    sync::RwSem& inval = f.invalidate_lock;
    inval.down_read();
    if (f.cache[static_cast<size_t>(index)].load(std::memory_order_acquire) != kNoPfn) {
      inval.up_read();
      continue;  // someone filled it meanwhile
    }
    Pfn np = w.alloc_page();
    if (np == kNoPfn) {
      inval.up_read();
      return kNoPfn;
    }
    Page& p = w.page(np);
    p.mapping.store(0, std::memory_order_relaxed);
    p.index.store(index, std::memory_order_relaxed);
    p.lru[0].store(kLruLinked, std::memory_order_relaxed);
    p.lru[1].store(kLruLinked, std::memory_order_relaxed);
    // __filemap_add_folio() takes a locked, not yet uptodate folio: whoever
    // finds it in the cache waits on the lock until the read below is done.
    folio_lock(w, np);
    p.flags.fetch_or(PG_lru, std::memory_order_relaxed);
    // filemap_add_folio(): the cache's reference, inserted under the xa lock.
    folio_ref_add(w, t, np, 1);
    f.i_pages_lock.lock();
    bool inserted = f.cache[static_cast<size_t>(index)].cmpxchg(kNoPfn, np) == kNoPfn;
    f.i_pages_lock.unlock();
    if (inserted) {
      // filemap_read_folio(): the disk is read into the folio once it is in
      // the cache - never before, or a slow reader could insert old data
      // after a newer page came and went.
      p.data.store(f.disk[static_cast<size_t>(index)].load(std::memory_order_relaxed),
                   std::memory_order_relaxed);
      folio_unlock(w, np);  // folio_mark_uptodate() + unlock
      inval.up_read();
      return np;  // our allocation ref is the caller's ref
    }
    inval.up_read();
    p.mapping.store(kNoMapping, std::memory_order_relaxed);
    folio_unlock(w, np);
    folio_put_refs(w, t, np, 2);
  }
  return kNoPfn;
}

// ext4_page_mkwrite() -> block_page_mkwrite(): lock, attach buffers if the
// folio has none (create_empty_buffers takes a folio reference), mark dirty.
// Returns false if the folio was truncated meanwhile. Leaves it locked.
static bool page_mkwrite(World& w, const Task* t, Pfn head) {
  folio_lock(w, head);
  Page& p = w.page(head);
  if (p.mapping.load(std::memory_order_acquire) != 0) {
    folio_unlock(w, head);
    return false;
  }
  if (!(p.flags.load(std::memory_order_acquire) & PG_private)) {
    folio_ref_add(w, t, head, 1);
    p.flags.fetch_or(PG_private, std::memory_order_release);
    w.ghost.get_dirtied[static_cast<size_t>(p.index.peek())].store(0);
  }
  folio_mark_dirty(w, t, head);
  return true;
}

// mm/memory.c: do_wp_page() -> wp_page_copy(): COW (or unshare) the page
// that `orig` (the PTE the fault saw) maps into a new exclusive page.
// do_wp_page() takes a reference on the old folio under the PTL, so it can
// be neither freed nor reused while it is copied, and wp_page_copy()
// installs the copy only if the PTE is still pte_same() as `orig`.
// `ref_held`: the caller took that reference already, in the PTL section
// where it read `orig` and decided to copy (do_wp_page() does); otherwise it
// is taken here, if the PTE is still `orig`.
// A copy made for a write is a COW; one for a read is FAULT_FLAG_UNSHARE's.
static int wp_page_copy(World& w, const Task* t, int mm, int vpn, Pte orig, bool write,
                        bool ref_held = false) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  // "entry = maybe_mkwrite(pte_mkdirty(entry), vma)" for a write; an
  // unshare maps the copy read-only and clean. Without VM_WRITE (a
  // FOLL_FORCE write) the copy is dirty but stays read-only.
  const bool writable = write && !m.vma(vpn).readonly;
  auto& slot = m.pte(vpn);
  const Pfn old = orig.pfn;
  const bool zero = old == w.zero_pfn;  // the zero page is never freed
  if (!zero && !ref_held) {
    m.ptl.lock();
    bool same = slot.load(std::memory_order_acquire) == orig.pack();
    if (same) folio_ref_add(w, t, w.page(old).head(), 1);  // folio_get()
    m.ptl.unlock();
    if (!same) return 0;  // raced: retry the fault
  }
  Pfn np = alloc_copy(w, t, old);
  if (np == kNoPfn) {
    if (!zero) folio_put(w, t, w.page(old).head());
    return -kENOMEM;
  }
  init_anon(w, np, vpn);
  m.ptl.lock();
  bool same = slot.load(std::memory_order_acquire) == orig.pack();  // pte_same()
  if (same) {
    slot.store(present_pte(np, writable, write).pack(), std::memory_order_release);
    // A write fault's COW and a FOLL_PIN read's unshare are one operation
    // to the pinner: wp_page_copy() put another page where its page was.
    w.ghost.note_replaced(mm, old, "cow");
  }
  if (same && !zero) w.page(old).mapcount.fetch_sub(1, std::memory_order_relaxed);
  m.ptl.unlock();
  if (!same) {
    folio_put(w, t, np);
  } else if (!zero) {
    folio_put(w, t, w.page(old).head());  // the old mapping's reference
  }
  if (!zero) folio_put(w, t, w.page(old).head());  // ours
  // "return (folio_copied && !unshare) ? VM_FAULT_WRITE : 0"
  return same && write ? kVmFaultWrite : 0;
}

// ------------------------------------------------------------ faults

int migrate_to_ram(World& w, const Task* t, int mm, int vpn, bool write, bool nofail, bool evict) {
  // mm/memory.c: do_swap_page() -> pgmap->ops->migrate_to_ram() (e.g.
  // lib/test_hmm.c: dmirror_devmem_fault() -> migrate_vma_setup/pages/
  // finalize): the device folio moves to one new system page. Its unmap
  // reaches every mapping (try_to_migrate() walks the rmap, so after fork
  // all mms), remove_migration_ptes() maps the new page in each, and the
  // device page is freed (free_zone_device_folio()).
  Mm& m = w.mm[static_cast<size_t>(mm)];
  // do_swap_page(): pte_offset_map_lock(), pte_same(), then get_page()
  // "while we know the page can't be freed" - under the PTL, as the mapping
  // still holds its reference (16ce101db85d, CVE-2022-3523; a speculative
  // try-get after unlocking could revive a freed page whose idle count is
  // 1 under devmap_base=one).
  m.ptl.lock();
  Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  if (!pte.device_private) {  // someone else migrated it meanwhile
    m.ptl.unlock();
    return 0;
  }
  Pfn dp = pte.pfn;
  folio_ref_add(w, t, dp, 1);
  m.ptl.unlock();
  if (evict) {
    // mm/migrate_device.c: migrate_device_pfn_lock() skips a locked page;
    // migrate_device_unmap() restores one that migrate_vma_check_page()
    // finds referenced beyond its mappings ("extra": ours and ZONE_DEVICE's
    // base, here devmap_idle_base()).
    if (!folio_trylock(w, dp)) {
      folio_put(w, t, dp);
      return -kEAGAIN;
    }
    const int32_t mapped = w.page(dp).mapcount.load(std::memory_order_relaxed);
    const int32_t refs = w.width.value(w.page(dp).refcount.load(std::memory_order_acquire));
    if (refs - devmap_idle_base(w) - 1 > mapped) {
      folio_unlock(w, dp);
      folio_put(w, t, dp);
      return -kEAGAIN;
    }
  } else {
    folio_lock(w, dp);
  }
  Pfn np = alloc_copy(w, t, dp, nofail);
  if (np == kNoPfn) {
    folio_unlock(w, dp);
    folio_put(w, t, dp);
    return -kENOMEM;
  }
  init_anon(w, np, vpn);
  Page& n = w.page(np);
  // Our allocation reference stays ours until the end (migrate_vma_finalize()
  // drops it): each mapping takes its own, so a COW that replaces one of
  // them meanwhile cannot free the page under us.
  n.mapcount.store(0, std::memory_order_relaxed);
  // The destination folio stays locked until every mapping is in place
  // (migrate_vma_pages() .. migrate_vma_finalize()): until then its count
  // says nothing about who shares it.
  folio_lock(w, np);
  const bool shared = w.page(dp).mapcount.load(std::memory_order_relaxed) > 1;
  if (shared) n.flags.fetch_and(~PG_anon_exclusive, std::memory_order_release);
  for (int m2 = 0; m2 < kMaxMm; ++m2) {
    Mm& mm2 = w.mm[static_cast<size_t>(m2)];
    if (!mm2.live.load()) continue;
    for (int v2 = 0; v2 < kMaxVpn; ++v2) {
      Pte seen = Pte::unpack(mm2.pte(v2).peek());
      if (!seen.device_private || seen.pfn != dp) continue;
      mm2.ptl.lock();
      auto& slot = mm2.pte(v2);
      Pte cur = Pte::unpack(slot.load(std::memory_order_acquire));
      if (cur.device_private && cur.pfn == dp) {
        bool faulting = m2 == mm && v2 == vpn;
        folio_ref_add(w, t, np, 1);
        n.mapcount.fetch_add(1, std::memory_order_relaxed);
        slot.store(present_pte(np, cur.writable && !shared, faulting && write && !shared).pack(),
                   std::memory_order_release);
        w.page(dp).mapcount.fetch_sub(1, std::memory_order_relaxed);
        mm2.ptl.unlock();
        folio_put(w, t, dp);  // that mapping's reference
        continue;
      }
      mm2.ptl.unlock();
    }
  }
  folio_unlock(w, np);
  folio_unlock(w, dp);
  folio_put(w, t, np);  // ours (frees it if every entry went away meanwhile)
  folio_put(w, t, dp);  // ours
  return 0;
}

// mm/memory.c: do_swap_page() for the swap entry `orig` at (mm, vpn), as
// in ColinIanKing/linux-next (~6.19; exclusive swap entries since v5.19).
// Returns 0 when the fault is done or must be retried, or -errno.
static int do_swap_page(World& w, const Task* t, int mm, int vpn, Pte orig, bool write) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  const int slot = orig.pfn;
  const Pfn folio = swap_cache_get_folio(w, t, slot);
  if (folio == kSwapCacheBusy) {
    // Another swap-in holds the entry: "Relax a bit to prevent rapid
    // repeated page faults" (schedule_timeout_uninterruptible(1)): wait for
    // its swapcache_clear(), then retry. A frozen cached folio: retry.
    auto& word = swap_slot(w, slot).cache;
    if (word.load(std::memory_order_acquire) == kSwapInClaim) sync::block(sync::Site::here(), &word);
    return 0;
  }
  if (folio == kNoPfn) {
    if (!swapcache_prepare(w, slot)) return 0;  // gone or held meanwhile: retry
    // Not in the swap cache: the slot is read into a new folio that is not
    // exposed to the swap cache (the SWP_SYNCHRONOUS_IO path): "We have a
    // fresh page that is not exposed to the swapcache -> certainly
    // exclusive". (For an entry fork shared, the kernel reads it into the
    // swap cache and both mms map it read-only until a write copies: the
    // same data, and the model gives each its own copy at once.)
    Pfn np = w.alloc_page();
    if (np == kNoPfn) {
      swapcache_clear(w, slot);
      return -kENOMEM;
    }
    w.page(np).data.store(swap_slot(w, slot).data.load(std::memory_order_acquire),
                          std::memory_order_relaxed);
    init_anon(w, np, vpn);
    m.ptl.lock();
    bool same = m.pte(vpn).load() == orig.pack();
    if (same) {
      // "if ((vma->vm_flags & VM_WRITE) ...) pte = pte_mkwrite(pte, vma)"
      const bool vm_write = !m.vma(vpn).readonly;
      m.pte(vpn).store(present_pte(np, vm_write, vm_write && write).pack());
      swap_free(w, slot);
    }
    m.ptl.unlock();
    swapcache_clear(w, slot);
    if (!same) folio_put(w, t, np);
    return 0;
  }
  // The cached folio: the one try_to_unmap() left, with whatever references
  // kept it there (a FOLL_GET user's, say).
  folio_lock(w, folio);
  Page& p = w.page(folio);
  // "swapcache page was released" or reused: retry the fault.
  if (!(p.flags.load(std::memory_order_acquire) & PG_swapcache) ||
      p.swap.load(std::memory_order_relaxed) != slot) {
    folio_unlock(w, folio);
    folio_put(w, t, folio);
    return 0;
  }
  m.ptl.lock();
  if (m.pte(vpn).load(std::memory_order_acquire) != orig.pack()) {  // pte_same()
    m.ptl.unlock();
    folio_unlock(w, folio);
    folio_put(w, t, folio);
    return 0;
  }
  // "Check under PT lock (to protect against concurrent fork() sharing the
  // swap entry concurrently) for certainly exclusive pages": the entry's
  // exclusive bit (1493a1913e34).
  const bool exclusive_entry = orig.exclusive;
  swap_free(w, slot);
  // should_try_to_free_swap(): a write fault, and only our reference and
  // the cache's left: the folio leaves the swap cache (folio_free_swap()
  // also wants no other swap PTE on the slot).
  if (write && w.width.value(p.refcount.load(std::memory_order_acquire)) == 2)
    folio_free_swap(w, t, folio);
  // "Same logic as in do_wp_page()": exclusive if the entry says so, or if
  // ours is the only reference; then writable (VM_WRITE), dirty if a write.
  const bool exclusive =
      exclusive_entry || w.width.value(p.refcount.load(std::memory_order_acquire)) == 1;
  if (exclusive) p.flags.fetch_or(PG_anon_exclusive, std::memory_order_release);
  p.mapcount.fetch_add(1, std::memory_order_relaxed);  // folio_add_anon_rmap_ptes()
  // Writable only with VM_WRITE: a FOLL_FORCE write fault of a PROT_READ
  // mapping leaves it read-only (and clean), and GUP follows it as an
  // exclusive anon page (can_follow_write_pte()).
  const bool mkwrite = exclusive && !m.vma(vpn).readonly;
  m.pte(vpn).store(present_pte(folio, mkwrite, mkwrite && write).pack(),
                   std::memory_order_release);
  // "folio_unlock(folio)" comes before "pte_unmap_unlock()": our reference
  // is now the mapping's, and once the PTL is dropped a MADV_DONTNEED (under
  // mmap_lock for read, like this fault) may zap the PTE and free the folio.
  folio_unlock(w, folio);
  m.ptl.unlock();
  return 0;  // a write to a shared one retries into do_wp_page()
}

// filemap_fault() -> lock_folio_maybe_drop_mmap(), then "Did it get
// truncated?": a folio truncate is removing must not be mapped. Locks the
// folio; if it left the file or index `pgoff` meanwhile, unlocks it, drops
// the caller's reference and returns false (the fault retries).
static bool lock_still_cached(World& w, const Task* t, Pfn head, int pgoff) {
  folio_lock(w, head);
  Page& h = w.page(head);
  if (h.mapping.load(std::memory_order_acquire) == kBufferedFile && folio_contains(w, head, pgoff))
    return true;
  folio_unlock(w, head);
  folio_put(w, t, head);
  return false;
}

// mm/memory.c: do_cow_fault(): a write fault on a none PTE of a private file
// mapping. The cow page is allocated first (vmf->cow_page), the page-cache
// folio found and locked (__do_fault()), copied (copy_user_highpage()), and
// the copy mapped by finish_fault(): "entry = maybe_mkwrite(pte_mkdirty(entry),
// vma)", so without VM_WRITE (a FOLL_FORCE write) dirty and read-only.
// Unlike do_wp_page()'s COW it reports no VM_FAULT_WRITE (the 4.x code
// returned __do_fault()'s flags), which matters to the pre-19be0eaffa3a
// retry loop (dirty_cow).
static int do_cow_fault(World& w, const Task* t, int mm, int vpn, const Vma& vma) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  Pfn np = w.alloc_page();
  if (np == kNoPfn) return -kENOMEM;
  Pfn pfn = filemap_get_folio(w, t, vma.pgoff);
  if (pfn == kNoPfn) {
    folio_put(w, t, np);
    return -kENOMEM;
  }
  Pfn head = w.page(pfn).head();
  if (!lock_still_cached(w, t, head, vma.pgoff)) {
    folio_put(w, t, np);
    return 0;  // retry
  }
  copy_highpage(w, t, np, pfn);
  init_anon(w, np, vpn);
  m.ptl.lock();
  const bool still_none = m.pte(vpn).load() == kPteNone;
  if (still_none) m.pte(vpn).store(present_pte(np, !vma.readonly, true).pack());
  m.ptl.unlock();
  folio_unlock(w, head);
  folio_put(w, t, head);               // __do_fault()'s reference
  if (!still_none) folio_put(w, t, np);  // raced: our copy goes
  return 0;
}

// folio_test_large_maybe_mapped_shared(): the folio's MM-ID tracking
// (_mm_ids), kept at every map and unmap; the model reads the page tables
// instead (peek: that bit is no scheduling point either).
static bool folio_mapped_by_other_mm(World& w, int mm, Pfn head) {
  for (int i = 0; i < (1 << w.page(head).order()); ++i)
    if (other_mm_mapping(w, mm, static_cast<Pfn>(head + i))) return true;
  return false;
}

// mm/memory.c: __wp_can_reuse_large_anon_folio() (1da190f4d0a6, David
// Hildenbrand, v6.15), called under the PTL: "If all folio references are
// from mappings, and all mappings are in the page tables of this MM, then
// this folio is exclusive to this MM." Before v6.15 a large folio was never
// reused ("let's just consistently not reuse subpages").
static bool wp_can_reuse_large_anon_folio(World& w, const Task* t, int mm, Pfn head) {
  Page& h = w.page(head);
  const int nr = 1 << h.order();
  // "Let's just free up a large folio if only a single page is mapped."
  if (folio_large_mapcount(w, head) <= 1) return false;
  if (folio_mapped_by_other_mm(w, mm, head)) return false;
  if (h.flags.load(std::memory_order_acquire) & PG_swapcache) {
    // "freeing up the swapcache will fail if some PTEs are still swap entries"
    if (!folio_trylock(w, head)) return false;
    folio_free_swap(w, t, head);
    folio_unlock(w, head);
  }
  // "if (folio_large_mapcount(folio) != folio_ref_count(folio)) return
  // false;": every reference is a mapping's, so no GUP reference (a pin, a
  // vmsplice FOLL_GET) sees the page. large_cow_reuse_by_mapcount: this half
  // of the rule is missing.
  if (w.design.large_cow_reuse_by_mapcount) return true;
  // "Stabilize the mapcount vs. refcount and recheck": under
  // folio_lock_large_mapcount(), which every rmap change of the folio takes,
  // the total mapcount cannot move, and a mapper's reference comes before
  // its mapcount, an unmapper's goes after it, so the refcount can only be
  // higher than the mappings account for. The model has no such lock: it
  // reads the two as one snapshot, the refcount at a scheduling point and
  // the mapcounts right after it with no scheduling point between (peek),
  // so that no map or unmap runs in between. (Read at separate points, a
  // mapcount from before an unmap and a refcount from after it can match
  // while a split holds an extra reference.)
  // The MM-ID test is repeated inside the snapshot, as the kernel repeats
  // it under the lock: a mapping of another mm may have come back since
  // (remove_migration_ptes() after a split or migration).
  const int32_t refs = w.width.value(h.refcount.load(std::memory_order_acquire));
  int mapcount = 0;
  for (int i = 0; i < nr; ++i) mapcount += w.page(static_cast<Pfn>(head + i)).mapcount.peek();
  return !folio_mapped_by_other_mm(w, mm, head) && mapcount == refs;
}

int handle_mm_fault(World& w, const Task* t, int mm, int vpn, bool write, bool unshare) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  const Vma vma = m.vma(vpn);  // find_vma(), under mmap_lock
  if (vma.kind == VmaKind::kNone) return -kEFAULT;
  // sanitize_fault_flags(): a write fault without VM_WRITE comes only from
  // FOLL_FORCE, and "FOLL_FORCE only applies to COW mappings".
  if (write && vma.readonly && !vma.cow()) return -kEFAULT;
  // __handle_mm_fault(): the PMD level first (create_huge_pmd(),
  // wp_huge_pmd()), in a THP-eligible VMA.
  if (vma.thp) {
    const int r = huge_pmd_fault(w, t, mm, vpn, vma, write, unshare);
    if (r != kPmdFallback) return r;
  }
  m.ptl.lock();
  Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
  m.ptl.unlock();

  if (pte.none()) {
    if (vma.kind == VmaKind::kAnon) {
      // do_anonymous_page(): a new zeroed exclusive page; "if
      // (vma->vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry))".
      Pfn np = w.alloc_page();
      if (np == kNoPfn) return -kENOMEM;
      init_anon(w, np, vpn);
      m.ptl.lock();
      bool still_none = m.pte(vpn).load() == kPteNone;
      if (still_none) m.pte(vpn).store(present_pte(np, !vma.readonly, write && !vma.readonly).pack());
      m.ptl.unlock();
      if (!still_none) folio_put(w, t, np);
      return 0;
    }
    if (!vma.file()) return -kEFAULT;  // dax / p2pdma: no refault model
    // do_cow_fault(): a write fault of a private file mapping.
    if (vma.kind == VmaKind::kFilePrivate && write) return do_cow_fault(w, t, mm, vpn, vma);
    // do_read_fault() / do_shared_fault(): filemap_fault + finish_fault.
    Pfn pfn = filemap_get_folio(w, t, vma.pgoff);
    if (pfn == kNoPfn) return -kENOMEM;
    Pfn head = w.page(pfn).head();
    if (write) {
      // do_shared_fault() -> ->page_mkwrite(): returns the folio locked.
      if (!page_mkwrite(w, t, head)) {
        folio_put(w, t, head);
        return 0;  // truncated: retry
      }
    } else if (!lock_still_cached(w, t, head, vma.pgoff)) {
      return 0;  // retry
    }
    m.ptl.lock();
    bool still_none = m.pte(vpn).load() == kPteNone;
    if (still_none) {
      w.page(pfn).mapcount.fetch_add(1, std::memory_order_relaxed);
      m.pte(vpn).store(present_pte(pfn, write, write).pack());
    }
    m.ptl.unlock();
    folio_unlock(w, head);  // finish_fault() done
    if (!still_none) folio_put(w, t, head);  // our ref became the mapping's otherwise
    return 0;
  }

  if (pte.migration) {
    // do_swap_page() -> migration_entry_wait(): sleep until the move is
    // done, if the entry is still there (read again right before sleeping:
    // the move may have finished since the PTL was dropped). It waits on
    // the folio's lock (migration_entry_wait_on_locked():
    // pfn_swap_entry_folio()), which a split holds for the whole folio.
    if (m.pte(vpn).load(std::memory_order_acquire) == pte.pack())
      sync::block(sync::Site::here(), &w.page(w.page(pte.pfn).head()));
    return 0;
  }
  if (pte.swap) return do_swap_page(w, t, mm, vpn, pte, write);

  if (pte.device_private) return migrate_to_ram(w, t, mm, vpn, write);

  if (!write && !unshare) return 0;  // present: nothing to do
  Pfn pfn = pte.pfn;
  Pfn head = w.page(pfn).head();
  // do_wp_page(): "if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE))"
  if (vma.kind == VmaKind::kFile) {
    // do_wp_page() takes its reference under the PTL, where the PTE still
    // maps the folio (no speculative get on a pfn that may have been
    // reused); wp_page_shared(): ->page_mkwrite, then the PTE writable + dirty.
    m.ptl.lock();
    const bool same = m.pte(vpn).load(std::memory_order_acquire) == pte.pack();
    if (same) folio_ref_add(w, t, head, 1);  // folio_get()
    m.ptl.unlock();
    if (!same) return 0;  // raced: retry
    bool ok = page_mkwrite(w, t, head);
    if (ok) {
      m.ptl.lock();
      if (m.pte(vpn).load() == pte.pack())
        m.pte(vpn).store(present_pte(pfn, true, true).pack());
      m.ptl.unlock();
      folio_unlock(w, head);
    }
    folio_put(w, t, head);
    return 0;
  }
  if (!vma.cow()) return -kEFAULT;
  if (pfn == w.zero_pfn) return wp_page_copy(w, t, mm, vpn, pte, /*write=*/true);
  // do_wp_page(), under the PTL: an exclusive page is reused; otherwise
  // wp_can_reuse_anon_folio() reuses it only if it can take the folio lock
  // and then sees the only reference (refcount, not mapcount: the
  // CVE-2020-29374 lesson). The lock matters: a migration installing
  // mappings of this folio holds it, and its count is not final until then.
  m.ptl.lock();
  const bool same = m.pte(vpn).load(std::memory_order_acquire) == pte.pack();
  // page_folio(vmf->page), under the PTL with the PTE unchanged: read
  // before, it may name a folio a split has broken up since (remap_page()
  // puts back a bit-identical PTE).
  head = w.page(pfn).head();
  Page& p = w.page(head);
  // "if (folio && folio_test_anon(folio) ...)": a page-cache page of a
  // private mapping is never reused, always copied. Decided here, under the
  // PTL with the PTE unchanged: outside it, the pfn may have been freed and
  // reused as an anon page with a bit-identical PTE. (PageAnon is stable
  // while the PTE maps the page: read with peek(), not a scheduling point.)
  const bool anon = same && (w.page(head).flags.peek() & PG_anon);
  bool exclusive = anon && (w.page(pfn).flags.load(std::memory_order_acquire) & PG_anon_exclusive);
  // A device-coherent anon folio is reused the same way (mm/memory.c
  // wp_can_reuse_anon_folio(): not being on the LRU only costs it an
  // lru_add_drain()); its count sits on the ZONE_DEVICE idle base.
  if (anon && !exclusive && p.order() == 0 && folio_trylock(w, head)) {
    // cow_reuse_by_mapcount: the rule before 09854ba94c6a (v5.9): reuse
    // when this is the only mapping, whoever else holds a reference.
    const int32_t base = p.is_device() ? devmap_idle_base(w) : 0;
    // wp_can_reuse_anon_folio(): "if (folio_test_swapcache(folio))
    // folio_free_swap(folio)": the swap cache's reference goes first, if no
    // swap PTE still needs the folio.
    folio_free_swap(w, t, head);
    const bool only = w.design.cow_reuse_by_mapcount
                          ? p.mapcount.load(std::memory_order_acquire) == 1
                          : w.width.value(p.refcount.load(std::memory_order_acquire)) == base + 1;
    if (only) {
      w.page(pfn).flags.fetch_or(PG_anon_exclusive, std::memory_order_release);
      exclusive = true;
    }
    folio_unlock(w, head);
  } else if (anon && !exclusive && p.order() > 0 && wp_can_reuse_large_anon_folio(w, t, mm, head)) {
    // wp_page_reuse(): "SetPageAnonExclusive(vmf->page)" - this page only.
    w.page(pfn).flags.fetch_or(PG_anon_exclusive, std::memory_order_release);
    exclusive = true;
  }
  // wp_page_reuse(): "entry = maybe_mkwrite(pte_mkdirty(entry), vma)":
  // without VM_WRITE (FOLL_FORCE) the PTE is dirtied but stays read-only.
  if (exclusive && write)
    m.pte(vpn).store(present_pte(pfn, !vma.readonly, true).pack(), std::memory_order_release);
  // Copying: the reference on the old folio is taken here, under the same
  // PTL as the decision, so it can be neither freed nor reused before the
  // copy rechecks pte_same() (a recycled pfn gives a bit-identical PTE).
  const bool copy = same && !exclusive;
  if (copy) folio_ref_add(w, t, head, 1);  // folio_get()
  m.ptl.unlock();
  if (!copy) return exclusive && write ? kVmFaultWrite : 0;  // reused, or raced (retry)
  return wp_page_copy(w, t, mm, vpn, pte, /*write=*/write, /*ref_held=*/true);
}

// ------------------------------------------------------------ fork

// One anon PTE of copy_pte_range(), called under the source PTL (the
// child's is not contended: nothing runs in the child yet). Returns -kEAGAIN
// when the page must be copied and `prealloc` is empty (copy_present_page()).
static int copy_pte_locked(World& w, Task& t, Mm& src, Mm& dst, int vpn, Pfn& prealloc) {
  uint64_t raw = src.pte(vpn).load(std::memory_order_acquire);
  Pte pte = Pte::unpack(raw);
  if (pte.none()) return 0;
  if (pte.swap) {
    // copy_nonpresent_pte(): swap_duplicate(), and "Mark the swap entry as
    // shared": pte_swp_clear_exclusive() in the parent too.
    swap_duplicate(w, pte.pfn);
    Pte shared = pte;
    shared.exclusive = false;
    src.pte(vpn).store(shared.pack(), std::memory_order_release);
    dst.pte(vpn).store(shared.pack(), std::memory_order_release);
    return 0;
  }
  if (pte.migration) {
    // copy_nonpresent_pte(): a migration entry is copied without a
    // reference; it becomes readable (not writable, not exclusive) in both
    // mms, the page being shared from now on. remove_migration_ptes()
    // finds both entries.
    Pte ro = pte;
    ro.writable = false;
    ro.exclusive = false;
    src.pte(vpn).store(ro.pack(), std::memory_order_release);
    dst.pte(vpn).store(ro.pack(), std::memory_order_release);
    return 0;
  }
  if (pte.pfn == w.zero_pfn) {
    dst.pte(vpn).store(raw);
    return 0;
  }
  Pfn pfn = pte.pfn;
  Page& p = w.page(pfn);
  Pfn head = p.head();
  // copy_present_ptes() -> folio_try_dup_anon_rmap_pte(): an exclusive page
  // that folio_needs_cow_for_dma() (MMF_HAS_PINNED, tested for each page,
  // && maybe pinned) is copied for the child right now (copy_present_page(),
  // Peter Xu v5.9). In the kernel's order: maybe_pinned first, then
  // PageAnonExclusive. Device-coherent pages too: they are present anon
  // memory to the CPU. Device-private entries are not present and can never
  // be pinned.
  const bool maybe_pinned = pte.present && !w.design.no_cow_for_dma &&
                            (src.flags.load(std::memory_order_relaxed) & MMF_HAS_PINNED) &&
                            folio_maybe_dma_pinned(w, &t, pfn);
  bool exclusive = p.flags.load(std::memory_order_acquire) & PG_anon_exclusive;
  if (maybe_pinned && exclusive) {
    if (prealloc == kNoPfn) return -kEAGAIN;
    // copy_present_page() (mm/memory.c, ColinIanKing/linux-next ~6.19): the
    // copy is made under the PTL, from a page the PTE still maps, into the
    // preallocated folio; the parent's PTE, page and exclusivity are left
    // as they are.
    copy_highpage(w, &t, prealloc, pfn);
    init_anon(w, prealloc, vpn);
    // maybe_mkwrite(pte_mkdirty(pte), dst_vma)
    dst.pte(vpn).store(present_pte(prealloc, true, true).pack());
    prealloc = kNoPfn;
    return 0;
  }
  if (exclusive) {
    p.flags.fetch_and(~PG_anon_exclusive, std::memory_order_release);
    w.ghost.note_shared(head, "fork");
  }
  folio_ref_add(w, &t, head, 1);
  p.mapcount.fetch_add(1, std::memory_order_relaxed);
  Pte ro = pte;
  ro.writable = false;  // COW: write-protect both sides
  src.pte(vpn).store(ro.pack(), std::memory_order_release);
  dst.pte(vpn).store(ro.pack(), std::memory_order_release);
  return 0;
}

static int copy_present_pte(World& w, Task& t, Mm& src, Mm& dst, int vpn, Pfn& prealloc) {
  src.ptl.lock();  // copy_pte_range(): spin_lock_nested(src_ptl)
  int r = copy_pte_locked(w, t, src, dst, vpn, prealloc);
  src.ptl.unlock();
  return r;
}

// copy_pmd_range() for a `thp` VMA's PMD: a none PMD stays none in the
// child and the huge zero folio's leaf is copied write-protected
// (copy_huge_pmd(): "if (is_huge_zero_pmd(pmd)) { mm_get_huge_zero_folio(dst_mm);
// goto out_zero_page; }"). An anon THP's leaf is split in the parent and
// its PTEs copied: the model does not share PMD mappings between mms (the
// kernel does, and splits only a maybe-pinned one:
// folio_try_dup_anon_rmap_pmd() failing). Returns true if the PMD is done.
static bool copy_huge_pmd(World& w, Task& t, Mm& src, Mm& dst, int vpn) {
  src.ptl.lock();
  const uint32_t v = src.pmd_of(vpn).load(std::memory_order_acquire);
  const bool none = pmd_none(v);
  if (none || (pmd_leaf(v) && pmd_leaf_pfn(v) == w.huge_zero_pfn)) {
    dst.pmd_of(vpn).store(none ? kPmdNone : make_pmd_leaf(0, w.huge_zero_pfn, false, (v & kPmdLeafDirty) != 0),
                          std::memory_order_relaxed);
    src.ptl.unlock();
    return true;
  }
  src.ptl.unlock();
  split_huge_pmd(w, &t, t.mm, vpn);  // src is the forking task's mm
  return false;
}

int fork_mm(World& w, Task& t) {
  Mm& src = w.mm[static_cast<size_t>(t.mm)];
  src.mmap_lock.down_write();  // dup_mmap()
  int child = w.mm_count.fetch_add(1, std::memory_order_relaxed);
  if (child >= kMaxMm) {
    w.mm_count.fetch_sub(1, std::memory_order_relaxed);
    src.mmap_lock.up_write();
    return -kENOMEM;
  }
  Mm& dst = w.mm[static_cast<size_t>(child)];
  dst.live.store(true);
  w.ghost.fork_seq[static_cast<size_t>(t.mm)].fetch_add(1);  // oracle-side
  // copy_page_range(): raw_write_seqcount_begin(&src_mm->write_protect_seq)
  src.write_protect_seq.write_begin();
  bool failed = false;
  for (int vpn = 0; vpn < kMaxVpn; ++vpn) {
    const Vma vma = src.vma(vpn);
    dst.set_vma(vpn, vma);  // the child runs only from `ready` on
    // vma_needs_copy(): shared file/dax/p2pdma mappings are refaulted lazily.
    // A private file mapping is copied as if it had an anon_vma (it does
    // once a COW happened): its anon pages are shared like any anon page,
    // and its page-cache pages are mapped read-only in both.
    if (!vma.cow()) continue;
    if (vma.thp && vpn % kVpnPerPmd == 0 && copy_huge_pmd(w, t, src, dst, vpn)) {
      dst.set_vma(vpn + 1, src.vma(vpn + 1));
      ++vpn;
      continue;
    }
    // copy_pte_range(): a page that must be copied needs a preallocated
    // folio; copy_present_page() returns -EAGAIN without one, and the loop
    // drops both PTLs, allocates (folio_prealloc()) and goes `again`,
    // re-reading the PTE, which may have changed meanwhile.
    Pfn prealloc = kNoPfn;
    while (copy_present_pte(w, t, src, dst, vpn, prealloc) == -kEAGAIN) {
      prealloc = w.alloc_page();
      if (prealloc == kNoPfn) {
        failed = true;  // copy_pte_range(): -ENOMEM
        break;
      }
    }
    if (failed) break;
    // "pre-alloc page cannot be reused by next time so as to strictly
    // follow mempolicy": the pinned PTE changed, and the copy is freed.
    if (prealloc != kNoPfn) folio_put(w, &t, prealloc);
  }
  src.write_protect_seq.write_end();
  w.ghost.fork_seq[static_cast<size_t>(t.mm)].fetch_add(1);
  if (failed) {
    // dup_mmap() fails with -ENOMEM and the half-built child is torn down
    // (exit_mmap() zaps what was copied).
    for (int vpn = 0; vpn < kMaxVpn; ++vpn) {
      zap_pte(w, &t, child, vpn);
      dst.set_vma(vpn, Vma{});
    }
    dst.live.store(false);
  } else {
    dst.ready.store(true);  // the child runs: its mm can be used from now on
  }
  src.mmap_lock.up_write();
  return failed ? -kENOMEM : child;
}

void munmap_vpn(World& w, Task& t, int vpn) {
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  m.mmap_lock.down_write();
  if (m.vma(vpn).kind != VmaKind::kNone) {
    // unmap_region() zaps the pages first; the VMA leaves the file's
    // i_mmap tree after (remove_vma), so rmap walkers see it meanwhile.
    // A PMD leaf over half the range is split first (vma_adjust_trans_huge()).
    split_huge_pmd(w, &t, t.mm, vpn);
    zap_pte(w, &t, t.mm, vpn);
    m.set_vma(vpn, Vma{});
  }
  m.mmap_lock.up_write();
}

// ------------------------------------------------------------ CPU, DMA

// The ghost's expectation for the disk: a store into a shared file mapping's
// page (or something newer) must reach the file by the final sync.
static void note_file_store(World& w, Pfn pfn, const Vma& vma, uint32_t v) {
  const Pfn head = w.page(pfn).head();
  const Page& h = w.page(head);
  if (h.mapping.peek() < 0 || vma.kind != VmaKind::kFile) return;
  // The page's own index: the folio's first plus its place in the folio.
  auto& e = w.ghost.expected_disk[static_cast<size_t>(h.index.peek() + (pfn - head))];
  int64_t cur = e.load();
  while (cur < v && !e.compare_exchange_weak(cur, v)) {
  }
}

// The ro_file_written oracle, at a store into `pfn` through (mm, vpn) and
// its VMA: a page-cache page may be written only through a shared mapping
// with VM_WRITE; a private ("COW") mapping's store lands in an anon page of
// its own (CVE-2016-5195: a FOLL_FORCE write reached the page cache of a
// file the process could only read). `others`: also require that no other
// mm maps the page (a store through the kernel's mapping of a page GUP
// returned, which no PTE of another mm may share).
static void check_private_store(World& w, const Task& t, int mm, int vpn, const Vma& vma, Pfn pfn,
                                const char* fn, bool others) {
  const Page& h = w.page(w.page(pfn).head());
  if (h.mapping.peek() == kBufferedFile && (vma.kind != VmaKind::kFile || vma.readonly)) {
    w.report(ViolationKind::ro_file_written, pfn, &t, fn,
             fmt::format("wrote the page cache's page of file index {} (pfn {}) through mm {} vpn "
                         "{}, a {} mapping",
                         h.index.peek(), pfn, mm, vpn,
                         vma.kind == VmaKind::kFile ? "read-only shared" : "private"),
             "page_cache_through_private_mapping");
    return;
  }
  if (!others || !vma.cow() || !(h.flags.peek() & PG_anon)) return;
  for (const Mapping& at : mappings_of(w, pfn))
    if (at.mm != mm) {
      w.report(ViolationKind::ro_file_written, pfn, &t, fn,
               fmt::format("wrote pfn {} through mm {} vpn {}'s private mapping while mm {} vpn {} "
                           "maps it too",
                           pfn, mm, vpn, at.mm, at.vpn),
               "shared_anon_through_private_mapping");
      return;
    }
}

// The zero_page_written oracle: nothing may store into the zero page or the
// huge zero folio, which every process reads as zeros where it has not
// written (CVE-2017-1000405: a FOLL_FORCE write reached the huge zero page).
static void check_zero_store(World& w, const Task& t, int mm, int vpn, Pfn pfn, const char* fn) {
  const bool zero = pfn == w.zero_pfn;
  if (!zero && (w.huge_zero_pfn == kNoPfn || w.page(pfn).head() != w.huge_zero_pfn)) return;
  w.report(ViolationKind::zero_page_written, pfn, &t, fn,
           fmt::format("wrote the {} (pfn {}) through mm {} vpn {}", zero ? "zero page" : "huge zero page",
                       pfn, mm, vpn),
           zero ? "zero_page_written" : "huge_zero_page_written");
}

// ------------------------------------------------------------ the TLB

void tlb_defer(World& w, int mm, int vpn, uint64_t old_raw) {
  w.ghost.tlb_pending[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].store(old_raw | kTlbValid);
}

void tlb_flush(World& w, int mm, int vpn) {
  // flush_tlb_range() / tlb_flush_mmu(): every CPU drops its entry (the
  // IPI's shootdown), and the window closes.
  w.ghost.tlb_pending[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].store(0);
  for (Task& cpu : w.tasks)
    cpu.tlb[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].store(0, std::memory_order_relaxed);
}

// A CPU access through this CPU's TLB entry for (mm, vpn), if it has one
// that can serve the access: no mmap_lock, no PTL, no page walk, one step
// (the data access; an instruction completes before a shootdown IPI is
// taken, so the lookup and the access are one event). The entry serves if
// it is the PTE the page table holds now, or the PTE a change replaced whose
// flush is still pending (tlb_defer()): then a store lands in the old page
// (mprotect()'s write-protect, MADV_DONTNEED's zap) until the flush. A
// store needs the entry writable and dirty (with the dirty bit clear, x86
// walks the page table to set it). Returns nullopt when the entry cannot
// serve: the access walks, and the entry is dropped if it is dead.
// The TLB is modelled where a step is one event against every other thread
// (the deterministic engine and sequential runs), not on real threads.
static bool tlb_modelled() {
  const sync::Hook* h = sync::current_hook();
  return h && !h->parallel;
}

static std::optional<int64_t> tlb_access(World& w, Task& t, int mm, int vpn, bool write) {
  if (!tlb_modelled()) return std::nullopt;
  auto& slot = t.tlb[static_cast<size_t>(mm)][static_cast<size_t>(vpn)];
  const uint64_t entry = slot.load(std::memory_order_relaxed);
  if (!entry) return std::nullopt;
  const Pte e = Pte::unpack(entry & ~kTlbValid);
  if (!e.present || (write && !(e.writable && e.dirty))) return std::nullopt;
  Mm& m = w.mm[static_cast<size_t>(mm)];
  Page& p = w.page(e.pfn);
  bool serves = false;
  // After the scheduling point: is the entry live (the PTE now), or stale
  // inside a pending flush's window? It may have been shot down since the
  // lookup began.
  auto look = [&] {
    const uint64_t now_entry = slot.load(std::memory_order_relaxed);
    const uint64_t now = m.pte(vpn).peek() | kTlbValid;
    const uint64_t pending =
        w.ghost.tlb_pending[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].load();
    const bool stale = now_entry && pending && now_entry != now && now_entry == pending;
    serves = (now_entry && now_entry == now) || stale;
    if (serves) check_cpu_access(w, t, mm, vpn, e.pfn, write);
  };
  int64_t result = 0;
  if (write) {
    // A miss stores the value the page holds (no change) and walks.
    const uint32_t v = p.data.store_from(
        [&] {
          look();
          return serves ? next_data_value(w) : p.data.peek();
        },
        std::memory_order_relaxed);
    // No ro_file_written check here: the permission is the PTE's as the walk
    // that filled the entry found it (and checked it), and mprotect() may be
    // taking VM_WRITE away right now (it changes the VMA, then the PTE,
    // then flushes). The VMA is read without mmap_lock, as the hardware
    // does not take it.
    if (serves) note_file_store(w, e.pfn, m.vma_unlocked(vpn), v);
    result = v;
  } else {
    result = p.data.load(std::memory_order_relaxed);
    look();
  }
  if (serves) return result;
  if (slot.load(std::memory_order_relaxed) != (m.pte(vpn).peek() | kTlbValid))
    slot.store(0, std::memory_order_relaxed);  // dead: the next access walks
  return std::nullopt;
}

static int64_t user_access(World& w, Task& t, int mm, int vpn, bool write) {
  // Only an mm a process runs in: a child under construction is not
  // reachable until its fork returns.
  if (mm < 0 || mm >= kMaxMm || !w.mm[static_cast<size_t>(mm)].ready.load()) return -kEFAULT;
  if (const auto hit = tlb_access(w, t, mm, vpn, write)) return *hit;
  Mm& m = w.mm[static_cast<size_t>(mm)];
  m.mmap_lock.down_read();
  int64_t result = -kEFAULT;
  // arch fault handlers' access_error(): a store to a mapping without
  // VM_WRITE is SIGSEGV, whatever the PTE.
  const int attempts = write && m.vma(vpn).readonly ? 0 : kFaultRetries;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    m.ptl.lock();
    // The walk: a PMD leaf of a `thp` VMA maps the page itself.
    const uint32_t pmd = m.vma(vpn).thp ? m.pmd_of(vpn).load(std::memory_order_acquire) : 0;
    const bool leaf = pmd_leaf(pmd);
    Pte pte = leaf ? pmd_leaf_pte(pmd, vpn) : Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
    if (!pte.present || (write && !pte.writable)) {
      m.ptl.unlock();
      int r = handle_mm_fault(w, &t, mm, vpn, write, /*unshare=*/false);
      if (r < 0) {
        result = r;
        break;
      }
      continue;
    }
    check_cpu_access(w, t, mm, vpn, pte.pfn, write);
    Page& p = w.page(pte.pfn);
    if (write) {
      // Data values grow in store order, so the disk oracle can tell newer
      // from older: drawn at the store itself.
      uint32_t v = p.data.store_from([&] { return next_data_value(w); }, std::memory_order_relaxed);
      if (!pte.dirty) {
        pte.dirty = true;  // the MMU sets the dirty bit
        if (leaf)
          m.pmd_of(vpn).store(pmd | kPmdLeafDirty, std::memory_order_relaxed);
        else
          m.pte(vpn).store(pte.pack(), std::memory_order_relaxed);
      }
      const Vma vma = m.vma(vpn);
      check_zero_store(w, t, mm, vpn, pte.pfn, "user_write");
      check_private_store(w, t, mm, vpn, vma, pte.pfn, "user_write", /*others=*/false);
      note_file_store(w, pte.pfn, vma, v);
      result = v;
    } else {
      result = p.data.load(std::memory_order_relaxed);
    }
    // The walk fills this CPU's TLB (not a scheduling point: no other CPU
    // reads it). Not for a PMD leaf: the TLB model is the PTE level's.
    if (tlb_modelled() && !leaf)
      t.tlb[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].store(pte.pack() | kTlbValid,
                                                                    std::memory_order_relaxed);
    m.ptl.unlock();
    break;
  }
  m.mmap_lock.up_read();
  return result;
}

int64_t user_write(World& w, Task& t, int mm, int vpn) { return user_access(w, t, mm, vpn, true); }
int64_t user_read(World& w, Task& t, int mm, int vpn) { return user_access(w, t, mm, vpn, false); }

// ------------------------------------------------------------ FOLL_FORCE, madvise, mprotect

int64_t access_remote_vm_write(World& w, Task& t, int mm, int vpn) {
  if (mm < 0 || mm >= kMaxMm || !w.mm[static_cast<size_t>(mm)].ready.load()) return -kEFAULT;
  Mm& m = w.mm[static_cast<size_t>(mm)];
  // __access_remote_vm(): mmap_read_lock_killable(), held across the GUP,
  // the copy and the put: no fork or mprotect of that mm meanwhile.
  m.mmap_lock.down_read();
  GupFlags f;
  f.write = true;
  f.force = true;  // mem_rw(): FOLL_FORCE | FOLL_WRITE
  Held h;
  const int r = get_user_page_remote(w, t, mm, vpn, f, &h);
  if (r < 0) {
    m.mmap_lock.up_read();
    return r;
  }
  ghost_grabbed(w, h);
  if (w.ghost.freed[static_cast<size_t>(h.pfn)].load())
    w.report(ViolationKind::use_after_free, h.pfn, &t, "access_remote_vm",
             "wrote into a freed page");
  // copy_to_user_page(): the store goes through the kernel's mapping of
  // the page GUP returned, not through the process's PTE.
  const uint32_t v =
      w.page(h.pfn).data.store_from([&] { return next_data_value(w); }, std::memory_order_relaxed);
  const Vma vma = m.vma(vpn);
  check_zero_store(w, t, mm, vpn, h.pfn, "access_remote_vm");
  check_private_store(w, t, mm, vpn, vma, h.pfn, "access_remote_vm", /*others=*/true);
  // This store holds only a reference, not the PTL: a truncation since the
  // GUP has orphaned the page (mapping gone), and note_file_store() then
  // expects nothing of the file.
  note_file_store(w, h.pfn, vma, v);
  t.dirtying_foll_get = true;
  set_page_dirty_lock(w, &t, h.head);
  t.dirtying_foll_get = false;
  ghost_released(w, h);
  gup_put_folio(w, &t, h.head, GupHow::kGet);  // put_page()
  m.mmap_lock.up_read();
  return v;
}

int madvise_dontneed(World& w, Task& t, int vpn) {
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  // madvise_need_mmap_write(): MADV_DONTNEED needs mmap_lock only for
  // read, so it races faults and GUP (the Dirty COW race).
  m.mmap_lock.down_read();
  const Vma vma = m.vma(vpn);
  int r = 0;
  if (vma.kind == VmaKind::kNone) {
    r = -kENOMEM;  // madvise(): an unmapped range
  } else if (vma.kind == VmaKind::kP2pdma) {
    r = -kEINVAL;  // madvise_dontneed_free_valid_vma(): not a VM_PFNMAP mapping
  } else if (vma.thp && huge_pmd_suitable(m, vpn)) {
    // In a THP-eligible range the op covers the whole PMD, as madvise()
    // over the huge page's range: zap_pmd_range() -> zap_huge_pmd() for a
    // leaf ("if (next - addr == HPAGE_PMD_SIZE)"), which leaves the PMD
    // none, so the next fault may map a huge page again; a table is
    // walked and left (its PTEs zapped).
    if (!zap_huge_pmd(w, &t, t.mm, vpn, "madvise_dontneed", /*dontneed=*/true)) {
      const int base = vpn - vpn % kVpnPerPmd;
      for (int i = 0; i < kVpnPerPmd; ++i)
        zap_one(w, &t, t.mm, base + i, kNoPfn, "madvise_dontneed", /*dontneed=*/true);
    }
  } else {
    // zap_page_range_single() -> zap_pte_range(): the page goes, pinned or
    // not; the next touch faults a new one in (anon) or maps the page
    // cache's again (file). A PMD leaf over a part of the range is split
    // first ("__split_huge_pmd(vma, pmd, addr, false)").
    split_huge_pmd(w, &t, t.mm, vpn);
    zap_one(w, &t, t.mm, vpn, kNoPfn, "madvise_dontneed", /*dontneed=*/true);
  }
  m.mmap_lock.up_read();
  return r;
}

int uffd_continue(World& w, Task& t, int vpn) {
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  // mfill_atomic(): mmap_read_lock() (uffd_mfill_lock()), so it races
  // faults, GUP and MADV_DONTNEED.
  m.mmap_lock.down_read();
  const Vma vma = m.vma(vpn);
  int r = 0;
  if (vma.kind == VmaKind::kNone) {
    r = -kENOENT;  // find_dst_vma()
  } else if (vma.kind != VmaKind::kFilePrivate) {
    r = -kEINVAL;  // the model's only minor-fault mapping (see mm.h)
  } else {
    // mfill_atomic_pte_continue(): shmem_get_folio(SGP_NOALLOC), which
    // returns the folio locked and referenced, or -EFAULT if it is not in
    // the page cache (or was truncated meanwhile).
    Pfn pfn = filemap_get_folio(w, &t, vma.pgoff, /*noalloc=*/true);
    Pfn head = pfn == kNoPfn ? kNoPfn : w.page(pfn).head();
    if (head == kNoPfn || !lock_still_cached(w, &t, head, vma.pgoff)) {
      r = -kEFAULT;
    } else {
      // mfill_atomic_install_pte(): "_dst_pte = pte_mkdirty(_dst_pte); if
      // (page_in_cache && !vm_shared) writable = false;" - read-only but
      // dirty (unconditionally since 9ae0f87d009c, v5.13); -EEXIST unless
      // the PTE is none; folio_add_file_rmap_pte(); the folio's reference
      // becomes the mapping's.
      m.ptl.lock();
      const bool none = m.pte(vpn).load(std::memory_order_acquire) == kPteNone;
      if (none) {
        w.page(pfn).mapcount.fetch_add(1, std::memory_order_relaxed);
        m.pte(vpn).store(present_pte(pfn, /*writable=*/false, /*dirty=*/true).pack(),
                         std::memory_order_release);
      }
      m.ptl.unlock();
      folio_unlock(w, head);
      if (!none) {
        folio_put(w, &t, head);
        r = -kEEXIST;
      }
    }
  }
  m.mmap_lock.up_read();
  return r;
}

int mprotect_vpn(World& w, Task& t, int vpn, bool write) {
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  m.mmap_lock.down_write();  // do_mprotect_pkey(): mmap_write_lock_killable()
  Vma vma = m.vma(vpn);
  if (vma.kind == VmaKind::kNone) {
    m.mmap_lock.up_write();
    return -kENOMEM;
  }
  // change_pmd_range(): a PMD leaf over part of the range is split
  // ("if ((next - addr != HPAGE_PMD_SIZE) || ...) __split_huge_pmd()"); the
  // op changes one vpn, half a PMD.
  split_huge_pmd(w, &t, t.mm, vpn);
  // mprotect_fixup(): VM_WRITE set or cleared (VM_MAYWRITE is always set
  // in the model).
  vma.readonly = !write;
  m.set_vma(vpn, vma);
  // change_pte_range(), under the PTL: ptep_modify_prot_start/commit().
  m.ptl.lock();
  auto& slot = m.pte(vpn);
  Pte pte = Pte::unpack(slot.load(std::memory_order_acquire));
  bool flush = false;
  if (!write && pte.writable) {
    // Write-protect whatever the entry is (a present PTE keeps its dirty
    // bit; a writable migration or device-private entry becomes readable).
    // A CPU may keep writing through its old TLB entry until the flush.
    const uint64_t old = pte.pack();
    flush = true;
    pte.writable = false;
    slot.store(pte.pack(), std::memory_order_release);
    if (pte.present) tlb_defer(w, t.mm, vpn, old);
  } else if (write && pte.present && !pte.writable && vma.cow() && pte.pfn != w.zero_pfn &&
             (w.page(w.page(pte.pfn).head()).flags.load(std::memory_order_acquire) & PG_anon) &&
             (w.page(pte.pfn).flags.load(std::memory_order_acquire) & PG_anon_exclusive)) {
    // MM_CP_TRY_CHANGE_WRITABLE: can_change_pte_writable(): in a private
    // mapping only an exclusive anon page is made writable at once;
    // everything else takes a write fault.
    pte.writable = true;
    slot.store(pte.pack(), std::memory_order_release);
  }
  m.ptl.unlock();
  // change_protection() -> flush_tlb_range(), after the page-table walk and
  // with mmap_lock still held for write.
  if (flush) tlb_flush(w, t.mm, vpn);
  m.mmap_lock.up_write();
  return 0;
}

int64_t dma_write(World& w, Task& t, int slot) {
  if (slot < 0 || slot >= kMaxHeld || !t.held[static_cast<size_t>(slot)].live) {
    w.report(ViolationKind::api_misuse, -1, &t, "dma_write",
             fmt::format("DMA through slot {} which holds no page", slot));
    return -kEINVAL;
  }
  Pfn pfn = t.held[static_cast<size_t>(slot)].pfn;
  if (w.ghost.freed[static_cast<size_t>(pfn)].load()) {
    w.report(ViolationKind::use_after_free, pfn, &t, "dma_write",
             "the device wrote into a freed page");
    return -kEFAULT;
  }
  uint32_t v = w.page(pfn).data.store_from([&] { return next_data_value(w); },
                                             std::memory_order_relaxed);
  return v;
}

}  // namespace pf
