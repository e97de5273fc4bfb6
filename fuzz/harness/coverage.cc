#include "fuzz/harness/coverage.h"

#include <array>
#include <bit>

namespace pf {

namespace {

uint64_t fnv1a(const char* s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; s && *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 0x100000001b3ull;
  return h;
}

uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// Fibonacci hashing: the top `bits` bits of x * 2^64/phi.
constexpr uint64_t fib_hash(uint64_t x, int bits) {
  return (x * 0x9e3779b97f4a7c15ull) >> (64 - bits);
}

// 0, 1, 2, 3-4, 5-1023, 1024, 1025-2047, >= 2048, negative (wrapped).
size_t ref_bucket(int32_t v) {
  if (v < 0) return 8;
  if (v <= 2) return static_cast<size_t>(v);
  if (v <= 4) return 3;
  if (v < GUP_PIN_COUNTING_BIAS) return 4;
  if (v == GUP_PIN_COUNTING_BIAS) return 5;
  if (v < 2 * GUP_PIN_COUNTING_BIAS) return 6;
  return 7;
}

size_t pin_bucket(int32_t v) { return v <= 0 ? 0 : v >= 3 ? 3 : static_cast<size_t>(v); }

constexpr uint32_t kStateFlags[] = {PG_dirty,          PG_writeback,  PG_lru,   PG_private,
                                    PG_anon_exclusive, PG_dma_pinned, PG_locked};

// The state flags sit in the low kFlagBits bits of page->flags, so one
// table lookup packs them (bit i of the entry = kStateFlags[i] is set),
// where a test per flag was a branch each, mispredicted as pages change.
constexpr int kFlagBits = 9;
static_assert([] {
  for (uint32_t f : kStateFlags)
    if (f >= (1u << kFlagBits)) return false;
  return true;
}(), "a state flag beyond the packing table: raise kFlagBits");
constexpr std::array<uint8_t, 1u << kFlagBits> kPackFlags = [] {
  std::array<uint8_t, 1u << kFlagBits> t{};
  for (uint32_t f = 0; f < t.size(); ++f)
    for (size_t i = 0; i < std::size(kStateFlags); ++i)
      if (f & kStateFlags[i]) t[f] |= static_cast<uint8_t>(1u << i);
  return t;
}();

}  // namespace

InterleavingCoverage::InterleavingCoverage(std::span<uint8_t> counters) : counters_(counters) {}

void InterleavingCoverage::begin_run(const World& w) {
  world_ = &w;
  last_.fill(Last{});
}

uint32_t InterleavingCoverage::site_id(sync::Site site) {
  const auto p = reinterpret_cast<uintptr_t>(site.fn);
  SiteCache& e = sites_[fib_hash(p, std::countr_zero(sites_.size()))];
  if (e.fn != site.fn) {
    e.fn = site.fn;
    e.id = static_cast<uint32_t>(mix(fnv1a(site.fn)));
  }
  return e.id;
}

void InterleavingCoverage::bump(size_t i) {
  if (i >= counters_.size()) return;
  if (counters_[i] < 255) ++counters_[i];
  seen_[i / 64] |= uint64_t{1} << (i % 64);
}

// Every step of every run comes here (its cost: bench/model_bench's
// BM_ModelScheduledWithCoverage against BM_ModelScheduled), so each feature
// is one multiply-shift of ids cached per site, and the flags one lookup.
void InterleavingCoverage::on_step(uint32_t thread, sync::Site site, const void* obj,
                                   sync::Access kind) {
  if (!world_ || !obj) return;
  (void)kind;
  const World& w = *world_;
  const int pfn = w.page_of(obj);
  size_t slot;
  if (pfn >= 0) {
    slot = static_cast<size_t>(pfn);
  } else {
    // The offset's hash, scaled onto the non-page slots.
    const uint64_t off = reinterpret_cast<uintptr_t>(obj) - reinterpret_cast<uintptr_t>(&w);
    slot = kMaxPages + static_cast<size_t>((fib_hash(off, 32) * (last_.size() - kMaxPages)) >> 32);
  }
  const uint32_t id = site_id(site);
  Last& prev = last_[slot];
  if (prev.thread != 0xff && prev.thread != thread) {
    static_assert(std::has_single_bit(kPairSlots));
    constexpr int kPairBits = std::countr_zero(kPairSlots);
    bump(static_cast<size_t>(fib_hash(uint64_t{prev.site} << 32 | id, kPairBits)));
  }
  prev = Last{id, static_cast<uint8_t>(thread)};

  if (pfn < 0) return;
  const Pfn head = w.pages[static_cast<size_t>(pfn)].head();
  const Page& p = w.pages[static_cast<size_t>(head)];
  const size_t flags = kPackFlags[p.flags.peek() & ((1u << kFlagBits) - 1)];
  const size_t state =
      (ref_bucket(w.width.value(p.refcount.peek())) * 4 +
       pin_bucket(w.tracking.peek_pin_counter(w, head))) *
          128 +
      flags;
  bump(kPairSlots + state);
}

size_t InterleavingCoverage::features() const {
  size_t n = 0;
  for (uint64_t word : seen_) n += static_cast<size_t>(std::popcount(word));
  return n;
}

}  // namespace pf
