// Design: which pin-tracking scheme the model runs and which historical
// mistakes are planted in it. A runtime value, so one binary runs them all.
// Parsed from "NAME[,knob=value...]"; parse_design() never throws and names
// every valid choice in its error. designs.def and knobs.def are the single
// source of truth: the TrackingId enum, Design's knob fields with their
// defaults, the knob enums and every list of design names are expanded from
// them here. What a design *does* is its Tracking (model/tracking.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pf {

// One enumerator per designs.def row, in row order.
enum class TrackingId : uint8_t {
#define PF_DESIGN(name, correct, history) name,
#include "model/designs.def"
#undef PF_DESIGN
};

// The design of a run that names none (designs.def: PF_DEFAULT_DESIGN).
inline constexpr TrackingId kDefaultTracking =
#define PF_DESIGN(name, correct, history)
#define PF_DEFAULT_DESIGN(name) TrackingId::name
#include "model/designs.def"
#undef PF_DEFAULT_DESIGN
#undef PF_DESIGN
    ;

// One `enum class Type : uint8_t { choices... }` per enum knob.
#define PF_KNOB_BOOL(name, ref, desc)
#define PF_KNOB_ENUM(name, Type, def, ref, desc, ...) enum class Type : uint8_t { __VA_ARGS__ };
#define PF_KNOB_INT(name, def, lo, hi, ref, desc)
#include "model/knobs.def"
#undef PF_KNOB_BOOL
#undef PF_KNOB_ENUM
#undef PF_KNOB_INT

struct Design {
  TrackingId tracking = kDefaultTracking;
  // Knobs: one field per knobs.def row, with the row's default.
#define PF_KNOB_BOOL(name, ref, desc) bool name = false;
#define PF_KNOB_ENUM(name, Type, def, ref, desc, ...) Type name = Type::def;
#define PF_KNOB_INT(name, def, lo, hi, ref, desc) int name = def;
#include "model/knobs.def"
#undef PF_KNOB_BOOL
#undef PF_KNOB_ENUM
#undef PF_KNOB_INT

  // Canonical text: the design name, then every knob that differs from its
  // default, in knobs.def order. parse_design(name()) == *this.
  std::string name() const;
  // True for a design whose row claims correct tracking, with every mistake
  // knob off (policy choices that are not mistakes may differ).
  bool is_correct() const;

  bool operator==(const Design&) const = default;
};

struct DesignParse {
  std::optional<Design> design;
  std::string error;  // set when !design
};
DesignParse parse_design(std::string_view text);

// The designs.def table, in row order.
struct DesignRow {
  TrackingId id;
  const char* name;
  bool correct;
  const char* history;
};
std::span<const DesignRow> design_table();
const DesignRow& design_row(TrackingId id);
inline const char* tracking_name(TrackingId id) { return design_row(id).name; }

// Lists of design names derived from the table: every row, or the rows that
// claim correct tracking (each as a parse_design() text with no knobs).
enum class DesignSet : uint8_t { kAll, kCorrect };
std::vector<std::string> design_names(DesignSet which);

// For `pinfuzz designs` and docs: every knob with its text.
struct KnobInfo {
  const char* name;
  const char* kind;     // "bool", "enum", "int"
  std::string values;   // "on|off", "ignore|skip|...", "12..32"
  const char* reference;
  const char* description;
};
std::vector<KnobInfo> knob_table();

}  // namespace pf
