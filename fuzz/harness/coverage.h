// Interleaving coverage: a signal for the fuzzer beyond code coverage.
// Code coverage saturates after a few inputs (every op's code runs in every
// order soon enough); what still varies is which thread's step touches a
// page right after which other thread's step, and which states a page
// passes through. Two feature families, counted into a byte array that the
// libFuzzer target places in __libfuzzer_extra_counters:
//
//   pairs   the kernel function of the previous access to an object, when
//           another thread made it  x  the function of this access. All
//           fields of one struct page are one object, so "refcount then
//           flags" of one page pairs up. Thread numbers and lines are left
//           out: which thread is which is arbitrary, and lines split one
//           function's accesses into features that say no more about the
//           interleaving but make more inputs look new.
//   states  for every access to a page: refcount bucket x pin-counter bucket
//           (the design's exact counter: TrackingTraits, PinWords::pincount)
//           x the flags that matter (dirty, writeback, lru, private,
//           anon_exclusive, dma_pinned, locked), read with peek().
//
// Deterministic across processes and builds of one source: sites are keyed
// by the hash of the function name, objects by their offset in the World,
// never by absolute addresses. Never a scheduling point.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "fuzz/harness/run.h"

namespace pf {

class InterleavingCoverage final : public RunObserver {
 public:
  static constexpr size_t kPairSlots = 8192;
  static constexpr size_t kStateSlots = 9 * 4 * 128;
  static constexpr size_t kSize = kPairSlots + kStateSlots;

  // `counters` must hold kSize bytes and outlive this object. Counts
  // saturate at 255 (libFuzzer buckets them by magnitude anyway).
  explicit InterleavingCoverage(std::span<uint8_t> counters);

  void begin_run(const World& w) override;
  void on_step(uint32_t thread, sync::Site site, const void* obj, sync::Access kind) override;

  // Distinct features hit since construction (for progress reports).
  size_t features() const;

 private:
  uint32_t site_id(sync::Site site);
  void bump(size_t i);

  struct Last {
    uint32_t site = 0;
    uint8_t thread = 0xff;  // 0xff: nobody yet
  };
  std::span<uint8_t> counters_;
  const World* world_ = nullptr;
  std::array<Last, 256> last_{};
  struct SiteCache {
    const char* fn = nullptr;
    uint32_t id = 0;  // mix(fnv1a(fn)): the name's hash, spread
  };
  std::array<SiteCache, 1024> sites_{};
  std::array<uint64_t, kSize / 64 + 1> seen_{};
};

}  // namespace pf
