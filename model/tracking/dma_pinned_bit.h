// The seed thread's designs answer folio_maybe_dma_pinned() with one page
// flag, PageDmaPinned(): they differ in who sets and clears it (page_flag.cc,
// lru_count.cc). This is the answer they share.
#pragma once

#include "model/tracking.h"
#include "model/world.h"

namespace pf {

class DmaPinnedBit : public TrackingBase<DmaPinnedBit> {
 public:
  using TrackingBase::TrackingBase;

  PinWords read_pin_words(const World& w, Pfn head, PinRead how, sync::Site s) const final {
    const Page& h = w.pages[static_cast<size_t>(head)];
    if (how == PinRead::kPeek) return peek_page_words(h);
    return PinWords{.flags = h.flags.load(std::memory_order_acquire, s)};
  }
  bool maybe_pinned(const World&, Pfn, const PinWords& words) const final {
    return words.flags & PG_dma_pinned;
  }
};

}  // namespace pf
