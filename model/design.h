// Design: which pin-tracking scheme the model runs and which historical
// mistakes are planted in it. A runtime value, so one binary runs them all.
// Parsed from "NAME[,knob=value...]"; parse_design() never throws and names
// every valid choice in its error. designs.def and knobs.def are the single
// source of truth for names, help text and docs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pf {

enum class Tracking : uint8_t {
#define PF_DESIGN(name, correct, history) name,
#include "model/designs.def"
#undef PF_DESIGN
};
inline constexpr int kNumTrackings = 0
#define PF_DESIGN(name, correct, history) +1
#include "model/designs.def"
#undef PF_DESIGN
    ;

enum class WritebackPolicy : uint8_t { kIgnore, kSkip, kBounce, kWait };
enum class DevmapBase : uint8_t { kZero, kOne };

struct Design {
  Tracking tracking = Tracking::folio_pincount;
  // Knobs; see knobs.def for what each one means.
  WritebackPolicy writeback = WritebackPolicy::kIgnore;
  int counter_bits = 32;
  bool no_overflow_check = false;
  bool no_gup_fast_recheck = false;
  bool no_gup_fast_pmd_recheck = false;
  bool no_fork_wp_seq = false;
  bool no_cow_for_dma = false;
  bool no_try_share_check = false;
  bool no_try_share_barrier = false;
  bool no_ro_pin_unshare = false;
  bool cow_reuse_by_mapcount = false;
  bool large_unpin_bias = false;
  bool small_unpin_pincount = false;
  bool unlocked_dirty = false;
  bool migrate_pinned = false;
  bool memunmap_no_wait = false;
  DevmapBase devmap_base = DevmapBase::kZero;
  bool devmap_mixed_base = false;
  bool mmap_lock_no_acquire = false;

  // Canonical text: the design name, then every knob that differs from its
  // default, in knobs.def order. parse_design(name()) == *this.
  std::string name() const;
  // True when the design claims folio_maybe_dma_pinned() (all but get_only).
  bool tracks_pins() const { return tracking != Tracking::get_only; }
  // True for a design with correct tracking and every mistake knob off.
  bool is_correct() const;
  // FOLL_PIN uses an exact _pincount for this folio order.
  bool exact_pincount(int order) const;

  bool operator==(const Design&) const = default;
};

struct DesignParse {
  std::optional<Design> design;
  std::string error;  // set when !design
};
DesignParse parse_design(std::string_view text);

const char* tracking_name(Tracking t);
bool tracking_correct(Tracking t);
const char* tracking_history(Tracking t);

// For `pinfuzz designs` and docs: every design and knob with its text.
struct KnobInfo {
  const char* name;
  const char* kind;     // "bool", "enum", "int"
  const char* values;   // "on|off", "ignore|skip|...", "12..32"
  const char* reference;
  const char* description;
};
std::vector<KnobInfo> knob_table();

}  // namespace pf
