// Helpers shared by the model's operation files; not part of the model's API.
#pragma once

#include <optional>

#include "model/mm.h"

namespace pf {

// Retry bounds. The kernel's loops have none: __get_user_pages() goes back
// to follow_page_mask() after every faultin_page(), filemap_get_entry()
// repeats its lookup while the slot changes under its speculative
// reference, a CPU access refaults until it succeeds, and
// __gup_longterm_locked() repeats while check_and_migrate_movable_folios()
// migrated something. The model gives up after these many rounds and fails
// the call (-EFAULT, -ENOMEM or -EAGAIN). Why that hides no interleaving
// the oracles care about: a round that loses its race gives back all it
// took (references, locks) and changes nothing but what a fault would (a
// PTE installed, a page dirtied), so the world after k lost rounds is one
// the scheduler also reaches with the racing operations finishing before
// the call begins, with fewer preemptions; every losing round needs
// another thread's operation to change the PTE or slot again, and a
// scenario has few operations. What the bound does cut short is a round
// that loses forever, a livelock no finite scenario can show either way.
inline constexpr int kFaultRetries = 4;   // GUP per page, page cache, user_access
inline constexpr int kLongtermRounds = 3; // LONGTERM migrate-and-retry rounds

// mm/gup.c: try_grab_page() (slow path, under the PTL: the count is known to
// be positive). 0 on success or -errno.
int try_grab_page(World& w, const Task* t, Pfn pfn, GupHow how);
// mm/gup.c: try_grab_folio_fast(): try_get_folio(+1), then the pin part.
// The folio it took the reference on, or kNoPfn.
Pfn try_grab_folio_fast(World& w, const Task* t, Pfn pfn, GupHow how);
// mm/gup.c: get_user_page_vma_remote(): one page of `mm` with FOLL_GET, the
// caller holding that mm's mmap_lock for read; 1 (the page in *out, not
// recorded as held) or -errno. Release with gup_put_folio(kGet).
int get_user_page_remote(World& w, Task& t, int mm, int vpn, GupFlags f, Held* out);
// mm/gup.c: gup_put_folio(). Releases one GET or PIN of the folio.
void gup_put_folio(World& w, const Task* t, Pfn head, GupHow how);
// mm/gup.c / mm/page_alloc.c: folio_is_longterm_pinnable()
bool folio_is_longterm_pinnable(World& w, Pfn pfn);
// True if the design really pins this folio (the zero page is never pinned
// under folio_pincount, v6.5).
bool design_pins(const World& w, Pfn head);

// Ghost causes (Ghost::pin_lost_at, shared_by): note_pin_lost() records
// `where` if pins are grabbed on the folio and the design's answer is false
// now (the first such place wins, until the last pin goes).
// pin_loss_cause() is pin_count_mismatch's cause: "lost_at_<where>", or
// "lost" when no generic step saw it go. pin_fate_detail() says, for a
// violation's detail, what went wrong for a pinned folio before anything
// replaced or leaked it: the design lost the pin, or the page was shared
// under it; "" if neither. (Not the cause: one race shows both orders.)
void note_pin_lost(World& w, Pfn head, const char* where);
std::string pin_loss_cause(const World& w, Pfn head);
std::string pin_fate_detail(const World& w, Pfn head);

// Ghost bookkeeping of a grab/release that has been committed.
void ghost_grabbed(World& w, const Held& h);
void ghost_released(World& w, const Held& h);
// The cow.c oracle: a pin must keep observing the page its mm maps at the
// pinned address. Reports pinned_page_replaced if the PTE now maps another
// page or a swap entry.
void check_pin_stable(World& w, const Task* t, const Held& h, const char* fn);
// Live PIN handles of any thread on this folio from mm `mm` (or any mm if -1).
int live_pins(World& w, Pfn head, int mm);
// Live GUP handles (GET or PIN) of any thread on this page from another mm.
bool held_by_other_mm(World& w, Pfn pfn, int mm);

// The TLB model (mm/memory.c user_access() says how a CPU uses it). The
// kernel changes a PTE and flushes the TLBs later in two places the model
// has: mprotect()'s flush_tlb_range() after change_pte_range(), and
// zap_pte_range()'s mmu_gather (tlb_finish_mmu(), before the pages are
// freed; at once, under the PTL, for a dirty file page: "force_flush").
// tlb_defer() opens that window, under the PTL, with the PTE it replaced;
// tlb_flush() closes it and drops every CPU's entry for it. Every other PTE
// change flushes at once (ptep_clear_flush()), which the model gets for
// free: a cached entry that differs from the PTE outside a window is dead.
void tlb_defer(World& w, int mm, int vpn, uint64_t old_raw);
void tlb_flush(World& w, int mm, int vpn);

// Remove one PTE's mapping of its page: mapcount and refcount (zap_pte_range).
void zap_pte(World& w, const Task* t, int mm, int vpn);
// mm/memory.c: unmap_mapping_folio(): zap every PTE that maps this
// page-cache folio, found through the file's VMAs under each PTL.
void unmap_mapping_folio(World& w, const Task* t, Pfn head);
// The same for the indexes [from, from + nr) of the folio at `head`, whose
// first index is `first` (truncate_pagecache_range()'s unmap of a hole).
void unmap_mapping_pages(World& w, const Task* t, Pfn head, int first, int from, int nr);
// The rmap walk: every (mm, vpn) whose PTE maps `pfn` (present, or a
// device-private entry), read with peek() - what rmap_walk() finds under
// the anon_vma / i_mmap locks, which the model does not have. A plain
// range, not a callback, so that the accesses a caller makes per mapping
// carry the caller's (kernel) function name.
struct Mapping {
  int mm;
  int vpn;
};
struct Mappings {
  std::array<Mapping, kMaxMm * kMaxVpn> at{};
  int n = 0;
  const Mapping* begin() const { return at.data(); }
  const Mapping* end() const { return at.data() + n; }
  bool empty() const { return n == 0; }
};
Mappings mappings_of(World& w, Pfn pfn);
// The first mapping of `pfn` in another mm than `mm` (mappings_of(), peek:
// no scheduling point), or nullopt.
std::optional<Mapping> other_mm_mapping(World& w, int mm, Pfn pfn);
// include/linux/pagemap.h: folio_contains(): the folio at `head` holds
// file index `index` (it reads the head's index, a scheduling point).
bool folio_contains(World& w, Pfn head, int index);

// include/linux/rmap.h: folio_large_mapcount(): the mapcounts of the
// folio's pages, each load a scheduling point.
int folio_large_mapcount(World& w, Pfn head);

// mm/rmap.c: try_to_unmap() / try_to_migrate() of one page: every PTE that
// maps it is cleared and, unless the page is anon-exclusive and may be
// pinned (then the PTE is restored and `busy` set, when check_pins), gets a
// swap entry (naming the folio's swap slot) or a migration entry. The mapping's
// reference is dropped either way; the caller must hold its own.
enum class UnmapFor : uint8_t { kSwap, kMigration };
struct Unmapped {
  int mm = 0, vpn = 0;
  Pte pte;  // what it mapped before
};
struct UnmapResult {
  std::array<Unmapped, kMaxMm * kMaxVpn> done{};
  int n = 0;
  bool busy = false;  // stopped at a maybe-pinned exclusive page
};
UnmapResult try_to_unmap(World& w, const Task* t, Pfn pfn, UnmapFor why, bool check_pins);
// include/linux/rmap.h: __folio_try_share_anon_rmap() for the exclusive
// anon page `pfn`, once the caller has cleared its PTE: smp_mb() (unless
// no_try_share_barrier), then false if the folio may be pinned (and
// `check_pins`: the caller puts the PTE back), else PG_anon_exclusive is
// cleared and the ghost notes the page shared by `why` (kCauseNames).
bool folio_try_share_anon_rmap(World& w, const Task* t, Pfn pfn, bool check_pins,
                               const char* why);

// PMD-mapped THPs (model/huge_memory.cc). huge_pmd_fault() is the PMD
// level of handle_mm_fault() for a `thp` VMA: it returns kPmdFallback when
// the fault goes on at the PTE level (the PMD is a table by then), else the
// fault's result. split_huge_pmd() splits a leaf into a table (nothing if
// the PMD is not a leaf; takes the PTL). zap_huge_pmd() zaps a leaf (false
// if the PMD is not one). huge_pmd_suitable(): the PMD's range may be
// mapped huge. Callers hold mmap_lock.
inline constexpr int kPmdFallback = 1 << 8;
bool huge_pmd_suitable(const Mm& m, int vpn);
int huge_pmd_fault(World& w, const Task* t, int mm, int vpn, const Vma& vma, bool write,
                   bool unshare);
void split_huge_pmd(World& w, const Task* t, int mm, int vpn);
bool zap_huge_pmd(World& w, const Task* t, int mm, int vpn, const char* why, bool dontneed);

// mm/page-writeback.c: folio_wait_writeback(); completes queued I/O and
// sleeps on the folio while another thread ends its writeback.
void folio_wait_writeback(World& w, const Task* t, Pfn head);

// Frees a folio whose refcount was frozen to 0 (reclaim, migration).
void free_frozen_folio(World& w, const Task* t, Pfn head);
// page_mkclean(): write-protect and clean every PTE mapping the folio;
// true if any was dirty.
bool page_mkclean(World& w, const Task* t, Pfn head);

// mm/memory.c: do_swap_page() -> ops->migrate_to_ram() for the
// device-private entry at (mm, vpn): copy to a new RAM page, drop the device
// page. 0 (also when the entry is gone meanwhile) or -errno.
// `nofail`: allocate with __GFP_NOFAIL (a driver's eviction).
// `evict`: as a driver's migrate_device_range() does it (mm/migrate_device.c:
// migrate_device_pfn_lock(), migrate_vma_check_page()): the page is only
// trylocked, and one with references beyond its mappings is left in place;
// -EAGAIN then.
int migrate_to_ram(World& w, const Task* t, int mm, int vpn, bool write, bool nofail = false,
                   bool evict = false);
// migrate_pages() of the folio mapped at (mm, vpn); see migrate_vpn().
// `evict`: only trylock the folio (migrate_device_pfn_lock()).
// `held`: the caller holds a reference on this folio and hands it over as
// migration's own (FOLL_LONGTERM: check_and_migrate_movable_pages()); if
// (mm, vpn) no longer maps it, 0 (nothing left to move for this mapping).
// The reference is gone on return.
int migrate_folio_at(World& w, const Task* t, int mm, int vpn, bool nofail = false,
                     bool evict = false, Pfn held = kNoPfn);

// mm/huge_memory.c: split_folio() of a large anon folio to order 0. The
// caller holds the folio lock and one reference; both stay with the head
// piece. 0, -EAGAIN (extra references, a failed freeze) or -EBUSY.
int split_folio(World& w, const Task* t, Pfn head);

// mm/migrate.c: remove_migration_ptes(): every migration entry for `from`
// maps `to` again, with a reference on its folio and a mapcount.
void remove_migration_ptes(World& w, const Task* t, Pfn from, Pfn to);
// The same for each of the `nr` pages of a folio: the entries for page
// from + i map page to + i (remove_migration_ptes() of a whole folio;
// from == to is split's remap_page() and a failed migration's undo).
void remove_folio_migration_ptes(World& w, const Task* t, Pfn from, Pfn to, int nr);
// mm/huge_memory.c: unmap_folio() / mm/rmap.c: try_to_migrate() of a whole
// folio: every PTE of every page becomes a migration entry
// (try_to_unmap(kMigration)), stopping at the first page whose exclusive
// mapping may be pinned when `check_pins` (try_to_migrate_one()'s
// back-off). True if it stopped there ("busy").
bool unmap_folio(World& w, const Task* t, Pfn head, bool check_pins);

// Swap slots and the swap cache (model/swap.cc).
SwapSlot& swap_slot(World& w, int slot);
// add_to_swap(): a free slot for the locked folio, which joins the swap
// cache (PG_swapcache, one reference); false if swap is full.
bool add_to_swap(World& w, const Task* t, Pfn head);
// __delete_from_swap_cache(): folio locked; the cache's reference is the
// caller's to drop.
void delete_from_swap_cache(World& w, Pfn head);
// folio_free_swap(): folio locked; leaves the swap cache (dropping its
// reference) if no swap PTE names its slot any more.
bool folio_free_swap(World& w, const Task* t, Pfn head);
void swap_duplicate(World& w, int slot);
void swap_free(World& w, int slot);
// free_swap_and_cache_nr(): a zapped swap PTE.
void free_swap_and_cache(World& w, const Task* t, int slot);
// swap_cache_get_folio(): the slot's cached folio with a reference,
// kNoPfn if none, or kSwapCacheBusy if one is there but frozen or changing.
inline constexpr Pfn kSwapCacheBusy = -2;
Pfn swap_cache_get_folio(World& w, const Task* t, int slot);
// swapcache_prepare() / swapcache_clear(): a swap-in that reads the slot
// into a private page holds the entry meanwhile (SwapSlot::cache is
// kSwapInClaim); false if the entry is gone or held.
inline constexpr Pfn kSwapInClaim = -3;
bool swapcache_prepare(World& w, int slot);
void swapcache_clear(World& w, int slot);

// Replace the folio mapped in a page cache slot or PTE by a copy: used by
// migration and COW. Copies the data and returns the new pfn (or kNoPfn).
void copy_highpage(World& w, const Task* t, Pfn to, Pfn from);
Pfn alloc_copy(World& w, const Task* t, Pfn from, bool nofail = false);

}  // namespace pf
