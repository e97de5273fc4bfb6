// Crash triage, as ClusterFuzz and syzkaller's repro pipeline do it, for
// one crash file a worker wrote: replay it under the worker's design
// (deterministic, so it either reproduces or the tool has a bug), compute
// its signature (fuzz/harness/signature.h: kind, reporting function, racing
// function, design), and for a signature not seen before minimize it and
// publish it as crashes/<id>/:
//   crash         the worker's input, byte for byte
//   scenario.txt  the minimized scenario, design included, as text
//   timeline.txt  its interleaving, as `pinfuzz repro` prints it
//   meta.json     signature, design, ids, counts, repro command
// A directory is written under a temporary name and renamed into place, so
// crashes/<id>/ either exists complete or not at all; the worker's file is
// removed only after that. Nothing found is ever lost to a kill.
#pragma once

#include <functional>
#include <optional>
#include <vector>
#include <string>

#include "fuzz/campaign/state.h"
#include "fuzz/scenario/scenario.h"
#include "model/design.h"

namespace pf::campaign {

struct TriageInput {
  std::string path;    // the worker's crash file
  std::string design;  // the worker's --design
  std::string slug;
  // The worker's --strategy (none: --strategy=any, the input's own kind)
  // and --steps: a crash file replays only as the worker decoded it.
  std::optional<ScheduleKind> strategy;
  // The worker's --memory (none: --memory=any, the input's own model).
  std::optional<sync::Memory> memory;
  uint64_t step_budget = 0;
  double seen_at = 0;  // campaign seconds when the worker wrote it
};

struct TriageResult {
  enum class Kind { kNew, kKnown, kUnreproducible, kBadInput, kError } kind = Kind::kError;
  Finding finding;     // kNew: complete; kKnown: line and id only
  std::string message; // what happened, one line
};

// The --known line and the directory id of a signature under a design.
std::string finding_id(const std::string& slug, ViolationKind kind, const std::string& line);

// `is_known(line)` says whether the signature was triaged before: then the
// crash only counts (kKnown), nothing is minimized or written. Never throws.
TriageResult triage(const TriageInput& in, const std::string& crash_dir,
                    const std::function<bool(const std::string&)>& is_known);

// Re-reads crashes/*/meta.json: the findings a campaign published, whatever
// campaign.json says (it may be seconds older). Unreadable ones are skipped
// with a message in `problems`.
std::vector<Finding> load_findings(const std::string& crash_dir,
                                   std::vector<std::string>* problems);

// Removes crashes/.tmp-* left by a kill during publishing.
void remove_partial(const std::string& crash_dir);

// The crash file being triaged is named in crashes/triaging while triage()
// runs on it. Triage replays untrusted input in the campaign's process: if
// the model itself crashes on it (an abort, a sanitizer report), the
// campaign dies with the marker in place, counting. At --resume, a file two
// sessions died on is moved by quarantine_poison() to crashes/model-crash/
// instead of being triaged (and dying) again, with a message saying so (""
// if none); a file one session died on (maybe a SIGKILL) is triaged again.
// If the file cannot be moved, *error says why and the marker stays.
void mark_triaging(const std::string& crash_dir, const std::string& path);
void unmark_triaging(const std::string& crash_dir);
std::string quarantine_poison(const std::string& crash_dir, std::string* error);

}  // namespace pf::campaign
