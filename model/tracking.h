// The pin-tracking seam: what a design is to the model. Where the kernel's
// code differs between pin-tracking schemes, the model's generic code
// (gup.cc, page_ref.cc, check.cc, and the harness) asks a Tracking: its
// traits where a design changes a decision, its hooks where it changes which
// memory a grab, a release or folio_maybe_dma_pinned() touches. One
// implementation per file in model/tracking/, one row per design in
// designs.def; adding a design touches nothing else.
//
// What every hook may assume and must leave true:
// - `head` is the head page of a folio the caller holds a reference on (the
//   grab's first plain reference, or the one being released), so the folio
//   is neither freed nor reused under the hook.
// - Shared memory is touched only through pf::sync, each access a
//   scheduling point, and only memory the World owns (struct page words,
//   page_ext words, World locks), where the scheduler, the timeline and the
//   oracles see it. Accesses a hook makes itself carry the Site it is given:
//   the model function that stands for the kernel function the hook is a
//   part of (try_grab_folio(), gup_put_folio(), folio_maybe_dma_pinned(),
//   folio_put_refs()), so that a trace names kernel code, not designs.
//   Helpers of a design's own may carry their own names.
// - Hooks judge nothing: they never report a violation. The oracles judge
//   what the hooks leave behind (the ghost pin count against maybe_pinned(),
//   refcount under/overflow in the reference helpers a hook may call).
// - A Tracking is immutable and shared by every World of its design; all
//   state lives in the World. Knobs are read from w.design.
#pragma once

#include <cstdint>

#include "model/design.h"
#include "model/page.h"
#include "model/sync/hook.h"

namespace pf {

class World;
struct Task;

// FOLL_GET or FOLL_PIN: how a GUP reference was taken (mutually exclusive
// per call: mm/gup.c is_valid_gup_args()).
enum class GupHow : uint8_t { kGet, kPin };
// Which grab: the slow path under the PTL (try_grab_folio(), count known to
// be positive) or GUP-fast's lockless one (try_grab_folio_fast(), which must
// then re-check the PTE, so its pin must be visible before that re-check).
enum class GrabPath : uint8_t { kSlow, kFast };
// How read_pin_words() reads: as the model does (each read a scheduling
// point), or as an oracle does (peek(): no step, no effect on the schedule).
enum class PinRead : uint8_t { kLoad, kPeek };

// The words a design's folio_maybe_dma_pinned() is computed from. Which of
// them are filled depends on the design and on PinRead (see read_pin_words).
struct PinWords {
  uint32_t flags = 0;    // the head's page->flags
  int32_t refcount = 0;  // the head's page->_refcount, raw (apply RefWidth)
  int32_t pincount = 0;  // the design's exact pin counter, wherever it lives
};

// Larger than any folio order: "no folio keeps an exact pin count".
inline constexpr int kNoExactPincount = 99;

// Where a design changes a decision of generic code.
struct TrackingTraits {
  // folio_maybe_dma_pinned() means something: false only for a design that
  // has no way to tell (then the pin oracles have nothing to check).
  bool tracks_pins = true;
  // A release with the wrong call (put_page() of a pin, unpin of a get) is
  // detectable, so it is API misuse; where it is not, the 2018 calls
  // (put_user_page*()) release either kind.
  bool tells_pin_from_get = true;
  // gup_must_unshare(): a R/O pin of an anon page that is not exclusive
  // unshares it first (FAULT_FLAG_UNSHARE, v5.19).
  bool unshares_ro_pins = true;
  // Pin and unpin of the shared zero page change its counts (v6.5 stopped
  // that: is_zero_folio() in try_grab_folio() and gup_put_folio()).
  bool pins_zero_page = true;
  // Folios of this order and above keep an exact pin count (kNoExactPincount:
  // none do).
  int exact_pincount_order = kNoExactPincount;
  // With no pin held at exit, read_pin_words(kPeek).pincount of every folio
  // head must be 0; `pincount_word` names that counter in the report.
  bool checks_pin_balance_at_exit = false;
  const char* pincount_word = "";
};

// mm/gup.c: try_grab_folio_fast(): "Adjust the pincount before re-checking
// the PTE for changes. This is essentially a smp_mb() and is paired with a
// memory barrier in folio_try_share_anon_rmap_*()": smp_mb__after_atomic()
// after a pin's increment on the fast path. A design's grab() calls it; the
// no_grab_barrier knob deletes it.
void grab_fast_barrier(const World& w, sync::Site s);

class Tracking {
 public:
  explicit constexpr Tracking(TrackingTraits t) : traits(t) {}
  virtual ~Tracking() = default;
  Tracking(const Tracking&) = delete;
  Tracking& operator=(const Tracking&) = delete;

