// mm/gup.c: get_user_pages / pin_user_pages and their release, for every
// design. Sources read: CachyOS/linux mm/gup.c (v6.2-era mainline mirror:
// try_grab_folio, try_grab_page, gup_put_folio, unpin_user_pages_dirty_lock),
// SEMANTICS.md sections 1-4.
#include <fmt/format.h>

#include "model/internal.h"
#include "model/memremap.h"

namespace pf {

bool design_pins(const World& w, Pfn head) {
  // mm/gup.c (v6.5+): the zero page is never pinned: is_zero_folio() checks
  // in try_grab_folio() and gup_put_folio(), for designs that adopted it.
  return w.tracking.traits.pins_zero_page || head != w.zero_pfn;
}

// R/O pins of anon pages that are not exclusive unshare first (v5.19,
// gup_must_unshare()), for designs that have the rule.
static bool unshares_ro_pins(const World& w) {
  return w.tracking.traits.unshares_ro_pins && !w.design.no_ro_pin_unshare;
}

bool folio_is_longterm_pinnable(World& w, Pfn pfn) {
  // include/linux/mm.h: folio_is_longterm_pinnable(): not ZONE_MOVABLE / CMA,
  // not device coherent, and fs-dax is refused by check_vma_flags().
  Page& p = w.page(pfn);
  if (p.zone == Zone::kMovable) return false;
  if (p.is_device()) {
    PgmapType ty = w.pgmaps[static_cast<size_t>(p.pgmap)].type;
    return ty != PgmapType::kDeviceCoherent && ty != PgmapType::kFsDax;
  }
  return true;
}

// The pin half of a grab, once the folio holds a plain reference.
static void grab_pin_part(World& w, const Task* t, Pfn head, GrabPath path) {
  // node_stat_mod_folio(NR_FOLL_PIN_ACQUIRED): counted at grab time, so a
  // grab rolled back by gup_put_folio() balances.
  w.ghost.pins_acquired.fetch_add(1);
  // mm/gup.c: try_grab_folio() / try_grab_folio_fast(): the design's part.
  w.tracking.grab(w, t, head, GupHow::kPin, path, sync::Site::here());
  // Counted once the design's grab is done: a put that runs while a grab
  // is half done (folio_try_get() before the bias is added) loses nothing.
  w.ghost.pin_grabs[static_cast<size_t>(head)].fetch_add(1);
  note_pin_lost(w, head, "grab");  // the grab never made it look pinned
  // A pin of a page already shared (anon, not exclusive): nothing will keep
  // the process's page and the pinned one the same.
  const uint32_t f = w.page(head).flags.peek();
  if ((f & PG_anon) && !(f & PG_anon_exclusive)) w.ghost.note_shared(head, "pin_of_shared_page");
}

int try_grab_page(World& w, const Task* t, Pfn pfn, GupHow how) {
  Pfn head = w.page(pfn).head();
  if (how == GupHow::kPin && !design_pins(w, head)) return 0;
  // mm/gup.c: try_grab_page(): if (WARN_ON_ONCE(folio_ref_count(folio) <= 0))
  // return -ENOMEM; (try_get_page(), 8fde12ca79af / CVE-2019-11487)
  if (!w.design.no_overflow_check &&
      w.width.value(w.page(head).refcount.load(std::memory_order_relaxed)) <= 0)
    return -kENOMEM;
  folio_ref_add(w, t, head, 1);
  if (how == GupHow::kPin) grab_pin_part(w, t, head, GrabPath::kSlow);
  else w.tracking.grab(w, t, head, how, GrabPath::kSlow, sync::Site::here());
  return 0;
}

// mm/gup.c: try_get_folio(): page_folio(), a speculative reference, and
// (c24d37322548, v5.14) the re-check "that the page still belongs to this
// folio": between page_folio() and the increment the folio may have been
// split, and the reference then sits on a folio that no longer holds the
// page. The kernel retries; the model gives up after kFaultRetries rounds
// (GUP-fast then falls back to the slow path). kNoPfn if it got nothing.
static Pfn try_get_folio(World& w, const Task* t, Pfn pfn) {
  for (int round = 0; round < kFaultRetries; ++round) {
    const Pfn folio = w.page(pfn).head();  // page_folio(page)
    if (!folio_try_get(w, t, folio)) return kNoPfn;
    // no_grab_folio_recheck: try_grab_compound_head() before c24d37322548.
    if (w.design.no_grab_folio_recheck || w.page(pfn).head() == folio) return folio;
    folio_put_refs(w, t, folio, 1);
  }
  return kNoPfn;
}

Pfn try_grab_folio_fast(World& w, const Task* t, Pfn pfn, GupHow how) {
  // mm/gup.c: try_grab_folio_fast(): FOLL_LONGTERM on a folio that is not
  // long-term pinnable fails here and the caller falls back to the slow path.
  const Pfn head = try_get_folio(w, t, pfn);
  if (head == kNoPfn) return kNoPfn;
  if (how == GupHow::kPin && design_pins(w, head)) grab_pin_part(w, t, head, GrabPath::kFast);
  else if (how == GupHow::kPin) folio_put_refs(w, t, head, 1);  // zero page: no pin
  else w.tracking.grab(w, t, head, how, GrabPath::kFast, sync::Site::here());
  return head;
}

void gup_put_folio(World& w, const Task* t, Pfn head, GupHow how) {
  if (how == GupHow::kPin) {
    if (!design_pins(w, head)) return;
    w.ghost.pins_released.fetch_add(1);  // NR_FOLL_PIN_RELEASED
    if (w.ghost.pin_grabs[static_cast<size_t>(head)].fetch_sub(1) == 1) {
      w.ghost.pin_lost_at[static_cast<size_t>(head)].store(nullptr);
      w.ghost.shared_by[static_cast<size_t>(head)].store(nullptr);
    }
  }
  // mm/gup.c: gup_put_folio(): the design undoes its grab, then
  // folio_put_refs() drops what that leaves.
  const int32_t refs = w.tracking.put(w, t, head, how, sync::Site::here());
  if (how == GupHow::kPin) note_pin_lost(w, head, "unpin");  // another pin's put lost this one
  folio_put_refs(w, t, head, refs);
  // writeback=wait sleeps until the folio is unpinned
  if (how == GupHow::kPin) sync::wake(&w.page(head));
}

bool folio_maybe_dma_pinned_peek(const World& w, Pfn head) {
  return w.tracking.peek_maybe_pinned(w, head);
}

bool folio_maybe_dma_pinned(World& w, const Task* t, Pfn pfn) {
  // include/linux/mm.h: folio_maybe_dma_pinned(), as the design computes it.
  Pfn head = w.page(pfn).head();
  const bool r = w.tracking.load_maybe_pinned(w, head, sync::Site::here());
  if (t && w.tracking.traits.tracks_pins && !r) {
    int32_t pins = w.ghost.pins[static_cast<size_t>(head)].load();
    if (pins > 0)
      w.report(ViolationKind::pin_count_mismatch, head, t, "folio_maybe_dma_pinned",
               fmt::format("returned false with {} pin(s) outstanding", pins),
               pin_loss_cause(w, head));
  }
  return r;
}

// ------------------------------------------------------------ slow path

// Ghost: which file index a handle is about and that index's truncate
// generation, and the (mm, vpn)'s MADV_DONTNEED generation, sampled before
// the PTE is read, so that a truncation or zap racing the grab counts as one
// "since the grab". Only shared mappings name an index: what a private
// mapping's COW copy holds never goes to the file.
static void note_file_index(World& w, int mm, int vpn, const Vma& vma, Held* h) {
  h->zap_gen = w.ghost.zap_gen[static_cast<size_t>(mm)][static_cast<size_t>(vpn)].load();
  if (vma.kind != VmaKind::kFile) return;
  h->index = static_cast<int8_t>(vma.pgoff);
  h->trunc_gen = w.ghost.trunc_gen[static_cast<size_t>(vma.pgoff)].load();
}

// mm/gup.c: can_follow_write_pte(): may a FOLL_WRITE lookup use this
// read-only PTE? Only FOLL_FORCE in a COW mapping without VM_WRITE, and
// only once COW is broken: "we broke COW and could map the page writable if
// we have an exclusive anonymous page" (5535be309971, v6.0).
// `foll_cow`: this lookup's FOLL_COW (the foll_cow knob only).
static bool can_follow_write_pte(World& w, Pte pte, const Vma& vma, GupFlags f, bool foll_cow) {
  if (pte.writable) return true;
  // foll_cow: the rule from 19be0eaffa3a (v4.9) to 5535be309971 (v6.0):
  // "FOLL_FORCE can write to even unwritable pte's, but only after we've
  // gone through a COW cycle and they are dirty" - any dirty PTE, whatever
  // page it maps by now (CVE-2022-2590).
  if (w.design.foll_cow) return f.force && foll_cow && pte.dirty;
  if (!f.force) return false;          // "Maybe FOLL_FORCE is set to override it?"
  if (!vma.cow()) return false;        // "no effect on shared mappings"
  if (!vma.readonly) return false;     // VM_WRITE: "just need to take a write fault"
  const Page& p = w.page(pte.pfn);
  const uint32_t head_flags = w.page(p.head()).flags.load(std::memory_order_acquire);
  return (head_flags & PG_anon) && (p.flags.load(std::memory_order_acquire) & PG_anon_exclusive);
}

// mm/gup.c: faultin_page(): handle_mm_fault() for a lookup that failed,
// and what the result tells the retry.
static int faultin_page(World& w, Task& t, int mm, int vpn, const Vma& vma, GupFlags& f,
                        bool& foll_cow, bool unshare) {
  const int r = handle_mm_fault(w, &t, mm, vpn, f.write, unshare);
  if (r < 0) return r;
  // dirty_cow, the faultin_page() of v2.6.13..v4.8: "The VM_FAULT_WRITE
  // bit tells us that do_wp_page has broken COW when necessary, even if
  // maybe_mkwrite decided not to set pte_write. We can thus safely do
  // subsequent page lookups as if they were reads": FOLL_WRITE dropped
  // (fixed by 19be0eaffa3a, CVE-2016-5195). The next lookup then takes
  // whatever the PTE maps by then - after a racing MADV_DONTNEED and a
  // read fault, the page cache's page.
  if (w.design.dirty_cow && r == kVmFaultWrite && vma.readonly) f.write = false;
  // foll_cow, the faultin_page() of v4.9..v5.19: "if ((ret &
  // VM_FAULT_WRITE) && !(vma->vm_flags & VM_WRITE)) *flags |= FOLL_COW;"
  if (w.design.foll_cow && r == kVmFaultWrite && vma.readonly) foll_cow = true;
  return r;
}

// What follow_huge_pmd() asks of its caller, which still holds the PTL.
inline constexpr int kFollowFault = -1000;
inline constexpr int kFollowUnshare = -1001;

// mm/huge_memory.c: follow_huge_pmd() (follow_trans_huge_pmd() before v6.8),
// under the PTL, for a PMD leaf. Returns 1 with *out filled and the PTL
// dropped, or kFollowFault / kFollowUnshare with it held.
static int follow_huge_pmd(World& w, Task& t, int mm, int vpn, const Vma& vma, uint32_t pmd,
                           GupHow how, GupFlags f, bool foll_cow, uint32_t zap_gen,
                           Held* out) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  const Pfn head = pmd_leaf_pfn(pmd);
  // can_follow_write_pmd(): the PTE rule, page = pmd_page() (the head,
  // whose PageAnonExclusive speaks for a PMD-mapped THP). foll_cow: v4.14's
  // "return pmd_write(pmd) || ((flags & FOLL_FORCE) && (flags & FOLL_COW) &&
  // pmd_dirty(pmd));"
  Pte as_pte = pmd_leaf_pte(pmd, 0);
  if (f.write && !can_follow_write_pte(w, as_pte, vma, f, foll_cow)) return kFollowFault;
  // "if (!pmd_write(pmd) && gup_must_unshare(vma, flags, page)) return
  // ERR_PTR(-EMLINK);"
  if (how == GupHow::kPin && !f.write && !as_pte.writable && unshares_ro_pins(w)) {
    const uint32_t fl = w.page(head).flags.load(std::memory_order_acquire);
    if ((fl & PG_anon) && !(fl & PG_anon_exclusive)) return kFollowUnshare;
  }
  const Pfn pfn = static_cast<Pfn>(head + vpn % kVpnPerPmd);
  const int r = try_grab_page(w, &t, pfn, how);
  if (r < 0) {
    m.ptl.unlock();
    return r;
  }
  // touch_pmd(): "_pmd = pmd_mkyoung(*pmd); if (write) _pmd = pmd_mkdirty(_pmd);"
  // (a8f97366452e, v4.15). touch_pmd_dirty: before it, "pmd_mkyoung(pmd_mkdirty(*pmd))":
  // every FOLL_TOUCH lookup dirtied the PMD, the huge zero page's too.
  if ((f.write || w.design.touch_pmd_dirty) && !(pmd & kPmdLeafDirty))
    m.pmd_of(vpn).store(pmd | kPmdLeafDirty, std::memory_order_release);
  m.ptl.unlock();
  *out = Held{pfn, head, static_cast<int8_t>(mm), static_cast<int8_t>(vpn), how, true};
  out->write = f.write;
  out->zap_gen = zap_gen;
  return 1;
}

