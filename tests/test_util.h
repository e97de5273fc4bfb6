// Small helpers for the model tests: a world with one mapping, by design name.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "fuzz/harness/program.h"
#include "model/memremap.h"

namespace pf::test {

inline Design design(const char* text) {
  auto r = parse_design(text);
  EXPECT_TRUE(r.design) << r.error;
  return r.design.value_or(Design{});
}

inline std::unique_ptr<World> world(const char* d, Backing b, uint8_t order = 0,
                                    bool writable = true) {
  WorldSpec s;
  s.vpn[0] = VpnSpec{b, order, writable};
  return std::make_unique<World>(design(d), s);
}

inline Pfn mapped(World& w, int vpn, int mm = 0) {
  return Pte::unpack(w.mm[static_cast<size_t>(mm)].pte(vpn).peek()).pfn;
}

inline std::string first_violation(const World& w) {
  auto v = w.violations.first();
  return v ? v->to_string() : "none";
}

}  // namespace pf::test
