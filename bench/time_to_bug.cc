// time_to_bug: for each configuration of the bug catalog (fuzz/harness/
// bugs.def), the executions and wall time until the search first reaches
// the expected violation, by searches that know nothing of the bug:
//   libfuzzer  pinfuzz_fuzzer --design=D --expect=K from an empty corpus
//              (a child process, one core, its own -seed)
//   pct        random scenarios under seeded PCT schedules (fuzz/harness/search)
//   random     random scenarios under seeded uniform-random schedules
//   mix        one run per scenario, a PCT schedule one time in three, else
//              a random one (SearchStrategy::kMix)
//   stress     random scenarios on free-running std::threads with seeded
//              chaos (fuzz/harness/stress.h), capped at 60 s: not one core,
//              each round runs the scenario's threads at once
// Each is run with several seeds and capped; the table reports the median
// (a run that hits the cap counts as the cap) and how many seeds found it.
// Output: JSON (--json) and a markdown table (--markdown), plus the table on
// stdout. Runs one search at a time: the figures are per core.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/search.h"
#include "fuzz/harness/stress.h"

namespace {

using namespace pf;
namespace fs = std::filesystem;
using nlohmann::json;

struct Trial {
  bool found = false;
  uint64_t execs = 0;
  double seconds = 0;
  // Known kernel limitations met on the way (model/limitations.def): runs
  // (-1: the search does not count them, only names the kinds) and kinds.
  int64_t limitation_runs = 0;
  uint32_t limitation_kinds = 0;
};

struct Cell {
  std::vector<Trial> trials;
  int found() const {
    return static_cast<int>(std::count_if(trials.begin(), trials.end(),
                                          [](const Trial& t) { return t.found; }));
  }
  // Median of the seconds (not found = the cap), and of the executions.
  Trial median(double cap) const {
    std::vector<double> s;
    std::vector<uint64_t> e;
    for (const Trial& t : trials) {
      s.push_back(t.found ? t.seconds : cap);
      e.push_back(t.execs);
    }
    std::sort(s.begin(), s.end());
    std::sort(e.begin(), e.end());
    Trial m;
    if (s.empty()) return m;
    m.seconds = s[s.size() / 2];
    m.execs = e[e.size() / 2];
    m.found = found() * 2 > static_cast<int>(trials.size());
    return m;
  }
};

// Runs the libFuzzer target from an empty corpus until it reports the
// expected kind (--expect) or the cap; reads its "found after" line.
Trial run_libfuzzer(const std::string& fuzzer, const std::string& extra, const BugConfig& bug,
                    uint64_t seed, double cap, const fs::path& work) {
  fs::path dir = work / fmt::format("{}-{}", bug.name, seed);
  fs::remove_all(dir);
  fs::create_directories(dir / "corpus");
  std::string cmd = fmt::format(
      "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 '{}' --design='{}' --memory={} --expect={} {} "
      "-seed={} -max_total_time={} -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "
      "-artifact_prefix='{}/' '{}/corpus' 2>&1",
      fuzzer, bug.design, sync::memory_name(bug.memory()), violation_name(bug.expected), extra,
      seed, static_cast<int>(cap), dir.string(), dir.string());
  Trial t;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return t;
  static const std::regex found(R"(pinfuzz: found after (\d+) executions in ([0-9.]+) s)");
  static const std::regex units(R"(stat::number_of_executed_units: (\d+))");
  // The target prints the first limitation of each kind it meets.
  static const std::regex limitation(R"(pinfuzz: KNOWN KERNEL LIMITATION (\w+) )");
  char line[4096];
  auto start = std::chrono::steady_clock::now();
  while (std::fgets(line, sizeof line, p)) {
    std::cmatch m;
    if (std::regex_search(line, m, found)) {
      t.found = true;
      t.execs = std::stoull(m[1]);
      t.seconds = std::stod(m[2]);
    } else if (!t.found && std::regex_search(line, m, units)) {
      t.execs = std::stoull(m[1]);
    } else if (std::regex_search(line, m, limitation)) {
      if (auto k = parse_violation_kind(m[1].str())) t.limitation_kinds |= 1u << static_cast<int>(*k);
      t.limitation_runs = -1;
    }
  }
  ::pclose(p);
  if (!t.found) t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fs::remove_all(dir);
  return t;
}

// Splits --fuzzer-args at spaces (flags, no quoting).
std::vector<std::string> split_args(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string a; in >> a;) out.push_back(a);
  return out;
}

