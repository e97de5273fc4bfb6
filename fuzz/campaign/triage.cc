#include "fuzz/campaign/triage.h"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fuzz/campaign/state.h"
#include "fuzz/harness/minimize.h"
#include "fuzz/harness/run.h"
#include "fuzz/harness/signature.h"
#include "fuzz/harness/timeline.h"
#include "fuzz/scenario/scenario.h"

namespace pf::campaign {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

size_t op_count(const Scenario& s) {
  size_t n = 0;
  for (const auto& t : s.program.threads) n += t.size();
  return n;
}

json meta_of(const Finding& f) {
  json j = finding_json(f);
  j["format"] = kFormatVersion;
  j["repro"] = fmt::format("pinfuzz repro crashes/{}/scenario.txt", f.id);
  return j;
}

// Writes every file into crashes/.tmp-<id>/, then renames it to
// crashes/<id>/. "" or an error naming the path.
std::string publish(const std::string& crash_dir, const Finding& f,
                    const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path tmp = fs::path(crash_dir) / (".tmp-" + f.id);
  const fs::path dst = fs::path(crash_dir) / f.id;
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return fmt::format("{}: cannot create: {}", tmp.string(), ec.message());
  for (const auto& [name, data] : files)
    if (auto err = write_file_atomic((tmp / name).string(), data); !err.empty()) return err;
  if (fs::exists(dst, ec)) fs::remove_all(dst, ec);  // a stale copy of the same finding
  fs::rename(tmp, dst, ec);
  if (ec) return fmt::format("{}: cannot rename to {}: {}", tmp.string(), dst.string(), ec.message());
  return "";
}

}  // namespace

std::string finding_id(const std::string& slug, ViolationKind kind, const std::string& line) {
  return fmt::format("{}-{}-{:08x}", slug, violation_name(kind), fnv1a(line));
}

TriageResult triage(const TriageInput& in, const std::string& crash_dir,
                    const std::function<bool(const std::string&)>& is_known) {
  TriageResult out;
  try {
    auto parsed = parse_design(in.design);
    if (!parsed.design) {
      out.kind = TriageResult::Kind::kError;
      out.message = "design: " + parsed.error;
      return out;
    }
    const Design design = *parsed.design;
    // The worker ran with --design, so the input's own design field was
    // skipped when it was decoded, and its --strategy chose how the
    // schedule bytes read: decode it the same way.
    LoadedScenario l =
        load_scenario_file(in.path, DecodeOptions{.ignore_design = true,
                                                   .strategy = in.strategy,
                                                   .memory = in.memory});
    if (!l.scenario) {
      out.kind = TriageResult::Kind::kBadInput;
      out.message = l.error;
      return out;
    }
    RunOptions rec;
    rec.recording = sched::Recording::kFullTrace;
    rec.step_budget = in.step_budget ? in.step_budget : kDefaultStepBudget;
    Runner runner;
    RunResult r = runner.run(*l.scenario, design, rec);
    auto sig = signature_of(r);
    if (!sig) {
      out.kind = TriageResult::Kind::kUnreproducible;
      out.message = fmt::format("{}: runs clean under {} (not a violation: a crash of the "
                                "tool itself? see the worker's log)",
                                in.path, in.design);
      return out;
    }
    Finding& f = out.finding;
    f.line = known_line(design.name(), *sig);
    f.design = design.name();
    f.slug = in.slug;
    f.kind = sig->kind;
    f.fn = sig->fn;
    f.racing_fn = sig->racing_fn;
    f.cause = sig->cause;
    f.signature = sig->to_string();
    f.id = finding_id(in.slug, sig->kind, f.line);
    f.source = fs::path(in.path).filename().string();
    f.count = 1;
    f.first_seen = in.seen_at;
    if (is_known(f.line)) {
      out.kind = TriageResult::Kind::kKnown;
      out.message = f.line;
      return out;
    }
    MinimizeOptions mopt;
    mopt.step_budget = rec.step_budget;
    MinimizeResult m = minimize(*l.scenario, design, mopt);
    auto msig = signature_of(m.run);
    if (!msig || !msig->same_bucket(*sig)) {  // cannot happen: minimize keeps the bucket
      m.scenario = *l.scenario;
      m.scenario.design = design;
      m.run = std::move(r);
    }
    f.threads = static_cast<uint32_t>(m.scenario.program.threads.size());
    f.ops = static_cast<uint32_t>(op_count(m.scenario));
    std::optional<std::string> crash = read_file(in.path);
    if (!crash) {
      out.kind = TriageResult::Kind::kError;
      out.message = fmt::format("{}: cannot open", in.path);
      return out;
    }
    const std::string repro = fmt::format("pinfuzz repro crashes/{}/scenario.txt", f.id);
    std::string text = fmt::format("# {}\n# {}\n# found by pinfuzz campaign in {}; replay: {}\n",
                                   signature_line(design.name(), *sig), r.violation->detail,
                                   f.source, repro) +
                       print_text(m.scenario);
    std::string timeline = render_timeline_text(m.scenario, m.run, {}) + "\n";
    std::string meta = meta_of(f).dump(1) + "\n";
    std::string err = publish(crash_dir, f,
                  {{"crash", *crash}, {"scenario.txt", text}, {"timeline.txt", timeline},
                   {"meta.json", meta}});
    if (!err.empty()) {
      out.kind = TriageResult::Kind::kError;
      out.message = err;
      return out;
    }
    out.kind = TriageResult::Kind::kNew;
    out.message = fmt::format("{} (minimized to {} thread(s), {} op(s) in {} attempts)",
                              signature_line(design.name(), *sig),
                              f.threads, f.ops, m.attempts);
    return out;
  } catch (const std::exception& e) {
    out.kind = TriageResult::Kind::kError;
    out.message = fmt::format("{}: {}", in.path, e.what());
    return out;
  }
}

