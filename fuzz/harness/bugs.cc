#include "fuzz/harness/bugs.h"

#include <cstdio>
#include <cstdlib>

namespace pf {
namespace {

constexpr BugConfig kBugs[] = {
#define PF_BUG(name, design, fixed, expected, ref, summary) \
  {#name, design, fixed, ViolationKind::expected, ref, summary},
#define PF_BUG_MEMORY(name, memory)
#include "fuzz/harness/bugs.def"
#undef PF_BUG_MEMORY
#undef PF_BUG
};

struct BugMemory {
  std::string_view name;
  sync::Memory memory;
};
constexpr BugMemory kBugMemory[] = {
#define PF_BUG(name, design, fixed, expected, ref, summary)
#define PF_BUG_MEMORY(name, memory) {#name, sync::Memory::memory},
#include "fuzz/harness/bugs.def"
#undef PF_BUG_MEMORY
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

sync::Memory BugConfig::memory() const {
  for (const BugMemory& m : kBugMemory)
    if (m.name == name) return m.memory;
  return sync::Memory::kSc;
}

std::span<const BugConfig> bug_catalog() { return kBugs; }

const BugConfig* find_bug(std::string_view name) {
  for (const BugConfig& b : kBugs)
    if (b.name == name) return &b;
  return nullptr;
}

sync::Memory default_memory(const Design& d) {
  for (const BugConfig& b : kBugs)
    if (b.memory() != sync::Memory::kSc && b.buggy_design() == d) return b.memory();
  return sync::Memory::kSc;
}

std::vector<FuzzTarget> fuzz_targets() {
  std::vector<FuzzTarget> out;
  for (const BugConfig& b : kBugs)
    out.push_back({std::string(kTargetPrefix) + std::string(b.name), b.buggy_design()});
  for (const std::string& d : design_names(DesignSet::kCorrect))
    out.push_back({std::string(kTargetPrefix) + d, must_parse(d)});
  return out;
}

std::optional<Design> target_design(std::string_view name) {
  if (size_t slash = name.rfind('/'); slash != std::string_view::npos)
    name.remove_prefix(slash + 1);
  for (FuzzTarget& t : fuzz_targets())
    if (t.name == name) return t.design;
  return std::nullopt;
}

}  // namespace pf
