// get_only: the v4.20 world (Dec 2018). GUP takes FOLL_GET references only
// and put_user_page() is put_page() (v5.2 fc1d8e7cca2d still was), so a pin
// is one more reference and nothing can tell a DMA-pinned page from any
// other: folio_maybe_dma_pinned() did not exist. Writeback and buffer
// release proceed under DMA, which is the seed thread's bug.
#include "model/tracking.h"

#include "model/world.h"

namespace pf {
namespace {

class GetOnly final : public TrackingBase<GetOnly> {
 public:
  GetOnly()
      : TrackingBase({.tracks_pins = false,
                  .tells_pin_from_get = false,
                  .unshares_ro_pins = false,
                  .pins_zero_page = true}) {}

  // A pin is the grab's plain reference and nothing else (defaults of
  // grab() and put()); there is no word to read.
  PinWords read_pin_words(const World& w, Pfn head, PinRead how, sync::Site) const override {
    return how == PinRead::kPeek ? peek_page_words(w.pages[static_cast<size_t>(head)])
                                 : PinWords{};
  }
  bool maybe_pinned(const World&, Pfn, const PinWords&) const override { return false; }
};

}  // namespace

const Tracking& tracking_get_only() {
  static const GetOnly t;
  return t;
}

}  // namespace pf