// `pinfuzz campaign --stop-at-first` on the row's buggy design alone: one
// job, no seed corpus, libFuzzer -seed=<seed>. The campaign ends itself at
// the first violation of the kind the row expects; its campaign.json then
// holds the fuzzing seconds and executions until it (as the campaign counts
// them: its workers' time from their first execution, over slices).
Trial run_campaign(const std::string& pinfuzz, const std::string& fuzzer, const std::string& extra,
                   const BugConfig& bug, uint64_t seed, double cap, const fs::path& work) {
  const fs::path dir = work / fmt::format("campaign-{}-{}", bug.name, seed);
  fs::remove_all(dir);
  fs::create_directories(work);
  std::vector<std::string> args = {pinfuzz,
                                   "campaign",
                                   "--dir",
                                   dir.string(),
                                   "--design",
                                   std::string(bug.design),
                                   "-j",
                                   "1",
                                   "--duration",
                                   fmt::format("{}s", static_cast<long>(std::ceil(cap)) + 5),
                                   "--no-seeds",
                                   "--stop-at-first",
                                   "-q",
                                   "--fuzzer",
                                   fuzzer,
                                   fmt::format("--fuzzer-arg=-seed={}", seed),
                                   fmt::format("--fuzzer-arg=--memory={}",
                                               sync::memory_name(bug.memory()))};
  for (const auto& a : split_args(extra)) args.push_back("--fuzzer-arg=" + a);
  const fs::path log = work / fmt::format("campaign-{}-{}.log", bug.name, seed);
  const pid_t pid = ::fork();
  if (pid < 0) return Trial{};
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  Trial t;
  const auto start = std::chrono::steady_clock::now();
  auto read_state = [&] {
    std::ifstream in(dir / "campaign.json");
    if (!in) return;
    try {
      const json st = json::parse(in);
      for (const auto& c : st.at("configs")) {
        if (c.at("design").get<std::string>() != bug.buggy_design().name()) continue;
        t.execs = c.value("execs", uint64_t{0});
        if (!c.at("expected_seconds").is_null()) {
          t.found = true;
          t.seconds = c.at("expected_seconds").get<double>();
          t.execs = c.at("expected_execs").get<uint64_t>();
        }
      }
      for (const auto& l : st.at("limitations"))
        if (auto k = parse_violation_kind(l.at("kind").get<std::string>()))
          t.limitation_kinds |= 1u << static_cast<int>(*k), t.limitation_runs = -1;
    } catch (const std::exception&) {
      // written atomically, so a half file cannot be seen; a stale one can
    }
  };
  int status = 0;
  // Its --duration ends it after the cap; SIGINT (as a user would) only if
  // it overruns that by far.
  for (bool stopped = false;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!stopped && wall > cap + 30) {
      ::kill(pid, SIGINT);
      stopped = true;
    }
    ::usleep(50'000);
  }
  read_state();
  if (!t.found) t.seconds = cap;
  else if (t.seconds > cap) t.found = false, t.seconds = cap;
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
    fmt::print(stderr, "time_to_bug: the campaign for {} seed {} failed (status {}); see {}\n",
               bug.name, seed, status, log.string());
  else
    fs::remove_all(dir), fs::remove(log);
  return t;
}

Trial run_search(const BugConfig& bug, SearchStrategy kind, uint64_t seed, double cap) {
  SearchResult r = search(bug.buggy_design(), kind, seed, bug.expected,
                          SearchBudget{UINT64_MAX, cap}, kDefaultStepBudget, nullptr,
                          bug.memory());
  return Trial{r.found, r.runs, r.seconds, static_cast<int64_t>(r.limitation_runs),
               r.limitation_kinds};
}

// The stress column's cap: free-running rounds are not searched, only
// repeated, so more time says little more (issue 7 caps it at 60 s).
constexpr double kStressCap = 60;

Trial run_free_threads(const BugConfig& bug, uint64_t seed, double cap) {
  StressOptions o;
  o.max_seconds = std::min(cap, kStressCap);
  o.seed = seed;
  o.chaos = true;
  o.expect = bug.expected;
  StressResult r = run_stress(bug.buggy_design(), nullptr, o);
  if (r.findings.empty()) return Trial{false, r.rounds, r.seconds};
  return Trial{true, r.findings.front().round, r.findings.front().seconds};
}

