// World: everything a model run can touch. Small on purpose (tens of pages,
// a few threads): the bugs live in interleavings, not in scale.
//
// Built once from a WorldSpec before any model thread runs; after that only
// model operations (through pf::sync) change it. Ghost state (what really
// happened, kept outside every design) is plain std::atomic: updating it is
// not a scheduling point, so oracles never perturb the schedule.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <boost/lockfree/queue.hpp>
#include <boost/lockfree/stack.hpp>

#include "model/design.h"
#include "model/page.h"
#include "model/sync/locks.h"
#include "model/tracking.h"
#include "model/violation.h"

namespace pf {

inline constexpr int kMaxPages = 48;
inline constexpr int kMaxVpn = 8;       // virtual pages per mm
inline constexpr int kMaxMm = 4;        // the first mm plus forks
inline constexpr int kMaxFileIdx = 8;   // pages per file
inline constexpr int kMaxPgmaps = 4;
inline constexpr int kMaxThreads = 4;
inline constexpr int kMaxHeld = 8;      // GUP results a thread may hold
inline constexpr int kMaxSwap = 16;     // swap slots of the one swap device

// ---------------------------------------------------------------- page table

// A PTE packed in one word so that a lockless reader (GUP-fast) sees it
// atomically, as READ_ONCE(*ptep) does.
struct Pte {
  Pfn pfn = kNoPfn;
  bool present = false;
  bool writable = false;
  bool dirty = false;
  bool device_private = false;  // non-present device-private swap entry
  bool swap = false;            // non-present swap entry; pfn is its slot (World::swap)
  bool migration = false;       // non-present migration entry (faults wait)
  // Migration and swap entries: the page was exclusive when unmapped
  // (make_readable_exclusive_migration_entry(), pte_swp_mkexclusive());
  // fork's copy drops it.
  bool exclusive = false;

  uint64_t pack() const {
    return static_cast<uint64_t>(static_cast<uint16_t>(pfn)) |
           (uint64_t{present} << 16) | (uint64_t{writable} << 17) |
           (uint64_t{dirty} << 18) | (uint64_t{device_private} << 19) |
           (uint64_t{swap} << 20) | (uint64_t{migration} << 21) | (uint64_t{exclusive} << 22);
  }
  static Pte unpack(uint64_t w) {
    Pte p;
    p.pfn = static_cast<Pfn>(static_cast<uint16_t>(w & 0xffff));
    p.present = (w >> 16) & 1;
    p.writable = (w >> 17) & 1;
    p.dirty = (w >> 18) & 1;
    p.device_private = (w >> 19) & 1;
    p.swap = (w >> 20) & 1;
    p.migration = (w >> 21) & 1;
    p.exclusive = (w >> 22) & 1;
    return p;
  }
  bool none() const { return !present && !device_private && !swap && !migration; }
};
inline constexpr uint64_t kPteNone = 0xffff;  // Pte{}.pack()
// A present PTE (mk_pte(), with the write and dirty bits).
inline Pte present_pte(Pfn pfn, bool writable, bool dirty) {
  Pte p;
  p.pfn = pfn;
  p.present = true;
  p.writable = writable;
  p.dirty = dirty;
  return p;
}

enum class VmaKind : uint8_t {
  kNone,        // unmapped
  kAnon,        // private anonymous
  kFile,        // MAP_SHARED file mapping backed by page cache
  kDax,         // MAP_SHARED fs-dax file mapping (pages are ZONE_DEVICE)
  kP2pdma,      // a mapping of p2pdma BAR pages (VM_IO-like, needs FOLL_PCI_P2PDMA)
  // MAP_PRIVATE file mapping (a COW mapping): a read fault maps the
  // page-cache page read-only, a write fault copies it into an anon page of
  // this mm (mm/memory.c: do_read_fault(), do_cow_fault(), wp_page_copy()).
  kFilePrivate,
};

struct Vma {
  VmaKind kind = VmaKind::kNone;
  int pgoff = 0;  // file index of this virtual page (kFile, kDax, kFilePrivate)
  // !VM_WRITE: a PROT_READ mapping (or mprotect(PROT_READ)). VM_MAYWRITE is
  // always set in the model (the file is opened read-write; a private
  // mapping may always be written by a COW), so FOLL_FORCE can still write
  // a COW mapping (mm/gup.c: check_vma_flags()).
  bool readonly = false;
  // VM_HUGEPAGE with THP enabled (the `thp` backing): a fault on a none PMD
  // may map the huge zero page or a THP with one PMD (mm/memory.c
  // __handle_mm_fault() -> create_huge_pmd(); docs/model.md "PMD-mapped
  // THPs"). Both vpns of the PMD have it.
  bool thp = false;

