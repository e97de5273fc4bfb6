// pinfuzz_fuzzer: the libFuzzer target. Each input is a Scenario in byte
// form (fuzz/scenario/scenario.h): world, op programs and the schedule, so
// libFuzzer's mutations change both what the threads do and how they
// interleave. Each input runs once, deterministically; on a violation the
// target prints a one-line signature and the command that replays it,
// writes the scenario as text beside the crash artifact, and traps (libFuzzer
// then saves the input as crash-<sha1>).
//
// Flags (two dashes: libFuzzer passes them through), or PINFUZZ_* variables:
// one table, fuzz/harness/fuzzer_flags.def; --help prints it.
// Beyond code coverage the target feeds interleaving coverage to libFuzzer
// through __libfuzzer_extra_counters (fuzz/harness/coverage.h).
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/config.h"
#include "fuzz/harness/coverage.h"
#include "fuzz/harness/minimize.h"
#include "fuzz/harness/mutate.h"
#include "fuzz/harness/run.h"
#include "fuzz/harness/search.h"
#include "fuzz/harness/sha1.h"
#include "fuzz/harness/signature.h"

namespace {

using namespace pf;

__attribute__((used, section("__libfuzzer_extra_counters")))
uint8_t g_extra_counters[InterleavingCoverage::kSize];

FuzzerFlags g_flags;
uint64_t g_executions = 0;  // runs of a decoded scenario
// The first execution: "found after ... in X s" and the stats lines count
// search time from here, not the process's start-up (libFuzzer's own
// set-up, which a time-to-bug comparison with in-process searches would
// otherwise charge to the search).
std::chrono::steady_clock::time_point g_start;
std::string g_artifact_prefix = "./";
std::string g_exact_artifact;

// --known: known_line()s (fuzz/harness/signature.h). A campaign
// appends each new signature it triages, so its workers spend their time on
// violations nobody has seen yet instead of crashing on the same one again.
struct Known {
  std::string path;
  time_t mtime = -1;
  off_t size = -1;
  std::set<std::string> lines;
  std::set<std::string> found;           // --keep-going: new ones this process saved
  std::map<std::string, uint64_t> hits;  // since the last stats line
  uint64_t total_hits = 0;

  void reload_if_changed() {
    struct stat st;
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return;
    if (st.st_mtime == mtime && st.st_size == size) return;
    mtime = st.st_mtime;
    size = st.st_size;
    std::ifstream in(path);
    std::string line;
    lines.clear();
    while (std::getline(in, line))
      if (!line.empty() && line[0] != '#') lines.insert(line);
  }
};
Known g_known;
double g_next_stats = 0;

double elapsed() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
}

// Every --stats seconds: "pinfuzz: stats execs=N known_hits=K" and one
// "pinfuzz: hits N <known line>" per known signature hit since the last one.
// Checked every 256 executions, so the clock costs nothing.
void maybe_print_stats() {
  if (g_flags.stats <= 0 || (g_executions & 255) != 0) return;
  double now = elapsed();
  if (now < g_next_stats) return;
  g_next_stats = now + g_flags.stats;
  for (auto& [line, n] : g_known.hits) std::fprintf(stderr, "pinfuzz: hits %llu %s\n",
                                                    static_cast<unsigned long long>(n), line.c_str());
  g_known.hits.clear();
  std::fprintf(stderr, "pinfuzz: stats execs=%llu known_hits=%llu time=%.1f\n",
               static_cast<unsigned long long>(g_executions),
               static_cast<unsigned long long>(g_known.total_hits), now);
  g_known.reload_if_changed();
}

// The signature of a violating input, from one re-run that records the full
// trace (the fuzzing run records none, to stay fast). Once per violation:
// the --known check and the report share it.
std::optional<Signature> recorded_signature(const Scenario& scenario, const Design& design) {
  static Runner recorder;
  RunOptions opt;
  opt.step_budget = g_flags.run.step_budget;
  opt.recording = sched::Recording::kFullTrace;
  return signature_of(recorder.run(scenario, design, opt));
}