// A cell as the JSON holds it: median time (or "> cap"), median executions,
// seeds that found it.
std::string cell_text(const json& c) {
  const size_t n = c.at("trials").size();
  if (n == 0) return "-";
  const int found = c.at("found").get<int>();
  const double cap = c.at("cap_seconds").get<double>();
  const bool majority = found * 2 > static_cast<int>(n);
  std::string time = majority ? fmt::format("{:.2f} s", c.at("median_seconds").get<double>())
                              : fmt::format("> {:.0f} s", cap);
  return fmt::format("{} ({} execs, {}/{})", time, c.at("median_execs").get<uint64_t>(), found, n);
}

// The markdown table of `rows` (each: bug, expected, one object per method).
std::string render_table(const json& rows, const std::vector<std::string>& methods) {
  std::string table = "| bug | expected violation |";
  std::string rule = "|---|---|";
  for (const auto& m : methods) table += fmt::format(" {} |", m), rule += "---|";
  table += "\n" + rule + "\n";
  for (const json& row : rows) {
    table += fmt::format("| `{}` | {} |", row.at("bug").get<std::string>(),
                         row.at("expected").get<std::string>());
    for (const auto& m : methods)
      table += fmt::format(" {} |", row.contains(m) ? cell_text(row.at(m)) : "-");
    table += "\n";
  }
  return table;
}

// Known kernel limitations the searches met on the way, apart from the
// findings: per row and method, each kind with the runs that ended in it
// (summed over seeds; "met" where the search only names the kinds).
std::string render_limitations(const json& rows, const std::vector<std::string>& methods) {
  std::string out;
  for (const json& row : rows) {
    for (const auto& m : methods) {
      if (!row.contains(m)) continue;
      std::map<std::string, int64_t> runs;  // kind -> runs, -1 if uncounted
      for (const json& t : row.at(m).at("trials")) {
        if (!t.contains("limitations")) continue;
        const int64_t n = t.value("limitation_runs", int64_t{0});
        for (const auto& k : t.at("limitations")) {
          int64_t& r = runs[k.get<std::string>()];
          r = (n < 0 || r < 0) ? -1 : r + n;
        }
      }
      for (const auto& [kind, n] : runs)
        out += fmt::format("| `{}` | {} | {} | {} |\n", row.at("bug").get<std::string>(), m, kind,
                           n < 0 ? std::string("met") : fmt::format("{} run{}", n, n == 1 ? "" : "s"));
    }
  }
  if (out.empty())
    return "No search met a known kernel limitation (model/limitations.def) on the way.\n";
  return "Known kernel limitations met on the way (model/limitations.def): real kernel\n"
         "outcomes, not findings and not counted in the table above.\n\n"
         "| bug | method | limitation | runs |\n|---|---|---|---|\n" + out;
}

// Rows of several --json outputs side by side, in catalog order; a later
// file's method replaces an earlier one's.
std::optional<json> merge_docs(const std::vector<std::string>& files, std::vector<std::string>* methods,
                               json* sources) {
  std::map<std::string, json> by_bug;
  for (const auto& f : files) {
    std::ifstream in(f);
    json doc;
    try {
      if (!in) throw std::runtime_error("cannot open");
      doc = json::parse(in);
      for (const auto& m : doc.at("methods"))
        if (std::find(methods->begin(), methods->end(), m.get<std::string>()) == methods->end())
          methods->push_back(m.get<std::string>());
      for (const auto& row : doc.at("rows")) {
        json& dst = by_bug[row.at("bug").get<std::string>()];
        if (dst.is_null()) dst = json::object();
        dst.update(row);
      }
      // A merged file names its own sources: carry them, so that merging
      // one more measurement into docs/time-to-bug.json keeps every command.
      if (doc.contains("merged")) {
        for (const auto& src : doc.at("merged")) sources->push_back(src);
      } else {
        sources->push_back({{"file", fs::path(f).filename().string()},
                            {"command", doc.value("command", "")},
                            {"date", doc.value("date", "")},
                            {"machine", doc.value("machine", "")}});
      }
    } catch (const std::exception& e) {
      fmt::print(stderr, "time_to_bug: {}: not a time_to_bug --json output: {}\n", f, e.what());
      return std::nullopt;
    }
  }
  json rows = json::array();
  for (const BugConfig& bug : bug_catalog())
    if (auto it = by_bug.find(std::string(bug.name)); it != by_bug.end()) rows.push_back(it->second);
  return rows;
}


