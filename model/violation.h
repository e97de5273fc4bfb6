// Violation: what an oracle found, as a value. The harness decides whether to
// trap (libFuzzer), report (repro) or count (benchmarks); the model never
// aborts on a finding. Kinds and their stable names come from violations.def.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace pf {

enum class ViolationKind : uint8_t {
#define PF_VIOLATION(name, desc) name,
#include "model/violations.def"
#undef PF_VIOLATION
};
inline constexpr int kNumViolationKinds = 0
#define PF_VIOLATION(name, desc) +1
#include "model/violations.def"
#undef PF_VIOLATION
    ;

const char* violation_name(ViolationKind k);
// Known kernel limitations (limitations.def): is `k` one, and its reference.
bool is_kernel_limitation(ViolationKind k);
const char* limitation_reference(ViolationKind k);   // "" if not one
const char* limitation_description(ViolationKind k); // "" if not one
const char* violation_description(ViolationKind k);
std::optional<ViolationKind> parse_violation_kind(std::string_view name);

struct Violation {
  ViolationKind kind;
  int pfn = -1;      // the page it is about, -1 if none
  int thread = -1;   // model thread that observed it, -1 = end-of-run check
  uint64_t step = 0; // filled in by a scheduler that counts steps
  std::string fn;    // kernel function where it was observed
  std::string detail;
  // What caused it, in the oracle's terms, where the oracle can tell: what
  // replaced a pinned page ("replaced_by_cow"), what made the design forget
  // a pin ("lost_at_put_page")... A token (letters, digits, '_'), the same
  // for every schedule of one mistake: what campaigns bucket on
  // (fuzz/harness/signature.h; docs/triage.md lists them per kind). Empty:
  // the reporting function says it.
  std::string cause;

  std::string to_string() const;
};

// Where oracles report. Keeps the first violation and counts the rest.
// Thread-safe; reporting is not a scheduling point.
class ViolationSink {
 public:
  void report(Violation v);
  bool any() const { return count_.load(std::memory_order_acquire) > 0; }
  int count() const { return count_.load(std::memory_order_acquire); }
  std::optional<Violation> first() const;
  // Every kind reported so far, as a bit set (1 << kind).
  uint32_t kinds_seen() const { return kinds_.load(std::memory_order_acquire); }
  bool saw(ViolationKind k) const { return kinds_seen() & (1u << static_cast<int>(k)); }
  void clear();

 private:
  mutable std::mutex mu_;
  std::optional<Violation> first_;
  std::atomic<int> count_{0};
  std::atomic<uint32_t> kinds_{0};
};

}  // namespace pf