// A violation whose signature is in --known: count it, run on.
bool is_known(const std::string& line) {
  if (line.empty()) return false;  // cannot happen: runs are deterministic
  if (!g_known.lines.count(line) && !g_known.found.count(line)) return false;
  ++g_known.hits[line];
  ++g_known.total_hits;
  return true;
}

// Greedy word wrap at `width` columns (the help text's width).
std::string wrap(std::string_view text, size_t width) {
  std::string out, line;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(at, end - at);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + std::string(word);
    at = end + 1;
  }
  return out + line + "\n";
}

// "  --flag=VALUE" and its help from column 33 on (on the next line if the
// flag is too long for that).
std::string help_entry(const FlagDoc& d) {
  constexpr size_t kHelpColumn = 33;
  std::string out = fmt::format("  --{}{}{}", d.flag, d.value.empty() ? "" : "=", d.value);
  out += out.size() + 2 > kHelpColumn ? "\n" + std::string(kHelpColumn, ' ')
                                      : std::string(kHelpColumn - out.size(), ' ');
  for (char c : d.help)
    out += c == '\n' ? "\n" + std::string(kHelpColumn, ' ') : std::string(1, c);
  return out + "\n";
}

std::string help_text() {
  std::string flags, env;
  std::vector<std::string> env_names;
  for (const FlagDoc& d : fuzzer_flag_docs()) {
    flags += help_entry(d);
    if (d.env == FlagEnv::kAlsoEnv) env_names.push_back(d.env_name());
  }
  for (size_t i = 0; i < env_names.size(); ++i)
    env += (i == 0 ? "" : i + 1 == env_names.size() ? " and " : ", ") + env_names[i];
  return "pinfuzz_fuzzer: libFuzzer target for pinfuzz (Linux pin/release semantics)\n\n"
         "Usage: pinfuzz_fuzzer [--design=D] [--strategy=S] [--steps=N] [libFuzzer flags] "
         "[CORPUS_DIR...]\n\n" +
         flags + "\n" +
         wrap("The same settings can come from " + env +
                  ". Unless given, -use_counters=0 is added to libFuzzer's flags: each coverage "
                  "byte counts as hit or not, not by magnitude.",
              88) +
         "On a violation the target prints 'pinfuzz: VIOLATION <kind> design=<d> ...', the\n"
         "'pinfuzz repro' command that replays the crash file, writes the scenario as text to\n"
         "<crash file>.txt, and traps.\n";
}

// "--design= --strategy= ... --help": for the unknown-flag error.
std::string flag_list() {
  std::string s;
  for (const FlagDoc& d : fuzzer_flag_docs())
    s += fmt::format("{}--{}{}", s.empty() ? "" : " ", d.flag, d.value.empty() ? "" : "=");
  return s;
}

[[noreturn]] void print_help() {
  std::fputs(help_text().c_str(), stdout);
  std::exit(0);
}

// Appends a libFuzzer flag the user did not give. LLVMFuzzerInitialize runs
// before libFuzzer parses argv, so the flag takes effect as if typed (and
// fork-mode children inherit it). -use_counters=0: a coverage byte is one
// feature (hit or not), not up to eight by magnitude. With magnitudes,
// loop counts in the model and counts of interleaving pairs make many
// inputs look new, and libFuzzer spends its time adding them to the corpus:
// 30 s from an empty corpus on one core (campaign preset), 4,533 inputs and
// 6.3k executions/s with magnitudes, 1,294 and 13.9k without.
void add_default_flag(int* argc, char*** argv, const char* flag) {
  static std::vector<char*> args;
  args.assign(*argv, *argv + *argc);
  args.push_back(const_cast<char*>(flag));
  args.push_back(nullptr);
  *argv = args.data();
  *argc = static_cast<int>(args.size() - 1);
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "pinfuzz_fuzzer: %s\n", msg.c_str());
  std::exit(2);
}

// libFuzzer's name for a crash input: -artifact_prefix, crash-<sha1>.
std::string crash_path(std::span<const uint8_t> input) {
  return g_artifact_prefix + "crash-" + sha1_hex(input);
}