  // is_cow_mapping(): private and may be written (VM_MAYWRITE && !VM_SHARED).
  // Anonymous memory in the model is MAP_PRIVATE.
  bool cow() const { return kind == VmaKind::kAnon || kind == VmaKind::kFilePrivate; }
  bool file() const { return kind == VmaKind::kFile || kind == VmaKind::kFilePrivate; }

  uint32_t pack() const {
    return static_cast<uint32_t>(kind) | (static_cast<uint32_t>(pgoff) & 0xffff) << 8 |
           uint32_t{readonly} << 24 | uint32_t{thp} << 25;
  }
  static Vma unpack(uint32_t w) {
    return Vma{static_cast<VmaKind>(w & 0xff), static_cast<int>((w >> 8) & 0xffff),
               ((w >> 24) & 1) != 0, ((w >> 25) & 1) != 0};
  }
};

inline constexpr uint32_t MMF_HAS_PINNED = 1u << 0;

// Page tables. Each PMD maps kVpnPerPmd consecutive vpns through one of two
// PTE tables; a PMD value is (generation << 2 | table << 1 | none). Only THP
// collapse switches tables (khugepaged: clear the PMD, then point it at a new
// mapping), and the old table stays readable, detached, as the kernel's does
// for GUP-fast walkers until they are done. GUP-fast reads a PTE through the
// PMD value it read (pte_in()); everything else uses the current table
// (pte()), which only collapse changes, under mmap_lock for write.
inline constexpr int kVpnPerPmd = 2;
inline constexpr int kNumPmds = kMaxVpn / kVpnPerPmd;
// The order of the folio a collapse makes: one PMD's worth of pages, mapped
// by PTEs (docs/model.md, "THP collapse").
inline constexpr int kCollapseOrder = 1;
static_assert((1 << kCollapseOrder) == kVpnPerPmd);
// Free folios of kCollapseOrder the allocator keeps apart (alloc_folio()).
inline constexpr int kThpPool = 2;
inline constexpr uint32_t kPmdNone = 1;   // cleared (pmdp_collapse_flush), or never filled
inline constexpr uint32_t kPmdTable = 2;  // which of the two tables
inline constexpr uint32_t kPmdGen = 4;    // one generation
// A PMD leaf (pmd_trans_huge()): the PMD maps a folio of kCollapseOrder
// itself, the huge zero page or an anon THP, and its table's PTEs are all
// none. Only in a `thp` VMA. The low 16 bits keep the table and generation
// the PMD had, so that a split (__split_huge_pmd_locked()) fills the same
// table. A PMD goes none -> leaf, leaf -> none (zap_huge_pmd()), leaf ->
// table (a split) and none -> table (a PTE-level fault), each under the PTL
// and mmap_lock for read; a table stays a table until mmap_lock is taken
// for write (collapse, munmap). So code that found a table may walk it.
inline constexpr uint32_t kPmdLeaf = 1u << 31;
inline constexpr uint32_t kPmdLeafWrite = 1u << 30;
inline constexpr uint32_t kPmdLeafDirty = 1u << 29;
inline constexpr int kPmdLeafPfnShift = 16;
inline constexpr uint32_t kPmdLowBits = 0xffff;
inline bool pmd_leaf(uint32_t v) { return (v & kPmdLeaf) != 0; }
// pmd_none(): neither a leaf nor a table (a leaf's own low bits never have
// kPmdNone).
inline bool pmd_none(uint32_t v) { return !pmd_leaf(v) && (v & kPmdNone) != 0; }
inline Pfn pmd_leaf_pfn(uint32_t v) {
  return static_cast<Pfn>((v >> kPmdLeafPfnShift) & 0x1fff);
}
// The PMD value mapping `head` as a leaf, in place of `old` (its table and
// generation kept).
inline uint32_t make_pmd_leaf(uint32_t old, Pfn head, bool write, bool dirty) {
  return kPmdLeaf | (write ? kPmdLeafWrite : 0) | (dirty ? kPmdLeafDirty : 0) |
         static_cast<uint32_t>(head) << kPmdLeafPfnShift | (old & (kPmdLowBits & ~kPmdNone));
}
// The PTE a leaf amounts to for the page of `vpn` (follow_trans_huge_pmd():
// "page += (addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT").
inline Pte pmd_leaf_pte(uint32_t v, int vpn) {
  return present_pte(static_cast<Pfn>(pmd_leaf_pfn(v) + vpn % kVpnPerPmd),
                     (v & kPmdLeafWrite) != 0, (v & kPmdLeafDirty) != 0);
}

struct Mm {
  // live: its page tables exist, so rmap walks see them (from the start of
  // the fork that makes it). ready: a process runs in it, so it can be
  // used (from the end of that fork). Ghost-like flags, not steps.
  std::atomic<bool> live{false};
  std::atomic<bool> ready{false};
  std::array<sync::Atomic<uint32_t>, kNumPmds> pmd{};
  std::array<std::array<std::array<sync::Atomic<uint64_t>, kVpnPerPmd>, 2>, kNumPmds> tables;
  sync::RwSem mmap_lock;
  sync::SpinLock ptl;              // the page table lock
  sync::SeqCount write_protect_seq;
  sync::Atomic<uint32_t> flags{0}; // MMF_HAS_PINNED

