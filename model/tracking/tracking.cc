// The defaults of model/tracking.h's hooks: a FOLL_GET grab is the one plain
// reference every grab starts with, its put drops that one reference, and
// put_page() does nothing beyond dropping references.
#include "model/tracking.h"

#include "model/sync/atomic.h"
#include "model/world.h"

namespace pf {

void Tracking::grab(World&, const Task*, Pfn, GupHow, GrabPath, sync::Site) const {}

int32_t Tracking::put(World&, const Task*, Pfn, GupHow, sync::Site) const { return 1; }

void Tracking::on_put_page(World&, const Task*, Pfn, sync::Site) const {}

void grab_fast_barrier(const World& w, sync::Site s) {
  if (!w.design.no_grab_barrier) sync::smp_mb__after_atomic(s);
}

}  // namespace pf
