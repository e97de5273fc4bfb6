// `pinfuzz import`: crash files from elsewhere - a ClusterFuzz or
// ClusterFuzzLite testcase directory, another machine's libFuzzer run -
// triaged into a campaign as its own workers' are (triage.h): replayed,
// bucketed, the first of each bucket minimized into crashes/<id>/ (which
// keeps the file byte for byte), the rest counted; then the report is
// rewritten. The files themselves are only read.
#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "fuzz/campaign/campaign.h"
#include "fuzz/campaign/dir_lock.h"
#include "fuzz/campaign/state.h"
#include "fuzz/campaign/triage.h"
#include "fuzz/harness/bugs.h"
#include "fuzz/harness/config.h"

namespace pf::campaign {

namespace fs = std::filesystem;

namespace {

// The files to import: a directory's regular files (a crash-X.txt beside
// crash-X is the same crash as text, and is skipped), or a file itself.
std::vector<fs::path> collect(const std::vector<std::string>& sources,
                              std::vector<std::string>* errors) {
  std::vector<fs::path> out;
  for (const auto& src : sources) {
    std::error_code ec;
    if (!fs::is_directory(src, ec)) {
      if (fs::is_regular_file(src, ec)) out.emplace_back(src);
      else errors->push_back(fmt::format("{}: no such file or directory", src));
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(src, ec))
      if (e.is_regular_file(ec)) files.push_back(e.path());
    if (ec) errors->push_back(fmt::format("{}: cannot read: {}", src, ec.message()));
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const std::string name = f.string();
      if (name.size() > 4 && name.ends_with(".txt") &&
          fs::exists(name.substr(0, name.size() - 4), ec))
        continue;
      out.push_back(f);
    }
  }
  return out;
}

// The design a file's name gives: the longest pinfuzz_fuzzer_<name> in it
// (ClusterFuzz names testcases after their target, e.g.
// clusterfuzz-testcase-minimized-pinfuzz_fuzzer_no_gup_fast_recheck-5712).
const FuzzTarget* target_in_name(const std::vector<FuzzTarget>& targets, const std::string& name) {
  const FuzzTarget* best = nullptr;
  for (const FuzzTarget& t : targets) {
    const size_t at = name.find(t.name);
    if (at == std::string::npos) continue;
    const size_t end = at + t.name.size();
    if (end < name.size() && (std::isalnum(static_cast<unsigned char>(name[end])) || name[end] == '_'))
      continue;  // a longer name's prefix
    if (!best || t.name.size() > best->name.size()) best = &t;
  }
  return best;
}

}  // namespace

int import_crashes(const ImportOptions& opt) {
  const fs::path dir(opt.dir);
  std::string err;
  auto st = load_state(dir, &err);
  if (!st) {
    fmt::print(stderr, "pinfuzz import: {}\n", err);
    return 2;
  }
  DirLock lock;
  if (std::string e = lock.acquire(dir); !e.empty()) {
    fmt::print(stderr, "pinfuzz import: {}\n", e);
    return 2;
  }
  std::optional<Design> forced;
  if (!opt.design.empty()) {
    auto parsed = parse_design(opt.design);
    if (!parsed.design) {
      fmt::print(stderr, "pinfuzz import: --design {}: {}\n", opt.design, parsed.error);
      return 2;
    }
    forced = parsed.design;
  }
  std::vector<std::string> errors;
  const std::vector<fs::path> files = collect(opt.sources, &errors);
  const std::string crash_dir = (dir / "crashes").string();
  std::vector<std::string> problems;
  std::set<std::string> known;
  for (const Finding& f : load_findings(crash_dir, &problems)) known.insert(f.line);
  const std::vector<FuzzTarget> targets = fuzz_targets();
  int fresh = 0, counted = 0;
  for (const fs::path& file : files) {
    const FuzzTarget* t = forced ? nullptr : target_in_name(targets, file.filename().string());
    if (!forced && !t) {
      errors.push_back(fmt::format(
          "{}: its name holds no pinfuzz_fuzzer_<design> (pinfuzz designs --targets), and no "
          "--design was given",
          file.string()));
      continue;
    }
    const Design design = forced ? *forced : t->design;
    TriageInput in;
    in.path = file.string();
    in.design = design.name();
    in.slug = t ? t->name.substr(kTargetPrefix.size()) : design.name();
    for (const Config& c : st->configs)
      if (c.design == in.design) in.slug = c.slug;
    std::replace_if(in.slug.begin(), in.slug.end(),
                    [](char c) { return !std::isalnum(static_cast<unsigned char>(c)) && c != '_'; },
                    '_');
    in.strategy = opt.strategy;
    // As the target ran it: its design's model (pinfuzz_fuzzer's default).
    in.memory = opt.memory ? opt.memory : std::optional(default_memory(design));
    in.step_budget = opt.step_budget;
    in.seen_at = st->elapsed;
    TriageResult r = triage(in, crash_dir, [&](const std::string& line) { return known.count(line) > 0; });
    switch (r.kind) {
      case TriageResult::Kind::kNew:
        ++fresh;
        known.insert(r.finding.line);
        fmt::print("{}: new: crashes/{}/ ({})\n", file.string(), r.finding.id, r.finding.line);
        break;
      case TriageResult::Kind::kKnown:
        ++counted;
        fmt::print("{}: known: crashes/{}/ ({})\n", file.string(), r.finding.id, r.finding.line);
        break;
      case TriageResult::Kind::kUnreproducible:
        fmt::print("{}: {}\n", file.string(), r.message);
        break;
      case TriageResult::Kind::kBadInput:
      case TriageResult::Kind::kError:
        errors.push_back(fmt::format("{}: {}", file.string(), r.message));
        break;
    }
  }
  for (const auto& e : errors) fmt::print(stderr, "pinfuzz import: {}\n", e);
  fmt::print("imported {} file(s): {} new finding(s), {} of known ones, {} problem(s)\n",
             files.size(), fresh, counted, errors.size());
  const int report = regenerate_report(opt.dir, "");
  if (!errors.empty()) return 2;
  return report;
}

}  // namespace pf::campaign
