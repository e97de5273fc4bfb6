#include "fuzz/harness/regress.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json to_json(const RegressionEntry& e) {
  return json{{"format", e.format},
              {"bug", e.bug},
              {"design", e.design},
              {"fixed", e.fixed},
              {"expected", violation_name(e.expected)},
              {"fn", e.fn},
              {"reference", e.reference},
              {"steps", e.steps},
              {"trace_hash", fmt::format("{:016x}", e.trace_hash)},
              {"found_by", e.found_by}};
}

std::string write_meta(const RegressionEntry& e, const std::string& json_path) {
  return write_file_atomic(json_path, to_json(e).dump(2) + "\n");
}

std::string json_path_of(const std::string& txt) {
  return fs::path(txt).replace_extension(".json").string();
}

}  // namespace

std::string write_regression(const std::string& dir, const BugConfig& bug, const Scenario& s,
                             const RunResult& run, const std::string& found_by) {
  if (!run.violation) return "error: the scenario shows no violation";
  RegressionEntry e;
  e.bug = std::string(bug.name);
  e.design = s.design ? s.design->name() : std::string(bug.design);
  e.fixed = std::string(bug.fixed);
  e.expected = run.violation->kind;
  e.fn = run.violation->fn;
  e.reference = std::string(bug.reference);
  e.format = kFormatVersion;
  e.steps = run.steps;
  e.trace_hash = run.trace_hash;
  e.found_by = found_by;
  fs::path sub = fs::path(dir) / e.bug;
  std::error_code ec;
  fs::create_directories(sub, ec);
  if (ec) return fmt::format("error: {}: cannot create: {}", sub.string(), ec.message());
  std::string name = fmt::format("{}-{:08x}", violation_name(e.expected),
                                 static_cast<uint32_t>(run.trace_hash >> 32));
  e.path = (sub / (name + ".txt")).string();
  std::string text = fmt::format("# {}: {}\n# reference: {}\n# expected: {} in {}()\n",
                                 bug.name, bug.summary, bug.reference,
                                 violation_name(e.expected), e.fn) +
                     print_text(s);
  if (auto err = write_file_atomic(e.path, text); !err.empty()) return "error: " + err;
  if (auto err = write_meta(e, json_path_of(e.path)); !err.empty()) return "error: " + err;
  return e.path;
}

std::vector<RegressionEntry> load_regressions(const std::string& dir,
                                              std::vector<std::string>* errors) {
  std::vector<RegressionEntry> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    errors->push_back(fmt::format("{}: not a directory", dir));
    return out;
  }
  for (const auto& f : fs::recursive_directory_iterator(dir, ec)) {
    if (f.path().extension() != ".txt") continue;
    std::string jpath = json_path_of(f.path().string());
    std::ifstream in(jpath);
    if (!in) {
      errors->push_back(fmt::format("{}: no metadata file {}", f.path().string(), jpath));
      continue;
    }
    try {
      json j = json::parse(in);
      RegressionEntry e;
      e.path = f.path().string();
      e.format = j.at("format").get<int>();
      e.bug = j.at("bug").get<std::string>();
      e.design = j.at("design").get<std::string>();
      e.fixed = j.at("fixed").get<std::string>();
      auto kind = parse_violation_kind(j.at("expected").get<std::string>());
      if (!kind) throw std::runtime_error("unknown expected violation kind");
      e.expected = *kind;
      e.fn = j.value("fn", "");
      e.reference = j.value("reference", "");
      e.steps = j.at("steps").get<uint64_t>();
      e.trace_hash = std::stoull(j.at("trace_hash").get<std::string>(), nullptr, 16);
      e.found_by = j.value("found_by", "");
      out.push_back(std::move(e));
    } catch (const std::exception& ex) {
      errors->push_back(fmt::format("{}: malformed: {}", jpath, ex.what()));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RegressionEntry& a, const RegressionEntry& b) { return a.path < b.path; });
  return out;
}

RegressCheck check_regression(const RegressionEntry& e, bool update) {
  RegressCheck c;
  if (e.format < kOldestFormatVersion || e.format > kFormatVersion) {
    c.status = RegressStatus::kDrift;
    c.message = fmt::format("recorded under format version {}; {}: "
                            "re-record it (find or minimize it again)",
                            e.format, format_versions_read());
    return c;
  }
  auto buggy = parse_design(e.design);
  auto fixed = parse_design(e.fixed);
  if (!buggy.design || !fixed.design) {
    c.status = RegressStatus::kBadInput;
    c.message = "design: " + (buggy.design ? fixed.error : buggy.error);
    return c;
  }
  LoadedScenario l = load_scenario_file(e.path, DecodeOptions{.ignore_design = true});
  if (!l.scenario) {
    c.status = RegressStatus::kBadInput;
    c.message = l.error;
    return c;
  }
  Runner runner;
  RunResult r = runner.run(*l.scenario, *buggy.design);
  if (!r.violation || r.violation->kind != e.expected || r.violation->fn != e.fn) {
    c.status = RegressStatus::kFail;
    c.message = fmt::format("no longer reproduces under {}: expected {} in {}(), got {}", e.design,
                            violation_name(e.expected), e.fn,
                            r.violation ? r.violation->to_string() : "a clean run");
    return c;
  }
  RunResult f = runner.run(*l.scenario, *fixed.design);
  if (f.violation) {
    c.status = RegressStatus::kFail;
    c.message = fmt::format("not clean under the fix {}: {}", e.fixed, f.violation->to_string());
    return c;
  }
  if (r.trace_hash != e.trace_hash || r.steps != e.steps) {
    if (update) {
      RegressionEntry u = e;
      u.trace_hash = r.trace_hash;
      u.steps = r.steps;
      if (auto err = write_meta(u, json_path_of(e.path)); !err.empty()) {
        c.status = RegressStatus::kBadInput;
        c.message = err;
        return c;
      }
      c.status = RegressStatus::kUpdated;
      c.message = fmt::format("re-recorded: trace {:016x} ({} steps), was {:016x} ({} steps)",
                              r.trace_hash, r.steps, e.trace_hash, e.steps);
      return c;
    }
    c.status = RegressStatus::kDrift;
    c.message = fmt::format(
        "still reproduces, but the trace changed ({:016x}, {} steps; recorded {:016x}, {} steps): "
        "the model's scheduling points moved. Check it still shows the bug it is about, then "
        "`pinfuzz regress --update`",
        r.trace_hash, r.steps, e.trace_hash, e.steps);
    return c;
  }
  c.message = fmt::format("{} under {}, clean under {}", violation_name(e.expected), e.design,
                          e.fixed);
  return c;
}

}  // namespace pf
