// End-of-run and per-step checks. Both are read-only with respect to the
// design's state: final_check() runs a final sync (which writes, as the
// kernel's would) and then only reads; check_invariants() only reads and may
// be called by a scheduler after every step.
#pragma once

#include "model/world.h"

namespace pf {

// After every model thread has returned: pins balanced, nr_foll_pin
// counters equal, every ZONE_DEVICE page's pgmap word intact and page_free
// run exactly once per freed page, and, after a final sync, the disk holds
// at least the newest data that was declared dirty.
void final_check(World& w);

// Invariants that hold after every step of a correct design.
void check_invariants(World& w);

}  // namespace pf