  Mm() {
    for (auto& pair : tables)
      for (auto& table : pair)
        for (auto& p : table) p.init(kPteNone);
  }
  // The PTE of `vpn` in the table the PMD value `pmd_value` points to.
  sync::Atomic<uint64_t>& pte_in(int vpn, uint32_t pmd_value) {
    return tables[static_cast<size_t>(vpn / kVpnPerPmd)][(pmd_value & kPmdTable) ? 1 : 0]
                 [static_cast<size_t>(vpn % kVpnPerPmd)];
  }
  // The PTE of `vpn` in the current table. Following the PMD to its table
  // is not a scheduling point: the table only changes under mmap_lock for
  // write, which every other path excludes (or, for rmap walkers of anon
  // pages, the folio locks collapse holds).
  sync::Atomic<uint64_t>& pte(int vpn) {
    return pte_in(vpn, pmd[static_cast<size_t>(vpn / kVpnPerPmd)].peek());
  }
  const sync::Atomic<uint64_t>& pte(int vpn) const { return const_cast<Mm*>(this)->pte(vpn); }
  sync::Atomic<uint32_t>& pmd_of(int vpn) { return pmd[static_cast<size_t>(vpn / kVpnPerPmd)]; }
  // What maps `vpn` as the oracles see it (no scheduling point): the PTE,
  // or the page of a PMD leaf as a PTE.
  Pte mapped(int vpn) const {
    const uint32_t v = pmd[static_cast<size_t>(vpn / kVpnPerPmd)].peek();
    return pmd_leaf(v) ? pmd_leaf_pte(v, vpn) : Pte::unpack(pte(vpn).peek());
  }
  const sync::Atomic<uint64_t>& pte_in(int vpn, uint32_t pmd_value) const {
    return const_cast<Mm*>(this)->pte_in(vpn, pmd_value);
  }

