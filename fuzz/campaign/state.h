// A campaign's state, as kept in <dir>/campaign.json (rewritten atomically
// every few seconds, so a SIGKILL or a power cut loses at most those
// seconds of counters, never a crash: crashes live in their own
// directories, see triage.h, and are re-read on --resume).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/violation.h"

namespace pf::campaign {

inline constexpr int kStateFormat = 1;

// One design the campaign fuzzes.
struct Config {
  std::string design;  // Design::name()
  std::string slug;    // directory name: the catalog row's name, or the design made safe
  std::string bug;     // catalog row whose buggy design this is, "" if none
  std::optional<ViolationKind> expected;  // the row's expected kind
  bool correct = false;                   // Design::is_correct(): must stay clean

  double seconds = 0;    // fuzzing time spent on it, summed over workers
  uint64_t execs = 0;    // executions, summed over finished workers
  uint64_t cov = 0, ft = 0, corpus = 0;  // libFuzzer's latest figures
  uint32_t slices = 0;   // workers started for it
  // First violation of any kind, and first of the expected kind: fuzzing
  // seconds and executions spent on this design until then.
  std::optional<double> first_seconds, expected_seconds;
  std::optional<uint64_t> first_execs, expected_execs;
};

// A distinct violation: one bucket (Signature::key()), the first crash that
// showed it.
struct Finding {
  std::string id;         // directory name under crashes/
  std::string line;       // known_line(): "design=<d> <bucket>", the --known line
  std::string design, slug;
  ViolationKind kind = ViolationKind::hang;
  std::string fn, racing_fn;
  std::string cause;      // Violation::cause ("" where the function says it)
  std::string signature;  // the fine-grained one: "<kind> in <fn>() vs <racing>()"
  double first_seen = 0;  // campaign seconds
  uint64_t count = 0;     // crashes and known hits with this signature
  std::string source;     // the worker's crash file it came from (basename)
  uint32_t threads = 0, ops = 0;  // of the minimized scenario
};

// A known kernel limitation a design met (model/limitations.def): listed
// apart from the findings, never a violation of the design.
struct LimitationSeen {
  std::string design, slug;
  ViolationKind kind = ViolationKind::teardown_hang;
  std::string fn, detail;  // of the first one
  double first_seen = 0;   // campaign seconds
  uint64_t slices = 0;     // worker slices that met it (each says so once)
};

struct Sample {
  double t = 0;            // campaign seconds
  uint64_t execs = 0;      // total so far
  double exec_per_s = 0;   // since the previous sample
  uint64_t ft = 0;         // sum over designs of libFuzzer's features
  uint32_t findings = 0;   // distinct violations so far
  long rss_kib = 0;        // the campaign process
  long workers_rss_kib = 0;
};

struct State {
  int format = kStateFormat;
  double duration = 0;  // total wall time wanted, 0 = until stopped
  int jobs = 1;
  double elapsed = 0;   // campaign wall time so far, over every session
  std::string started;  // UTC, ISO 8601
  std::string fuzzer;   // the pinfuzz_fuzzer binary
  // --fuzzer-arg: --resume gives them to the workers again, so that crash
  // files still waiting for triage decode as they were written.
  std::vector<std::string> fuzzer_args;
  std::vector<Config> configs;
  std::vector<Finding> findings;
  std::vector<LimitationSeen> limitations;
  std::vector<Sample> samples;
  struct Workers {
    uint64_t started = 0, crashed = 0, hung = 0;
  } workers;
  std::vector<std::string> problems;  // one line each, with campaign time
  uint32_t sessions = 0;              // 1 + times resumed

  Config* config(const std::string& design);
  Finding* finding(const std::string& line);
  uint64_t total_execs() const;
  uint64_t total_ft() const;
  // Keeps at most `max` samples by dropping every other one of the oldest
  // half: memory stays flat over any duration, recent detail stays.
  void add_sample(const Sample& s, size_t max = 2000);
};

// A finding's fields (all but its count), as campaign.json and each
// crashes/<id>/meta.json hold them. finding_from_json() throws
// nlohmann::json::exception or std::runtime_error on a malformed object.
nlohmann::ordered_json finding_json(const Finding& f);
Finding finding_from_json(const nlohmann::ordered_json& j);

std::string to_json(const State& s);
// The state in `text`, or an error saying what is wrong with it.
std::optional<State> from_json(const std::string& text, std::string* error);

// The whole file (binary), or nullopt when it cannot be opened.
std::optional<std::string> read_file(const std::filesystem::path& path);

// <dir>/campaign.json, read and parsed (report, import). nullopt with
// *error naming the file: "<path>: cannot read (not a campaign
// directory?)" or "<path>: <what is wrong with it>".
std::optional<State> load_state(const std::filesystem::path& dir, std::string* error);

// "90s", "2m", "1h30m", "1.5h", "500ms", "3600" (seconds). nullopt on bad input.
std::optional<double> parse_duration(const std::string& text);
std::string format_duration(double seconds);  // "1:02:03", "02:03"

}  // namespace pf::campaign
