// The bug catalog (bugs.def) as data: each buggy configuration the search
// must find, the configuration that fixes it, and the violation it must
// reach. One table feeds `pinfuzz designs`, the time-to-bug benchmark,
// campaigns and the regression corpus layout.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "model/design.h"
#include "model/violation.h"

namespace pf {

struct BugConfig {
  std::string_view name;       // directory name under corpus/regressions/
  std::string_view design;     // parse_design() text of the buggy configuration
  std::string_view fixed;      // ... and of the one that fixes it
  ViolationKind expected;
  std::string_view reference;  // commit, CVE or thread
  std::string_view summary;    // what happens, in one line

  Design buggy_design() const;  // aborts if the table is wrong (tests check it)
  Design fixed_design() const;
};

std::span<const BugConfig> bug_catalog();
const BugConfig* find_bug(std::string_view name);

}  // namespace pf
