// Violation signatures, written and read in one place. The line a violation
// prints ("pinfuzz: VIOLATION <kind> design=<d> pfn=.. thread=.. step=.. in
// fn(): detail": tests and scripts grep it, campaigns parse it from their
// workers), and the Signature a campaign deduplicates on and a minimization
// keeps. parse_violation_line(violation_line(v, d)) gives back v and d.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/harness/run.h"
#include "model/violation.h"

namespace pf {

// "pinfuzz: VIOLATION lost_dma_write design=get_only pfn=0 thread=1 step=89
// in writeback(): ..." (one line, no newline).
std::string violation_line(const Violation& v, std::string_view design);

struct ViolationLine {
  Violation violation;
  std::string design;
};
// The fields of a violation_line(); nullopt for any other line, one cut
// short before its detail, or one with a kind this build does not know.
std::optional<ViolationLine> parse_violation_line(std::string_view line);

// What must stay the same while shrinking, and what a campaign buckets
// crashes by: the violation kind, the kernel function that reported it and
// the kernel function at the other side of the race (ClusterFuzz buckets by
// the top frames of one stack; a race has two).
struct Signature {
  ViolationKind kind;
  std::string fn;
  // The function of the last write by another thread to something the
  // reporting thread's current op touched (for an end-of-run finding: to the
  // page it is about). "" when no other thread wrote there - a sequential
  // bug - or when the run was not recorded with Recording::kFullTrace.
  std::string racing_fn;
  friend bool operator==(const Signature&, const Signature&) = default;

  // "pinned_page_replaced in unpin_user_page() vs try_to_unmap_one()"
  std::string to_string() const;
  // "pinned_page_replaced in unpin_user_page()": what campaigns deduplicate
  // on. The racing step's function is shown, not keyed: it varies with the
  // interleaving more than with the bug (one knob gave 429 full signatures
  // in a two-minute campaign, 68 keys).
  std::string key() const;
};
std::optional<Signature> signature_of(const RunResult& r);

// "design=<d> <kind> in <fn>()": Signature::key() under a design, one line of
// pinfuzz_fuzzer's --known file and what campaigns deduplicate on.
std::string known_line(std::string_view design, const Signature& sig);
// "design=<d> <kind> in <fn>() vs <racing>()": Signature::to_string() under
// a design, as a finding is announced.
std::string signature_line(std::string_view design, const Signature& sig);

}  // namespace pf
