// lru_count: the RFC the seed thread points to as [1] (John Hubbard, "[PATCH
// v2 6/6] mm: track gup pages with page->dma_pinned_* fields", linux-mm,
// 10 November 2018): GUP marks the page PageDmaPinned,
// takes it off the LRU (PageDmaPinnedWasLru remembers it was on it) and
// keeps dma_pinned_count in the two words of page->lru, free while the page
// is off the LRU. On a ZONE_DEVICE page those words are pgmap and
// zone_device_data (include/linux/mm_types.h), which the count overwrites:
// Dan Williams' objection in the seed thread ("Very badly: page->pgmap and
// page->hmm_data both get corrupted").
#include "model/tracking/dma_pinned_bit.h"

namespace pf {
namespace {

// The page leaves the LRU while pinned; the first pin starts the count.
// Under the LRU lock, as the RFC's isolation does.
void lru_count_pin(World& w, Pfn head) {
  Page& p = w.page(head);
  sync::Guard<sync::SpinLock> g(w.lru_lock);
  uint32_t f = p.flags.load(std::memory_order_relaxed);
  if (!(f & PG_dma_pinned)) {
    if (f & PG_lru)
      p.flags.fetch_and(~PG_lru, std::memory_order_relaxed),
          p.flags.fetch_or(PG_dma_pinned_was_lru, std::memory_order_relaxed);
    p.flags.fetch_or(PG_dma_pinned, std::memory_order_release);
    p.lru[0].store(0, std::memory_order_relaxed);  // dma_pinned_flags
    p.lru[1].store(1, std::memory_order_relaxed);  // dma_pinned_count
  } else {
    p.lru[1].store(p.lru[1].load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
}

// The last unpin puts the page back on the LRU if it was there.
void lru_count_unpin(World& w, Pfn head) {
  Page& p = w.page(head);
  sync::Guard<sync::SpinLock> g(w.lru_lock);
  uint64_t c = p.lru[1].load(std::memory_order_relaxed) - 1;
  p.lru[1].store(c, std::memory_order_relaxed);
  if (c == 0) {
    uint32_t f = p.flags.fetch_and(~(PG_dma_pinned | PG_dma_pinned_was_lru),
                                   std::memory_order_release);
    if (f & PG_dma_pinned_was_lru) {
      p.lru[0].store(kLruLinked, std::memory_order_relaxed);
      p.lru[1].store(kLruLinked, std::memory_order_relaxed);
      p.flags.fetch_or(PG_lru, std::memory_order_relaxed);
    }
  }
}

class LruCount final : public DmaPinnedBit {
 public:
  LruCount()
      : DmaPinnedBit({.tracks_pins = true,
                  .tells_pin_from_get = true,  // put_user_page() is a call of its own
                  .unshares_ro_pins = false,
                  .pins_zero_page = true}) {}

  void grab(World& w, const Task*, Pfn head, GupHow how, GrabPath, sync::Site) const override {
    if (how == GupHow::kPin) lru_count_pin(w, head);
  }
  int32_t put(World& w, const Task*, Pfn head, GupHow how, sync::Site) const override {
    if (how == GupHow::kPin) lru_count_unpin(w, head);
    return 1;
  }
};

}  // namespace

const Tracking& tracking_lru_count() {
  static const LruCount t;
  return t;
}

}  // namespace pf
