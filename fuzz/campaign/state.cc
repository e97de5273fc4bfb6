#include "fuzz/campaign/state.h"

#include <cctype>
#include <cmath>
#include <sstream>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pf::campaign {

using json = nlohmann::ordered_json;

Config* State::config(const std::string& design) {
  for (auto& c : configs)
    if (c.design == design) return &c;
  return nullptr;
}

Finding* State::finding(const std::string& line) {
  for (auto& f : findings)
    if (f.line == line) return &f;
  return nullptr;
}

uint64_t State::total_execs() const {
  uint64_t n = 0;
  for (const auto& c : configs) n += c.execs;
  return n;
}

uint64_t State::total_ft() const {
  uint64_t n = 0;
  for (const auto& c : configs) n += c.ft;
  return n;
}

void State::add_sample(const Sample& s, size_t max) {
  samples.push_back(s);
  if (samples.size() <= max) return;
  std::vector<Sample> kept;
  const size_t half = samples.size() / 2;
  for (size_t i = 0; i < samples.size(); ++i)
    if (i >= half || i % 2 == 0) kept.push_back(samples[i]);
  samples = std::move(kept);
}

namespace {

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

template <class T>
std::optional<T> get_opt(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return j.at(key).get<T>();
}

ViolationKind kind_of(const std::string& name) {
  auto k = parse_violation_kind(name);
  if (!k) throw std::runtime_error("unknown violation kind '" + name + "'");
  return *k;
}

}  // namespace

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<State> load_state(const std::filesystem::path& dir, std::string* error) {
  const std::filesystem::path path = dir / "campaign.json";
  std::optional<std::string> text = read_file(path);
  if (!text) {
    *error = path.string() + ": cannot read (not a campaign directory?)";
    return std::nullopt;
  }
  std::string err;
  std::optional<State> s = from_json(*text, &err);
  if (!s) *error = path.string() + ": " + err;
  return s;
}

nlohmann::ordered_json finding_json(const Finding& f) {
  return {{"id", f.id},
          {"line", f.line},
          {"design", f.design},
          {"slug", f.slug},
          {"kind", violation_name(f.kind)},
          {"fn", f.fn},
          {"racing_fn", f.racing_fn},
          {"cause", f.cause},
          {"signature", f.signature},
          {"first_seen", f.first_seen},
          {"source", f.source},
          {"threads", f.threads},
          {"ops", f.ops}};
}

Finding finding_from_json(const nlohmann::ordered_json& j) {
  Finding f;
  f.id = j.at("id").get<std::string>();
  f.line = j.at("line").get<std::string>();
  f.design = j.at("design").get<std::string>();
  f.slug = j.at("slug").get<std::string>();
  f.kind = kind_of(j.at("kind").get<std::string>());
  f.fn = j.at("fn").get<std::string>();
  f.racing_fn = j.at("racing_fn").get<std::string>();
  // Campaigns from before buckets had neither.
  f.cause = j.value("cause", "");
  f.signature = j.value("signature", "");
  f.first_seen = j.at("first_seen").get<double>();
  f.source = j.value("source", "");
  f.threads = j.value("threads", 0u);
  f.ops = j.value("ops", 0u);
  return f;
}

std::string to_json(const State& s) {
  json j;
  j["format"] = s.format;
  j["started"] = s.started;
  j["duration"] = s.duration;
  j["elapsed"] = s.elapsed;
  j["jobs"] = s.jobs;
  j["sessions"] = s.sessions;
  j["fuzzer"] = s.fuzzer;
  j["fuzzer_args"] = s.fuzzer_args;
  j["configs"] = json::array();
  for (const auto& c : s.configs) {
    j["configs"].push_back({{"design", c.design},
                            {"slug", c.slug},
                            {"bug", c.bug},
                            {"expected", c.expected ? json(violation_name(*c.expected)) : json()},
                            {"correct", c.correct},
                            {"seconds", c.seconds},
                            {"execs", c.execs},
                            {"cov", c.cov},
                            {"ft", c.ft},
                            {"corpus", c.corpus},
                            {"slices", c.slices},
                            {"first_seconds", opt(c.first_seconds)},
                            {"first_execs", opt(c.first_execs)},
                            {"expected_seconds", opt(c.expected_seconds)},
                            {"expected_execs", opt(c.expected_execs)}});
  }
  j["findings"] = json::array();
  for (const auto& f : s.findings) {
    json x = finding_json(f);
    x["count"] = f.count;
    j["findings"].push_back(std::move(x));
  }
  j["limitations"] = json::array();
  for (const auto& l : s.limitations)
    j["limitations"].push_back({{"design", l.design},
                                {"slug", l.slug},
                                {"kind", violation_name(l.kind)},
                                {"fn", l.fn},
                                {"detail", l.detail},
                                {"reference", limitation_reference(l.kind)},
                                {"first_seen", l.first_seen},
                                {"slices", l.slices}});
  j["samples"] = json::array();
  for (const auto& x : s.samples) {
    j["samples"].push_back({{"t", x.t},
                            {"execs", x.execs},
                            {"exec_per_s", std::round(x.exec_per_s)},
                            {"ft", x.ft},
                            {"findings", x.findings},
                            {"rss_kib", x.rss_kib},
                            {"workers_rss_kib", x.workers_rss_kib}});
  }
  j["workers"] = {{"started", s.workers.started},
                  {"crashed", s.workers.crashed},
                  {"hung", s.workers.hung}};
  j["problems"] = s.problems;
  return j.dump(1) + "\n";
}