  // The VMA of `vpn` as the mm's own tree holds it (find_vma()). Plain
  // memory, as in the kernel, protected by mmap_lock: read only with it held
  // (read or write), written only with it held for write. What makes a
  // munmap's change visible to the next fault is the lock's RELEASE in
  // up_write() and ACQUIRE in down_read() (mmap_lock_no_acquire removes the
  // latter, e1b98fa31664, and ThreadSanitizer reports this field).
  const Vma& vma(int vpn) const { return vma_[static_cast<size_t>(vpn)]; }
  // Caller holds mmap_lock for write, or builds an mm no one runs in yet
  // (World::build, fork's child before `ready`). Updates both views.
  void set_vma(int vpn, Vma v) {
    vma_[static_cast<size_t>(vpn)] = v;
    vma_rmap_[static_cast<size_t>(vpn)].store(v.pack(), std::memory_order_release);
  }
  // The same VMA as the walkers that do not take mmap_lock see it: the
  // file's i_mmap tree (unmap_mapping_folio(), under i_mmap_rwsem in the
  // kernel, a lock the model does not have), GUP-fast's file-mapping test
  // (the kernel reads folio->mapping in gup_fast_folio_allowed() instead)
  // and the oracles. A std::atomic copy, not a scheduling point; set_vma()
  // publishes it with RELEASE, this reads it with ACQUIRE.
  Vma vma_unlocked(int vpn) const {
    return Vma::unpack(vma_rmap_[static_cast<size_t>(vpn)].load(std::memory_order_acquire));
  }

 private:
  std::array<Vma, kMaxVpn> vma_{};
  std::array<std::atomic<uint32_t>, kMaxVpn> vma_rmap_{};
};

// ------------------------------------------------------------ file and disk

// mm/swapfile.c, mm/swap_state.c: one slot of the swap device. `count` is
// swap_map[]: how many swap PTEs name the slot. `cache` is the swap cache's
// folio for it (the swap address space's xarray), kNoPfn if none; the folio
// has PG_swapcache and Page::swap naming the slot, and the cache holds a
// reference on it. `data` is what the slot holds on disk (pageout()). A
// slot is free when no PTE names it and no folio caches it; allocating and
// freeing one (get_swap_pages(), under si->lock: World::swap_mu) are not
// scheduling points.
struct SwapSlot {
  sync::Atomic<int32_t> count{0};
  sync::Atomic<int16_t> cache{kNoPfn};
  sync::Immediate<uint32_t> data{0};
  std::atomic<bool> used{false};
};

struct File {
  bool dax = false;            // fs-dax: no page cache, pages are the pmem
  bool buffers = true;         // ext4-style: every dirty page needs buffers
  sync::SpinLock i_pages_lock; // xa_lock of the page cache
  std::array<sync::Atomic<int16_t>, kMaxFileIdx> cache;  // index -> pfn
  std::array<sync::Immediate<uint32_t>, kMaxFileIdx> disk;  // block contents
  sync::RwSem invalidate_lock; // mapping->invalidate_lock (truncate vs fault)

  File() {
    for (auto& c : cache) c.init(kNoPfn);
  }
};

// ----------------------------------------------------------------- pagemaps

enum class PgmapType : uint8_t {
  kDevicePrivate,
  kDeviceCoherent,
  kFsDax,
  kP2pdma,
};
const char* pgmap_type_name(PgmapType t);

struct DevPagemap {
  PgmapType type = PgmapType::kFsDax;
  sync::PercpuRef ref;
  Pfn first = kNoPfn;
  int nr = 0;
  sync::Atomic<int32_t> torn_down{0};
  // The driver's own lock around its teardown (lib/test_hmm.c:
  // mdevice->devmem_lock in dmirror_device_remove_chunks()).
  sync::Mutex driver_lock;
  // Driver-side free list for device-private/coherent pages (by pfn).
  std::array<sync::Atomic<int32_t>, kMaxPages> idle{};  // 1 = page idle
};

// ----------------------------------------------------------------- page_ext

// mm/page_ext.c: per-page data kept outside struct page, for a design that
// keeps its own state there (a design's file says what each word means).
// Only memory the kernel onlined has it: page_ext_init() covers the boot
// memory's sections and online_page_ext() runs from the MEM_GOING_ONLINE
// notifier, which memremap_pages() never raises, so lookup_page_ext() finds
// no page_ext for a ZONE_DEVICE page and page_ext_get() returns NULL.
struct PageExt {
  std::array<sync::Atomic<int32_t>, 2> word{};
};

// ---------------------------------------------------------------- ghost state

// A ghost cause: one of kCauseNames (nullptr: none), in one byte.
inline constexpr std::array<const char*, 14> kCauseNames = {
    nullptr, "cow", "swap", "migration", "collapse", "munmap", "file_unmap",
    "fork", "pin_of_shared_page", "grab", "put_page", "unpin", "madvise_dontneed", "ksm"};
class CauseTag {
 public:
  // `name` must be one of kCauseNames (a name missing there is a model bug).
  void store(const char* name) { v_.store(index(name), std::memory_order_relaxed); }
  const char* load() const { return kCauseNames[v_.load(std::memory_order_relaxed)]; }
  void set_if_none(const char* name) {
    uint8_t none = 0;
    v_.compare_exchange_strong(none, index(name), std::memory_order_relaxed);
  }

