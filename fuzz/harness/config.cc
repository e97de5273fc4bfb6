// Parsing pinfuzz_fuzzer's flags and PINFUZZ_* variables, row by row from
// fuzzer_flags.def, and each flag's value.
#include "fuzz/harness/config.h"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

std::string parse_memory_value(std::string_view v, std::optional<sync::Memory>* out) {
  if (v == "any") {  // as the scenario says
    out->reset();
    return "";
  }
  auto m = parse_memory(v);
  if (!m) return fmt::format("--memory={}: unknown memory model (valid: sc, tso, arm, any)", v);
  *out = *m;
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

namespace {

std::string parse_interleaving_value(std::string_view v, bool* out) {
  if (v != "on" && v != "off")
    return fmt::format("--interleaving={}: want --interleaving=on or off", v);
  *out = v == "on";
  return "";
}

std::string parse_mutator_value(std::string_view v, Mutator* out) {
  if (v == "structure") *out = Mutator::kStructure;
  else if (v == "bytes") *out = Mutator::kBytes;
  else return fmt::format("--mutator={}: unknown mutator (structure, bytes)", v);
  return "";
}

// The file must be readable now; a campaign rewrites it while its workers run.
std::string parse_known_value(std::string_view v, std::string* out) {
  std::string path(v);
  if (FILE* f = std::fopen(path.c_str(), "r")) std::fclose(f);
  else return fmt::format("--known={}: cannot read: {}", path, std::strerror(errno));
  *out = std::move(path);
  return "";
}

std::string parse_stats_value(std::string_view v, double* out) {
  const std::string text(v);
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || !(x > 0))
    return fmt::format("--stats={}: want a number of seconds > 0", v);
  *out = x;
  return "";
}

std::string parse_search_value(std::string_view v, std::optional<SearchStrategy>* out) {
  *out = parse_search_strategy(v);
  if (!*out) return fmt::format("--search={}: want random, pct or mix", v);
  return "";
}

std::string parse_amplify_value(std::string_view v, uint32_t* out) {
  uint32_t x = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || p != v.data() + v.size() || x < 1 || x > kMaxAmplify)
    return fmt::format("--amplify={}: want a number of schedules per input, 1..{}", v,
                       kMaxAmplify);
  *out = x;
  return "";
}

// A switch takes no value: being there sets it.
std::string parse_switch(std::string_view, bool* out) {
  *out = true;
  return "";
}

constexpr FlagEnv kAlsoEnv = FlagEnv::kAlsoEnv, kFlagOnly = FlagEnv::kFlagOnly;

// If `arg` is this row's flag (--flag=value, or --flag for a switch), parses
// its value into *out and returns true; *error is "" or why the value is bad.
template <class T>
bool parse_row(std::string_view arg, std::string_view flag, std::string_view value,
               std::string (*parse)(std::string_view, T*), T* out, std::string* error) {
  if (arg.substr(0, 2) != "--" || arg.substr(2, flag.size()) != flag) return false;
  std::string_view rest = arg.substr(2 + flag.size());
  if (value.empty()) {
    if (!rest.empty()) return false;
  } else if (rest.empty() || rest[0] != '=') {
    return false;
  }
  *error = parse(value.empty() ? rest : rest.substr(1), out);
  return true;
}

// The same for the row's PINFUZZ_* variable: false if it is unset or empty.
template <class T>
bool parse_env_row(const FlagDoc& doc, std::string (*parse)(std::string_view, T*), T* out,
                   std::string* error) {
  if (doc.env != FlagEnv::kAlsoEnv) return false;
  const std::string name = doc.env_name();
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) return false;
  if (std::string err = parse(v, out); !err.empty()) *error = name + ": " + err;
  return true;
}

// The row of each field, by its position in the table.
enum class Row : uint8_t {
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help) field,
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help) field,
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
};

const FlagDoc& doc(Row r) { return fuzzer_flag_docs()[static_cast<size_t>(r)]; }

}  // namespace

std::string FlagDoc::env_name() const {
  std::string s = "PINFUZZ_";
  for (char c : flag)
    s += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

const std::vector<FlagDoc>& fuzzer_flag_docs() {
  static const std::vector<FlagDoc> docs = {
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help) {flag, value, env, help},
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help) {flag, value, env, help},
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
  };
  return docs;
}

std::string RunConfig::replay_flags() const {
  std::string s;
  if (design) s += fmt::format(" --design={}", design->name());
  if (strategy) s += fmt::format(" --strategy={}", schedule_kind_name(*strategy));
  if (memory) s += fmt::format(" --memory={}", sync::memory_name(*memory));
  if (step_budget != kDefaultStepBudget) s += fmt::format(" --steps={}", step_budget);
  return s.empty() ? s : s.substr(1);
}

bool RunConfig::parse_flag(std::string_view arg, std::string* error) {
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help)        \
  if (parse_row<Type>(arg, flag, value, parse, &field, error)) {          \
    given_ |= 1u << static_cast<int>(RunFlag::field);                      \
    return true;                                                           \
  }
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help)
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
  return false;
}

std::string RunConfig::parse_env() {
  std::string err;
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help)      \
  if (parse_env_row<Type>(doc(Row::field), parse, &field, &err)) {      \
    if (!err.empty()) return err;                                        \
    given_ |= 1u << static_cast<int>(RunFlag::field);                    \
  }
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help)
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
  return "";
}

bool FuzzerFlags::parse_flag(std::string_view arg, std::string* error) {
  if (run.parse_flag(arg, error)) return true;
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help)
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help) \
  if (parse_row<Type>(arg, flag, value, parse, &field, error)) return true;
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
  return false;
}

std::string FuzzerFlags::parse_env() {
  if (std::string err = run.parse_env(); !err.empty()) return err;
  std::string err;
#define PF_RUN_FLAG(field, flag, Type, dflt, env, value, parse, help)
#define PF_TARGET_FLAG(field, flag, Type, dflt, env, value, parse, help) \
  if (parse_env_row<Type>(doc(Row::field), parse, &field, &err) && !err.empty()) return err;
#include "fuzz/harness/fuzzer_flags.def"
#undef PF_RUN_FLAG
#undef PF_TARGET_FLAG
  return "";
}

}  // namespace pf
