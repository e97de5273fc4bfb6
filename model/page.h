// struct page / struct folio for the model.
//
// Page states (refcount is page->_refcount as the design sees it):
//
//   state       refcount   on free list   data       who may touch it
//   ---------   --------   ------------   --------   --------------------------
//   free        0          yes            poisoned   the allocator only
//   referenced  > 0        no             valid      holders of a reference
//   pinned      > 0, maybe_dma_pinned()   valid      + a device, by pfn (DMA)
//   frozen      0          no             valid      the freezer (reclaim/migrate)
//   device idle 0 (or 1)   pagemap's      valid      the driver (ZONE_DEVICE)
//
// Taking a reference on a count of 0 must use a try-add that fails; a put
// that reaches 0 frees the folio. Any data access to a free page is a
// use-after-free.
//
// The lru overlay: two words that are `lru.next/lru.prev` for normal pages
// and `pgmap` / `zone_device_data` for ZONE_DEVICE pages (mm_types.h). They
// are one real storage location with typed accessors, so a design that keeps
// a pin count in `lru` overwrites `pgmap` for real.
#pragma once

#include <atomic>
#include <cstdint>

#include "model/sync/atomic.h"

namespace pf {

using Pfn = int16_t;
inline constexpr Pfn kNoPfn = -1;

// include/linux/mm.h
inline constexpr int32_t GUP_PIN_COUNTING_BIAS = 1 << 10;

enum class Zone : uint8_t { kNormal, kMovable, kDevice };

// Page flags (include/linux/page-flags.h), plus the bits the seed's designs add.
enum PageFlag : uint32_t {
  PG_locked = 1u << 0,
  PG_dirty = 1u << 1,
  PG_writeback = 1u << 2,
  PG_lru = 1u << 3,
  PG_private = 1u << 4,  // has buffer heads
  PG_head = 1u << 5,
  PG_anon = 1u << 6,     // PageAnon (page->mapping & PAGE_MAPPING_ANON)
  PG_anon_exclusive = 1u << 7,
  PG_dma_pinned = 1u << 8,          // page_flag / lru_count designs
  PG_dma_pinned_was_lru = 1u << 9,  // lru_count design
  PG_zero = 1u << 10,               // the shared zero page
  PG_swapcache = 1u << 11,          // in the swap cache (Page::swap names the slot)
};

// page->mapping values: a file id >= 0, or these.
inline constexpr int32_t kNoMapping = -1;
inline constexpr int32_t kAnonMapping = -2;
// The two files of the model: a buffered (ext4-like) file and an fs-dax file.
inline constexpr int32_t kBufferedFile = 0;
inline constexpr int32_t kDaxFile = 1;

// Values of the lru overlay words of a normal page on the LRU.
inline constexpr uint64_t kLruLinked = 0x4c5255;  // "LRU"
// pgmap words hold kPgmapTag | pagemap id for ZONE_DEVICE pages.
inline constexpr uint64_t kPgmapTag = 0x5047'4d41'5000ull;  // "PGMAP"

inline constexpr uint32_t kPoison = 0xdead'beef;

struct Page {
  sync::Atomic<int32_t> refcount{0};  // page->_refcount (raw; see RefWidth)
  sync::Atomic<int32_t> mapcount{0};  // page_mapcount(): number of PTEs mapping it
  sync::Atomic<uint32_t> flags{0};
  sync::Atomic<uint64_t> lru[2];      // overlay: lru / {pgmap, zone_device_data}
  sync::Atomic<int32_t> mapping{kNoMapping};
  sync::Atomic<int32_t> index{0};
  sync::Atomic<int32_t> pincount{0};  // folio->_pincount (head of large folios)
  sync::Immediate<uint32_t> data{0};  // page contents, as a version number
  sync::Atomic<int32_t> swap{-1};     // folio->swap: its slot, with PG_swapcache
  // ZONE_DEVICE pages: bumped by every put and by the free, before their
  // wake, so a waiter can tell whether one happened since it looked
  // (wait_var_event()'s condition-then-sleep, without a lost wakeup).
  sync::Atomic<uint32_t> put_seq{0};

  // Folio geometry: page->compound_head and folio_order(). Built at world
  // setup; a split (model/huge_memory.cc) makes every page of a large folio
  // a folio of its own while other threads may be reading them, so they are
  // atomics. Reading them is not a scheduling point: in the kernel too
  // page_folio() is a plain READ_ONCE, and what decides a race is the next
  // access to the folio (its refcount), which is one.
  Pfn head() const { return head_.load(std::memory_order_acquire); }
  uint8_t order() const { return order_.load(std::memory_order_relaxed); }
  // include/linux/page-flags.h: set_compound_head() / clear_compound_head(),
  // folio_set_order(). Release: the page's other fields, written before,
  // are visible to whoever sees the new head ("Page flags must be visible
  // before we make the page non-compound", __split_huge_page_tail()).
  void set_folio(Pfn head, uint8_t order) {
    order_.store(order, std::memory_order_relaxed);
    head_.store(head, std::memory_order_release);
  }
  Zone zone = Zone::kNormal;
  int8_t pgmap = -1;  // owning pagemap for ZONE_DEVICE pages (ghost truth)

  bool is_device() const { return zone == Zone::kDevice; }

 private:
  std::atomic<Pfn> head_{kNoPfn};
  std::atomic<uint8_t> order_{0};
};

// The refcount as a counter of `bits` bits (Design::counter_bits): the raw
// 32-bit word wraps mod 2^32, so its low `bits` bits are exactly an N-bit
// wrapping counter; sign-extending them gives the value the design sees.
struct RefWidth {
  int bits = 32;
  int32_t value(int32_t raw) const {
    if (bits >= 32) return raw;
    uint32_t shift = 32 - bits;
    return static_cast<int32_t>(static_cast<uint32_t>(raw) << shift) >> shift;
  }
  // The largest count representable; one more wraps negative.
  int64_t max() const { return (int64_t{1} << (bits - 1)) - 1; }
};

}  // namespace pf
