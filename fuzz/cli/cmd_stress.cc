// `pinfuzz stress`: a scenario (a file, or generated from a seed) on real
// threads, round after round, for a duration (fuzz/harness/stress.h). Meant
// for the tsan build. A finding prints the same violation line and swimlane
// timeline as `pinfuzz repro`, recorded on the real threads, and is written
// as a scenario file for the deterministic engine to search again.
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "fuzz/campaign/state.h"
#include "fuzz/cli/cli.h"
#include "fuzz/harness/sha1.h"
#include "fuzz/harness/signature.h"
#include "fuzz/harness/stress.h"
#include "fuzz/harness/timeline.h"

namespace pf::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted.store(true, std::memory_order_relaxed); }

// SIGINT ends the run after the current round; a second one kills.
class InterruptScope {
 public:
  InterruptScope() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_);
  }
  ~InterruptScope() { ::sigaction(SIGINT, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

// "60s", "2m", "1h", "500ms" or a plain number of seconds.
std::string parse_duration(const std::string& v, double* out) {
  auto d = campaign::parse_duration(v);
  if (!d || *d <= 0)
    return fmt::format("--duration={}: expected a positive duration like 60s, 2m, 1h or 500ms", v);
  *out = *d;
  return "";
}

struct StressCli {
  std::string file;
  std::string out_dir = ".";
  double seconds = 10;
  uint64_t rounds = UINT64_MAX;
  uint64_t seed = 1;
  uint64_t rounds_per_scenario = 200;
  double round_timeout = 10;
  bool chaos = false;
  bool keep_going = false;
  bool quiet = false;
  TimelineOptions timeline;
};

std::string progress_text(const StressProgress& p) {
  return fmt::format("stress: {:.0f} s, {} executions ({:.0f}/s), {} scenario{}, {} finding{}",
                     p.seconds, p.rounds, p.seconds > 0 ? p.rounds / p.seconds : 0.0, p.scenarios,
                     p.scenarios == 1 ? "" : "s", p.findings, p.findings == 1 ? "" : "s");
}

// A status line on a terminal (rewritten in place), a plain line every ten
// seconds otherwise (logs, ctest).
std::function<void(const StressProgress&)> progress_printer() {
  const bool tty = ::isatty(STDERR_FILENO);
  return [tty, last = -10.0](const StressProgress& p) mutable {
    if (tty) {
      fmt::print(stderr, "\r\033[K{}", progress_text(p));
    } else if (p.seconds - last >= 10) {
      last = p.seconds;
      fmt::print(stderr, "{}\n", progress_text(p));
    }
  };
}

std::string finding_path(const StressCli& c, const StressFinding& f, const std::string& text) {
  const std::string hash = sha1_hex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return (std::filesystem::path(c.out_dir) /
          fmt::format("stress-{}-{}.txt", violation_name(f.violation.kind), hash.substr(0, 12)))
      .string();
}

// Prints one finding and writes its scenario; false if the write failed.
bool report_finding(const StressCli& c, const StressFinding& f) {
  const Violation& v = f.violation;
  const Design& d = *f.scenario.design;
  const std::string text = print_text(f.scenario);
  const std::string path = finding_path(c, f, text);
  const std::string err = write_file_atomic(path, text);
  fmt::print("{}\n", violation_line(v, d.name()));
  fmt::print("found on free-running threads in round {} after {:.2f} s{}\n", f.round, f.seconds,
             c.chaos ? " (chaos on)" : "");
  if (!err.empty()) {
    error(err);
  } else {
    fmt::print("scenario written to {}\n", path);
    fmt::print(
        "replay: the interleaving was not recorded for the deterministic engine and will "
        "generally not reproduce as it is; search for it with\n"
        "  pinfuzz run {} --strategy=pct --runs=100000\n",
        path);
  }
  if (!c.quiet) {
    fmt::print("\n--- scenario ---\n{}", text);
    fmt::print("\n--- timeline (real threads, merged by sequence number{}) ---\n{}\n",
               f.truncated ? "; each thread's oldest events were dropped" : "",
               render_timeline_text(f.scenario, f.run, c.timeline));
  }
  std::fflush(stdout);
  return err.empty();
}

int cmd_stress(const StressCli& c, const RunConfig& config) {
  std::optional<Scenario> fixed;
  if (!c.file.empty()) {
    fixed = load_file(c.file, config.decode_options());
    if (!fixed) return kExitBadInput;
  }
  if (std::error_code ec; !std::filesystem::is_directory(c.out_dir, ec)) {
    error(fmt::format("--output {}: not a directory", c.out_dir));
    return kExitBadInput;
  }
  const Design design = fixed ? effective_design(*fixed, config.fallback_design())
                              : config.fallback_design();
  StressOptions o;
  o.max_seconds = c.seconds;
  o.max_rounds = c.rounds;
  o.seed = c.seed;
  o.chaos = c.chaos;
  o.rounds_per_scenario = c.rounds_per_scenario;
  o.round_timeout = c.round_timeout;
  o.expect = config.expect;
  o.keep_going = c.keep_going;
  o.stop = &g_interrupted;
  o.progress = progress_printer();
  fmt::print("stress: design={}, {}, up to {:g} s, seed {}, chaos {}\n", design.name(),
             fixed ? c.file : std::string("generated scenarios"), c.seconds, c.seed,
             c.chaos ? "on" : "off");
  std::fflush(stdout);

  StressResult r;
  {
    InterruptScope sigint;
    g_interrupted.store(false);
    r = run_stress(config.fallback_design(), fixed ? &*fixed : nullptr, o);
  }
  if (::isatty(STDERR_FILENO)) fmt::print(stderr, "\r\033[K");
  bool write_failed = false;
  for (const StressFinding& f : r.findings) write_failed |= !report_finding(c, f);
  fmt::print("stress: design={}, {:.1f} s, {} executions, {:.1f} executions/s, {} scenario{}: {}{}\n",
             design.name(), r.seconds, r.rounds, r.seconds > 0 ? r.rounds / r.seconds : 0.0,
             r.scenarios, r.scenarios == 1 ? "" : "s",
             r.findings.empty() ? std::string("clean")
                                : fmt::format("{} violation{}", r.findings.size(),
                                              r.findings.size() == 1 ? "" : "s"),
             r.interrupted ? " (interrupted)" : "");
  if (write_failed) return kExitBadInput;
  return r.findings.empty() ? kExitClean : kExitViolation;
}

}  // namespace

void add_stress_commands(CLI::App& app, Action& action) {
  static RunConfig config;
  static StressCli c;
  auto* cmd = app.add_subcommand(
      "stress",
      "Run a scenario (FILE, or generated ones from --seed) on real threads, round after round "
      "on a fresh world, for --duration; the same oracles as the deterministic engine. Meant for "
      "the tsan build: ThreadSanitizer checks the model's own C++. A violation prints its "
      "timeline as recorded by the threads and writes the scenario for `pinfuzz run`. Exit 1 on "
      "a violation, 0 if clean, 2 on bad input");
  cmd->add_option("FILE", c.file, "Scenario (text or bytes); without it, generated scenarios");
  cmd->add_option_function<std::string>(
         "--duration",
         [](const std::string& v) {
           if (auto e = parse_duration(v, &c.seconds); !e.empty()) throw CLI::ValidationError(e);
         },
         "How long to run: 60s, 2m, 1h, 500ms (default 10s)");
  cmd->add_option("--rounds", c.rounds, "Stop after this many executions (default: no limit)")
      ->check(positive_count());
  cmd->add_option("--seed", c.seed, "Seed of the generated scenarios and of the chaos draws")
      ->capture_default_str();
  cmd->add_flag("--chaos", c.chaos,
                "Random short spins and yields at scheduling points, to widen race windows");
  cmd->add_option("--rounds-per-scenario", c.rounds_per_scenario,
                  "Generated scenarios: executions of each before the next")
      ->capture_default_str()->check(positive_count());
  cmd->add_option("--round-timeout", c.round_timeout,
                  "Seconds after which a round is a hang (or a deadlock, if every unfinished "
                  "thread keeps waiting)")
      ->capture_default_str()->check(positive_seconds());
  cmd->add_option_function<std::string>(
      "--expect",
      [](const std::string& v) {
        if (auto e = parse_expect_value(v, &config.expect); !e.empty()) throw CLI::ValidationError(e);
      },
      "Only this violation kind is a finding (others are counted and skipped)");
  cmd->add_flag("--keep-going", c.keep_going,
                "Do not stop at the first violation: report one per kind and function");
  cmd->add_option("-o,--output", c.out_dir,
                  "Directory for the scenario files of findings (stress-KIND-HASH.txt)")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", c.quiet, "No scenario or timeline, just the violation lines");
  cmd->add_option("--rows", c.timeline.max_rows, "Timeline rows to show before the violation (0: all)")
      ->capture_default_str();
  cmd->add_flag("--ascii", c.timeline.ascii, "ASCII-only timeline (no Unicode arrows)");
  add_config_options(*cmd, config);
  // A schedule means nothing to real threads, and they have no step budget.
  cmd->remove_option(cmd->get_option("--strategy"));
  cmd->remove_option(cmd->get_option("--steps"));
  cmd->callback([&action] { action = [] { return cmd_stress(c, config); }; });
}

}  // namespace pf::cli
