// The GUP_PIN_COUNTING_BIAS scheme (v5.7, John Hubbard: "mm/gup: track
// FOLL_PIN pages"), shared by pin_bias (its first form) and folio_pincount
// (today's), which differ only in traits: which folio orders keep an exact
// pin count instead of the bias, and whether the zero page is pinned.
#pragma once

#include "model/tracking.h"

namespace pf {

class PinBias final : public TrackingBase<PinBias> {
 public:
  explicit PinBias(TrackingTraits t) : TrackingBase(t) {}

  void grab(World& w, const Task* t, Pfn head, GupHow how, GrabPath path,
            sync::Site s) const override;
  int32_t put(World& w, const Task* t, Pfn head, GupHow how, sync::Site s) const override;
  PinWords read_pin_words(const World& w, Pfn head, PinRead how, sync::Site s) const override;
  int32_t peek_pin_counter(const World& w, Pfn head) const override;
  bool maybe_pinned(const World& w, Pfn head, const PinWords& words) const override;
};

}  // namespace pf
