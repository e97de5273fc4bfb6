#include "fuzz/harness/config.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace pf {

std::string parse_design_value(std::string_view v, std::optional<Design>* out) {
  auto d = parse_design(v);
  if (!d.design) return fmt::format("--design={}: {}", v, d.error);
  *out = *d.design;
  return "";
}

std::string parse_strategy_value(std::string_view v, std::optional<ScheduleKind>* out) {
  if (v == "any") {  // as the scenario says
    out->reset();
    return "";
  }
  auto k = parse_schedule_kind(v);
  if (!k) return fmt::format("--strategy={}: unknown strategy (valid: input, random, pct, any)", v);
  *out = *k;
  return "";
}

std::string parse_steps_value(std::string_view v, uint64_t* out) {
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x == 0)
    return fmt::format("--steps={}: expected a positive integer", v);
  *out = x;
  return "";
}

std::string parse_expect_value(std::string_view v, std::optional<ViolationKind>* out) {
  auto k = parse_violation_kind(v);
  if (!k) {
    std::string valid;
    for (int i = 0; i < kNumViolationKinds; ++i)
      valid += fmt::format("{}{}", i ? ", " : "", violation_name(static_cast<ViolationKind>(i)));
    return fmt::format("--expect={}: unknown violation kind (valid: {})", v, valid);
  }
  *out = *k;
  return "";
}

std::string RunConfig::replay_flags() const {
  std::string s;
  if (design) s += fmt::format(" --design={}", design->name());
  if (strategy) s += fmt::format(" --strategy={}", schedule_kind_name(*strategy));
  if (step_budget != kDefaultStepBudget) s += fmt::format(" --steps={}", step_budget);
  return s.empty() ? s : s.substr(1);
}

bool RunConfig::parse_flag(std::string_view arg, std::string* error) {
  auto value = [&](std::string_view name) -> std::optional<std::string_view> {
    if (arg.substr(0, name.size()) == name && arg.size() > name.size() && arg[name.size()] == '=')
      return arg.substr(name.size() + 1);
    return std::nullopt;
  };
  if (auto v = value("--design")) *error = parse_design_value(*v, &design);
  else if (auto v = value("--strategy")) *error = parse_strategy_value(*v, &strategy);
  else if (auto v = value("--steps")) *error = parse_steps_value(*v, &step_budget);
  else if (auto v = value("--expect")) *error = parse_expect_value(*v, &expect);
  else return false;
  return true;
}

std::string RunConfig::parse_env() {
  std::string err;
  if (const char* v = std::getenv("PINFUZZ_DESIGN"); v && *v && !design)
    if (!(err = parse_design_value(v, &design)).empty()) return "PINFUZZ_DESIGN: " + err;
  if (const char* v = std::getenv("PINFUZZ_STRATEGY"); v && *v && !strategy)
    if (!(err = parse_strategy_value(v, &strategy)).empty()) return "PINFUZZ_STRATEGY: " + err;
  if (const char* v = std::getenv("PINFUZZ_STEPS"); v && *v)
    if (!(err = parse_steps_value(v, &step_budget)).empty()) return "PINFUZZ_STEPS: " + err;
  if (const char* v = std::getenv("PINFUZZ_EXPECT"); v && *v && !expect)
    if (!(err = parse_expect_value(v, &expect)).empty()) return "PINFUZZ_EXPECT: " + err;
  return "";
}

}  // namespace pf