std::vector<Finding> load_findings(const std::string& crash_dir,
                                   std::vector<std::string>* problems) {
  std::vector<Finding> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(crash_dir, ec)) {
    const fs::path meta = d.path() / "meta.json";
    if (!d.is_directory() || !fs::exists(meta)) continue;
    try {
      json j = json::parse(read_file(meta).value_or(""));
      Finding f = finding_from_json(j);
      f.count = 1;
      out.push_back(std::move(f));
    } catch (const std::exception& e) {
      problems->push_back(fmt::format("{}: unreadable: {}", meta.string(), e.what()));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Finding& a, const Finding& b) { return a.first_seen < b.first_seen; });
  return out;
}

namespace {
// crashes/triaging: "<path>\n<sessions that died triaging it>\n".
std::pair<std::string, int> read_marker(const fs::path& marker) {
  std::optional<std::string> text = read_file(marker);
  if (!text) return {"", 0};
  const size_t nl = text->find('\n');
  std::string path = text->substr(0, nl);
  int n = 1;
  if (nl != std::string::npos) n = std::max(1, std::atoi(text->c_str() + nl + 1));
  return {path, n};
}
}  // namespace

void mark_triaging(const std::string& crash_dir, const std::string& path) {
  const fs::path marker = fs::path(crash_dir) / "triaging";
  auto [was, n] = read_marker(marker);
  // Best effort: without the marker a model crash is only not quarantined.
  (void)write_file_atomic(marker.string(),
                          fmt::format("{}\n{}\n", path, was == path ? n + 1 : 1));
}

void unmark_triaging(const std::string& crash_dir) {
  std::error_code ec;
  fs::remove(fs::path(crash_dir) / "triaging", ec);
}

std::string quarantine_poison(const std::string& crash_dir, std::string* error) {
  const fs::path marker = fs::path(crash_dir) / "triaging";
  auto [path, n] = read_marker(marker);
  // Once: a SIGKILL or a power cut during a good file's triage looks the
  // same; the file is triaged again (counting). Twice: it is the file.
  if (n < 2) return "";
  std::error_code ec;
  std::string msg;
  if (!path.empty() && fs::exists(path, ec)) {
    const fs::path keep = fs::path(crash_dir) / "model-crash";
    const fs::path to = keep / fs::path(path).filename();
    fs::create_directories(keep, ec);
    if (!ec) fs::rename(path, to, ec);
    if (ec) {
      // The marker stays: without the move this session would triage the
      // file again and die on it a third time.
      *error = fmt::format("{}: {} sessions died while triaging it, and it cannot be moved to "
                           "{}: {}; move or delete it by hand, then --resume",
                           path, n, to.string(), ec.message());
      return "";
    }
    const std::string note = path + ".txt";
    if (fs::exists(note, ec)) fs::rename(note, to.string() + ".txt", ec);
    msg = fmt::format("{}: {} sessions died while triaging it: the model itself crashes on this "
                      "input (replay it with the asan build: pinfuzz repro); kept in {}",
                      path, n, to.string());
  }
  fs::remove(marker, ec);
  return msg;
}

void remove_partial(const std::string& crash_dir) {
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(crash_dir, ec))
    if (d.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove_all(d.path(), ec);
}

}  // namespace pf::campaign
