// End-of-run and per-step checks. final_check() runs a final sync (which
// writes, as the kernel's would, and makes scheduling points) and then only
// reads; check_invariants() only peeks and may be called after every step.
#pragma once

#include "model/world.h"

namespace pf {

// After every model thread has returned: pins balanced, nr_foll_pin
// counters equal, every ZONE_DEVICE page's pgmap word intact and page_free
// run exactly once per freed page, and, after a final sync, the disk holds
// at least the newest data that was declared dirty.
void final_check(World& w);

// Invariants that hold after every step of a correct design: every
// ZONE_DEVICE page's pgmap word is intact, and a folio with outstanding pins
// (ghost count) looks maybe-pinned to the design. Read-only: peek() only, no
// scheduling point, so a scheduler may call it after every step.
void check_invariants(World& w);
// The same, free when there is nothing to check (no pins outstanding and no
// pagemap): called after every step, so the common case is inline.
inline void check_invariants_fast(World& w) {
  if (w.npgmaps == 0 && w.ghost.pinned_heads.load(std::memory_order_relaxed) == 0) return;
  check_invariants(w);
}

}  // namespace pf