// One page of __get_user_pages(): follow_page_pte() under the PTL, faulting
// (handle_mm_fault) and retrying when the PTE does not allow the access.
static int gup_one(World& w, Task& t, int mm, int vpn, GupHow how, GupFlags f, Held* out) {
  Mm& m = w.mm[static_cast<size_t>(mm)];
  const Vma vma = m.vma(vpn);  // under mmap_lock (gup_slow)
  if (vma.kind == VmaKind::kNone) return -kEFAULT;
  // check_vma_flags(): a write without VM_WRITE needs FOLL_FORCE and a COW
  // mapping ("Anon pages in shared mappings are surprising: now just
  // reject it").
  if (f.write && vma.readonly && (!f.force || !vma.cow())) return -kEFAULT;
  Held file_note;
  note_file_index(w, mm, vpn, vma, &file_note);
  // mm/gup.c: check_vma_flags(): "if ((gup_flags & FOLL_LONGTERM) &&
  // vma_is_fsdax(vma)) return -EOPNOTSUPP;" (6.x, ColinIanKing/linux-next);
  // writable_file_mapping_allowed() (v6.5) refuses FOLL_LONGTERM|FOLL_WRITE
  // on file mappings other than shmem/hugetlb.
  if (f.longterm && vma.kind == VmaKind::kDax) return -kEOPNOTSUPP;
  if (f.longterm && f.write && vma.kind == VmaKind::kFile) return -kEFAULT;
  // p2pdma pages need FOLL_PCI_P2PDMA and cannot be FOLL_LONGTERM.
  if (vma.kind == VmaKind::kP2pdma && (!f.p2pdma || f.longterm)) return -kEFAULT;

  bool foll_cow = false;  // FOLL_COW, set by faultin_page() (foll_cow knob)
  for (int attempt = 0; attempt < kFaultRetries; ++attempt) {
    m.ptl.lock();
    // follow_pmd_mask(): a PMD leaf is followed by follow_huge_pmd().
    const uint32_t pmd = vma.thp ? m.pmd_of(vpn).load(std::memory_order_acquire) : 0;
    if (pmd_leaf(pmd)) {
      const int r = follow_huge_pmd(w, t, mm, vpn, vma, pmd, how, f, foll_cow,
                                    file_note.zap_gen, out);
      if (r != kFollowFault && r != kFollowUnshare) return r;
      m.ptl.unlock();
      const int fr = faultin_page(w, t, mm, vpn, vma, f, foll_cow, r == kFollowUnshare);
      if (fr < 0) return fr;
      continue;
    }
    Pte pte = Pte::unpack(m.pte(vpn).load(std::memory_order_acquire));
    bool unshare = false;
    if (pte.present && how == GupHow::kPin && !f.write && unshares_ro_pins(w)) {
      // mm/internal.h: gup_must_unshare(): R/O pins of anon pages that are
      // not exclusive must unshare first (FAULT_FLAG_UNSHARE, v5.19); of a
      // page-cache page, only a long-term pin in a COW mapping ("we only
      // care about writable private ("COW") mappings where we have to
      // break COW early").
      uint32_t fl = w.page(w.page(pte.pfn).head()).flags.load(std::memory_order_acquire);
      unshare = (fl & PG_anon) ? !(w.page(pte.pfn).flags.load() & PG_anon_exclusive)
                               : pte.pfn != w.zero_pfn && f.longterm &&
                                     vma.kind == VmaKind::kFilePrivate;
    }
    bool fault = !pte.present || (f.write && !can_follow_write_pte(w, pte, vma, f, foll_cow));
    if (fault || unshare) {
      m.ptl.unlock();
      const int r = faultin_page(w, t, mm, vpn, vma, f, foll_cow, unshare);
      if (r < 0) return r;
      continue;
    }
    Pfn pfn = pte.pfn;
    Page& p = w.page(pfn);
    // follow_page_pte(): FOLL_TOUCH|FOLL_WRITE on a clean page dirties it.
    if (f.write && !pte.dirty && !(w.page(p.head()).flags.load() & PG_dirty) &&
        w.page(p.head()).mapping.load() == kBufferedFile)
      folio_mark_dirty(w, &t, p.head());
    // follow_page_pte(): "if (!page && pte_devmap(pte) && (flags & (FOLL_GET |
    // FOLL_PIN)))": the pagemap reference only for a devmap PTE (fs-dax);
    // device-coherent and p2pdma pages are normal pages here (mm/gup.c,
    // ColinIanKing/linux-next, a pre-6.17 gup.c; v6.17 dropped devmap and
    // with it every pagemap reference in GUP).
    const bool devmap = pte_devmap(w, pfn);
    if (devmap && !get_dev_pagemap(w, &t, pfn)) {  // 71389703839e
      m.ptl.unlock();
      return -kEFAULT;
    }
    int r = try_grab_page(w, &t, pfn, how);
    if (devmap) put_dev_pagemap(w, &t, pfn);
    m.ptl.unlock();
    if (r < 0) return r;
    *out = Held{pfn, p.head(), static_cast<int8_t>(mm), static_cast<int8_t>(vpn), how, true};
    out->write = f.write;
    out->index = file_note.index;
    out->trunc_gen = file_note.trunc_gen;
    out->zap_gen = file_note.zap_gen;
    out->file_cow = vma.kind == VmaKind::kFilePrivate && !(w.page(p.head()).flags.peek() & PG_anon);
    return 1;
  }
  return -kEFAULT;
}

