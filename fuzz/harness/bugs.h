// The bug catalog (bugs.def) as data: each buggy configuration the search
// must find, the configuration that fixes it, and the violation it must
// reach. One table feeds `pinfuzz designs`, the time-to-bug benchmark,
// campaigns and the regression corpus layout.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/design.h"
#include "model/sync/hook.h"
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
  // The memory model under which the mistake shows (PF_BUG_MEMORY; sc for
  // most rows).
  sync::Memory memory() const;
};

std::span<const BugConfig> bug_catalog();
const BugConfig* find_bug(std::string_view name);

// The memory model a run of `d` defaults to when no --memory is given: the
// model of the catalog row whose buggy design `d` is (PF_BUG_MEMORY), else
// sc. pinfuzz_fuzzer (hence every campaign worker and every ClusterFuzzLite
// target), find, and campaign triage and import all default through it, so
// a barrier row is fuzzed, searched and decoded under the model that shows
// it, however it was named.
sync::Memory default_memory(const Design& d);

// The fuzz targets an OSS-Fuzz / ClusterFuzzLite build leaves, one per
// catalog row (its buggy design) and one per correct design, each named
// kTargetPrefix + the row's or the design's name: pinfuzz_fuzzer reads its
// design from its own name (.clusterfuzzlite/build.sh, docs/oss-fuzz.md).
inline constexpr std::string_view kTargetPrefix = "pinfuzz_fuzzer_";
struct FuzzTarget {
  std::string name;  // "pinfuzz_fuzzer_no_gup_fast_recheck"
  Design design;
};
std::vector<FuzzTarget> fuzz_targets();
// The design of a target named `name` (a path's last part is read), or
// nullopt if it is no such target.
std::optional<Design> target_design(std::string_view name);

}  // namespace pf