std::string machine() {
  struct utsname u;
  ::uname(&u);
  std::string cpu;
  std::ifstream info("/proc/cpuinfo");
  for (std::string l; std::getline(info, l);)
    if (l.rfind("model name", 0) == 0) {
      cpu = l.substr(l.find(':') + 2);
      break;
    }
  return fmt::format("{} {}, {}", u.sysname, u.release, cpu);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"time_to_bug: how fast each search finds each bug of the catalog"};
  std::string methods_arg = "libfuzzer,campaign,pct,random,stress";
  int seeds = 5;
  double cap = 60;
  std::vector<std::string> only;
  std::string fuzzer = fmt::format("{}/build/fuzz/fuzz/targets/pinfuzz_fuzzer", PINFUZZ_SOURCE_DIR);
  std::string json_out, md_out, fuzzer_args;
  std::string work = (fs::temp_directory_path() / "pinfuzz-ttb").string();
  std::string pinfuzz;
  app.add_option("--methods", methods_arg,
                 "Comma-separated: libfuzzer, campaign, pct, random, mix, stress")
      ->capture_default_str();
  app.add_option("--seeds", seeds, "Seeds per (bug, method); the median is reported")
      ->capture_default_str()->check(CLI::Range(1, 101));
  app.add_option("--cap", cap, "Seconds before a search gives up")->capture_default_str();
  app.add_option("--bug", only, "Only these catalog rows (default: all)");
  app.add_option("--fuzzer", fuzzer, "The pinfuzz_fuzzer binary (fuzz preset)")->capture_default_str();
  app.add_option("--pinfuzz", pinfuzz,
                 "The pinfuzz binary the campaign method runs (default: beside --fuzzer, "
                 "../../pinfuzz)");
  app.add_option("--fuzzer-args", fuzzer_args,
                 "Extra flags for pinfuzz_fuzzer (e.g. '--strategy=pct -dict=corpus/pinfuzz.dict')");
  app.add_option("--json", json_out, "Write the results as JSON here");
  app.add_option("--markdown", md_out, "Write the results as a markdown table here");
  app.add_option("--work", work, "Scratch directory for libFuzzer runs")->capture_default_str();
  std::vector<std::string> merge;
  app.add_option("--merge", merge,
                 "Measure nothing: put the columns of these --json outputs side by side "
                 "(e.g. searches on one core and stress on the other)");
  CLI11_PARSE(app, argc, argv);
  std::string command = "bench/time_to_bug";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const std::string legend =
      "Each cell: median wall time to the first violation of the expected kind (a seed that\n"
      "hits the cap counts as the cap), median executions, and seeds that found it;\n"
      "libfuzzer and campaign count from their worker's first execution, not its start-up\n"
      "(since 2026-12-06; earlier libfuzzer cells include about 0.2 s of it). No\n"
      "search is given a scenario or schedule that knows the bug: libFuzzer starts from an\n"
      "empty corpus, campaign is `pinfuzz campaign --stop-at-first` on the one design with one\n"
      "job and no seed corpus (its slices rotate --search-mix: the native mix search, libFuzzer\n"
      "with --amplify=8, mix again; with -seed=S its first slice runs the mix column's\n"
      "seed-S search, so the two differ by the campaign's own cost). PCT,\n"
      "random and mix run random scenarios (fuzz/harness/search.h; mix: one run per\n"
      "scenario, PCT one time in three, else random), stress\n"
      "runs random scenarios on real threads with chaos (fuzz/harness/stress.h), each run\n"
      "capped at 60 s or less; its executions are rounds, each running every thread of the\n"
      "scenario at once.\n\n";

  if (!merge.empty()) {
    std::vector<std::string> methods;
    json sources = json::array();
    auto rows = merge_docs(merge, &methods, &sources);
    if (!rows) return 2;
    std::string table = render_table(*rows, methods);
    fmt::print("{}", table);
    json doc = {{"date", date}, {"merged", sources}, {"methods", methods}, {"rows", *rows}};
    if (!json_out.empty()) std::ofstream(json_out) << doc.dump(2) << "\n";
    if (!md_out.empty()) {
      std::ofstream md(md_out);
      md << "# Time to bug\n\n";
      for (const auto& src : sources)
        md << fmt::format("- {} on {}: `{}`\n", src.at("date").get<std::string>(),
                          src.at("machine").get<std::string>(), src.at("command").get<std::string>());
      md << fmt::format("\nMerged by `{}`: where sources overlap, a later one's column "
                        "replaces an earlier one's for the rows it measured (so a column's "
                        "cells may come from different dates).\n\n",
                        command)
         << legend << table << "\n"
         << render_limitations(*rows, methods);
    }
    return 0;
  }

  std::vector<std::string> methods;
  for (size_t pos = 0; pos <= methods_arg.size();) {
    size_t comma = methods_arg.find(',', pos);
    std::string m = methods_arg.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (m != "libfuzzer" && m != "campaign" && m != "stress" && !parse_search_strategy(m)) {
      fmt::print(stderr,
                 "time_to_bug: unknown method '{}' (libfuzzer, campaign, pct, random, mix, "
                 "stress)\n", m);
      return 2;
    }
    methods.push_back(m);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  auto wants = [&methods](const char* m) {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
  };
  const bool want_lf = wants("libfuzzer") || wants("campaign");
  if (want_lf && !fs::exists(fuzzer)) {
    fmt::print(stderr, "time_to_bug: {}: no such fuzzer (build the fuzz preset, or --fuzzer)\n", fuzzer);
    return 2;
  }
  if (pinfuzz.empty()) pinfuzz = (fs::path(fuzzer).parent_path().parent_path() / "pinfuzz").string();
  if (wants("campaign") && ::access(pinfuzz.c_str(), X_OK) != 0) {
    fmt::print(stderr, "time_to_bug: {}: no pinfuzz binary for the campaign method (--pinfuzz)\n",
               pinfuzz);
    return 2;
  }
  for (const auto& name : only)
    if (!find_bug(name)) {
      fmt::print(stderr, "time_to_bug: no bug '{}' in the catalog (pinfuzz designs lists them)\n", name);
      return 2;
    }

  json rows = json::array();
  int missed = 0;
  for (const BugConfig& bug : bug_catalog()) {
    if (!only.empty() && std::find(only.begin(), only.end(), bug.name) == only.end()) continue;
    json row = {{"bug", bug.name}, {"design", bug.design}, {"expected", violation_name(bug.expected)}};
    for (const auto& m : methods) {
      Cell cell;
      for (int s = 1; s <= seeds; ++s) {
        Trial t = m == "libfuzzer" ? run_libfuzzer(fuzzer, fuzzer_args, bug, static_cast<uint64_t>(s), cap, work)
                  : m == "campaign"
                      ? run_campaign(pinfuzz, fuzzer, fuzzer_args, bug, static_cast<uint64_t>(s), cap, work)
                  : parse_search_strategy(m)
                      ? run_search(bug, *parse_search_strategy(m), static_cast<uint64_t>(s), cap)
                                   : run_free_threads(bug, static_cast<uint64_t>(s), cap);
        cell.trials.push_back(t);
        fmt::print(stderr, "  {:<24} {:<9} seed {}: {} after {} execs, {:.2f} s\n", bug.name, m, s,
                   t.found ? "found" : "NOT found", t.execs, t.seconds);
      }
      json trials = json::array();
      for (const Trial& t : cell.trials) {
        json lim = json::array();
        for (int k = 0; k < kNumViolationKinds; ++k)
          if (t.limitation_kinds & (1u << k)) lim.push_back(violation_name(static_cast<ViolationKind>(k)));
        trials.push_back({{"found", t.found}, {"execs", t.execs}, {"seconds", t.seconds},
                          {"limitations", lim}, {"limitation_runs", t.limitation_runs}});
      }
      const double mcap = m == "stress" ? std::min(cap, kStressCap) : cap;
      Trial med = cell.median(mcap);
      row[m] = {{"trials", trials},          {"found", cell.found()},
                {"median_seconds", med.seconds}, {"median_execs", med.execs},
                {"cap_seconds", mcap}};
      fmt::print(stderr, "  {:<24} {:<9} {}\n", bug.name, m, cell_text(row[m]));
    }
    bool any = false;
    for (const auto& m : methods) any |= row[m]["found"].get<int>() > 0;
    missed += !any;
    rows.push_back(row);
  }

  const std::string table = render_table(rows, methods);
  json doc = {{"date", date},       {"machine", machine()}, {"command", command}, {"seeds", seeds},
              {"cap_seconds", cap}, {"methods", methods},   {"rows", rows}};
  fmt::print("{}", table);
  if (!json_out.empty()) std::ofstream(json_out) << doc.dump(2) << "\n";
  if (!md_out.empty()) {
    std::ofstream md(md_out);
    md << "# Time to bug\n\n"
       << fmt::format("Measured {} on {}, one search at a time, by `{}`.\n\n", date, machine(),
                      command)
       << legend
       << (want_lf ? fmt::format("libFuzzer: `{}` {}\n\n", fs::relative(fuzzer).string(),
                                 fuzzer_args.empty() ? "" : fmt::format("`{}`", fuzzer_args))
                   : std::string())
       << table << "\n" << render_limitations(rows, methods);
  }
  return missed ? 1 : 0;
}