int get_user_page_remote(World& w, Task& t, int mm, int vpn, GupFlags f, Held* out) {
  return gup_one(w, t, mm, vpn, GupHow::kGet, f, out);
}

// Records the grabbed pages as held and does the post-grab bookkeeping.
static void commit(World& w, Task& t, Held h) {
  // For the FOLL_GET oracle (check_get_coherent()): was the page an
  // exclusive anon page, and which fork generation of the mm is this? Read
  // after the grab, so a fork or swap-out that raced it reads as "no
  // guarantee", never the other way round.
  if (h.how == GupHow::kGet && h.pfn != w.zero_pfn) {
    const uint32_t head_flags = w.page(h.head).flags.peek();
    h.exclusive = (head_flags & PG_anon) && (w.page(h.pfn).flags.peek() & PG_anon_exclusive);
    h.fork_seq = w.ghost.fork_seq[static_cast<size_t>(h.mm)].load();
  }
  int slot;
  {
    std::lock_guard<std::mutex> lock(w.held_mu);
    slot = t.add(h);
  }
  if (slot < 0) {  // the scenario holds too much: release, as a caller would
    gup_put_folio(w, &t, h.head, h.how);
    return;
  }
  ghost_grabbed(w, h);
  // mm/gup_test.c: verify_dma_pinned(): every pinned page must look pinned:
  // "folio = page_folio(pages[i]); if (WARN(!folio_maybe_dma_pinned(folio),
  // "pages[%lu] is NOT dma-pinned\n", i))". The ghost counts the pin on the
  // folio GUP grabbed; if a split made the page a folio of its own first
  // (c24d37322548), that is not page_folio() and the WARN fires.
  if (h.how == GupHow::kPin && design_pins(w, h.head) &&
      !folio_maybe_dma_pinned(w, &t, h.pfn) && w.tracking.traits.tracks_pins &&
      w.page(h.pfn).head() != h.head)
    w.report(ViolationKind::pin_count_mismatch, h.pfn, &t, "verify_dma_pinned",
             fmt::format("pfn {} is NOT dma-pinned: GUP pinned folio {}, which no longer "
                         "holds it", h.pfn, h.head),
             "pin_on_split_folio");
}

