// Campaign setup: the options checked, the directory created or resumed
// (campaign.json, known.txt, the dictionary, seeds, corpora), the state
// reconciled with what is on disk after a kill, and the design list.
#include "fuzz/campaign/campaign_impl.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <charconv>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/sha1.h"
#include "fuzz/scenario/scenario.h"

namespace pf::campaign {
namespace detail {

namespace {

// A design as a directory name: its catalog row, or the name made safe.
std::string safe_name(const std::string& design) {
  std::string s;
  for (char c : design) s += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '-';
  return s;
}

}  // namespace

// -1 to go on, else an exit code.
int Campaign::prepare() {
  std::error_code ec;
  const fs::path state_path = dir_ / "campaign.json";
  // The lock first, before campaign.json is read: a campaign running in the
  // directory may be rewriting it. A new campaign creates the directory to
  // hold the lock in it; --resume needs it to exist.
  if (opt_.resume && !fs::is_directory(dir_, ec))
    return usage(fmt::format("--resume: {}: no campaign there (no such directory)", state_path.string()));
  fs::create_directories(dir_, ec);
  if (ec) return disk(fmt::format("{}: cannot create: {}", dir_.string(), ec.message()));
  if (std::string err = lock_.acquire(dir_); !err.empty()) return usage(err);
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
  // More workers than designs would fuzz one design twice at a time (each
  // slice is one design's), and more than 4 per CPU only thrashes.
  const int cpus = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int cap = std::min(static_cast<int>(st_.configs.size()), 4 * cpus);
  if (st_.jobs > cap) {
    say(fmt::format("note: -j {} lowered to {} ({} design(s), {} CPU(s))", st_.jobs, cap,
                    st_.configs.size(), cpus));
    st_.jobs = cap;
  }
  if (std::string err = parse_worker_flags(opt_.fuzzer_args, &worker_, &worker_flags_);
      !err.empty())
    return usage(err);
  st_.fuzzer = opt_.fuzzer;
  st_.fuzzer_args = opt_.fuzzer_args;
  // A native worker's seed: the user's -seed=N moves it (workers.cc), the
  // clock otherwise. Checked here: libFuzzer would only refuse it in a
  // worker, after the campaign started.
  worker_seed_ = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  for (const auto& a : opt_.fuzzer_args) {
    if (a.rfind("-seed=", 0) != 0) continue;
    const std::string_view v = std::string_view(a).substr(6);
    uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seed);
    if (ec != std::errc{} || end != v.data() + v.size() || v.empty())
      return usage(fmt::format("--fuzzer-arg={}: want -seed=N, N a non-negative integer", a));
    worker_seed_ = seed;
  }
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
  std::string poison;  // reported once the session's clock runs
  if (opt_.resume) {
    remove_partial(crash_dir_.string());
    std::string err;
    poison = quarantine_poison(crash_dir_.string(), &err);
    if (!err.empty()) return disk(err);
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
  if (!poison.empty()) problem(poison);
  return -1;
}

// Corpus distillation leaves <slug>.distill (being written) and, for an
// instant, <slug>.old (the directory being replaced); after a kill, the
// corpus is whichever complete one exists.
void Campaign::recover_distill(const Config& c) {
  std::error_code ec;
  const fs::path corpus = dir_ / "corpus" / c.slug;
  const fs::path old = fs::path(corpus.string() + ".old");
  if (!fs::exists(corpus, ec) && fs::exists(old, ec)) fs::rename(old, corpus, ec);
  fs::remove_all(old, ec);
  fs::remove_all(fs::path(corpus.string() + ".distill"), ec);
}

size_t Campaign::count_files(const fs::path& d) {
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
std::string Campaign::parse_worker_flags(const std::vector<std::string>& args, RunConfig* config,
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
std::string Campaign::resume_worker_flags() {
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

int Campaign::usage(const std::string& msg) {
  fmt::print(stderr, "pinfuzz campaign: {}\n", msg);
  return 2;
}

int Campaign::disk(const std::string& msg) {
  fmt::print(stderr, "pinfuzz campaign: {}\n", msg);
  return 2;
}

// campaign.json may be a few seconds older than crashes/: the
// directories are the truth.
void Campaign::reconcile_findings() {
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
size_t Campaign::scrub_corpus() {
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

int Campaign::write_seeds() {
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

std::string Campaign::write_known() {
  std::string text = "# signatures triaged by this campaign (pinfuzz_fuzzer --known)\n";
  for (const auto& f : st_.findings) text += f.line + "\n";
  return write_file_atomic((dir_ / "known.txt").string(), text);
}

double Campaign::slice_seconds() const {
  if (opt_.slice) return std::max(1.0, *opt_.slice);
  if (st_.duration <= 0) return 120;
  const double share = st_.duration * st_.jobs / std::max<size_t>(1, st_.configs.size());
  // 15% for each worker's start (loading the corpus) and exit, so that a
  // short campaign still reaches the last design in its list.
  return std::clamp(share * 0.85, 5.0, 300.0);
}

}  // namespace detail

std::vector<std::string> all_designs() {
  std::vector<std::string> out;
  for (const BugConfig& b : bug_catalog()) out.emplace_back(b.design);
  for (std::string& d : design_names(DesignSet::kCorrect)) out.push_back(std::move(d));
  return out;
}

}  // namespace pf::campaign