// Where this process saves a crash that stops it: -exact_artifact_path if
// given, else crash_path().
std::string artifact_path(std::span<const uint8_t> input) {
  return g_exact_artifact.empty() ? crash_path(input) : g_exact_artifact;
}

// Writes a crash input atomically (no half-written file for a campaign to
// triage); exit 2 naming the file if it cannot.
void write_crash(const std::string& path, std::span<const uint8_t> input, const char* what = "") {
  std::string err = write_file_atomic(
      path, std::string_view(reinterpret_cast<const char*>(input.data()), input.size()));
  if (!err.empty()) die(what + err);
}

// Prints the violation and writes its text form.
void report(const Scenario& scenario, const Design& design, const RunResult& r,
            const std::optional<Signature>& sig, std::span<const uint8_t> input) {
  const Violation& v = *r.violation;
  std::string artifact = artifact_path(input);
  std::fprintf(stderr, "\n%s\n", violation_line(v, design.name()).c_str());
  if (sig)
    std::fprintf(stderr, "pinfuzz: signature %s\n", signature_line(design.name(), *sig).c_str());
  std::fprintf(stderr, "pinfuzz: found after %llu executions in %.3f s\n",
               static_cast<unsigned long long>(g_executions),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count());
  std::string flags = g_flags.run.replay_flags();
  std::fprintf(stderr, "pinfuzz: replay: pinfuzz repro %s%s%s\n", flags.c_str(),
               flags.empty() ? "" : " ", artifact.c_str());
  // The effective scenario (design and strategy as run) as text: replays
  // with no flags at all, and is what a person reads first.
  Scenario effective = scenario;
  effective.design = design;
  std::string text = fmt::format("# {}: {}\n# found by pinfuzz_fuzzer {}\n", violation_name(v.kind),
                                 v.detail, flags) +
                     print_text(effective);
  std::string err = write_file_atomic(artifact + ".txt", text);
  if (err.empty())
    std::fprintf(stderr, "pinfuzz: scenario as text: %s.txt (replay: pinfuzz repro %s%s.txt)\n",
                 artifact.c_str(),
                 g_flags.run.step_budget != kDefaultStepBudget
                     ? fmt::format("--steps={} ", g_flags.run.step_budget).c_str()
                     : "",
                 artifact.c_str());
  else
    std::fprintf(stderr, "pinfuzz: could not write the text form: %s\n", err.c_str());
}

// --keep-going: save the crash input as libFuzzer would (artifact prefix,
// crash-<sha1>), atomically, and run on; this process then counts the
// signature as known. A campaign triages the file when it reads the
// "saved" line, instead of restarting a worker for every new violation.
void save_and_go_on(const Scenario& scenario, const Design& design, const RunResult& r,
                    const std::optional<Signature>& sig, const std::string& line,
                    std::span<const uint8_t> input) {
  report(scenario, design, r, sig, input);
  const std::string artifact = crash_path(input);
  write_crash(artifact, input, "--keep-going: ");
  if (!line.empty()) g_known.found.insert(line);
  std::fprintf(stderr, "pinfuzz: saved %s\n", artifact.c_str());
}

}  // namespace