std::optional<State> from_json(const std::string& text, std::string* error) {
  try {
    json j = json::parse(text);
    State s;
    s.format = j.at("format").get<int>();
    if (s.format != kStateFormat) {
      *error = fmt::format("state format {}; this build reads format {}", s.format, kStateFormat);
      return std::nullopt;
    }
    s.started = j.at("started").get<std::string>();
    s.duration = j.at("duration").get<double>();
    s.elapsed = j.at("elapsed").get<double>();
    s.jobs = j.at("jobs").get<int>();
    s.sessions = j.at("sessions").get<uint32_t>();
    s.fuzzer = j.value("fuzzer", "");
    s.fuzzer_args = j.value("fuzzer_args", std::vector<std::string>{});
    for (const auto& c : j.at("configs")) {
      Config x;
      x.design = c.at("design").get<std::string>();
      x.slug = c.at("slug").get<std::string>();
      x.bug = c.at("bug").get<std::string>();
      if (!c.at("expected").is_null()) x.expected = kind_of(c.at("expected").get<std::string>());
      x.correct = c.at("correct").get<bool>();
      x.seconds = c.at("seconds").get<double>();
      x.execs = c.at("execs").get<uint64_t>();
      x.cov = c.at("cov").get<uint64_t>();
      x.ft = c.at("ft").get<uint64_t>();
      x.corpus = c.at("corpus").get<uint64_t>();
      x.slices = c.at("slices").get<uint32_t>();
      x.first_seconds = get_opt<double>(c, "first_seconds");
      x.first_execs = get_opt<uint64_t>(c, "first_execs");
      x.expected_seconds = get_opt<double>(c, "expected_seconds");
      x.expected_execs = get_opt<uint64_t>(c, "expected_execs");
      s.configs.push_back(std::move(x));
    }
    for (const auto& f : j.at("findings")) {
      Finding x = finding_from_json(f);
      x.count = f.at("count").get<uint64_t>();
      s.findings.push_back(std::move(x));
    }
    // Absent from a campaign.json older than the limitations.
    if (j.contains("limitations")) {
      for (const auto& x : j.at("limitations")) {
        LimitationSeen l;
        l.design = x.at("design").get<std::string>();
        l.slug = x.at("slug").get<std::string>();
        l.kind = kind_of(x.at("kind").get<std::string>());
        l.fn = x.at("fn").get<std::string>();
        l.detail = x.at("detail").get<std::string>();
        l.first_seen = x.at("first_seen").get<double>();
        l.slices = x.at("slices").get<uint64_t>();
        s.limitations.push_back(std::move(l));
      }
    }
    for (const auto& x : j.at("samples")) {
      Sample p;
      p.t = x.at("t").get<double>();
      p.execs = x.at("execs").get<uint64_t>();
      p.exec_per_s = x.at("exec_per_s").get<double>();
      p.ft = x.at("ft").get<uint64_t>();
      p.findings = x.at("findings").get<uint32_t>();
      p.rss_kib = x.at("rss_kib").get<long>();
      p.workers_rss_kib = x.at("workers_rss_kib").get<long>();
      s.samples.push_back(p);
    }
    const auto& w = j.at("workers");
    s.workers.started = w.at("started").get<uint64_t>();
    s.workers.crashed = w.at("crashed").get<uint64_t>();
    s.workers.hung = w.at("hung").get<uint64_t>();
    s.problems = j.at("problems").get<std::vector<std::string>>();
    return s;
  } catch (const std::exception& e) {
    *error = e.what();
    return std::nullopt;
  }
}

std::optional<double> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t used = 0;
    double v;
    try {
      v = std::stod(text.substr(i), &used);
    } catch (...) {
      return std::nullopt;
    }
    if (used == 0 || v < 0 || !std::isfinite(v)) return std::nullopt;
    i += used;
    double unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = 1; break;
        case 'm':
          unit = 60;
          if (i + 1 < text.size() && text[i + 1] == 's') unit = 1e-3, ++i;  // "500ms"
          break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return std::nullopt;
      }
      ++i;
    } else if (any) {
      return std::nullopt;  // "1h30" is ambiguous
    }
    total += v * unit;
    any = true;
  }
  return total;
}

std::string format_duration(double seconds) {
  long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

}  // namespace pf::campaign