 private:
  static uint8_t index(const char* name) {
    if (!name) return 0;
    // The linker merges equal string literals, so the address usually
    // matches; strcmp() only when it does not (a libFuzzer build intercepts
    // every strcmp(): 0.6% of a worker's time when it came first).
    for (uint8_t i = 1; i < kCauseNames.size(); ++i)
      if (kCauseNames[i] == name) return i;
    for (uint8_t i = 1; i < kCauseNames.size(); ++i)
      if (std::strcmp(kCauseNames[i], name) == 0) return i;
    std::abort();
  }
  std::atomic<uint8_t> v_{0};
};

struct Ghost {
  std::array<std::atomic<int32_t>, kMaxPages> pins{};     // per folio head
  std::array<std::atomic<int32_t>, kMaxPages> gup_refs{}; // FOLL_GET handles, per head
  std::array<std::atomic<uint8_t>, kMaxPages> freed{};    // on the free list
  std::array<std::atomic<int32_t>, kMaxPages> page_free_calls{};
  std::array<std::atomic<int32_t>, kMaxPages> device_allocs{};  // zone_device_page_init()s
  std::array<std::atomic<int64_t>, kMaxFileIdx> expected_disk{};  // -1: none
  std::array<std::atomic<uint32_t>, kMaxFileIdx> trunc_gen{};     // truncations
  // MADV_DONTNEED zaps, per mm and vpn: the caller threw the page away, and
  // a GUP user of it keeps an orphan (as after truncation).
  std::array<std::array<std::atomic<uint32_t>, kMaxVpn>, kMaxMm> zap_gen{};
  // Per file index: a FOLL_GET user dirtied the page there after reclaim had
  // released its buffers (the get_dirty_without_buffers limitation), so the
  // writeback of that page without buffers is the same limitation, not a
  // design's mistake. Cleared when buffers are attached again or the index
  // is truncated.
  std::array<std::atomic<uint8_t>, kMaxFileIdx> get_dirtied{};
  // Deferred TLB flushes (the TLB model, model/memory.cc): per mm and vpn,
  // the PTE an unfinished change replaced, with kTlbValid set; 0 when no
  // flush is pending. Hardware state, not a design's: not a scheduling point.
  std::array<std::array<std::atomic<uint64_t>, kMaxVpn>, kMaxMm> tlb_pending{};
  // Per mm, bumped when a fork of it starts and when it ends (odd: a fork
  // is copying its page tables).
  std::array<std::atomic<uint32_t>, kMaxMm> fork_seq{};
  std::atomic<int64_t> pins_acquired{0};   // nr_foll_pin_acquired
  std::atomic<int64_t> pins_released{0};   // nr_foll_pin_released
  std::atomic<uint32_t> next_value{1000};  // data values only grow
  // Causes, for the oracles' reports (Violation::cause; string literals,
  // nullptr: none). replaced_by: what last took a page out of a PTE of an
  // mm ("cow", "swap"...), per mm and pfn: per pfn, so that the pinned
  // page's replacement is not overwritten by that of the page that took its
  // place (a COW'd copy later migrated). Per folio head, while pin_grabs
  // (pins grabbed and not yet released, committed or not: the per-folio
  // nr_foll_pin_acquired - nr_foll_pin_released) is above 0, and cleared
  // when it drops to 0: pin_lost_at, where the design's answer turned false
  // ("grab": never true; "put_page"; "unpin": another pin's release);
  // shared_by, what made the pinned page shared ("fork", "swap", ...).
  // One byte each (CauseTag): a World is built for every run, and these
  // arrays are zeroed with it.
  std::array<std::array<CauseTag, kMaxPages>, kMaxMm> replaced_by{};
  std::array<std::atomic<int32_t>, kMaxPages> pin_grabs{};
  std::array<CauseTag, kMaxPages> pin_lost_at{};
  std::array<CauseTag, kMaxPages> shared_by{};
  void note_replaced(int mm, Pfn pfn, const char* why) {
    if (pfn >= 0 && pfn < kMaxPages)
      replaced_by[static_cast<size_t>(mm)][static_cast<size_t>(pfn)].store(why);
  }
  // PageAnonExclusive was cleared on a page of this folio by `why`.
  void note_shared(Pfn head, const char* why) {
    if (pin_grabs[static_cast<size_t>(head)].load() > 0)
      shared_by[static_cast<size_t>(head)].set_if_none(why);
  }
  // Bit pfn set while pins[pfn] > 0: the folios the per-step invariant
  // must look at, so it costs nothing when nothing is pinned.
  std::atomic<uint64_t> pinned_heads{0};
  static_assert(kMaxPages <= 64, "pinned_heads is one word");
};

// -------------------------------------------------------------- threads

// One page returned by GUP and not yet released.
struct Held {
  Pfn pfn = kNoPfn;   // the page (possibly a tail)
  Pfn head = kNoPfn;  // its folio at grab time
  int8_t mm = -1;
  int8_t vpn = -1;
  GupHow how = GupHow::kGet;
  bool live = false;
  int8_t index = -1;     // file index at grab time (file-backed pages)
  uint32_t trunc_gen = 0;  // that index's truncate generation at grab time
  uint32_t zap_gen = 0;    // Ghost::zap_gen of (mm, vpn) at grab time
  // A page-cache page reached through a private mapping. The process's next
  // write copies it away: "R/O short-term pinning does not have the
  // semantics to observe successive changes through the process page
  // tables" (mm/internal.h: gup_must_unshare()), and a R/O long-term pin
  // unshares first. So check_pin_stable() promises nothing for it.
  bool file_cow = false;
  bool write = false;      // grabbed with FOLL_WRITE: the device may write it
  // FOLL_GET only: the page was an exclusive anon page when grabbed, and the
  // mm's Ghost::fork_seq then (see check_get_coherent()).
  bool exclusive = false;
  uint32_t fork_seq = 0;
};

// A TLB entry: the PTE word it caches, with this bit set (0: empty).
inline constexpr uint64_t kTlbValid = uint64_t{1} << 63;

// A model thread's context: identity, the mm it runs in, and what it holds.
struct Task {
  int id = 0;
  int mm = 0;
  // The pagemap this thread is tearing down (driver_teardown(), from before
  // it takes the driver's lock), -1 if none; and whether it is in
  // memunmap_pages()' wait for the pagemap's references. Plain: only this
  // thread writes them, and they are read after the run has ended (a
  // thread unwound from a hang leaves them set).
  int teardown = -1;
  bool memunmap_waiting = false;
  // In access_remote_vm_write()'s set_page_dirty_lock(): a FOLL_GET user
  // dirtying a page it wrote (the get_dirty_without_buffers limitation).
  bool dirtying_foll_get = false;
  // This CPU's TLB: the PTE it last walked for each mm and vpn, |kTlbValid.
  // Only this thread reads or writes its own entries, except a flush, which
  // drops them (a shootdown).
  // Atomic only so that a shootdown from another OS thread is not a data
  // race; the TLB is off on real threads (sync::Hook::parallel).
  std::array<std::array<std::atomic<uint64_t>, kMaxVpn>, kMaxMm> tlb{};
  std::array<Held, kMaxHeld> held{};
  int nheld() const;
  int add(const Held& h);  // returns slot or -1 if full
};

// --------------------------------------------------------------- the world

// What a virtual page of mm 0 holds at setup.
enum class Backing : uint8_t {
  kNone,
  kAnon,            // anonymous page (order from the spec)
  kAnonMovable,     // anonymous page in ZONE_MOVABLE
  kZeroPage,        // read-only mapping of the shared zero page
  kFile,            // page-cache page of the file, with buffers
  kDax,             // fs-dax page of a pagemap
  kDevicePrivate,   // anon page migrated to device-private memory
  kDeviceCoherent,  // anon page in device-coherent memory
  kP2pdma,          // p2pdma page
  kFilePrivate,     // page-cache page of the file, mapped MAP_PRIVATE (read-only PTE)
  // (format 8) a THP-eligible anonymous range of one PMD, not faulted in
  // yet: the PMD is none (docs/model.md "PMD-mapped THPs").
  kThp,
};
inline constexpr int kNumBackings = 11;
const char* backing_name(Backing b);

inline constexpr int kMaxOrder = 3;        // 2^3 = kMaxVpn pages
inline constexpr int kMaxFreePages = 16;

struct VpnSpec {
  Backing backing = Backing::kNone;
  uint8_t order = 0;  // large folio: covers 2^order consecutive vpns
  bool writable = true;   // the PTE starts writable (text: `ro` clears it)
  bool vm_write = true;   // the VMA has VM_WRITE (text: `prot=r` clears it)
  friend bool operator==(const VpnSpec&, const VpnSpec&) = default;
};

struct WorldSpec {
  std::array<VpnSpec, kMaxVpn> vpn{};
  int free_pages = 8;  // order-0 pages on the allocator's free list

