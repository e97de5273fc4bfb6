#include "model/violation.h"

#include <fmt/format.h>

namespace pf {
namespace {
struct Row {
  const char* name;
  const char* desc;
};
constexpr Row kRows[] = {
#define PF_VIOLATION(name, desc) {#name, desc},
#include "model/violations.def"
#undef PF_VIOLATION
};
struct Limitation {
  ViolationKind kind;
  const char* reference;
  const char* desc;
};
constexpr Limitation kLimitations[] = {
#define PF_LIMITATION(name, ref, desc) {ViolationKind::name, ref, desc},
#include "model/limitations.def"
#undef PF_LIMITATION
};
const Limitation* limitation(ViolationKind k) {
  for (const Limitation& l : kLimitations)
    if (l.kind == k) return &l;
  return nullptr;
}
}  // namespace

bool is_kernel_limitation(ViolationKind k) { return limitation(k) != nullptr; }
const char* limitation_reference(ViolationKind k) {
  const Limitation* l = limitation(k);
  return l ? l->reference : "";
}
const char* limitation_description(ViolationKind k) {
  const Limitation* l = limitation(k);
  return l ? l->desc : "";
}

const char* violation_name(ViolationKind k) { return kRows[static_cast<int>(k)].name; }
const char* violation_description(ViolationKind k) {
  return kRows[static_cast<int>(k)].desc;
}
std::optional<ViolationKind> parse_violation_kind(std::string_view name) {
  for (int i = 0; i < kNumViolationKinds; ++i)
    if (name == kRows[i].name) return static_cast<ViolationKind>(i);
  return std::nullopt;
}

std::string Violation::to_string() const {
  std::string s = violation_name(kind);
  if (pfn >= 0) s += fmt::format(" pfn={}", pfn);
  if (thread >= 0) s += fmt::format(" thread={}", thread);
  if (!fn.empty()) s += fmt::format(" in {}()", fn);
  if (!cause.empty()) s += fmt::format(" [{}]", cause);
  if (!detail.empty()) s += ": " + detail;
  return s;
}

void ViolationSink::report(Violation v) {
  std::lock_guard<std::mutex> lock(mu_);
  kinds_.fetch_or(1u << static_cast<int>(v.kind), std::memory_order_relaxed);
  if (!first_) first_ = std::move(v);
  count_.fetch_add(1, std::memory_order_release);
}

std::optional<Violation> ViolationSink::first() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_;
}

void ViolationSink::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  first_.reset();
  count_.store(0, std::memory_order_release);
  kinds_.store(0, std::memory_order_release);
}

}  // namespace pf
