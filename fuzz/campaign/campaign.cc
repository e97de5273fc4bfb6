#include "fuzz/campaign/campaign.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "fuzz/campaign/process.h"
#include "fuzz/campaign/report.h"
#include "fuzz/campaign/triage.h"
#include "fuzz/harness/bugs.h"
#include "fuzz/harness/config.h"
#include "fuzz/harness/sha1.h"
#include "fuzz/harness/signature.h"
#include "fuzz/scenario/scenario.h"

namespace pf::campaign {

namespace fs = std::filesystem;

namespace {

volatile sig_atomic_t g_signals = 0;
void on_signal(int) { g_signals = g_signals + 1; }

double mono() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A design as a directory name: its catalog row, or the name made safe.
std::string safe_name(const std::string& design) {
  std::string s;
  for (char c : design) s += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '-';
  return s;
}

// One thread that replays, signs and minimizes crash files, so the main
// loop keeps reading the workers' pipes while a minimization runs.
class Triager {
 public:
  explicit Triager(std::string crash_dir) : crash_dir_(std::move(crash_dir)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Triager() {
    {
      std::lock_guard lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void add_known(const std::string& line) {
    std::lock_guard lk(mu_);
    known_.insert(line);
  }
  void push(TriageInput in) {
    {
      std::lock_guard lk(mu_);
      if (!queued_.insert(in.path).second) return;
      queue_.push_back(std::move(in));
    }
    cv_.notify_all();
  }
  std::vector<std::pair<TriageInput, TriageResult>> take() {
    std::lock_guard lk(mu_);
    return std::exchange(done_, {});
  }
  size_t pending() {
    std::lock_guard lk(mu_);
    return queue_.size() + busy_;
  }

 private:
  void loop() {
    std::unique_lock lk(mu_);
    for (;;) {
      cv_.wait(lk, [this] { return quit_ || !queue_.empty(); });
      if (quit_) return;
      TriageInput in = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      lk.unlock();
      TriageResult r = triage(in, crash_dir_, [this](const std::string& line) {
        std::lock_guard g(mu_);
        return known_.count(line) > 0;
      });
      lk.lock();
      if (r.kind == TriageResult::Kind::kNew) known_.insert(r.finding.line);
      --busy_;
      done_.emplace_back(std::move(in), std::move(r));
    }
  }

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

const std::regex kStatusLine(R"(^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/)");
const std::regex kStatsLine(R"(^pinfuzz: stats execs=(\d+))");
const std::regex kHitsLine(R"(^pinfuzz: hits (\d+) (design=.*)$)");
const std::regex kSavedLine(R"(^pinfuzz: saved (.+)$)");
const std::regex kFoundLine(R"(^pinfuzz: found after (\d+) executions in ([0-9.]+) s)");
const std::regex kToolError(
    R"(ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer: (deadly signal|timeout|out-of-memory|fuzz target exited)))");

class Campaign {
 public:
  explicit Campaign(Options opt) : opt_(std::move(opt)) {
    dir_ = opt_.dir;
    crash_dir_ = dir_ / "crashes";
    incoming_dir_ = crash_dir_ / "incoming";
    report_dir_ = opt_.report_dir.empty() ? dir_ / "report" : fs::path(opt_.report_dir);
  }

  int run() {
    if (int rc = prepare(); rc >= 0) return rc;
    triager_ = std::make_unique<Triager>(crash_dir_.string());
    for (const auto& f : st_.findings) triager_->add_known(f.line);
    queue_incoming();
    install_signals();
    say(fmt::format("campaign {}: {} design(s), {} job(s), {}, slices of {:.0f} s; Ctrl-C stops "
                    "and writes the report",
                    dir_.string(), st_.configs.size(), st_.jobs,
                    st_.duration > 0 ? "for " + format_duration(st_.duration) : "until stopped",
                    slice_));
    last_sample_ = last_save_ = last_report_ = last_progress_ = mono();
    sample();
    while (!fatal_ && !done()) {
      if (g_signals && !stopping_) begin_stop("interrupted");
      if (!stopping_) fill_workers();
      pump(0.25);
      reap();
      check_hung();
      collect_triage();
      periodic();
    }
    return finish();
  }

 private:
  // ---- setup ---------------------------------------------------------------

  // -1 to go on, else an exit code.
  int prepare() {
    std::error_code ec;
    const fs::path state_path = dir_ / "campaign.json";
    if (opt_.resume) {
      std::optional<std::string> text = read_file(state_path);
      if (!text) return usage(fmt::format("--resume: {}: no campaign there (cannot read it)",
                                          state_path.string()));
      std::string err;
      auto s = from_json(*text, &err);
      if (!s) return usage(fmt::format("{}: {}", state_path.string(), err));
      st_ = std::move(*s);
      if (!opt_.designs.empty()) return usage("--resume keeps the campaign's designs; drop --design");
      if (std::string err = resume_worker_flags(); !err.empty()) return usage(err);
      if (opt_.duration) st_.duration = *opt_.duration;
      if (opt_.jobs > 0) st_.jobs = opt_.jobs;
      ++st_.sessions;
    } else {
      if (fs::exists(state_path, ec))
        return usage(fmt::format("{} holds a campaign already: --resume continues it, or choose "
                                 "another --dir",
                                 dir_.string()));
      std::vector<std::string> designs = opt_.designs.empty() ? all_designs() : opt_.designs;
      std::set<std::string> slugs;
      for (const auto& text : designs) {
        auto parsed = parse_design(text);
        if (!parsed.design) return usage("--design " + text + ": " + parsed.error);
        Config c;
        c.design = parsed.design->name();
        if (st_.config(c.design)) continue;
        for (const BugConfig& b : bug_catalog()) {
          if (b.buggy_design() == *parsed.design) {
            c.bug = std::string(b.name);
            c.expected = b.expected;
            break;
          }
        }
        c.correct = parsed.design->is_correct();
        c.slug = c.bug.empty() ? safe_name(c.design) : c.bug;
        while (!slugs.insert(c.slug).second) c.slug += "_";
        st_.configs.push_back(std::move(c));
      }
      st_.duration = opt_.duration.value_or(0);
      st_.jobs = opt_.jobs > 0 ? opt_.jobs
                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
      st_.started = utc_now();
      st_.sessions = 1;
    }
    if (std::string err = parse_worker_flags(opt_.fuzzer_args, &worker_, &worker_flags_);
        !err.empty())
      return usage(err);
    st_.fuzzer = opt_.fuzzer;
    st_.fuzzer_args = opt_.fuzzer_args;
    if (::access(opt_.fuzzer.c_str(), X_OK) != 0)
      return usage(fmt::format("{}: not an executable fuzzer ({}); build it with `cmake --build "
                               "--preset fuzz --target pinfuzz_fuzzer` or pass --fuzzer PATH",
                               opt_.fuzzer, std::strerror(errno)));
    for (const fs::path& d : {dir_, crash_dir_, incoming_dir_, dir_ / "logs", dir_ / "corpus",
                              dir_ / "seeds", report_dir_}) {
      fs::create_directories(d, ec);
      if (ec) return disk(fmt::format("{}: cannot create: {}", d.string(), ec.message()));
    }
    for (const auto& c : st_.configs) recover_distill(c);
    for (const auto& c : st_.configs) {
      for (const fs::path& d : {dir_ / "corpus" / c.slug, incoming_dir_ / c.slug}) {
        fs::create_directories(d, ec);
        if (ec) return disk(fmt::format("{}: cannot create: {}", d.string(), ec.message()));
      }
    }
    if (opt_.resume) {
      remove_partial(crash_dir_.string());
      reconcile_findings();
      if (size_t n = scrub_corpus(); n)
        say(fmt::format("removed {} truncated corpus file(s) (written when the campaign was "
                        "killed)", n));
    }
    if (auto e = write_file_atomic((dir_ / "pinfuzz.dict").string(), opt_.dict); !e.empty())
      return disk(e);
    if (int rc = write_seeds(); rc >= 0) return rc;
    if (auto e = write_known(); !e.empty()) return disk(e);
    if (auto e = save(); !e.empty()) return disk(e);
    base_elapsed_ = st_.elapsed;
    session_start_ = mono();
    slice_ = slice_seconds();
    backoff_.resize(st_.configs.size());
    distilled_.assign(st_.configs.size(), 0);
    return -1;
  }

  // Corpus distillation leaves <slug>.distill (being written) and, for an
  // instant, <slug>.old (the directory being replaced); after a kill, the
  // corpus is whichever complete one exists.
  void recover_distill(const Config& c) {
    std::error_code ec;
    const fs::path corpus = dir_ / "corpus" / c.slug;
    const fs::path old = fs::path(corpus.string() + ".old");
    if (!fs::exists(corpus, ec) && fs::exists(old, ec)) fs::rename(old, corpus, ec);
    fs::remove_all(old, ec);
    fs::remove_all(fs::path(corpus.string() + ".distill"), ec);
  }

  static size_t count_files(const fs::path& d) {
    std::error_code ec;
    size_t n = 0;
    for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      ++n;
    return n;
  }

  // What the workers are told that changes how a crash file replays
  // (--strategy, --steps), from --fuzzer-arg: triage must decode and run it
  // as they did. Without a --strategy the workers get the fuzzer's default
  // spelled out, so that a pinfuzz_fuzzer of another build cannot disagree.
  static std::string parse_worker_flags(const std::vector<std::string>& args, RunConfig* config,
                                        std::vector<std::string>* implied) {
    for (const auto& a : args) {
      std::string err;
      if (config->parse_flag(a, &err) && !err.empty()) return "--fuzzer-arg=" + err;
    }
    if (!config->given(RunFlag::strategy)) {
      config->strategy = kFuzzerDefaultStrategy;
      implied->push_back(fmt::format("--strategy={}", schedule_kind_name(*config->strategy)));
    }
    return "";
  }

  // --resume without --fuzzer-arg: the flags the campaign was started with.
  // With some: other libFuzzer flags are fine, but not another --strategy or
  // --steps, under which the crash files still waiting for triage would be
  // decoded into other runs than the ones that crashed.
  std::string resume_worker_flags() {
    if (opt_.fuzzer_args.empty()) {
      opt_.fuzzer_args = st_.fuzzer_args;
      return "";
    }
    RunConfig was, now;
    std::vector<std::string> unused;
    if (auto err = parse_worker_flags(st_.fuzzer_args, &was, &unused); !err.empty())
      return "campaign.json: " + err;
    if (auto err = parse_worker_flags(opt_.fuzzer_args, &now, &unused); !err.empty()) return err;
    if (was.strategy != now.strategy || was.step_budget != now.step_budget)
      return fmt::format("--resume: the workers ran with --strategy={} --steps={}; crash files "
                         "waiting for triage decode only under those (drop --fuzzer-arg's "
                         "--strategy/--steps, or start a new campaign)",
                         was.strategy ? schedule_kind_name(*was.strategy) : "any",
                         was.step_budget);
    return "";
  }

  TriageInput triage_input(const Config& c, std::string path) const {
    TriageInput in;
    in.path = std::move(path);
    in.design = c.design;
    in.slug = c.slug;
    in.strategy = worker_.strategy;
    in.step_budget = worker_.step_budget;
    in.seen_at = t();
    return in;
  }

  int usage(const std::string& msg) {
    fmt::print(stderr, "pinfuzz campaign: {}\n", msg);
    return 2;
  }
  int disk(const std::string& msg) {
    fmt::print(stderr, "pinfuzz campaign: {}\n", msg);
    return 2;
  }

  // campaign.json may be a few seconds older than crashes/: the
  // directories are the truth.
  void reconcile_findings() {
    std::vector<std::string> problems;
    std::vector<Finding> disk = load_findings(crash_dir_.string(), &problems);
    for (auto& p : problems) problem(p);
    std::vector<Finding> merged;
    for (auto& f : disk) {
      if (Finding* old = st_.finding(f.line)) f.count = std::max(f.count, old->count);
      merged.push_back(std::move(f));
    }
    for (const auto& old : st_.findings) {
      bool on_disk = std::any_of(merged.begin(), merged.end(),
                                 [&](const Finding& f) { return f.line == old.line; });
      if (!on_disk) problem(fmt::format("crashes/{}/ is gone from disk; dropped from the report",
                                        old.id));
    }
    st_.findings = std::move(merged);
  }

  // libFuzzer names corpus files by the SHA-1 of their contents and does not
  // write them atomically: a file cut short by a kill has the wrong name.
  size_t scrub_corpus() {
    size_t removed = 0;
    std::error_code ec;
    for (const auto& c : st_.configs) {
      for (const auto& e : fs::directory_iterator(dir_ / "corpus" / c.slug, ec)) {
        const std::string name = e.path().filename().string();
        if (name.size() != 40) continue;
        std::optional<std::string> data = read_file(e.path());
        if (!data) continue;
        auto bytes = std::span(reinterpret_cast<const uint8_t*>(data->data()), data->size());
        if (sha1_hex(bytes) != name) {
          fs::remove(e.path(), ec);
          ++removed;
        }
      }
    }
    return removed;
  }

  int write_seeds() {
    if (opt_.seeds.empty()) return -1;
    std::error_code ec;
    if (!fs::is_directory(opt_.seeds, ec)) {
      say(fmt::format("note: no seed corpus at {}; starting from empty corpora", opt_.seeds));
      return -1;
    }
    for (const auto& e : fs::directory_iterator(opt_.seeds, ec)) {
      if (e.path().extension() != ".txt") continue;
      LoadedScenario l = load_scenario_file(e.path().string());
      if (!l.scenario) {
        say("note: seed skipped: " + l.error);
        continue;
      }
      std::vector<uint8_t> b = encode_bytes(*l.scenario);
      const fs::path out = dir_ / "seeds" / e.path().stem();
      auto err = write_file_atomic(out.string(),
                                   std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
      if (!err.empty()) return disk(err);
    }
    return -1;
  }

  std::string write_known() {
    std::string text = "# signatures triaged by this campaign (pinfuzz_fuzzer --known)\n";
    for (const auto& f : st_.findings) text += f.line + "\n";
    return write_file_atomic((dir_ / "known.txt").string(), text);
  }

  std::string save() {
    st_.elapsed = std::max(st_.elapsed, t());
    return write_file_atomic((dir_ / "campaign.json").string(), to_json(st_));
  }

  double slice_seconds() const {
    if (opt_.slice) return std::max(1.0, *opt_.slice);
    if (st_.duration <= 0) return 120;
    const double share = st_.duration * st_.jobs / std::max<size_t>(1, st_.configs.size());
    // 15% for each worker's start (loading the corpus) and exit, so that a
    // short campaign still reaches the last design in its list.
    return std::clamp(share * 0.85, 5.0, 300.0);
  }

  void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
  }

  // ---- time ----------------------------------------------------------------

  double t() const { return base_elapsed_ + (session_start_ > 0 ? mono() - session_start_ : 0); }
  double remaining() const { return st_.duration > 0 ? st_.duration - t() : 1e18; }

  bool done() const {
    if (!workers_.empty()) return false;
    if (stopping_) return triager_->pending() == 0 || g_signals >= 2;
    return remaining() <= 0.5 && triager_->pending() == 0;
  }

  // ---- workers -------------------------------------------------------------

  void fill_workers() {
    while (static_cast<int>(workers_.size()) < st_.jobs && remaining() > 2) {
      size_t next = next_config();
      if (next == SIZE_MAX) return;
      if (!start_worker(next)) return;
    }
  }

  // The design with the least fuzzing time that no worker is on (fair
  // share; a design with fewer workers than others catches up first). A
  // buggy design that has shown its expected violation counts its time
  // twice, so the ones still hunting for theirs get up to twice the share;
  // the correct designs keep a full share.
  size_t next_config() const {
    size_t best = SIZE_MAX;
    double best_time = 0;
    for (size_t i = 0; i < st_.configs.size(); ++i) {
      bool busy = std::any_of(workers_.begin(), workers_.end(),
                              [i](const auto& w) { return w->config == i; });
      if (busy || backoff_[i].until > mono()) continue;
      const Config& c = st_.configs[i];
      const double spent = c.seconds * (c.expected && c.expected_seconds ? 2.0 : 1.0);
      if (best == SIZE_MAX || spent < best_time) best = i, best_time = spent;
    }
    return best;
  }

  bool start_worker(size_t index) {
    Config& c = st_.configs[index];
    auto w = std::make_unique<Worker>();
    w->config = index;
    w->slice = std::max(1.0, std::min(slice_, remaining()));
    const fs::path log = dir_ / "logs" / (c.slug + ".log");
    rotate_log(log);
    w->log.open(log, std::ios::app);
    if (!w->log) {
      fatal(fmt::format("{}: cannot write: {}", log.string(), std::strerror(errno)));
      return false;
    }
    const fs::path corpus = dir_ / "corpus" / c.slug;
    const size_t inputs = count_files(corpus);
    if (inputs >= opt_.distill_at && inputs >= 2 * distilled_[index]) {
      // libFuzzer's -merge=1: the inputs of the second directory that add
      // coverage, copied into the first (empty) one.
      const fs::path fresh = fs::path(corpus.string() + ".distill");
      std::error_code ec;
      fs::remove_all(fresh, ec);
      fs::create_directories(fresh, ec);
      if (ec) {
        fatal(fmt::format("{}: cannot create: {}", fresh.string(), ec.message()));
        return false;
      }
      w->distill = true;
      w->distill_from = inputs;
      std::vector<std::string> argv = {opt_.fuzzer, "--design=" + c.design, "-merge=1",
                                       "-timeout=30", fresh.string(), corpus.string()};
      return launch(std::move(w), argv, fmt::format("distilling the corpus of {} ({} inputs)",
                                                    c.design, inputs));
    }
    std::vector<std::string> argv = {
        opt_.fuzzer,
        "--design=" + c.design,
        "--stats=1",
        "--known=" + (dir_ / "known.txt").string(),
        "--keep-going",
        "-artifact_prefix=" + (incoming_dir_ / c.slug).string() + "/",
        fmt::format("-max_total_time={}", static_cast<long>(std::ceil(w->slice))),
        "-dict=" + (dir_ / "pinfuzz.dict").string(),
        "-timeout=30",
        "-print_final_stats=1",
    };
    for (const auto& a : worker_flags_) argv.push_back(a);
    for (const auto& a : opt_.fuzzer_args) argv.push_back(a);
    argv.push_back(corpus.string());
    argv.push_back((dir_ / "seeds").string());
    ++c.slices;
    return launch(std::move(w), argv, "worker for " + c.design);
  }

  bool launch(std::unique_ptr<Worker> w, const std::vector<std::string>& argv,
              const std::string& what) {
    w->log << fmt::format("==== {} (campaign time {}) {}:", utc_now(), format_duration(t()), what);
    for (const auto& a : argv) w->log << ' ' << a;
    w->log << '\n';
    if (auto err = w->proc.start(argv); !err.empty()) {
      fatal("cannot start " + opt_.fuzzer + ": " + err);
      return false;
    }
    w->started = w->last_output = mono();
    ++st_.workers.started;
    workers_.push_back(std::move(w));
    return true;
  }

  // A distillation ended: on success its directory replaces the corpus.
  void finish_distill(Worker& w, bool clean_exit) {
    Config& c = st_.configs[w.config];
    const fs::path corpus = dir_ / "corpus" / c.slug;
    const fs::path fresh = fs::path(corpus.string() + ".distill");
    const fs::path old = fs::path(corpus.string() + ".old");
    std::error_code ec;
    const size_t kept = count_files(fresh);
    if (!clean_exit || w.terminating || kept == 0) {
      fs::remove_all(fresh, ec);
      // Not again before the corpus doubles: a failing merge must not
      // take every slice of this design.
      distilled_[w.config] = w.distill_from;
      if (!w.terminating)
        problem(fmt::format("distilling the corpus of {} failed (see logs/{}.log); fuzzing on "
                            "with all {} inputs",
                            c.design, c.slug, w.distill_from));
      return;
    }
    fs::rename(corpus, old, ec);
    if (!ec) fs::rename(fresh, corpus, ec);
    if (ec) {
      fatal(fmt::format("{}: cannot replace it with {}: {}", corpus.string(), fresh.string(),
                        ec.message()));
      return;
    }
    fs::remove_all(old, ec);
    distilled_[w.config] = kept;
    event(fmt::format("distilled the corpus of {}: {} inputs -> {} in {:.0f} s", c.design,
                      w.distill_from, kept, mono() - w.started));
  }

  void rotate_log(const fs::path& log) {
    std::error_code ec;
    if (fs::exists(log, ec) && fs::file_size(log, ec) > (16u << 20))
      fs::rename(log, fs::path(log.string() + ".1"), ec);  // keeps disk use flat
  }

  void pump(double timeout_s) {
    std::vector<pollfd> fds;
    std::vector<Worker*> who;
    for (auto& w : workers_) {
      if (w->proc.fd() < 0) continue;
      fds.push_back({w->proc.fd(), POLLIN, 0});
      who.push_back(w.get());
    }
    if (fds.empty()) {
      ::usleep(static_cast<useconds_t>(timeout_s * 1e6));
      return;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(timeout_s * 1000));
    if (n <= 0) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      std::vector<std::string> lines;
      who[i]->proc.read_lines(&lines);
      for (const auto& l : lines) handle_line(*who[i], l);
    }
  }

  void handle_line(Worker& w, const std::string& line) {
    w.last_output = mono();
    w.log << line << '\n';
    Config& c = st_.configs[w.config];
    std::smatch m;
    if (std::regex_search(line, m, kStatusLine)) {
      w.execs = std::max<uint64_t>(w.execs, std::stoull(m[1]));
      w.cov = std::stoull(m[2]);
      w.ft = std::stoull(m[3]);
      w.corpus = std::stoull(m[4]);
      c.cov = std::max(c.cov, w.cov);
      c.ft = std::max(c.ft, w.ft);
      c.corpus = std::max(c.corpus, w.corpus);
    } else if (std::regex_search(line, m, kStatsLine)) {
      w.execs = std::max<uint64_t>(w.execs, std::stoull(m[1]));
    } else if (std::regex_search(line, m, kHitsLine)) {
      if (Finding* f = st_.finding(m[2])) f->count += std::stoull(m[1]);
    } else if (auto v = parse_violation_line(line)) {
      w.violation = v->violation.kind;
    } else if (std::regex_search(line, m, kSavedLine)) {
      triager_->push(triage_input(c, m[1].str()));  // --keep-going: now; the worker runs on
      w.violation.reset();  // handled: a later exit status is the worker's own
    } else if (std::regex_search(line, m, kFoundLine)) {
      const double secs = c.seconds + std::stod(m[2]);
      const uint64_t execs = c.execs + std::stoull(m[1]);
      if (!c.first_seconds) c.first_seconds = secs, c.first_execs = execs;
      if (c.expected && w.violation == c.expected && !c.expected_seconds)
        c.expected_seconds = secs, c.expected_execs = execs;
    } else if (!w.violation && std::regex_search(line, m, kToolError)) {
      if (w.tool_error.empty()) w.tool_error = line;
    }
  }

  void reap() {
    for (auto it = workers_.begin(); it != workers_.end();) {
      Worker& w = **it;
      auto status = w.proc.poll_exit();
      if (!status) {
        ++it;
        continue;
      }
      // Drain what is left in the pipe.
      while (w.proc.fd() >= 0) {
        std::vector<std::string> lines;
        w.proc.read_lines(&lines);
        for (const auto& l : lines) handle_line(w, l);
        if (w.proc.fd() >= 0) ::usleep(1000);
      }
      Config& c = st_.configs[w.config];
      const bool clean_exit = WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
      if (w.distill) {
        w.log << fmt::format("==== distillation {} after {:.1f} s\n", describe_status(*status),
                             mono() - w.started);
        finish_distill(w, clean_exit);
        it = workers_.erase(it);
        continue;
      }
      c.seconds += mono() - w.started;
      c.execs += w.execs;
      Backoff& b = backoff_[w.config];
      std::string failure;
      if (w.killed_hung) {
        ++st_.workers.hung;
        failure = fmt::format("worker for {} was silent for {:.0f} s and was killed", c.design,
                              opt_.hang_seconds);
      } else if (!clean_exit && !w.violation && !w.terminating) {
        ++st_.workers.crashed;
        failure = fmt::format("worker for {} {}{}", c.design, describe_status(*status),
                              w.tool_error.empty() ? "" : ": " + w.tool_error);
      }
      if (failure.empty()) {
        b = Backoff{};
      } else {
        // Restart, but back off a worker that keeps failing: 1, 2, 4 .. 60 s.
        ++b.failures;
        const double wait = std::min(60.0, std::ldexp(1.0, static_cast<int>(std::min(b.failures, 7u)) - 1));
        b.until = mono() + wait;
        if (b.failures <= 3 || b.failures % 10 == 0)
          problem(fmt::format("{} (see logs/{}.log); restarting in {:.0f} s{}", failure, c.slug,
                              wait,
                              b.failures > 1 ? fmt::format(" (failure {} in a row)", b.failures)
                                             : ""));
      }
      w.log << fmt::format("==== worker {} after {:.1f} s, {} executions\n", describe_status(*status),
                           mono() - w.started, w.execs);
      queue_incoming(w.config);
      it = workers_.erase(it);
    }
  }

  void check_hung() {
    const double now = mono();
    for (auto& w : workers_) {
      if (w->killed_hung) continue;
      const bool silent = now - w->last_output > opt_.hang_seconds;
      const bool overran = now - w->started > w->slice + opt_.hang_seconds;
      if (silent || overran) {
        w->killed_hung = true;
        w->proc.signal(SIGKILL);
      }
    }
  }

  void begin_stop(const std::string& why) {
    stopping_ = true;
    stop_started_ = mono();
    say(fmt::format("{}: stopping the workers and writing the report (Ctrl-C again: stop at once; "
                    "untriaged crashes wait for --resume)",
                    why));
    for (auto& w : workers_) {
      w->terminating = true;
      w->proc.signal(SIGTERM);
    }
  }

  // ---- triage --------------------------------------------------------------

  // Every crash file in crashes/incoming/ (of one design, or all).
  void queue_incoming(size_t only = SIZE_MAX) {
    std::error_code ec;
    for (size_t i = 0; i < st_.configs.size(); ++i) {
      if (only != SIZE_MAX && i != only) continue;
      const Config& c = st_.configs[i];
      for (const auto& e : fs::directory_iterator(incoming_dir_ / c.slug, ec)) {
        const std::string name = e.path().filename().string();
        if (e.path().extension() == ".txt" || name.rfind(".tmp", 0) == 0 ||
            name.find(".tmp.") != std::string::npos)  // write_file_atomic()'s
          continue;
        if (!e.is_regular_file()) continue;
        triager_->push(triage_input(c, e.path().string()));
      }
    }
  }

  void collect_triage() {
    bool changed = false;
    for (auto& [in, r] : triager_->take()) {
      std::error_code ec;
      switch (r.kind) {
        case TriageResult::Kind::kNew: {
          st_.findings.push_back(r.finding);
          changed = true;
          event(fmt::format("new violation #{} at {}: {}\n    -> crashes/{}/ (replay: pinfuzz "
                            "repro {}/crashes/{}/scenario.txt)",
                            st_.findings.size(), format_duration(t()), r.message, r.finding.id,
                            dir_.string(), r.finding.id));
          break;
        }
        case TriageResult::Kind::kKnown:
          if (Finding* f = st_.finding(r.finding.line)) ++f->count;
          break;
        case TriageResult::Kind::kUnreproducible:
        case TriageResult::Kind::kBadInput: {
          const fs::path keep = crash_dir_ / "unreproducible";
          fs::create_directories(keep, ec);
          fs::rename(in.path, keep / fs::path(in.path).filename(), ec);
          problem(fmt::format("{} (kept in crashes/unreproducible/)", r.message));
          break;
        }
        case TriageResult::Kind::kError:
          fatal("triage: " + r.message);
          continue;  // keep the crash file for --resume
      }
      if (r.kind == TriageResult::Kind::kNew || r.kind == TriageResult::Kind::kKnown) {
        // Published (or a duplicate): the worker's file has done its job.
        if (changed) {
          if (auto e = write_known(); !e.empty()) return fatal(e);
          if (auto e = save(); !e.empty()) return fatal(e);
          changed = false;
        }
        fs::remove(in.path, ec);
        fs::remove(in.path + ".txt", ec);
      }
    }
  }

  // ---- bookkeeping ---------------------------------------------------------

  uint64_t live_execs() const {
    uint64_t n = st_.total_execs();
    for (const auto& w : workers_) n += w->execs;
    return n;
  }

  void sample() {
    Sample s;
    s.t = t();
    s.execs = live_execs();
    s.ft = st_.total_ft();
    s.findings = static_cast<uint32_t>(st_.findings.size());
    s.rss_kib = rss_kib(0);
    for (const auto& w : workers_) s.workers_rss_kib += rss_kib(w->proc.pid());
    if (!st_.samples.empty() && s.t > st_.samples.back().t)
      s.exec_per_s = static_cast<double>(s.execs - std::min(s.execs, st_.samples.back().execs)) /
                     (s.t - st_.samples.back().t);
    st_.add_sample(s);
  }

  void periodic() {
    const double now = mono();
    const double sample_every = t() < 600 ? 2 : 10;
    if (now - last_sample_ >= sample_every) {
      sample();
      last_sample_ = now;
    }
    if (now - last_save_ >= 5) {
      if (auto e = save(); !e.empty()) return fatal(e);
      last_save_ = now;
    }
    if (now - last_report_ >= 60) {
      if (auto e = write_report(st_, {dir_.string(), report_dir_.string()}); !e.empty())
        return fatal(e);
      last_report_ = now;
    }
    if (stopping_ && now - stop_started_ > 10) {
      for (auto& w : workers_) w->proc.signal(SIGKILL);
    }
    if (g_signals >= 2)
      for (auto& w : workers_) w->proc.signal(SIGKILL);
    if (!opt_.quiet && now - last_progress_ >= (opt_.progress_tty ? 1 : 10)) {
      progress();
      last_progress_ = now;
    }
  }

  std::string progress_text() const {
    double rate = st_.samples.empty() ? 0 : st_.samples.back().exec_per_s;
    std::string running;
    for (const auto& w : workers_) {
      if (!running.empty()) running += ", ";
      running += st_.configs[w->config].slug;
    }
    return fmt::format("[{}{}] {} execs, {:.0f}/s | ft {} | {} violation(s) | {}", format_duration(t()),
                       st_.duration > 0 ? "/" + format_duration(st_.duration) : "",
                       live_execs(), rate, st_.total_ft(), st_.findings.size(),
                       running.empty() ? (triager_->pending() ? "triaging" : "idle") : running);
  }

  void progress() {
    if (opt_.progress_tty) {
      std::string s = progress_text();
      if (s.size() > 160) s = s.substr(0, 157) + "...";
      fmt::print(stderr, "\r\033[K{}", s);
      progress_shown_ = true;
    } else {
      fmt::print(stderr, "pinfuzz campaign: {}\n", progress_text());
    }
  }

  void clear_progress() {
    if (progress_shown_) fmt::print(stderr, "\r\033[K");
    progress_shown_ = false;
  }

  void say(const std::string& s) {
    if (opt_.quiet) return;
    clear_progress();
    fmt::print(stderr, "pinfuzz campaign: {}\n", s);
  }

  // Findings are printed even with --quiet: they are the point.
  void event(const std::string& s) {
    clear_progress();
    fmt::print("{}\n", s);
    std::fflush(stdout);
  }

  void problem(const std::string& s) {
    st_.problems.push_back(fmt::format("[{}] {}", format_duration(t()), s));
    if (st_.problems.size() > 1000) st_.problems.erase(st_.problems.begin());
    say("problem: " + s);
  }

  void fatal(const std::string& s) {
    if (!fatal_msg_.empty()) return;
    fatal_msg_ = s;
    clear_progress();
    fmt::print(stderr, "pinfuzz campaign: error: {}\n", s);
    fatal_ = true;
    for (auto& w : workers_) {
      w->terminating = true;
      w->proc.signal(SIGKILL);
    }
  }

  int finish() {
    for (auto& w : workers_) w->proc.signal(SIGKILL);
    while (!workers_.empty()) {
      pump(0.05);
      reap();
    }
    collect_triage();
    sample();
    clear_progress();
    std::string err = save();
    if (err.empty()) err = write_report(st_, {dir_.string(), report_dir_.string()});
    if (!err.empty()) {
      fmt::print(stderr, "pinfuzz campaign: error: {}\n", err);
      return 2;
    }
    const size_t untriaged = triager_->pending();
    triager_.reset();
    fmt::print("\ncampaign {}: {} executions in {} ({} session(s)), {} distinct violation(s)\n",
               dir_.string(), st_.total_execs(), format_duration(st_.elapsed), st_.sessions,
               st_.findings.size());
    fmt::print("\n{}", design_table(st_, false));
    if (untriaged)
      fmt::print("\n{} crash file(s) not triaged yet: `pinfuzz campaign --dir {} --resume` "
                 "triages them\n",
                 untriaged, dir_.string());
    if (!st_.problems.empty()) fmt::print("\n{} problem(s); see the report\n", st_.problems.size());
    fmt::print("\nreport: {}\n", (report_dir_ / "report.html").string());
    if (fatal_) return 2;
    return st_.findings.empty() ? 0 : 1;
  }

  Options opt_;
  RunConfig worker_;                      // --strategy and --steps the workers run with
  std::vector<std::string> worker_flags_;  // given to every worker before --fuzzer-arg
  State st_;
  fs::path dir_, crash_dir_, incoming_dir_, report_dir_;
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

}  // namespace

std::vector<std::string> all_designs() {
  std::vector<std::string> out;
  for (const BugConfig& b : bug_catalog()) out.emplace_back(b.design);
  out.emplace_back("pin_bias");
  out.emplace_back("folio_pincount");
  return out;
}

int run(const Options& opt) {
  Campaign c(opt);
  return c.run();
}

int regenerate_report(const std::string& dir, const std::string& report_dir) {
  const fs::path state_path = fs::path(dir) / "campaign.json";
  std::optional<std::string> text = read_file(state_path);
  if (!text) {
    fmt::print(stderr, "pinfuzz report: {}: cannot read (not a campaign directory?)\n",
               state_path.string());
    return 2;
  }
  std::string err;
  auto s = from_json(*text, &err);
  if (!s) {
    fmt::print(stderr, "pinfuzz report: {}: {}\n", state_path.string(), err);
    return 2;
  }
  std::vector<std::string> problems;
  std::vector<Finding> disk = load_findings((fs::path(dir) / "crashes").string(), &problems);
  for (auto& f : disk)
    if (Finding* old = s->finding(f.line)) f.count = std::max(f.count, old->count);
  s->findings = std::move(disk);
  for (auto& p : problems) s->problems.push_back("report: " + p);
  const std::string out = report_dir.empty() ? (fs::path(dir) / "report").string() : report_dir;
  if (auto e = write_report(*s, {dir, out}); !e.empty()) {
    fmt::print(stderr, "pinfuzz report: {}\n", e);
    return 2;
  }
  fmt::print("{}", design_table(*s, false));
  fmt::print("report: {}\n", (fs::path(out) / "report.html").string());
  return s->findings.empty() ? 0 : 1;
}

}  // namespace pf::campaign
