#include "model/check.h"

#include <fmt/format.h>

#include <bit>

#include "model/internal.h"
#include "model/memremap.h"

namespace pf {

static void check_pgmaps(World& w, const Task* t) {
  for (int id = 0; id < w.npgmaps; ++id) {
    DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
    if (pg.torn_down.peek()) continue;
    for (int i = 0; i < pg.nr; ++i) {
      Pfn pfn = static_cast<Pfn>(pg.first + i);
      Page& p = w.page(pfn);
      uint64_t want = kPgmapTag | static_cast<uint64_t>(id);
      if (p.lru[0].peek() != want)
        w.report(ViolationKind::pgmap_corrupted, pfn, t, "check_invariants",
                 fmt::format("page->pgmap reads {:#x}, pagemap {} expected", p.lru[0].peek(), id));
    }
  }
}

void check_invariants(World& w) {
  check_pgmaps(w, nullptr);
  // The ghost pin count must be visible through the design: a false
  // negative of folio_maybe_dma_pinned() is never allowed (include/linux/mm.h).
  if (!w.tracking.traits.tracks_pins) return;
  for (uint64_t heads = w.ghost.pinned_heads.load(std::memory_order_relaxed); heads;
       heads &= heads - 1) {
    const int pfn = std::countr_zero(heads);
    int32_t pins = w.ghost.pins[static_cast<size_t>(pfn)].load(std::memory_order_relaxed);
    if (!folio_maybe_dma_pinned_peek(w, static_cast<Pfn>(pfn)))
      w.report(ViolationKind::pin_count_mismatch, pfn, nullptr, "folio_maybe_dma_pinned",
               fmt::format("the design says not pinned with {} pin(s) outstanding", pins),
               pin_loss_cause(w, static_cast<Pfn>(pfn)));
  }
}

void final_check(World& w) {
  Task& t = w.tasks[0];
  for (auto& task : w.tasks) {
    for (auto& h : task.held) {
      if (h.live && h.how == GupHow::kPin && design_pins(w, h.head))
        w.report(ViolationKind::unbalanced_pins, h.pfn, nullptr, "final_check",
                 fmt::format("thread {} still holds a pin on pfn {}", task.id, h.pfn),
                 "pin_still_held");
    }
  }
  int64_t acq = w.ghost.pins_acquired.load(), rel = w.ghost.pins_released.load();
  bool holding = false;
  for (auto& task : w.tasks)
    for (auto& h : task.held) holding |= h.live && h.how == GupHow::kPin;
  if (!holding && acq != rel)
    w.report(ViolationKind::unbalanced_pins, -1, nullptr, "final_check",
             fmt::format("nr_foll_pin_acquired {} != nr_foll_pin_released {}", acq, rel),
             "pin_stats_differ");
  // The design's own pin counter must read 0 once nothing is pinned.
  const TrackingTraits& traits = w.tracking.traits;
  if (!holding && traits.checks_pin_balance_at_exit) {
    for (int pfn = 0; pfn < w.npages_used(); ++pfn) {
      if (w.page(static_cast<Pfn>(pfn)).head() != pfn) continue;
      const int32_t left = w.tracking.peek_pin_counter(w, static_cast<Pfn>(pfn));
      if (left != 0)
        w.report(ViolationKind::unbalanced_pins, pfn, nullptr, "final_check",
                 fmt::format("{} is {} with no pins held", traits.pincount_word, left),
                 "pin_counter_left");
    }
  }
  check_pgmaps(w, nullptr);
  // What a CPU access would find next (check_cpu_access()): a PTE that
  // still maps a freed page. Every PTE holds a reference on its folio, so
  // some put dropped one that was not its own - as after a put_page() on a
  // folio GUP never grabbed (c24d37322548).
  for (int mm = 0; mm < kMaxMm; ++mm) {
    Mm& m = w.mm[static_cast<size_t>(mm)];
    if (!m.live.load()) continue;
    for (int vpn = 0; vpn < kMaxVpn; ++vpn) {
      const Pte pte = m.mapped(vpn);
      if (pte.present && w.ghost.freed[static_cast<size_t>(pte.pfn)].load())
        w.report(ViolationKind::use_after_free, pte.pfn, nullptr, "final_check",
                 fmt::format("mm {} vpn {} maps a freed page", mm, vpn), "mapped_page_freed");
    }
  }
  // page_free never ran for a device page that is idle and unmapped.
  for (int id = 0; id < w.npgmaps; ++id) {
    DevPagemap& pg = w.pgmaps[static_cast<size_t>(id)];
    if (pg.torn_down.peek()) continue;
    for (int i = 0; i < pg.nr; ++i) {
      Pfn pfn = static_cast<Pfn>(pg.first + i);
      if (w.ref(pfn) == devmap_idle_base(w) && pg.idle[static_cast<size_t>(pfn)].peek() == 0)
        w.report(ViolationKind::page_free_count, pfn, nullptr, "final_check",
                 "the page's last reference is gone but ops->page_free() never ran");
    }
  }
  // A final sync: what was declared dirty must reach the disk. Not with a
  // pin still held: writeback=wait would wait for it forever, and the
  // unbalanced pin is already reported.
  if (holding) return;
  sync_file(w, t);
  for (int i = 0; i < kMaxFileIdx; ++i) {
    int64_t want = w.ghost.expected_disk[static_cast<size_t>(i)].load();
    int64_t have = w.file.disk[static_cast<size_t>(i)].peek();
    if (want >= 0 && have < want)
      w.report(ViolationKind::lost_dma_write, w.file.cache[static_cast<size_t>(i)].peek(), nullptr,
               "final_check",
               fmt::format("file index {}: disk holds {}, the last data declared dirty was {}", i,
                           have, want));
  }
}

}  // namespace pf