// __gup_longterm_locked() + check_and_migrate_movable_pages().
static int gup_slow(World& w, Task& t, int vpn, int nr, GupHow how, GupFlags f) {
  // mm/gup.c: is_valid_gup_args(): FOLL_LONGTERM requires FOLL_PIN.
  if (f.longterm && how != GupHow::kPin) return -kEINVAL;
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  if (how == GupHow::kPin && !(m.flags.load(std::memory_order_relaxed) & MMF_HAS_PINNED))
    m.flags.fetch_or(MMF_HAS_PINNED, std::memory_order_relaxed);  // mm_set_has_pinned_flag()
  for (int round = 0; round < kLongtermRounds; ++round) {
    std::array<Held, kMaxHeld> got{};
    int n = 0, err = 0;
    m.mmap_lock.down_read();
    for (int i = 0; i < nr && vpn + i < kMaxVpn && n < kMaxHeld; ++i) {
      int r = gup_one(w, t, t.mm, vpn + i, how, f, &got[static_cast<size_t>(n)]);
      if (r < 0) {
        err = r;
        break;
      }
      ++n;
    }
    m.mmap_lock.up_read();
    int movable = -1;
    if (f.longterm) {
      for (int i = 0; i < n; ++i)
        if (!folio_is_longterm_pinnable(w, got[static_cast<size_t>(i)].pfn)) movable = i;
    }
    if (movable < 0) {
      for (int i = 0; i < n; ++i) commit(w, t, got[static_cast<size_t>(i)]);
      return n > 0 ? n : err;
    }
    // check_and_migrate_movable_pages(): unpin everything, migrate, retry.
    // The folio to migrate keeps a reference across the unpin
    // (collect_longterm_unpinnable_folios()'s folio_isolate_lru(); for a
    // device-coherent one migrate_longterm_unpinnable_folios() "convert[s]
    // the pin on the source folio to a normal reference": folio_get()
    // before gup_put_folio()), so it cannot be freed in between; migration
    // takes that reference over (mm/gup.c, ColinIanKing/linux-next).
    const Held mv = got[static_cast<size_t>(movable)];
    folio_ref_add(w, &t, mv.head, 1);
    for (int i = 0; i < n; ++i) gup_put_folio(w, &t, got[static_cast<size_t>(i)].head, how);
    if (migrate_folio_at(w, &t, t.mm, mv.vpn, /*nofail=*/false, /*evict=*/false, mv.head) < 0)
      return -kENOMEM;
  }
  return -kEAGAIN;
}

