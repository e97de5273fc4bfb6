#include "model/design.h"

#include <fmt/format.h>

#include <charconv>

#include "model/tracking.h"

namespace pf {
namespace {

constexpr DesignRow kDesigns[] = {
#define PF_DESIGN(name, correct, history) {TrackingId::name, #name, correct, history},
#include "model/designs.def"
#undef PF_DESIGN
};

// The implementations, in the same order (tracking_NAME(): model/tracking/NAME.cc).
using TrackingFn = const Tracking& (*)();
constexpr TrackingFn kImplementations[] = {
#define PF_DESIGN(name, correct, history) &tracking_##name,
#include "model/designs.def"
#undef PF_DESIGN
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == s.npos ? s.npos : pos - start));
    if (pos == s.npos) return out;
    start = pos + 1;
  }
}

// An enum knob's choices as knobs.def spells them ("ignore, skip, bounce,
// wait", the stringized enumerator list), one name each.
std::vector<std::string_view> choices_of(std::string_view list) {
  std::vector<std::string_view> out;
  for (auto c : split(list, ',')) {
    while (!c.empty() && c.front() == ' ') c.remove_prefix(1);
    while (!c.empty() && c.back() == ' ') c.remove_suffix(1);
    out.push_back(c);
  }
  return out;
}

std::string choices_text(std::string_view list) {
  std::string s;
  for (auto c : choices_of(list)) s += fmt::format("{}{}", s.empty() ? "" : "|", c);
  return s;
}

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "on" || v == "1" || v == "true" || v == "yes") return true;
  if (v == "off" || v == "0" || v == "false" || v == "no") return false;
  return std::nullopt;
}

std::optional<int> parse_enum(std::string_view v, std::string_view list) {
  int i = 0;
  for (auto c : choices_of(list)) {
    if (c == v) return i;
    ++i;
  }
  return std::nullopt;
}

std::string list_designs() {
  std::string s;
  for (auto& r : kDesigns) s += fmt::format("{}{}", s.empty() ? "" : ", ", r.name);
  return s;
}

std::string list_knobs() {
  std::string s;
  for (auto& k : knob_table()) s += fmt::format("{}{}", s.empty() ? "" : ", ", k.name);
  return s;
}

