// What the scheduler's tests (tests/sched_*_test.cc) share: the strategy
// names, and a three-thread program whose trace depends on the interleaving.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "fuzz/sched/scheduler.h"
#include "model/sync/atomic.h"

namespace pf::sched::test {

inline constexpr std::array<const char*, 3> kNames = {"input", "random", "pct"};

// Three threads, ~12 accesses each, whose control flow depends on the values
// they read, so different interleavings give different traces.
struct World {
  sync::Atomic<int64_t> a{0}, b{0}, c{0};
};

inline std::vector<ThreadBody> three_threads(World& w) {
  std::vector<ThreadBody> bodies;
  for (int64_t t = 0; t < 3; ++t) {
    bodies.push_back([&w, t] {
      for (int64_t i = 0; i < 4; ++i) {
        int64_t v = w.a.load();
        w.b.fetch_add(v + t);
        if (w.c.cmpxchg(i, i + t + 1) != i) w.a.store(v * 2 + t);
      }
    });
  }
  return bodies;
}

}  // namespace pf::sched::test
