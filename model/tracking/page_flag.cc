// page_flag: the page-bit idea of the seed thread (Dan Williams, Dec 2018):
// GUP sets one PG_dma_pinned bit and put_page() clears it, so no separate
// release call is needed. John Hubbard's answer in the same thread is the
// bug the oracles find: "You need a reference count. Otherwise a random
// put_page could affect your dma-pinned pages."
#include "model/tracking/dma_pinned_bit.h"

namespace pf {
namespace {

class PageFlagTracking final : public DmaPinnedBit {
 public:
  PageFlagTracking()
      : DmaPinnedBit({.tracks_pins = true,
                  .tells_pin_from_get = false,  // unpin is put_page()
                  .unshares_ro_pins = false,
                  .pins_zero_page = true}) {}

  // GUP: SetPageDmaPinned() on top of the reference.
  void grab(World& w, const Task*, Pfn head, GupHow how, GrabPath, sync::Site s) const override {
    if (how == GupHow::kPin)
      w.page(head).flags.fetch_or(PG_dma_pinned, std::memory_order_release, s);
  }
  // put_page() clears PG_dma_pinned, whoever calls it and for whatever
  // reference: the seed's "random put_page".
  void on_put_page(World& w, const Task*, Pfn head, sync::Site s) const override {
    w.page(head).flags.fetch_and(~PG_dma_pinned, std::memory_order_relaxed, s);
  }
};

}  // namespace

const Tracking& tracking_page_flag() {
  static const PageFlagTracking t;
  return t;
}

}  // namespace pf