[[noreturn]] static void native_search(int argc, char** argv);

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (std::string e = g_flags.parse_env(); !e.empty()) die(e);
  bool use_counters_given = false;
  for (int i = 1; i < *argc; ++i) {
    std::string_view a = (*argv)[i];
    use_counters_given |= a.rfind("-use_counters=", 0) == 0;
    if (a == "-h") print_help();
    std::string err;
    if (g_flags.parse_flag(a, &err)) {
      if (!err.empty()) die(err);
      if (g_flags.help) print_help();
      continue;
    }
    if (a.rfind("-artifact_prefix=", 0) == 0) g_artifact_prefix = a.substr(17);
    if (a.rfind("-exact_artifact_path=", 0) == 0) g_exact_artifact = a.substr(21);
    if (a.rfind("--", 0) == 0)
      die(fmt::format("unknown flag '{}' (pinfuzz flags: {})", a, flag_list()));
  }
  // An OSS-Fuzz / ClusterFuzzLite build leaves one copy of this binary per
  // design, named after it (fuzz/harness/bugs.h, fuzz_targets()): there no
  // flag can be given, so the name is the --design. A flag still wins.
  const std::string_view self = (*argv)[0];
  const bool named = !g_flags.run.design &&
                     self.substr(self.rfind('/') + 1).rfind(kTargetPrefix, 0) == 0;
  if (named) {
    g_flags.run.design = target_design(self);
    if (!g_flags.run.design)
      die(fmt::format("{}: the name says pinfuzz_fuzzer_<design>, but names no catalog row or "
                      "correct design (pinfuzz designs --targets lists them); rename it or give "
                      "--design",
                      self));
  }
  // config.h says why this default; --strategy=any reads each input's own.
  if (!g_flags.run.given(RunFlag::strategy)) g_flags.run.strategy = kFuzzerDefaultStrategy;
  // bugs.h says why this default; --memory=any reads each input's own.
  if (!g_flags.run.given(RunFlag::memory))
    g_flags.run.memory = default_memory(g_flags.run.fallback_design());
  g_known.path = g_flags.known;
  g_known.reload_if_changed();
  if (g_flags.search) native_search(*argc, *argv);
  if (!use_counters_given) add_default_flag(argc, argv, "-use_counters=0");
  const RunConfig& run = g_flags.run;
  const std::string design = run.design ? run.design->name()
                                        : fmt::format("(from input, else {})",
                                                      tracking_name(kDefaultTracking));
  std::fprintf(stderr,
               "pinfuzz_fuzzer: design=%s%s strategy=%s memory=%s steps=%llu format=%d%s\n",
               design.c_str(), named ? " (from its name)" : "",
               run.strategy ? schedule_kind_name(*run.strategy) : "any (from input)",
               run.memory ? sync::memory_name(*run.memory) : "any (from input)",
               static_cast<unsigned long long>(run.step_budget), kFormatVersion,
               use_counters_given ? "" : " (-use_counters=0 added)");
  return 0;
}

// A known kernel limitation met (model/limitations.def): not a crash and
// not a violation of the design; the first of each kind is printed, with
// the scenario that met it, for the campaign to list apart.
static void note_limitation(const Scenario& scenario, const Violation& v) {
  static std::array<bool, kNumViolationKinds> seen{};
  if (std::exchange(seen[static_cast<size_t>(v.kind)], true)) return;
  const Design design = effective_design(scenario, g_flags.run.fallback_design());
  std::string text = "\n" + limitation_line(v, design.name()) + "\n";
  Scenario shown = scenario;
  shown.design = design;
  const std::string scenario_text = print_text(shown);
  for (std::string_view rest = scenario_text; !rest.empty();) {
    const size_t nl = rest.find('\n');
    text += "pinfuzz:   " + std::string(rest.substr(0, nl)) + "\n";
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  std::fputs(text.c_str(), stderr);
}

// One run of the input's scenario under `scenario.schedule`: counts it, and
// says whether it ended in a violation to act on (not a known kernel
// limitation, of the --expect kind if given). `steps` gets its length.
static bool run_once(const Scenario& scenario, RunResult* r) {
  static Runner runner;
  static InterleavingCoverage coverage(g_extra_counters);
  RunOptions opt;
  opt.step_budget = g_flags.run.step_budget;
  opt.observer = g_flags.interleaving ? &coverage : nullptr;
  *r = runner.run(scenario, g_flags.run.fallback_design(), opt);
  ++g_executions;
  maybe_print_stats();
  if (r->limitation) note_limitation(scenario, *r->limitation);
  return r->violation && (!g_flags.run.expect || r->saw(*g_flags.run.expect));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_executions == 0) g_start = std::chrono::steady_clock::now();
  const std::span<const uint8_t> input(data, size);
  ByteDecode d = decode_bytes(input, g_flags.run.decode_options());
  if (!d.scenario) return -1;  // not a scenario: keep it out of the corpus
  Scenario& scenario = *d.scenario;
  RunResult r;
  bool bad = run_once(scenario, &r);
  // --amplify: the same scenario under schedules derived from its own, all
  // feeding this input's coverage. The first violation stops the input.
  std::vector<uint8_t> derived_bytes;
  if (!bad && g_flags.amplify > 1 && g_flags.run.strategy != ScheduleKind::kInput) {
    const Schedule own = scenario.schedule;
    for (const Schedule& sc : amplified_schedules(own, r.steps, g_flags.amplify - 1)) {
      scenario.schedule = sc;
      scenario.schedule.memory = own.memory;
      if ((bad = run_once(scenario, &r))) break;
    }
    if (bad) derived_bytes = encode_bytes(scenario);
    else scenario.schedule = own;
  }
  if (!bad) return 0;
  // Under a derived schedule the crash input is the scenario with that
  // schedule, so that `pinfuzz repro` replays it as it is.
  const std::span<const uint8_t> crash = derived_bytes.empty() ? input : derived_bytes;
  const Design design = effective_design(scenario, g_flags.run.fallback_design());
  const std::optional<Signature> sig = recorded_signature(scenario, design);
  const std::string line = sig ? known_line(design.name(), *sig) : std::string();
  if (is_known(line)) return 0;
  if (g_flags.keep_going) {
    save_and_go_on(scenario, design, r, sig, line, crash);
    return -1;  // a crash input is no corpus input
  }
  if (!derived_bytes.empty()) {
    // libFuzzer is about to save the input itself, which replays only
    // here (with this --amplify); save the derived one beside it.
    const std::string artifact = crash_path(crash);
    write_crash(artifact, crash);
    std::fprintf(stderr,
                 "pinfuzz: found under a schedule derived by --amplify=%u; saved with it as %s "
                 "(libFuzzer's crash file of this input replays only under pinfuzz_fuzzer "
                 "--amplify=%u)\n",
                 g_flags.amplify, artifact.c_str(), g_flags.amplify);
    g_exact_artifact.clear();
  }
  report(scenario, design, r, sig, crash);
  __builtin_trap();
}

