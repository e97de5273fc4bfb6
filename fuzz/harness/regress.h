// The regression corpus: corpus/regressions/<bug>/<name>.txt holds a
// minimized scenario (text, with the buggy design), <name>.json its
// metadata: the catalog row, both designs, the expected signature, the
// format version and the trace hash it was recorded with. An entry passes
// when it reproduces its signature under the buggy design with the same
// trace, and runs clean under the fixed one. A changed trace is reported as
// drift (the model's scheduling points moved: the input may no longer mean
// what it meant) and fails until re-recorded (--update), never silently.
#pragma once

#include <string>
#include <vector>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/run.h"

namespace pf {

struct RegressionEntry {
  std::string path;      // the .txt file
  std::string bug;       // bugs.def name
  std::string design;    // buggy configuration
  std::string fixed;     // the configuration that fixes it
  ViolationKind expected = ViolationKind::hang;
  std::string fn;        // the function that reported it
  std::string reference;
  int format = 0;        // kFormatVersion it was recorded under
  uint64_t steps = 0;
  uint64_t trace_hash = 0;
  std::string found_by;  // how it was found (schedule, search, seed)
};

// Writes <dir>/<bug.name>/<kind>-<hash>.txt and .json atomically; returns
// the .txt path, or an error message starting with "error: ".
std::string write_regression(const std::string& dir, const BugConfig& bug, const Scenario& s,
                             const RunResult& run, const std::string& found_by);

// Every entry under `dir` (recursively), sorted by path. Errors (an
// unreadable or malformed .json, a .txt without one) go to `errors`.
std::vector<RegressionEntry> load_regressions(const std::string& dir,
                                              std::vector<std::string>* errors);

enum class RegressStatus { kPass, kFail, kDrift, kUpdated, kBadInput };
struct RegressCheck {
  RegressStatus status = RegressStatus::kPass;
  std::string message;  // one line: what happened
};

// Replays one entry. With `update`, a drifted entry that still reproduces
// (and is clean under the fix) gets its metadata rewritten: kUpdated.
RegressCheck check_regression(const RegressionEntry& e, bool update);

}  // namespace pf
