// The worker pool: pinfuzz_fuzzer processes started in time slices (or as
// corpus distillations), their output lines read, and workers that crash
// or go silent restarted with backoff.
#include "fuzz/campaign/campaign_impl.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <regex>

#include <fmt/format.h>

#include "fuzz/harness/signature.h"

namespace pf::campaign::detail {

namespace {

const std::regex kStatusLine(R"(^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/)");
const std::regex kStatsLine(R"(^pinfuzz: stats execs=(\d+))");
const std::regex kHitsLine(R"(^pinfuzz: hits (\d+) (design=.*)$)");
const std::regex kSavedLine(R"(^pinfuzz: saved (.+)$)");
const std::regex kLimitationLine(
    R"(^pinfuzz: KNOWN KERNEL LIMITATION (\w+) design=\S+ in (\w+)\(\): (.*) \(see .*\)$)");
const std::regex kFoundLine(R"(^pinfuzz: found after (\d+) executions in ([0-9.]+) s)");
const std::regex kToolError(
    R"(ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer: (deadly signal|timeout|out-of-memory|fuzz target exited)))");

}  // namespace

void Campaign::fill_workers() {
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
size_t Campaign::next_config() const {
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

bool Campaign::start_worker(size_t index) {
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
  // Slices rotate through --search-mix. Why the default, mix then
  // libfuzzer then mix: measured on the catalog (docs/time-to-bug.md) and
  // on mutants of the model (docs/mutation.md), the in-process searches find
  // more per second than libFuzzer, whose instrumented runs and per-input
  // work cost 2-3x: so they get two slices in three, the first one, and
  // mutate the corpus libFuzzer grows; libFuzzer's coverage guidance keeps a
  // slice to grow that corpus (the regression corpus comes from it). mix
  // rather than random and pct in turn: which of the two a bug needs differs
  // by up to 20x either way and nothing says which beforehand, so a slice of
  // the wrong one is nearly wasted, where mix is within 1.6x of the better
  // one on every catalog row and mutant that docs/search.md could rank (one
  // rare mutant, fork_swap_no_dup, still goes to pct: docs/mutation.md).
  const std::string& kind = opt_.search_mix[c.slices % opt_.search_mix.size()];
  const bool native = kind != "libfuzzer";
  std::vector<std::string> argv = {
      opt_.fuzzer,
      "--design=" + c.design,
      "--stats=1",
      "--known=" + (dir_ / "known.txt").string(),
      "--keep-going",
      // A native worker's files are named after its schedule kind
      // (triage_input() decodes them by it).
      "-artifact_prefix=" + (incoming_dir_ / c.slug).string() + "/" + (native ? kind + "-" : ""),
      fmt::format("-max_total_time={}", static_cast<long>(std::ceil(w->slice))),
      "-dict=" + (dir_ / "pinfuzz.dict").string(),
      "-timeout=30",
      "-print_final_stats=1",
      // No NEW_FUNC lines: printing them starts an llvm-symbolizer (60 MB)
      // beside every worker that reaches a new function.
      "-print_funcs=0",
      fmt::format("--amplify={}", kWorkerAmplify),
  };
  if (native) {
    argv.push_back("--search=" + kind);
    // A native worker's own seed: the user's -seed (if any) moves it, and
    // each slice searches anew.
    argv.push_back(fmt::format("-seed={}", worker_seed_ + c.slices));
  }
  for (const auto& a : worker_flags_) argv.push_back(a);
  for (const auto& a : opt_.fuzzer_args)
    if (!native || a.rfind("-seed=", 0) != 0) argv.push_back(a);
  argv.push_back(corpus.string());
  argv.push_back((dir_ / "seeds").string());
  ++c.slices;
  return launch(std::move(w), argv,
                fmt::format("worker for {} ({})", c.design,
                            native ? "native " + kind + " search" : std::string("libFuzzer")));
}

bool Campaign::launch(std::unique_ptr<Worker> w, const std::vector<std::string>& argv,
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
void Campaign::finish_distill(Worker& w, bool clean_exit) {
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

// A worker met a known kernel limitation (it prints the first of each kind
// once per slice, with its scenario, into logs/<slug>.log).
void Campaign::note_limitation(Config& c, const std::string& kind, const std::string& fn,
                               const std::string& detail) {
  auto k = parse_violation_kind(kind);
  if (!k || !is_kernel_limitation(*k)) return;  // a newer fuzzer than this campaign
  for (auto& l : st_.limitations) {
    if (l.design == c.design && l.kind == *k) {
      ++l.slices;
      return;
    }
  }
  st_.limitations.push_back(LimitationSeen{c.design, c.slug, *k, fn, detail, t(), 1});
  event(fmt::format("known kernel limitation: design={} {} in {}(): {} (see {}); not a violation "
                    "of the design; its scenario is in logs/{}.log",
                    c.design, kind, fn, detail, limitation_reference(*k), c.slug));
}

void Campaign::rotate_log(const fs::path& log) {
  std::error_code ec;
  if (fs::exists(log, ec) && fs::file_size(log, ec) > (16u << 20))
    fs::rename(log, fs::path(log.string() + ".1"), ec);  // keeps disk use flat
}

void Campaign::pump(double timeout_s) {
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

void Campaign::handle_line(Worker& w, const std::string& line) {
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
  } else if (std::regex_search(line, m, kLimitationLine)) {
    note_limitation(c, m[1].str(), m[2].str(), m[3].str());
  } else if (auto v = parse_violation_line(line)) {
    w.violation = v->violation.kind;
  } else if (std::regex_search(line, m, kSavedLine)) {
    // --stop-at-first stops here, not at the "found after" line before it:
    // the crash file is written between the two, and a worker stopped
    // earlier would take it along.
    const bool stop =
        opt_.stop_at_first && !stopping_ && (!c.expected || w.violation == c.expected);
    triager_->push(triage_input(c, m[1].str()));  // --keep-going: now; the worker runs on
    w.violation.reset();  // handled: a later exit status is the worker's own
    if (stop) begin_stop(fmt::format("--stop-at-first: {} violated", c.design));
  } else if (std::regex_search(line, m, kFoundLine)) {
    const double secs = c.seconds + std::stod(m[2]);
    const uint64_t execs = c.execs + std::stoull(m[1]);
    if (!c.first_seconds) c.first_seconds = secs, c.first_execs = execs;
    if (c.expected && w.violation == c.expected && !c.expected_seconds)
      c.expected_seconds = secs, c.expected_execs = execs;
    // Now, not at the next periodic save: a first finding is what a reader
    // of campaign.json (bench/time_to_bug) waits for.
    if (auto e = save(); !e.empty()) return fatal(e);
  } else if (!w.violation && std::regex_search(line, m, kToolError)) {
    if (w.tool_error.empty()) w.tool_error = line;
  }
}

void Campaign::reap() {
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

void Campaign::check_hung() {
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

void Campaign::begin_stop(const std::string& why) {
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

}  // namespace pf::campaign::detail
