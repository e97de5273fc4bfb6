#include "fuzz/harness/bugs.h"

#include <cstdio>
#include <cstdlib>

namespace pf {
namespace {

constexpr BugConfig kBugs[] = {
#define PF_BUG(name, design, fixed, expected, ref, summary) \
  {#name, design, fixed, ViolationKind::expected, ref, summary},
#include "fuzz/harness/bugs.def"
#undef PF_BUG
};

Design must_parse(std::string_view text) {
  auto d = parse_design(text);
  if (!d.design) {
    std::fprintf(stderr, "pinfuzz: bugs.def: %s\n", d.error.c_str());
    std::abort();
  }
  return *d.design;
}

}  // namespace

Design BugConfig::buggy_design() const { return must_parse(design); }
Design BugConfig::fixed_design() const { return must_parse(fixed); }

std::span<const BugConfig> bug_catalog() { return kBugs; }

const BugConfig* find_bug(std::string_view name) {
  for (const BugConfig& b : kBugs)
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace pf