  // The spec as World builds it: only anonymous backings have an order, a
  // folio that would not fit the mm is order 0, the zero page, a
  // file_private page and a vpn without VM_WRITE have a read-only PTE,
  // vpns inside a large folio
  // are kNone, unmapped vpns are default, free_pages is in 0..kMaxFreePages.
  // Worlds built from a spec and from its canonical form are the same.
  WorldSpec canonical() const;
  friend bool operator==(const WorldSpec&, const WorldSpec&) = default;
};

// One folio's write I/O: its pages go to the file indexes from `index`
// (the head's) on. snapshot[i]: the data page i writes (a bounce buffer);
// -1 = read the page at completion.
struct IoCompletion {
  int16_t pfn;  // the folio's head
  int16_t index;
  std::array<int64_t, 1 << kMaxOrder> snapshot;
};

class World {
 public:
  World(const Design& design, const WorldSpec& spec);
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  const Design design;
  const Tracking& tracking;  // the design's implementation (model/tracking.h)
  const WorldSpec spec;
  RefWidth width;

  std::array<Page, kMaxPages> pages;
  std::array<Mm, kMaxMm> mm;
  File file;
  std::array<SwapSlot, kMaxSwap> swap;
  std::array<DevPagemap, kMaxPgmaps> pgmaps;
  std::array<Task, kMaxThreads> tasks;
  int npgmaps = 0;
  Pfn zero_pfn = kNoPfn;
  // mm/huge_memory.c: the huge zero folio (get_huge_zero_folio()), of
  // kCollapseOrder, made at setup when a `thp` vpn exists.
  Pfn huge_zero_pfn = kNoPfn;
  Ghost ghost;
  ViolationSink violations;
  // Known kernel limitations met (limitations.def): kept apart, so that
  // violated() and violations.first() are about the design only.
  ViolationSink limitations;

