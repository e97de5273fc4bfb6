// ZONE_DEVICE: struct dev_pagemap and its pages (mm/memremap.c).
//
//   page lifecycle (device_private / device_coherent)
//   ------------------------------------------------------------------
//   idle (driver free list)  refcount base (0 since v5.18, 1 before)
//   zone_device_page_init()  refcount base+1, pgmap ref taken, locked
//   mapped / GUP'd           refcount > base+... like any page
//   last put -> base         free_zone_device_folio(): ops->page_free(),
//                            put_dev_pagemap(); back to idle
//   memunmap_pages()         kill ref, wait for all pages idle, tear down
//
// fs_dax and p2pdma pagemaps hold one pgmap ref per page for their life.
#pragma once

#include <span>
#include <string>

#include "model/world.h"

namespace pf {

// Setup-time allocation of an idle device page (no scheduling points).
Pfn device_alloc_setup(World& w, int pgmap);

// page_pgmap(): reads the pgmap word of a ZONE_DEVICE page's lru overlay and
// returns the pagemap id, or -1 after reporting pgmap_corrupted.
int page_pgmap(World& w, const Task* t, Pfn pfn);
// pte_devmap(): a ZONE_DEVICE page mapped with the devmap bit, for which
// GUP takes the pagemap reference: fs-dax (and device-dax, not modelled).
// Device-private pages are never mapped present; device-coherent and
// p2pdma pages are mapped as normal pages (migrate_vma_insert_page(),
// vm_insert_page()).
bool pte_devmap(const World& w, Pfn pfn);
// get_dev_pagemap(): tryget_live on the page's pagemap; false once teardown began.
bool get_dev_pagemap(World& w, const Task* t, Pfn pfn);
void put_dev_pagemap(World& w, const Task* t, Pfn pfn);

// Called when a ZONE_DEVICE folio's refcount reaches its idle base.
void free_zone_device_folio(World& w, const Task* t, Pfn pfn);

// memunmap_pages(): kill the pagemap's ref, drop the per-page refs held at
// setup, wait for the ref to drain (unless memunmap_no_wait), tear down.
void memunmap_pages(World& w, Task& t, int pgmap);

// A driver's teardown of its device memory, then memunmap_pages().
// device-private / device-coherent (lib/test_hmm.c:
// dmirror_device_remove_chunks() -> dmirror_device_evict_chunk(), nouveau's
// dmem fini): every mapped page is migrated back to system RAM
// (migrate_device_range(), __GFP_NOFAIL), retrying after a busy page's
// extra references are dropped. fs-dax / p2pdma: user mappings are zapped
// (unmap_mapping_range()) and the teardown waits for every page to go idle
// (dax_layout_busy_page()). A page that is referenced but not mapped (a
// GUP user of an unmapped page) is left for memunmap_pages() to wait for.
void driver_teardown(World& w, Task& t, int pgmap);

// After a run ended with every unfinished thread blocked: is that the
// kernel's own hang (limitations.def: teardown_hang)? Yes when every
// unfinished thread (unfinished[task id]) is in a driver teardown, at least
// one waits in memunmap_pages(), the others wait behind it (the driver's
// lock of a pagemap being waited for), and every reference the waited-for
// pagemaps still hold is explained by a page that stays mapped, or is held
// by an unfinished thread: then returns the report's detail (which page
// keeps which teardown waiting). "" when not: a leaked reference, or a
// thread stuck elsewhere, is a design's deadlock.
std::string teardown_hang_detail(const World& w, std::span<const bool> unfinished);

// The refcount at which a device page of this world is idle.
int32_t devmap_idle_base(const World& w);

}  // namespace pf
