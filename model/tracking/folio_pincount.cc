// folio_pincount: v6.x, the kernel today and the model's default. The
// pin_bias scheme with folio->_pincount for every large folio (order-1
// included since folios have the room), the zero page never pinned (v6.5:
// is_zero_folio() in try_grab_folio() and gup_put_folio()), and anon pages
// pinned only while PageAnonExclusive (v5.19, gup_must_unshare()).
#include "model/tracking/pin_bias.h"

namespace pf {

const Tracking& tracking_folio_pincount() {
  static const PinBias t({.tracks_pins = true,
                          .tells_pin_from_get = true,
                          .unshares_ro_pins = true,
                          .pins_zero_page = false,
                          .exact_pincount_order = 1,
                          .checks_pin_balance_at_exit = true,
                          .pincount_word = "folio->_pincount"});
  return t;
}

}  // namespace pf