  sync::SpinLock lru_lock;      // lru_count's dma_pinned_count updates
  // Guards every Task::held array for the oracles, which read other
  // threads' handles. Oracle-side: not a scheduling point.
  std::mutex held_mu;
  // The swap device's si->lock, for slot allocation and freeing only
  // (model/swap.cc). Not a scheduling point: nothing under it is one.
  std::mutex swap_mu;
  sync::Atomic<int32_t> mm_count{1};

  // mm/page_alloc.c: the free list of order-0 pfns (Boost.Lockfree stack:
  // a lock-free LIFO is what per-cpu page lists are). One scheduling point.
  // kNoPfn when the list is empty, unless `nofail` (__GFP_NOFAIL, as a
  // driver evicting its device memory allocates): then the page comes from
  // a small reserve kept for that.
  Pfn alloc_page(sync::Site s = sync::Site::here(), bool nofail = false);
  void free_page(Pfn pfn, sync::Site s = sync::Site::here());
  // mm/page_alloc.c: __folio_alloc(order = kCollapseOrder), as khugepaged's
  // alloc_charge_folio() asks. The model's buddy allocator does not merge
  // order-0 pages: it keeps kThpPool free folios of that order apart, set
  // up after the free list, and a freed folio of that order goes back there.
  // kNoPfn when none is free (SCAN_ALLOC_HUGE_PAGE_FAIL). One scheduling
  // point, the allocator's, as alloc_page().
  Pfn alloc_folio(sync::Site s = sync::Site::here());

