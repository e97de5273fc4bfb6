// `pinfuzz campaign` (campaign.h): the main loop that drives the worker pool,
// triage and progress (campaign_impl.h lists the files), campaign time, and
// the end of a session: workers stopped, state saved, report written.
#include "fuzz/campaign/campaign_impl.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "fuzz/campaign/report.h"

namespace pf::campaign {
namespace detail {

volatile sig_atomic_t g_signals = 0;

namespace {
void on_signal(int) { g_signals = g_signals + 1; }
}  // namespace

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

Campaign::Campaign(Options opt) : opt_(std::move(opt)) {
  dir_ = opt_.dir;
  crash_dir_ = dir_ / "crashes";
  incoming_dir_ = crash_dir_ / "incoming";
  report_dir_ = opt_.report_dir.empty() ? dir_ / "report" : fs::path(opt_.report_dir);
}

int Campaign::run() {
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

double Campaign::t() const {
  return base_elapsed_ + (session_start_ > 0 ? mono() - session_start_ : 0);
}

double Campaign::remaining() const { return st_.duration > 0 ? st_.duration - t() : 1e18; }

bool Campaign::done() const {
  if (!workers_.empty()) return false;
  if (stopping_) return triager_->pending() == 0 || g_signals >= 2;
  return remaining() <= 0.5 && triager_->pending() == 0;
}

void Campaign::install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int Campaign::finish() {
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
  if (std::string l = limitations_text(st_); !l.empty()) fmt::print("\n{}", l);
  if (untriaged)
    fmt::print("\n{} crash file(s) not triaged yet: `pinfuzz campaign --dir {} --resume` "
               "triages them\n",
               untriaged, dir_.string());
  if (!st_.problems.empty()) fmt::print("\n{} problem(s); see the report\n", st_.problems.size());
  fmt::print("\nreport: {}\n", (report_dir_ / "report.html").string());
  if (fatal_) return 2;
  return st_.findings.empty() ? 0 : 1;
}

}  // namespace detail

int run(const Options& opt) {
  detail::Campaign c(opt);
  return c.run();
}

std::string check_search_mix(const std::vector<std::string>& mix) {
  if (mix.empty()) return "want at least one of random, pct, mix, libfuzzer";
  for (const auto& m : mix)
    if (m != "libfuzzer" && !parse_search_strategy(m))
      return fmt::format("'{}': want random, pct, mix or libfuzzer", m);
  return "";
}

}  // namespace pf::campaign
