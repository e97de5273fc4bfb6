// pin_bias: v5.7 (3faa52c03f44 "mm/gup: track FOLL_PIN pages", John
// Hubbard). FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) to the refcount of a
// small page, so (unsigned)refcount >= 1024 means "maybe pinned" (1024 plain
// gets look pinned too: an allowed false positive). Compound pages of order
// > 1 keep an exact count instead (hpage_pinned_refcount, in the third
// struct page, which an order-1 page does not have). The model gives this
// design today's R/O-pin unshare rules, so that it differs from
// folio_pincount only in how pins are counted (docs/model.md).
//
// Sources read: mm/gup.c try_grab_folio(), try_grab_folio_fast(),
// gup_put_folio(); include/linux/mm.h folio_maybe_dma_pinned() (CachyOS/linux
// mirror, v6.2-era mainline).
#include "model/tracking/pin_bias.h"

#include "model/mm.h"

namespace pf {

void PinBias::grab(World& w, const Task* t, Pfn head, GupHow how, GrabPath path,
                   sync::Site s) const {
  if (how != GupHow::kPin) return;
  Page& h = w.page(head);
  // mm/gup.c: try_grab_folio(): large -> atomic_add(refs, &folio->_pincount);
  // small -> folio_ref_add(folio, refs * (GUP_PIN_COUNTING_BIAS - 1)).
  if (exact_pincount(h.order()))
    h.pincount.fetch_add(1, std::memory_order_relaxed, s);
  else
    folio_ref_add(w, t, head, GUP_PIN_COUNTING_BIAS - 1);
  if (path == GrabPath::kFast) grab_fast_barrier(w, s);
}

int32_t PinBias::put(World& w, const Task*, Pfn head, GupHow how, sync::Site s) const {
  if (how != GupHow::kPin) return 1;
  Page& h = w.page(head);
  // mm/gup.c: gup_put_folio(): large -> atomic_sub(refs, &folio->_pincount);
  // small -> refs *= GUP_PIN_COUNTING_BIAS. The knobs plant the mix-up
  // either way round: large_unpin_bias takes the small-folio path on a large
  // folio, small_unpin_pincount the large-folio path on a small one.
  const bool large = exact_pincount(h.order());
  const bool by_pincount = large ? !w.design.large_unpin_bias : w.design.small_unpin_pincount;
  if (!by_pincount) return GUP_PIN_COUNTING_BIAS;
  h.pincount.fetch_sub(1, std::memory_order_relaxed, s);
  return 1;
}

PinWords PinBias::read_pin_words(const World& w, Pfn head, PinRead how, sync::Site s) const {
  const Page& h = w.pages[static_cast<size_t>(head)];
  if (how == PinRead::kPeek) return peek_page_words(h);
  // folio_maybe_dma_pinned() reads one word: _pincount or the refcount.
  if (exact_pincount(h.order())) return PinWords{.pincount = h.pincount.load(std::memory_order_acquire, s)};
  return PinWords{.refcount = h.refcount.load(std::memory_order_acquire, s)};
}

int32_t PinBias::peek_pin_counter(const World& w, Pfn head) const {
  return w.pages[static_cast<size_t>(head)].pincount.peek();
}

bool PinBias::maybe_pinned(const World& w, Pfn head, const PinWords& words) const {
  // include/linux/mm.h: folio_maybe_dma_pinned(): large -> _pincount > 0;
  // small -> ((unsigned int)folio_ref_count(folio)) >= GUP_PIN_COUNTING_BIAS
  if (exact_pincount(w.pages[static_cast<size_t>(head)].order())) return words.pincount > 0;
  const uint32_t mask = w.width.bits >= 32 ? ~0u : ((1u << w.width.bits) - 1);
  return (static_cast<uint32_t>(words.refcount) & mask) >=
         static_cast<uint32_t>(GUP_PIN_COUNTING_BIAS);
}

const Tracking& tracking_pin_bias() {
  static const PinBias t({.tracks_pins = true,
                          .tells_pin_from_get = true,
                          .unshares_ro_pins = true,
                          .pins_zero_page = true,
                          .exact_pincount_order = 2,  // hpage_pinned_refcount: order > 1
                          .checks_pin_balance_at_exit = true,
                          .pincount_word = "folio->_pincount"});
  return t;
}

}  // namespace pf