  // I/O completions from the writeback path to whoever ends writeback.
  bool submit_io(const IoCompletion& c, sync::Site s = sync::Site::here());
  bool pop_io(IoCompletion& c, sync::Site s = sync::Site::here());

  // Oracle helpers: report a violation with the current thread and function.
  void report(ViolationKind kind, int pfn, const Task* t, const char* fn,
              std::string detail, std::string cause = "");
  bool violated() const { return violations.any(); }

  Page& page(Pfn pfn) { return pages[static_cast<size_t>(pfn)]; }
  // mm/page_ext.c: page_ext_get(): the page's extension, or nullptr where
  // the kernel has none (ZONE_DEVICE). Finding it is not a shared access:
  // a section's page_ext pointer is set before its pages are in use.
  PageExt* page_ext_get(Pfn pfn) {
    return page(pfn).is_device() ? nullptr : &page_ext_[static_cast<size_t>(pfn)];
  }
  const PageExt* page_ext_get(Pfn pfn) const {
    return pages[static_cast<size_t>(pfn)].is_device() ? nullptr
                                                       : &page_ext_[static_cast<size_t>(pfn)];
  }
  Page& head_of(Pfn pfn) { return page(page(pfn).head()); }
  int32_t ref(Pfn pfn) const {  // refcount as the design sees it (no step)
    return width.value(pages[static_cast<size_t>(pfn)].refcount.peek());
  }
  int npages_used() const { return npages_; }
  // A readable name for the object of a shared access ("page 3 refcount",
  // "mm 0 pte[2]", "file cache[1]"), for timelines; "?" if it is not part
  // of this world.
  std::string describe(const void* obj) const;
  // The pfn whose struct page (or page_ext) holds `obj`, or -1. No
  // scheduling point. Inline: interleaving coverage asks it at every step.
  int page_of(const void* obj) const {
    const auto p = reinterpret_cast<uintptr_t>(obj);
    const auto first = reinterpret_cast<uintptr_t>(pages.data());
    if (p - first < static_cast<size_t>(npages_) * sizeof(Page))
      return static_cast<int>((p - first) / sizeof(Page));
    const auto ext = reinterpret_cast<uintptr_t>(page_ext_.data());
    if (p - ext < static_cast<size_t>(npages_) * sizeof(PageExt))
      return static_cast<int>((p - ext) / sizeof(PageExt));
    return -1;
  }
  int nr_free() const { return nfree_.load(); }

 private:
  void build(const WorldSpec& spec);
  void make_zero_page();  // the zero page, once
  Pfn take_setup_pages(int n);
  // A page as the allocator hands it out, clean and not free, with `flags`
  // and no reference (the caller sets the refcount, a scheduling point).
  void prep_new_page(Pfn pfn, uint32_t flags);
  int add_pgmap(PgmapType type, int nr_pages);

  int npages_ = 0;
  std::array<PageExt, kMaxPages> page_ext_;
  boost::lockfree::stack<Pfn, boost::lockfree::capacity<kMaxPages>> free_list_;
  boost::lockfree::stack<Pfn, boost::lockfree::capacity<kMaxPages>> reserve_;
  boost::lockfree::stack<Pfn, boost::lockfree::capacity<kMaxPages>> thp_pool_;
  int reserve_target_ = 0;            // pages the reserve is kept at
  std::atomic<int> reserve_count_{0};
  boost::lockfree::queue<IoCompletion, boost::lockfree::capacity<32>> io_queue_;
  // The access the allocator makes: under zone->lock, so acq_rel (a page
  // freed with its stores visible, handed to the next owner with them).
  sync::Atomic<int32_t> alloc_word_{0};
  sync::Atomic<int32_t> io_word_{0};
  std::atomic<int> nfree_{0};
};

}  // namespace pf