// Applies one "knob=value" to d; returns an error message or "".
std::string apply_knob(Design& d, std::string_view key, std::string_view val) {
#define PF_KNOB_BOOL(name, ref, desc)                                        \
  if (key == #name || key == std::string_view(#name).substr(3)) {           \
    bool negated = key != #name; /* "X=off" for knob "no_X" */              \
    if (negated && std::string_view(#name).substr(0, 3) != "no_")           \
      return fmt::format("unknown knob '{}'", key);                         \
    auto b = parse_bool(val);                                               \
    if (!b)                                                                 \
      return fmt::format("knob '{}' takes on|off, not '{}'", key, val);     \
    d.name = negated ? !*b : *b;                                            \
    return "";                                                              \
  }
#define PF_KNOB_ENUM(name, Type, def, ref, desc, ...)                        \
  if (key == #name) {                                                       \
    auto e = parse_enum(val, #__VA_ARGS__);                                 \
    if (!e)                                                                 \
      return fmt::format("knob '{}' takes {}, not '{}'", key,               \
                         choices_text(#__VA_ARGS__), val);                  \
    d.name = static_cast<Type>(*e);                                         \
    return "";                                                              \
  }
#define PF_KNOB_INT(name, def, lo, hi, ref, desc)                            \
  if (key == #name) {                                                       \
    int x = 0;                                                              \
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), x); \
    if (ec != std::errc() || p != val.data() + val.size() || x < lo ||      \
        x > hi)                                                             \
      return fmt::format("knob '{}' takes an integer in {}..{}, not '{}'",  \
                         key, lo, hi, val);                                 \
    d.name = x;                                                             \
    return "";                                                              \
  }
#include "model/knobs.def"
#undef PF_KNOB_BOOL
#undef PF_KNOB_ENUM
#undef PF_KNOB_INT
  return fmt::format("unknown knob '{}' (valid knobs: {})", key, list_knobs());
}

}  // namespace

std::span<const DesignRow> design_table() { return kDesigns; }

const DesignRow& design_row(TrackingId id) { return kDesigns[static_cast<size_t>(id)]; }

const Tracking& tracking_of(TrackingId id) {
  return kImplementations[static_cast<size_t>(id)]();
}

std::vector<std::string> design_names(DesignSet which) {
  std::vector<std::string> out;
  for (auto& r : kDesigns)
    if (which == DesignSet::kAll || r.correct) out.emplace_back(r.name);
  return out;
}

bool Design::is_correct() const {
  Design base;
  base.tracking = tracking;
  // ignore, skip and bounce are legitimate policies; wait is not: a task that
  // holds a pin and then syncs the file (or two tasks, each pinning a page
  // the other's writeback waits on) sleeps forever (catalog: writeback_wait).
  if (writeback != WritebackPolicy::wait) base.writeback = writeback;
  // devmap_base=one is not: an idle device page sits at refcount 1, where a
  // speculative get (GUP-fast's folio_try_get()) succeeds, and the put that
  // undoes it frees the page a second time (catalog: devmap_base_one). The
  // pre-v5.18 kernel had no device page GUP-fast could grab and free that
  // way; p2pdma and device-coherent pages arrived with the zero base.
  base.counter_bits = counter_bits;
  // Every teardown policy is some driver's (retry only a kinder one): the
  // hang single_pass and devm can end in is the kernel's, a limitation.
  base.teardown = teardown;
  return design_row(tracking).correct && *this == base;
}

std::string Design::name() const {
  std::string s = tracking_name(tracking);
  const Design def;
#define PF_KNOB_BOOL(name, ref, desc) \
  if (this->name != def.name) s += fmt::format(",{}=on", #name);
#define PF_KNOB_ENUM(name, Type, d, ref, desc, ...)                    \
  if (this->name != def.name)                                         \
    s += fmt::format(",{}={}", #name,                                 \
                     choices_of(#__VA_ARGS__)[static_cast<size_t>(this->name)]);
#define PF_KNOB_INT(name, d, lo, hi, ref, desc) \
  if (this->name != def.name) s += fmt::format(",{}={}", #name, this->name);
#include "model/knobs.def"
#undef PF_KNOB_BOOL
#undef PF_KNOB_ENUM
#undef PF_KNOB_INT
  return s;
}

DesignParse parse_design(std::string_view text) {
  auto parts = split(text, ',');
  Design d;
  bool found = false;
  for (auto& r : kDesigns) {
    if (parts[0] == r.name) {
      d.tracking = r.id;
      found = true;
    }
  }
  if (!found)
    return {std::nullopt, fmt::format("unknown design '{}' (valid designs: {})",
                                      parts[0], list_designs())};
  for (size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    // A bare boolean knob name means "=on".
    std::string_view key = parts[i].substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? "on" : parts[i].substr(eq + 1);
    if (key.empty())
      return {std::nullopt, fmt::format("'{}': expected knob=value (e.g. no_gup_fast_recheck=on)",
                                        parts[i])};
    std::string err = apply_knob(d, key, val);
    if (!err.empty()) return {std::nullopt, err};
  }
  return {d, ""};
}

std::vector<KnobInfo> knob_table() {
  return {
#define PF_KNOB_BOOL(name, ref, desc) {#name, "bool", "on|off", ref, desc},
#define PF_KNOB_ENUM(name, Type, def, ref, desc, ...) \
  {#name, "enum", choices_text(#__VA_ARGS__), ref, desc},
#define PF_KNOB_INT(name, def, lo, hi, ref, desc) {#name, "int", #lo ".." #hi, ref, desc},
#include "model/knobs.def"
#undef PF_KNOB_BOOL
#undef PF_KNOB_ENUM
#undef PF_KNOB_INT
  };
}

}  // namespace pf