int get_user_pages(World& w, Task& t, int vpn, int nr, GupFlags f) {
  return gup_slow(w, t, vpn, nr, GupHow::kGet, f);
}
int pin_user_pages(World& w, Task& t, int vpn, int nr, GupFlags f) {
  return gup_slow(w, t, vpn, nr, GupHow::kPin, f);
}

// ------------------------------------------------------------ fast path

// mm/gup.c: gup_fast_fallback() -> gup_fast() -> gup_fast_pte_range(), then
// the slow path for the rest.
static int gup_fast(World& w, Task& t, int vpn, int nr, GupHow how, GupFlags f) {
  if (f.longterm && how != GupHow::kPin) return -kEINVAL;
  Mm& m = w.mm[static_cast<size_t>(t.mm)];
  uint32_t seq = 0;
  if (how == GupHow::kPin) {
    // mm_set_has_pinned_flag(); then raw_read_seqcount(&mm->write_protect_seq)
    // and bail to the slow path if a fork is copying page tables (57efa1fe5957).
    if (!(m.flags.load(std::memory_order_relaxed) & MMF_HAS_PINNED))
      m.flags.fetch_or(MMF_HAS_PINNED, std::memory_order_relaxed);
    if (!w.design.no_fork_wp_seq) {
      seq = m.write_protect_seq.raw_read();
      if (seq & 1) return gup_slow(w, t, vpn, nr, how, f);
    }
  }
  std::array<Held, kMaxHeld> got{};
  int n = 0;
  for (int i = vpn; i < vpn + nr && i < kMaxVpn && n < kMaxHeld; ++i) {
    // GUP-fast holds no mmap_lock: the VMA comes from the lockless view
    // (Mm::vma_unlocked(), standing in for the folio->mapping test below).
    const Vma vma = m.vma_unlocked(i);
    const VmaKind kind = vma.kind;
    // gup_fast_folio_allowed(): no FOLL_LONGTERM|FOLL_WRITE on file mappings.
    if (f.longterm && f.write && kind == VmaKind::kFile) break;
    Held file_note;
    note_file_index(w, t.mm, i, vma, &file_note);
    // gup_fast_pmd_range(): pmdp_get_lockless(); a cleared PMD (collapse in
    // progress) sends us to the slow path. The PTE is then read through the
    // table this PMD value points to - detached by now, perhaps.
    // Both reads are READ_ONCE()s in the kernel; acquire here stands for the
    // address dependency that orders the loads through them on ARM (the
    // model does not track dependencies: docs/model.md "Weak memory").
    auto& pmd_word = m.pmd[static_cast<size_t>(i / kVpnPerPmd)];
    uint32_t pmd = pmd_word.load(std::memory_order_acquire);
    if (pmd_leaf(pmd)) {
      // gup_fast_pmd_leaf(): "if (!pmd_access_permitted(orig, flags & FOLL_WRITE))
      // return 0;", the grab, "if (unlikely(pmd_val(orig) != pmd_val(*pmdp)))"
      // put it back, and "if (!pmd_write(orig) && gup_must_unshare(NULL,
      // flags, &folio->page))" too (the slow path unshares).
      const Pte leaf = pmd_leaf_pte(pmd, i);
      if (f.write && !leaf.writable) break;
      const Pfn head = try_grab_folio_fast(w, &t, leaf.pfn, how);
      if (head == kNoPfn) break;
      bool drop = pmd_word.load(std::memory_order_relaxed) != pmd;
      if (!drop && how == GupHow::kPin && !f.write && !leaf.writable && unshares_ro_pins(w)) {
        const uint32_t hf = w.page(head).flags.load(std::memory_order_acquire);
        drop = (hf & PG_anon) && !(hf & PG_anon_exclusive);
      }
      if (drop) {
        gup_put_folio(w, &t, head, how);
        break;
      }
      got[static_cast<size_t>(n)] =
          Held{leaf.pfn, head, static_cast<int8_t>(t.mm), static_cast<int8_t>(i), how, true};
      got[static_cast<size_t>(n)].zap_gen = file_note.zap_gen;
      got[static_cast<size_t>(n++)].write = f.write;
      continue;
    }
    if (pmd & kPmdNone) break;
    auto& pte_word = m.pte_in(i, pmd);
    uint64_t raw = pte_word.load(std::memory_order_acquire);
    Pte pte = Pte::unpack(raw);
    if (!pte.present || (f.write && !pte.writable)) break;
    Pfn pfn = pte.pfn;
    Page& p = w.page(pfn);
    if (p.is_device() && kind == VmaKind::kP2pdma && !f.p2pdma) break;
    // gup_fast_pte_range(): "if (pte_devmap(pte)) { ... pgmap =
    // get_dev_pagemap(pte_pfn(pte), pgmap);": fs-dax only, as the slow path.
    const bool devmap = pte_devmap(w, pfn);
    if (devmap && !get_dev_pagemap(w, &t, pfn)) break;
    if (f.longterm && !folio_is_longterm_pinnable(w, pfn)) {
      if (devmap) put_dev_pagemap(w, &t, pfn);
      break;
    }
    const Pfn head = try_grab_folio_fast(w, &t, pfn, how);
    if (head == kNoPfn) {
      if (devmap) put_dev_pagemap(w, &t, pfn);
      break;
    }
    // Re-check that PMD and PTE did not change while we grabbed: the other
    // side (unmap, try_share, collapse) clears them first, then checks refs.
    // gup_fast_pte_range(): "if (unlikely(pmd_val(pmd) !=
    // pmd_val(*pmdp)) || unlikely(pte_val(pte) != pte_val(ptep_get(ptep))))".
    // The PTE is reread from the same (maybe detached) table: only the PMD
    // recheck sees a collapse (70cbc3cc78a9).
    // Both rereads are plain READ_ONCE()s (ptep_get()): under arm they may
    // be satisfied early, down to the barrier after the grab.
    bool pmd_changed = !w.design.no_gup_fast_pmd_recheck &&
                       pmd_word.load(std::memory_order_relaxed) != pmd;
    bool pte_changed = !w.design.no_gup_fast_recheck &&
                       pte_word.load(std::memory_order_relaxed) != raw;
    if (pmd_changed || pte_changed) {
      gup_put_folio(w, &t, head, how);
      if (devmap) put_dev_pagemap(w, &t, pfn);
      break;
    }
    // "if (!pte_write(pte) && gup_must_unshare(NULL, flags, page))": checked
    // after the grab and the recheck, so it sees PageAnonExclusive as the
    // unmap side left it (swap-out may have cleared it and mapped the same
    // folio again with a PTE the recheck cannot tell apart). The slow path
    // unshares. A page-cache page under a R/O long-term pin: "We really
    // need the vma ..." (GUP-fast has none), so the slow path decides.
    if (how == GupHow::kPin && !f.write && unshares_ro_pins(w)) {
      // gup_must_unshare(): "Paired with a memory barrier in
      // folio_try_share_anon_rmap_*()": smp_rmb(), then PageAnonExclusive().
      // The acquire stands for both (the model's acquire orders the loads
      // before it too), without a step of its own. Relaxed (the barrier
      // deleted), a search finds the KSM race of 088b8aa537c2 only on a
      // hand-written scenario so far (docs/model.md "Weak memory").
      const uint32_t pf = p.flags.load(std::memory_order_acquire);
      const bool must = (pf & PG_anon) ? !(pf & PG_anon_exclusive)
                                       : !pte.writable && f.longterm && pfn != w.zero_pfn;
      if (must) {
        gup_put_folio(w, &t, head, how);
        if (devmap) put_dev_pagemap(w, &t, pfn);
        break;
      }
    }
    if (devmap) put_dev_pagemap(w, &t, pfn);
    got[static_cast<size_t>(n)] =
        Held{pfn, head, static_cast<int8_t>(t.mm), static_cast<int8_t>(i), how, true};
    got[static_cast<size_t>(n)].index = file_note.index;
    got[static_cast<size_t>(n)].trunc_gen = file_note.trunc_gen;
    got[static_cast<size_t>(n)].zap_gen = file_note.zap_gen;
    got[static_cast<size_t>(n)].file_cow =
        kind == VmaKind::kFilePrivate && !(w.page(head).flags.peek() & PG_anon);
    got[static_cast<size_t>(n++)].write = f.write;
  }
  if (how == GupHow::kPin && !w.design.no_fork_wp_seq && n > 0 &&
      m.write_protect_seq.retry(seq)) {
    // A fork ran: unpin_user_pages_lockless() and take the slow path.
    for (int i = 0; i < n; ++i) gup_put_folio(w, &t, got[static_cast<size_t>(i)].head, how);
    n = 0;
  }
  for (int i = 0; i < n; ++i) commit(w, t, got[static_cast<size_t>(i)]);
  if (n == nr) return n;
  int r = gup_slow(w, t, vpn + n, nr - n, how, f);
  return r < 0 ? (n > 0 ? n : r) : n + r;
}

