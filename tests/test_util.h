// Small helpers for the tests: a world with one mapping, by design name, and a
// fixture that owns a fresh temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "model/check.h"
#include "model/memremap.h"
#include "model/mm.h"

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

// A fresh directory per test, removed afterwards; `tag` names it for a reader
// of a leftover /tmp after a crash.
class TempDirTest : public ::testing::Test {
 protected:
  explicit TempDirTest(const char* tag) : tag_(tag) {}
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + tag_ + ".XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << tmpl;
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;

 private:
  std::string tag_;
};

}  // namespace pf::test
