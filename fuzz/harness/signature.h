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
// in writeback(): ..." (one line, no newline); a violation with a cause has
// "cause=<cause>" before "in".
std::string violation_line(const Violation& v, std::string_view design);

// "pinfuzz: KNOWN KERNEL LIMITATION teardown_hang design=folio_pincount in
// memunmap_pages(): ... (249881232e14 ...)": a limitations.def outcome met,
// not a violation (one line, no newline).
std::string limitation_line(const Violation& v, std::string_view design);

struct ViolationLine {
  Violation violation;
  std::string design;
};
// The fields of a violation_line(); nullopt for any other line, one cut
// short before its detail, or one with a kind this build does not know.
std::optional<ViolationLine> parse_violation_line(std::string_view line);

// A violation's identity. The *bucket* (key()) is what a campaign groups
// crashes by and what minimization keeps: the kind and its cause, the
// mistake rather than the schedule (docs/triage.md, "Buckets": what replaced
// a pinned page, where a pin was lost, ...), or the reporting function for
// a kind whose oracle names no cause. The fine-grained signature
// (to_string(): reporting and racing functions) is kept beside it: two
// schedules of one mistake share a bucket and often differ there.
struct Signature {
  ViolationKind kind;
  std::string fn;
  std::string cause;  // Violation::cause
  // The function of the last write by another thread to something the
  // reporting thread's current op touched (for an end-of-run finding: to the
  // page it is about). "" when no other thread wrote there - a sequential
  // bug - or when the run was not recorded with Recording::kFullTrace.
  std::string racing_fn;
  friend bool operator==(const Signature&, const Signature&) = default;

  // "pinned_page_replaced in unpin_user_page() vs try_to_unmap_one()": the
  // fine-grained signature, the campaign's bucket before causes.
  std::string to_string() const;
  // The bucket: "pinned_page_replaced replaced_by_swap", or for a kind
  // without a cause "refcount_underflow in folio_put_refs()". What
  // campaigns deduplicate on and minimization keeps. The reporting function
  // of a kind with a cause is left out: one mistake surfaces in whatever
  // call next looks (unpin_user_page(), user_write(), ...), and the racing
  // function varies with the interleaving more than with the bug.
  std::string key() const;
  bool same_bucket(const Signature& o) const { return key() == o.key(); }
};
std::optional<Signature> signature_of(const RunResult& r);

// "design=<d> <bucket>": Signature::key() under a design, one line of
// pinfuzz_fuzzer's --known file and what campaigns deduplicate on.
std::string known_line(std::string_view design, const Signature& sig);
// "design=<d> <bucket> (<kind> in <fn>() vs <racing>())": the bucket and the
// fine-grained signature under a design, as a finding is announced.
std::string signature_line(std::string_view design, const Signature& sig);

}  // namespace pf
