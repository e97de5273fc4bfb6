// `pinfuzz campaign`: pinfuzz_fuzzer workers (libFuzzer, or the in-process
// search in libFuzzer's clothes) over a
// set of designs for a duration, in time slices, N at a time, with crash
// triage, a progress line, a report, and a directory that survives Ctrl-C,
// SIGKILL and power cuts (--resume). Layout of the campaign directory:
//
//   campaign.json        state (state.h), rewritten atomically every few s
//   known.txt            signatures triaged so far: the workers' --known
//   pinfuzz.dict         the libFuzzer dictionary
//   seeds/               corpus/seeds in byte form, read by every worker
//   corpus/<slug>/       each design's libFuzzer corpus
//   crashes/incoming/<slug>/  crash files as workers write them
//   crashes/<id>/        one per distinct violation (triage.h)
//   crashes/unreproducible/   crash files that do not replay as violations
//   logs/<slug>.log      the workers' output
//   report/              report.json, report.html, violations/<id>.html
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/scenario/scenario.h"

namespace pf::campaign {

struct Options {
  std::string dir = "pinfuzz-campaign";
  std::vector<std::string> designs;  // empty: every catalog design plus the correct ones
  std::optional<double> duration;    // seconds; 0 = until stopped; unset: new 0 / resumed: kept
  int jobs = 0;                      // 0: new = number of CPUs / resumed: kept
  bool resume = false;
  std::string fuzzer;                // pinfuzz_fuzzer binary
  std::string seeds;                 // text scenarios to seed every design with ("" = none)
  std::string dict;                  // the dictionary's text
  std::optional<double> slice;       // seconds per worker run; unset: from duration and designs
  double hang_seconds = 120;         // a worker silent this long is killed and restarted
  std::vector<std::string> fuzzer_args;  // passed to every worker
  std::string report_dir;            // "" = <dir>/report
  bool progress_tty = false;         // refresh one line; else a log line every 10 s
  bool quiet = false;                // no progress at all
  // A design's corpus directory is distilled (libFuzzer -merge=1 into a
  // fresh directory, which then replaces it) before its next slice once it
  // holds this many inputs and twice as many as after its last distillation:
  // every slice reloads the whole directory, and libFuzzer only ever adds.
  size_t distill_at = 20000;
  // What a design's successive slices run, in rotation: "libfuzzer"
  // (coverage-guided, --amplify schedules per input) or "random"/"pct"/"mix"
  // (pinfuzz_fuzzer --search: the in-process search, mutating the design's
  // corpus). workers.cc says why this default.
  std::vector<std::string> search_mix = {"mix", "libfuzzer", "mix"};
  // End the campaign (as Ctrl-C does: triage, report) at its first
  // violation; for a catalog design, at the first of the kind its row
  // expects. Not kept across --resume.
  bool stop_at_first = false;
};

// "" if every entry of a --search-mix is random, pct, mix or libfuzzer;
// else the error.
std::string check_search_mix(const std::vector<std::string>& mix);

// Runs until the duration is over or SIGINT/SIGTERM. Returns the exit code:
// 0 no violation, 1 violations found, 2 a usage, input or disk problem.
int run(const Options& opt);

// `pinfuzz report DIR`: rewrites DIR's report from campaign.json and
// crashes/. Exit code as above (1 if it lists violations).
int regenerate_report(const std::string& dir, const std::string& report_dir);

// `pinfuzz import DIR SOURCE...`: crash files from elsewhere (a ClusterFuzz
// testcase directory, files or directories) triaged into the campaign in
// DIR as its workers' are, then its report rewritten. A file's design comes
// from --design, else from the pinfuzz_fuzzer_<design> in its name. Takes
// DIR's lock. Exit 2 if a file could not be used (each named), else 1 if
// the report lists violations, else 0.
struct ImportOptions {
  std::string dir;
  std::vector<std::string> sources;
  std::string design;                     // "" = from each file's name
  std::optional<ScheduleKind> strategy;   // how the fuzzer read schedules (its --strategy)
  std::optional<sync::Memory> memory;     // its --memory (none: its design's default_memory())
  uint64_t step_budget = 0;               // 0 = the default
};
int import_crashes(const ImportOptions& opt);

// The designs `--all-designs` means: every catalog row's buggy design, then
// the correct designs.
std::vector<std::string> all_designs();

}  // namespace pf::campaign