// --search: the in-process search (fuzz/harness/search.h) instead of
// libFuzzer, in libFuzzer's clothes: its corpus directories are read as
// scenarios to mutate, its -seed, -runs, -max_total_time and
// -artifact_prefix are honoured, and violations go the way they go under
// libFuzzer (--known, --keep-going, crash-<sha1> files, the same lines). A
// campaign gives such workers part of each design's time
// (fuzz/campaign/workers.cc says how much, and why).
[[noreturn]] static void native_search(int argc, char** argv) {
  uint64_t seed = 0, runs = UINT64_MAX;
  bool seed_given = false;
  double max_time = 0;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto number = [&](std::string_view prefix, auto* out) {
      if (a.rfind(prefix, 0) != 0) return false;
      const std::string v(a.substr(prefix.size()));
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (v.empty() || *end || x < 0) die(fmt::format("{}: want a number >= 0", a));
      *out = static_cast<std::remove_pointer_t<decltype(out)>>(x);
      return true;
    };
    if (number("-seed=", &seed)) seed_given = true;
    else if (number("-runs=", &runs) || number("-max_total_time=", &max_time)) {}
    else if (!a.empty() && a[0] != '-') dirs.emplace_back(a);
  }
  if (!seed_given)
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  SearchHooks hooks;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (!e.is_regular_file(ec) || hooks.corpus.size() >= 100000) continue;
      std::ifstream in(e.path(), std::ios::binary);
      const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ByteDecode d = decode_bytes(
          std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()),
          g_flags.run.decode_options());
      if (d.scenario) hooks.corpus.push_back(std::move(*d.scenario));
    }
    if (ec) die(fmt::format("{}: cannot read the corpus directory: {}", dir, ec.message()));
  }
  const Design fallback = g_flags.run.fallback_design();
  std::fprintf(stderr,
               "pinfuzz_fuzzer: native search (no libFuzzer): design=%s search=%s seed=%llu "
               "corpus=%zu inputs steps=%llu\n",
               fallback.name().c_str(), search_strategy_name(*g_flags.search),
               static_cast<unsigned long long>(seed), hooks.corpus.size(),
               static_cast<unsigned long long>(g_flags.run.step_budget));
  g_start = std::chrono::steady_clock::now();
  hooks.on_run = [](const Scenario& s, const RunResult& r) {
    ++g_executions;
    maybe_print_stats();
    if (r.limitation) note_limitation(s, *r.limitation);
  };
  hooks.on_violation = [&fallback](const Scenario& s, const RunResult& r) {
    const Design design = effective_design(s, fallback);
    const std::optional<Signature> sig = recorded_signature(s, design);
    const std::string line = sig ? known_line(design.name(), *sig) : std::string();
    if (is_known(line)) return false;
    const std::vector<uint8_t> bytes = encode_bytes(s);
    if (g_flags.keep_going) {
      save_and_go_on(s, design, r, sig, line, bytes);
      return false;
    }
    write_crash(artifact_path(bytes), bytes);
    report(s, design, r, sig, bytes);
    return true;
  };
  const SearchResult r =
      search(fallback, *g_flags.search, seed, g_flags.run.expect,
             SearchBudget{runs, max_time > 0 ? max_time : 1e18}, g_flags.run.step_budget, &hooks,
             g_flags.run.memory.value_or(default_memory(fallback)));
  std::fprintf(stderr, "pinfuzz: stats execs=%llu known_hits=%llu time=%.1f\n",
               static_cast<unsigned long long>(g_executions),
               static_cast<unsigned long long>(g_known.total_hits), elapsed());
  std::fprintf(stderr, "stat::number_of_executed_units: %llu\n",
               static_cast<unsigned long long>(r.runs));
  std::fflush(stderr);
  std::_Exit(r.found ? 1 : 0);
}

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {
size_t write_out(const Scenario& s, uint8_t* data, size_t max_size) {
  std::vector<uint8_t> bytes = encode_bytes(s);
  if (bytes.size() > max_size) return 0;
  std::copy(bytes.begin(), bytes.end(), data);
  return bytes.size();
}
}  // namespace