int get_user_pages_fast(World& w, Task& t, int vpn, int nr, GupFlags f) {
  return gup_fast(w, t, vpn, nr, GupHow::kGet, f);
}
int pin_user_pages_fast(World& w, Task& t, int vpn, int nr, GupFlags f) {
  return gup_fast(w, t, vpn, nr, GupHow::kPin, f);
}

// ------------------------------------------------------------ release

// Takes the handle out of task.held; nullopt-like (live=false) if the slot
// is empty, which the callers report as API misuse.
static Held take(World& w, Task& t, int slot, const char* fn) {
  if (slot < 0 || slot >= kMaxHeld || !t.held[static_cast<size_t>(slot)].live) {
    w.report(ViolationKind::api_misuse, -1, &t, fn,
             fmt::format("release of slot {} which holds no page", slot));
    return Held{};
  }
  std::lock_guard<std::mutex> lock(w.held_mu);
  Held h = t.held[static_cast<size_t>(slot)];
  t.held[static_cast<size_t>(slot)].live = false;
  return h;
}

// Where the two APIs meet: a design that can tell a pin from a get makes
// releasing with the wrong call misuse; one that cannot accepts either.
static bool release_matches(World& w, Task& t, const Held& h, GupHow want, const char* fn) {
  if (w.tracking.traits.tells_pin_from_get && h.how != want) {
    w.report(ViolationKind::api_misuse, h.pfn, &t, fn,
             want == GupHow::kPin ? "unpin of a page that was never pinned (FOLL_GET ref)"
                                  : "put_page() of a FOLL_PIN pin");
    return false;
  }
  return true;
}