  const TrackingTraits traits;
  bool exact_pincount(int order) const { return order >= traits.exact_pincount_order; }

  // grab() - the design's part of a GUP grab.
  // @how: FOLL_GET or FOLL_PIN. @path: slow (under the PTL) or fast
  // (lockless; a pin must be ordered before GUP-fast's PTE re-check, as
  // try_grab_folio_fast()'s smp_mb__after_atomic() orders it).
  // Called once the folio holds the one plain reference every grab starts
  // with (try_grab_folio(): folio_ref_add(1); GUP-fast: try_get_folio()),
  // for the zero page only if traits.pins_zero_page or @how is a get.
  // Must leave: maybe_pinned() true for a pin, until the put() that undoes
  // it. Default: nothing more (a get is that one reference).
  virtual void grab(World& w, const Task* t, Pfn head, GupHow how, GrabPath path,
                    sync::Site s) const;

  // put() - the design's part of gup_put_folio().
  // Undoes what grab() added for @how and returns how many references
  // folio_put_refs() must then drop (it does, right after). Called before
  // that final put, so the folio is still alive. Default: 1.
  virtual int32_t put(World& w, const Task* t, Pfn head, GupHow how, sync::Site s) const;

  // read_pin_words() - the words folio_maybe_dma_pinned() looks at.
  // kLoad: exactly the reads the design's folio_maybe_dma_pinned() makes, in
  // its order, each a scheduling point carrying @s. kPeek: every word the
  // design keeps (no scheduling point; @s unused), for oracles and coverage.
  virtual PinWords read_pin_words(const World& w, Pfn head, PinRead how,
                                  sync::Site s) const = 0;

  // peek_pin_counter() - the design's exact pin counter of the folio,
  // peeked: read_pin_words(kPeek).pincount, read alone. The exit check
  // (traits.checks_pin_balance_at_exit) and interleaving coverage ask it for
  // every folio head, so a design may answer it without building PinWords;
  // tests/tracking_test.cc checks that the two agree. Default: through
  // read_pin_words().
  virtual int32_t peek_pin_counter(const World& w, Pfn head) const {
    return read_pin_words(w, head, PinRead::kPeek, {}).pincount;
  }

  // maybe_pinned() - folio_maybe_dma_pinned() from the words read: a pure
  // function, the same for the model's loads and the oracles' peeks. May
  // answer true for an unpinned folio (a false positive is allowed: the
  // kernel's bias makes 1024 gets look like a pin); must not answer false
  // while a pin is held, if traits.tracks_pins.
  virtual bool maybe_pinned(const World& w, Pfn head, const PinWords& words) const = 0;

  // on_put_page() - what put_page()/folio_put_refs() does for the design,
  // before the references drop (the folio is alive). Default: nothing.
  virtual void on_put_page(World& w, const Task* t, Pfn head, sync::Site s) const;

  // maybe_pinned() of read_pin_words() in one call, by loads carrying @s or
  // by peeks: what folio_maybe_dma_pinned() and the per-step invariant ask.
  // Implemented once, by TrackingBase below; a design does not write them.
  virtual bool load_maybe_pinned(const World& w, Pfn head, sync::Site s) const = 0;
  virtual bool peek_maybe_pinned(const World& w, Pfn head) const = 0;

 protected:
  // Every word of struct page a design may use, peeked. Inline: the exit
  // check and the per-step invariant call it for every folio head.
  static PinWords peek_page_words(const Page& head) {
    return PinWords{head.flags.peek(), head.refcount.peek(), head.pincount.peek()};
  }
};

// What every design derives from, naming itself (CRTP): it implements the
// composite questions with the design's own read_pin_words() and
// maybe_pinned() called directly, so the per-step invariant makes one
// virtual call per pinned folio, not two (model_bench measured the second).
template <class Self>
class TrackingBase : public Tracking {
 public:
  using Tracking::Tracking;

  bool load_maybe_pinned(const World& w, Pfn head, sync::Site s) const final {
    const Self& self = static_cast<const Self&>(*this);
    return self.Self::maybe_pinned(w, head, self.Self::read_pin_words(w, head, PinRead::kLoad, s));
  }
  bool peek_maybe_pinned(const World& w, Pfn head) const final {
    const Self& self = static_cast<const Self&>(*this);
    return self.Self::maybe_pinned(w, head, self.Self::read_pin_words(w, head, PinRead::kPeek, {}));
  }
};

// The implementation of a design (designs.def row order).
const Tracking& tracking_of(TrackingId id);

// One accessor per designs.def row, defined in model/tracking/NAME.cc.
#define PF_DESIGN(name, correct, history) const Tracking& tracking_##name();
#include "model/designs.def"
#undef PF_DESIGN

}  // namespace pf
