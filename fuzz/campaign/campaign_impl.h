// Internals of `pinfuzz campaign` (campaign.h), one class split by
// responsibility across the files of fuzz/campaign/:
//   campaign.cc  the main loop, campaign time, signals, the end of a session
//   setup.cc     options, the directory, campaign.json (new or resumed), designs
//   workers.cc   the pool of libFuzzer workers: slices, output, restarts, backoff
//   triager.cc   the triage thread and the crash files it is given and gives back
//   progress.cc  the progress line, messages, samples, saves and the report
// Private to fuzz/campaign/; nothing else includes it.
#pragma once

#include <signal.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fuzz/campaign/campaign.h"
#include "fuzz/campaign/dir_lock.h"
#include "fuzz/campaign/process.h"
#include "fuzz/campaign/state.h"
#include "fuzz/campaign/triage.h"
#include "fuzz/harness/config.h"

namespace pf::campaign {

namespace fs = std::filesystem;

namespace detail {

// Schedules per input a worker runs (pinfuzz_fuzzer --amplify): libFuzzer
// mutates scenarios while each one is run under this many interleavings at
// engine speed. Chosen by bench/time_to_bug's campaign column and the
// worker's executions/s (docs/time-to-bug.md); a --fuzzer-arg=--amplify=N
// given by the user comes later on the command line and wins.
inline constexpr int kWorkerAmplify = 8;

// SIGINT, SIGTERM and SIGHUP seen so far: the first stops the workers and
// writes the report, the second stops at once.
extern volatile sig_atomic_t g_signals;

// Seconds on the monotonic clock.
double mono();
// The time now, "2024-05-01T12:00:00Z".
std::string utc_now();

// One thread that replays, signs and minimizes crash files, so the main
// loop keeps reading the workers' pipes while a minimization runs.
class Triager {
 public:
  explicit Triager(std::string crash_dir);
  ~Triager();
  void add_known(const std::string& line);
  void push(TriageInput in);
  std::vector<std::pair<TriageInput, TriageResult>> take();
  size_t pending();

 private:
  void loop();

  std::string crash_dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TriageInput> queue_;
  std::set<std::string> queued_;
  std::set<std::string> known_;
  std::vector<std::pair<TriageInput, TriageResult>> done_;
  size_t busy_ = 0;
  bool quit_ = false;
  std::thread thread_;
};

struct Worker {
  Process proc;
  size_t config = 0;        // index into State::configs
  double started = 0;       // mono()
  double slice = 0;
  double last_output = 0;   // mono()
  uint64_t execs = 0;
  uint64_t cov = 0, ft = 0, corpus = 0;
  std::optional<ViolationKind> violation;  // printed "pinfuzz: VIOLATION"
  std::string tool_error;   // a sanitizer or libFuzzer error that is not a violation
  bool killed_hung = false;
  bool terminating = false;
  bool distill = false;     // a -merge=1 run over the corpus, not a fuzzing slice
  size_t distill_from = 0;  // inputs in the corpus when it started
  std::ofstream log;
};

class Campaign {
 public:
  explicit Campaign(Options opt);
  int run();

 private:
  // ---- campaign.cc: the main loop, time, signals, the end --------------------
  double t() const;
  double remaining() const;
  bool done() const;
  void install_signals();
  int finish();

  // ---- setup.cc: options, the directory, campaign.json, resume ---------------
  int prepare();
  void recover_distill(const Config& c);
  static size_t count_files(const fs::path& d);
  static std::string parse_worker_flags(const std::vector<std::string>& args, RunConfig* config,
                                        std::vector<std::string>* implied);
  std::string resume_worker_flags();
  // The memory model a config's workers run and its crash files decode
  // under: the workers' --memory if the user gave one (--fuzzer-arg), else
  // default_memory() of its design, as pinfuzz_fuzzer defaults.
  std::optional<sync::Memory> memory_of(const Config& c) const;
  int usage(const std::string& msg);
  int disk(const std::string& msg);
  void reconcile_findings();
  size_t scrub_corpus();
  int write_seeds();
  std::string write_known();
  double slice_seconds() const;

  // ---- workers.cc: the worker pool -------------------------------------------
  void fill_workers();
  size_t next_config() const;
  bool start_worker(size_t index);
  bool launch(std::unique_ptr<Worker> w, const std::vector<std::string>& argv,
              const std::string& what);
  void finish_distill(Worker& w, bool clean_exit);
  void note_limitation(Config& c, const std::string& kind, const std::string& fn,
                       const std::string& detail);
  void rotate_log(const fs::path& log);
  void pump(double timeout_s);
  void handle_line(Worker& w, const std::string& line);
  void reap();
  void check_hung();
  void begin_stop(const std::string& why);

  // ---- triager.cc: crash files to and from the triage thread -----------------
  TriageInput triage_input(const Config& c, std::string path) const;
  void queue_incoming(size_t only = SIZE_MAX);
  void collect_triage();

  // ---- progress.cc: what the campaign tells, samples and saves ---------------
  uint64_t live_execs() const;
  void sample();
  void periodic();
  std::string save();
  std::string progress_text() const;
  void progress();
  void clear_progress();
  void say(const std::string& s);
  void event(const std::string& s);
  void problem(const std::string& s);
  void fatal(const std::string& s);

  Options opt_;
  RunConfig worker_;                      // --strategy and --steps the workers run with
  std::vector<std::string> worker_flags_;  // given to every worker before --fuzzer-arg
  // Native workers' -seed, plus their slice number: the user's -seed from
  // --fuzzer-arg, else the clock at the start.
  uint64_t worker_seed_ = 0;
  State st_;
  fs::path dir_, crash_dir_, incoming_dir_, report_dir_;
  DirLock lock_;  // held from prepare() to the end: the directory has one owner
  std::unique_ptr<Triager> triager_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<size_t> distilled_;  // per config: inputs after its last distillation
  struct Backoff {
    uint32_t failures = 0;  // in a row
    double until = 0;       // mono(): no worker for this design before then
  };
  std::vector<Backoff> backoff_;
  double base_elapsed_ = 0, session_start_ = 0, slice_ = 60;
  double last_sample_ = 0, last_save_ = 0, last_report_ = 0, last_progress_ = 0;
  double stop_started_ = 0;
  bool stopping_ = false, fatal_ = false, progress_shown_ = false;
  std::string fatal_msg_;
};

}  // namespace detail
}  // namespace pf::campaign