static void release(World& w, Task& t, int slot, GupHow want, MakeDirty dirty,
                    bool lock_for_dirty, const char* fn) {
  Held h = take(w, t, slot, fn);
  if (!h.live) return;
  if (!release_matches(w, t, h, want, fn)) return;
  if (h.how == GupHow::kPin) check_pin_stable(w, &t, h, fn);
  // unpin_user_page(page), put_page(page): the folio is page_folio(page) as
  // it is now. It is the one GUP took the reference on unless a split came
  // between GUP's page_folio() and its increment (c24d37322548): the ghost
  // (h.head) keeps the folio that got the reference, the kernel does not.
  const Pfn folio = w.page(h.pfn).head();
  if (dirty == MakeDirty::kYes) {
    // "if (!folio_test_dirty(folio)) { folio_lock(); folio_mark_dirty();
    // folio_unlock(); }" -- the unlocked test may race with
    // clear_page_dirty_for_io(); both outcomes are harmless (kernel comment).
    Page& hp = w.page(folio);
    if (!(hp.flags.load(std::memory_order_acquire) & PG_dirty)) {
      if (lock_for_dirty) {
        set_page_dirty_lock(w, &t, folio);
      } else {
        folio_mark_dirty(w, &t, folio);  // v5.2 put_user_pages_dirty()
      }
    }
    // Ghost: the device's data is now declared dirty: a final sync must put
    // it (or something newer) at the file index the caller pinned, unless
    // that index was truncated since.
    if (h.index >= 0 && w.ghost.trunc_gen[static_cast<size_t>(h.index)].load() == h.trunc_gen) {
      auto& e = w.ghost.expected_disk[static_cast<size_t>(h.index)];
      int64_t v = w.page(h.pfn).data.peek();
      int64_t cur = e.load();
      while (cur < v && !e.compare_exchange_weak(cur, v)) {
      }
    }
  }
  ghost_released(w, h);
  gup_put_folio(w, &t, folio, h.how);
}

