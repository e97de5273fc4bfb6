// The model's kernel operations, named as in the kernel. Each takes the World
// and the calling model thread's Task and is written at the granularity of
// the real code's shared accesses (every pf::sync access is one step), so a
// scheduler can interleave them where the kernel can be interleaved.
//
// Results follow the kernel: a count of pages, or a negative errno. Pages
// returned by GUP are recorded in task.held; each must later be released by
// the matching call (put_page() for FOLL_GET, unpin_user_page*() for FOLL_PIN).
// Oracles report through world.violations and never abort.
#pragma once

#include <span>

#include "model/world.h"

namespace pf {

// errno values the model returns (negated).
inline constexpr int kEFAULT = 14, kEINVAL = 22, kENOMEM = 12, kEAGAIN = 11,
                      kEBUSY = 16, kENOENT = 2, kEEXIST = 17,
                      kEOPNOTSUPP = 95;

enum class MakeDirty : bool { kNo = false, kYes = true };

struct GupFlags {
  bool write = false;     // FOLL_WRITE
  bool longterm = false;  // FOLL_LONGTERM
  bool p2pdma = false;    // FOLL_PCI_P2PDMA
  bool force = false;     // FOLL_FORCE (ptrace, /proc/pid/mem)
};

// handle_mm_fault()'s VM_FAULT_WRITE: do_wp_page() broke COW (copied) or
// reused the page for a write. Returned instead of 0; errors are negative.
inline constexpr int kVmFaultWrite = 1;

// ------------------------------------------------------------ mm/gup.c

// get_user_pages(): FOLL_GET references on [vpn, vpn+nr) of task.mm, taken
// under mmap_lock, faulting pages in as needed. Returns pages grabbed (added
// to task.held, each to be released with put_page()) or -errno.
int get_user_pages(World& w, Task& t, int vpn, int nr, GupFlags f);
// pin_user_pages(): as above with FOLL_PIN; release with unpin_user_page*().
int pin_user_pages(World& w, Task& t, int vpn, int nr, GupFlags f);
// get_user_pages_fast() / pin_user_pages_fast(): lockless walk first
// (gup_fast_pte_range: read PTE, grab, re-check), falling back to the slow
// path for whatever it could not grab.
int get_user_pages_fast(World& w, Task& t, int vpn, int nr, GupFlags f);
int pin_user_pages_fast(World& w, Task& t, int vpn, int nr, GupFlags f);

// put_page() on a FOLL_GET reference held in task.held[slot].
void put_page(World& w, Task& t, int slot);
// 2018 placeholders (the seed thread): put_user_page() == put_page().
void put_user_page(World& w, Task& t, int slot);
void put_user_pages(World& w, Task& t, std::span<const int> slots);
// v5.2/v5.3 put_user_pages_dirty_lock(pages, n, make_dirty).
void put_user_pages_dirty_lock(World& w, Task& t, std::span<const int> slots,
                               MakeDirty make_dirty);
// unpin_user_page(s)(): release FOLL_PIN pins.
void unpin_user_page(World& w, Task& t, int slot);
void unpin_user_pages(World& w, Task& t, std::span<const int> slots);
// unpin_user_pages_dirty_lock(): maybe mark dirty, and definitely release.
void unpin_user_pages_dirty_lock(World& w, Task& t, std::span<const int> slots,
                                 MakeDirty make_dirty);

// folio_maybe_dma_pinned() as the design computes it. False positives are
// allowed; a false negative while pins are outstanding is reported
// (pin_count_mismatch) when `t` is given, i.e. when a consumer acts on it.
bool folio_maybe_dma_pinned(World& w, const Task* t, Pfn pfn);
// The same answer read with peek(): not a scheduling point, for oracles.
bool folio_maybe_dma_pinned_peek(const World& w, Pfn head);

// ----------------------------------------------------- page refs (mm.h)

// folio_try_get(): +1 unless the count is 0. One cmpxchg loop, as the kernel.
bool folio_try_get(World& w, const Task* t, Pfn head);
// folio_put_refs(): drop refs; frees the folio when the count reaches 0
// (ZONE_DEVICE: free_zone_device_folio / put_devmap_managed_page rules).
void folio_put_refs(World& w, const Task* t, Pfn head, int32_t refs);
inline void folio_put(World& w, const Task* t, Pfn head) { folio_put_refs(w, t, head, 1); }
// folio_ref_add() on a count the caller knows is positive.
void folio_ref_add(World& w, const Task* t, Pfn head, int32_t refs);
// folio_ref_freeze(): cmpxchg(expected -> 0).
bool folio_ref_freeze(World& w, Pfn head, int32_t expected);
void folio_ref_unfreeze(World& w, Pfn head, int32_t count);

// ------------------------------------------------------- page lock, dirty

void folio_lock(World& w, Pfn head);
bool folio_trylock(World& w, Pfn head);
void folio_unlock(World& w, Pfn head);
// set_page_dirty() / folio_mark_dirty(): through the file's ->dirty_folio
// (ext4_dirty_folio: the model keeps its WARN_ON_ONCE(!folio_buffers())
// as the dirty_without_buffers oracle).
bool folio_mark_dirty(World& w, const Task* t, Pfn head);
// set_page_dirty_lock(): lock_page(), set_page_dirty(), unlock_page().
bool set_page_dirty_lock(World& w, const Task* t, Pfn head);

// ------------------------------------------------ mm/page-writeback.c

// Writeback of one page-cache index (write_cache_pages for one folio):
// lock, clear_page_dirty_for_io (page_mkclean), set writeback, submit I/O,
// then complete whatever I/O is queued. Returns true if I/O was submitted.
bool writeback(World& w, Task& t, int index);
// Completes queued I/O: disk <- page data, end_page_writeback().
void complete_io(World& w, const Task* t);
// Writes back every dirty page of the file and completes all I/O.
void sync_file(World& w, Task& t);

// -------------------------------------------------------- mm/vmscan.c

// shrink_folio_list() for the page at task.mm's vpn (anon: swap-out through
// try_to_unmap and __folio_try_share_anon_rmap) or at a file index.
// Returns true if the page was freed.
bool reclaim_vpn(World& w, Task& t, int vpn);
bool reclaim_file(World& w, Task& t, int index);

// -------------------------------------------------------- mm/migrate.c

// migrate_pages() of the folio mapped at task.mm's vpn to a new page.
// Returns 0 or -EAGAIN (extra references: folio_expected_refs()).
int migrate_vpn(World& w, Task& t, int vpn);

// ------------------------------------------------- mm/memory.c, fork

// handle_mm_fault(): the caller holds mmap_lock for read. 0, kVmFaultWrite
// or -errno.
int handle_mm_fault(World& w, const Task* t, int mm, int vpn, bool write, bool unshare);
// fork(): copy_page_range() of task.mm into a new mm; returns its id or -errno.
int fork_mm(World& w, Task& t);
// khugepaged's collapse_huge_page() of the PMD covering task.mm's vpn: the
// exclusive order-0 anon pages there are replaced by new ones through a new
// page table. 0, or -errno (-EBUSY: a page had an extra reference, a pin).
int collapse_pmd(World& w, Task& t, int vpn);
// mm/huge_memory.c: split_folio() of the large anon folio mapped at
// task.mm's vpn to order 0, as split_huge_pages_pid() does it (mmap_lock
// for read, folio_get(), folio_trylock()). 0; -EAGAIN (extra references:
// can_split_folio(), a failed freeze; or the folio lock was taken);
// -EBUSY (writeback); -EINVAL (not a large anon folio); -EFAULT (no page).
int split_folio_vpn(World& w, Task& t, int vpn);
// munmap() of one virtual page of task.mm.
void munmap_vpn(World& w, Task& t, int vpn);
// A CPU store through the page table (faulting as needed). Returns the value
// written or -errno.
int64_t user_write(World& w, Task& t, int mm, int vpn);
// A CPU load through the page table; -errno if it cannot be mapped.
int64_t user_read(World& w, Task& t, int mm, int vpn);
// mm/memory.c: __access_remote_vm() writing one value into mm's vpn, as a
// write to /proc/pid/mem or ptrace(PTRACE_POKEDATA) does: under mmap_lock
// for read, get_user_page_vma_remote() with FOLL_FORCE|FOLL_WRITE,
// copy_to_user_page(), set_page_dirty_lock(), put_page(). Returns the value
// written or -errno.
int64_t access_remote_vm_write(World& w, Task& t, int mm, int vpn);
// mm/madvise.c: madvise(MADV_DONTNEED) of one page of task.mm:
// zap_page_range_single() under mmap_lock held for read. 0 or -errno.
int madvise_dontneed(World& w, Task& t, int vpn);
// mm/userfaultfd.c: ioctl(UFFDIO_CONTINUE) on one page of task.mm: maps the
// page cache's page at a none PTE, read-only but dirty
// (mfill_atomic_install_pte()), under mmap_lock for read. The kernel's minor
// faults exist for shmem and hugetlbfs; the model's file stands in for shmem
// only in its private (`file_private`) mappings, which never write the cache.
// The VMA counts as registered in minor mode; faults are not delivered to
// user space (a read fault maps the page itself), and UFFDIO_CONTINUE may be
// called without one pending, as the kernel allows. 0 or -errno.
int uffd_continue(World& w, Task& t, int vpn);
// mm/mprotect.c: mprotect() of one page of task.mm to PROT_READ (write =
// false) or PROT_READ|PROT_WRITE, under mmap_lock for write:
// change_pte_range(). 0 or -errno.
int mprotect_vpn(World& w, Task& t, int vpn, bool write);
// mm/ksm.c: write_protect_page() of the order-0 anon page at task.mm's
// vpn, as ksmd's first merge step runs it (model/ksm.cc). 0 or -EFAULT
// (nothing to do, the folio lock was taken, or extra references or a
// maybe-pinned exclusive page made it back off).
int ksm_write_protect(World& w, Task& t, int vpn);

// --------------------------------------------------- mm/truncate.c

// truncate_inode_pages_range() for one index.
void truncate_index(World& w, Task& t, int index);

// --------------------------------------------------- device DMA

// The device writes a new value into the page held in task.held[slot], by
// pfn, as hardware does (not through the page table). Returns the value.
int64_t dma_write(World& w, Task& t, int slot);

// The next fresh data value (values only grow, so the disk oracle can tell
// newer from older).
uint32_t next_data_value(World& w);

}  // namespace pf
