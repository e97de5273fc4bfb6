// page_ext_count: step 3 of the seed thread taken literally, "tracking ...
// separate from the existing struct page refcounting": a dedicated atomic
// pin counter per page, kept outside struct page where page_ext keeps
// per-page data (mm/page_ext.c), so no struct page word is overloaded (the
// lru words' problem on ZONE_DEVICE pages, page_flag's lost bit). A pin
// still takes its one plain reference beside the counter, so the folio
// cannot be freed under it; the counter alone answers
// folio_maybe_dma_pinned(), exactly, for every folio order (the head's
// counter stands for the folio, like _pincount).
//
// The counter lives in page_ext word 0 of the folio head. It is found with
// page_ext_get(), and like every page_ext client (mm/page_owner.c
// __split_page_owner(); Android's mm/page_pinner.c __reset_page_pinner(),
// itself a page_ext pin tracker) the design does nothing when there is no
// page_ext for the page.
//
// Orderings, against mm/gup.c (try_grab_folio(), try_grab_folio_fast(),
// gup_put_folio(); CachyOS/linux v6.2-era mirror):
// - grab: the reference first (the caller's try_get), then atomic_inc of
//   the counter; on the fast path smp_mb__after_atomic() after the inc, so
//   the pin is visible before GUP-fast re-checks the PTE, pairing with the
//   smp_mb() in __folio_try_share_anon_rmap() as _pincount's inc does.
// - put: atomic_dec of the counter before the reference goes, so the folio
//   (and its page_ext) is alive for the dec and a folio is never seen
//   pinned after it is freed; folio_put_refs() is fully ordered after it.
// - folio_maybe_dma_pinned(): one acquire read of the counter.
#include "model/tracking.h"

#include "model/world.h"

namespace pf {
namespace {

constexpr size_t kPinCount = 0;  // page_ext word of the folio head

class PageExtCount final : public TrackingBase<PageExtCount> {
 public:
  PageExtCount()
      : TrackingBase({.tracks_pins = true,
                  .tells_pin_from_get = true,
                  .unshares_ro_pins = true,
                  .pins_zero_page = false,
                  .exact_pincount_order = 0,
                  .checks_pin_balance_at_exit = true,
                  .pincount_word = "page_ext pin_count"}) {}

  void grab(World& w, const Task*, Pfn head, GupHow how, GrabPath path,
            sync::Site s) const override {
    if (how != GupHow::kPin) return;
    PageExt* ext = w.page_ext_get(head);
    if (!ext) return;  // page_ext_get(): "NULL if no page_ext exists for this page"
    ext->word[kPinCount].fetch_add(1, std::memory_order_relaxed, s);
    if (path == GrabPath::kFast) grab_fast_barrier(w, s);
  }

  int32_t put(World& w, const Task*, Pfn head, GupHow how, sync::Site s) const override {
    if (how != GupHow::kPin) return 1;
    if (PageExt* ext = w.page_ext_get(head))
      ext->word[kPinCount].fetch_sub(1, std::memory_order_release, s);
    return 1;
  }

  PinWords read_pin_words(const World& w, Pfn head, PinRead how, sync::Site s) const override {
    const PageExt* ext = w.page_ext_get(head);
    if (how == PinRead::kPeek) {
      PinWords words = peek_page_words(w.pages[static_cast<size_t>(head)]);
      words.pincount = ext ? ext->word[kPinCount].peek() : 0;
      return words;
    }
    if (!ext) return PinWords{};
    return PinWords{.pincount = ext->word[kPinCount].load(std::memory_order_acquire, s)};
  }

  int32_t peek_pin_counter(const World& w, Pfn head) const override {
    const PageExt* ext = w.page_ext_get(head);
    return ext ? ext->word[kPinCount].peek() : 0;
  }

  bool maybe_pinned(const World&, Pfn, const PinWords& words) const override {
    return words.pincount > 0;
  }
};

}  // namespace

const Tracking& tracking_page_ext_count() {
  static const PageExtCount t;
  return t;
}

}  // namespace pf