void put_page(World& w, Task& t, int slot) {
  release(w, t, slot, GupHow::kGet, MakeDirty::kNo, true, "put_page");
}
void put_user_page(World& w, Task& t, int slot) {
  // The 2018 placeholder: put_user_page() simply calls put_page(); designs
  // that cannot tell pins from gets accept either (release_matches()).
  release(w, t, slot, GupHow::kPin, MakeDirty::kNo, true, "put_user_page");
}
void put_user_pages(World& w, Task& t, std::span<const int> slots) {
  for (int s : slots) put_user_page(w, t, s);
}
void put_user_pages_dirty_lock(World& w, Task& t, std::span<const int> slots, MakeDirty d) {
  // v5.2: "if (!PageDirty(page)) set_page_dirty_lock(page); put_user_page(page);"
  for (int s : slots)
    release(w, t, s, GupHow::kPin, d, !w.design.unlocked_dirty, "put_user_pages_dirty_lock");
}
void unpin_user_page(World& w, Task& t, int slot) {
  release(w, t, slot, GupHow::kPin, MakeDirty::kNo, true, "unpin_user_page");
}
void unpin_user_pages(World& w, Task& t, std::span<const int> slots) {
  for (int s : slots) release(w, t, s, GupHow::kPin, MakeDirty::kNo, true, "unpin_user_pages");
}
void unpin_user_pages_dirty_lock(World& w, Task& t, std::span<const int> slots, MakeDirty d) {
  for (int s : slots)
    release(w, t, s, GupHow::kPin, d, !w.design.unlocked_dirty, "unpin_user_pages_dirty_lock");
}

}  // namespace pf