// Structure-aware mutation (fuzz/harness/mutate.h): decode, mutate the
// scenario one to three times, re-encode. One time in eight, and whenever
// the result would not fit, libFuzzer's own byte mutation instead, which
// keeps its comparison-guided value tricks in play. One time in sixteen a
// fresh scenario, drawn as the native searches draw theirs (syzkaller's
// generate-or-mutate): a corpus that has settled around what it covers
// still meets worlds and op mixes it has no path to by small steps.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  sched::SplitMix64 rng(seed);
  if (g_flags.mutator == Mutator::kBytes || rng.below(8) == 0)
    return LLVMFuzzerMutate(data, size, max_size);
  ByteDecode d = decode_bytes(std::span<const uint8_t>(data, size), g_flags.run.decode_options());
  // Unless --strategy fixes it, each input carries its own schedule kind
  // and mutation may switch it: coverage decides what works where.
  const bool free_kind = !g_flags.run.strategy;
  const ScheduleKind kind = g_flags.run.strategy.value_or(
      static_cast<ScheduleKind>(rng.below(kNumScheduleKinds)));
  Scenario s;
  if (!d.scenario || rng.below(16) == 0) {
    s = random_scenario(rng, kind);
  } else {
    s = *d.scenario;
    for (uint64_t i = 0, n = 1 + rng.below(3); i < n; ++i) mutate_scenario(s, rng, free_kind);
  }
  size_t out = write_out(s, data, max_size);
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}

extern "C" size_t LLVMFuzzerCustomCrossOver(const uint8_t* data1, size_t size1,
                                            const uint8_t* data2, size_t size2, uint8_t* out,
                                            size_t max_out_size, unsigned int seed) {
  sched::SplitMix64 rng(seed);
  ByteDecode a = decode_bytes(std::span<const uint8_t>(data1, size1), g_flags.run.decode_options());
  ByteDecode b = decode_bytes(std::span<const uint8_t>(data2, size2), g_flags.run.decode_options());
  if (!a.scenario || !b.scenario) return 0;
  return write_out(cross_over(*a.scenario, *b.scenario, rng), out, max_out_size);
}
