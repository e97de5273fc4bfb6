// Violation lines and signatures (signature.h). The racing function is
// read off a recorded trace, so it is as deterministic as the trace.
#include "fuzz/harness/signature.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace pf {

std::string violation_line(const Violation& v, std::string_view design) {
  return fmt::format("pinfuzz: VIOLATION {} design={} pfn={} thread={} step={}{} in {}(): {}",
                     violation_name(v.kind), design, v.pfn, v.thread, v.step,
                     v.cause.empty() ? "" : " cause=" + v.cause, v.fn, v.detail);
}

std::string limitation_line(const Violation& v, std::string_view design) {
  return fmt::format("pinfuzz: KNOWN KERNEL LIMITATION {} design={} in {}(): {} (see {})",
                     violation_name(v.kind), design, v.fn, v.detail,
                     limitation_reference(v.kind));
}

namespace {

// Reads "<key><value> " off the front of `*rest`: the value up to the next
// space, never empty.
std::optional<std::string_view> field(std::string_view* rest, std::string_view key) {
  if (rest->substr(0, key.size()) != key) return std::nullopt;
  const size_t end = rest->find(' ', key.size());
  if (end == std::string_view::npos || end == key.size()) return std::nullopt;
  std::string_view value = rest->substr(key.size(), end - key.size());
  rest->remove_prefix(end + 1);
  return value;
}

template <class T>
std::optional<T> number(std::optional<std::string_view> text) {
  if (!text) return std::nullopt;
  T x{};
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), x);
  if (ec != std::errc() || p != text->data() + text->size()) return std::nullopt;
  return x;
}

}  // namespace

std::optional<ViolationLine> parse_violation_line(std::string_view line) {
  std::string_view rest = line;
  const auto kind = field(&rest, "pinfuzz: VIOLATION ");
  const auto design = field(&rest, "design=");
  const auto pfn = number<int>(field(&rest, "pfn="));
  const auto thread = number<int>(field(&rest, "thread="));
  const auto step = number<uint64_t>(field(&rest, "step="));
  if (!kind || !design || !pfn || !thread || !step) return std::nullopt;
  const auto cause = field(&rest, "cause=");  // optional
  const auto k = parse_violation_kind(*kind);
  // "in <fn>(): <detail>": the function is up to the first "(): ", the
  // detail everything after it.
  const size_t close = rest.find("(): ");
  if (!k || rest.substr(0, 3) != "in " || close == std::string_view::npos) return std::nullopt;
  ViolationLine out;
  out.violation.kind = *k;
  out.violation.pfn = *pfn;
  out.violation.thread = *thread;
  out.violation.step = *step;
  out.violation.fn = std::string(rest.substr(3, close - 3));
  out.violation.detail = std::string(rest.substr(close + 4));
  if (cause) out.violation.cause = std::string(*cause);
  out.design = std::string(*design);
  return out;
}

namespace {

bool is_write(sync::Access k) {
  return k == sync::Access::kStore || k == sync::Access::kRmw || k == sync::Access::kUnlock;
}

// The function of the last write by a thread other than `reporter` (and not
// the final check) before trace index `end` to an object in `objs`.
std::string last_other_writer(const RunResult& r, size_t end, uint8_t reporter,
                              const std::vector<bool>& objs) {
  for (size_t i = end; i-- > 0;) {
    const sched::Step& s = r.trace[i];
    if (s.thread == reporter || s.thread == kFinalThread || !is_write(s.kind)) continue;
    if (s.object < objs.size() && objs[s.object]) return s.fn;
  }
  return "";
}

// See Signature::racing_fn. First choice: the last other thread to write
// the object whose value revealed the violation (the reporter's last
// access); else anything the reporter's current op touched. Objects are
// compared by their number in the run (Step::object), so this is as
// deterministic as the trace.
std::string racing_fn_of(const RunResult& r) {
  const Violation& v = *r.violation;
  const auto& trace = r.trace;
  if (trace.empty()) return "";
  const size_t end = std::min<size_t>(v.step, trace.size() - 1) + 1;
  const uint8_t reporter = v.thread < 0 ? kFinalThread : static_cast<uint8_t>(v.thread);
  std::vector<bool> touched;
  auto mark = [&touched](uint32_t obj) {
    if (obj == sched::kNoObject) return;
    if (touched.size() <= obj) touched.resize(obj + 1);
    touched[obj] = true;
  };
  if (reporter == kFinalThread && v.pfn >= 0) {
    // The end-of-run check reads everything; what matters is the page.
    const std::string prefix = "page " + std::to_string(v.pfn) + " ";
    for (size_t i = 0; i < end && i < r.objects.size(); ++i)
      if (r.objects[i].rfind(prefix, 0) == 0) mark(trace[i].object);
    return last_other_writer(r, end, reporter, touched);
  }
  for (size_t i = end; i-- > 0;) {
    if (trace[i].thread != reporter || trace[i].object == sched::kNoObject) continue;
    mark(trace[i].object);
    if (auto fn = last_other_writer(r, i, reporter, touched); !fn.empty()) return fn;
    touched.assign(touched.size(), false);
    break;
  }
  uint64_t op_begin = 0;
  for (const OpMark& m : r.marks)
    if (m.thread == reporter && m.step < end) op_begin = std::max(op_begin, m.step);
  for (size_t i = op_begin; i < end; ++i)
    if (trace[i].thread == reporter) mark(trace[i].object);
  return last_other_writer(r, end, reporter, touched);
}

}  // namespace

std::optional<Signature> signature_of(const RunResult& r) {
  if (!r.violation) return std::nullopt;
  return Signature{r.violation->kind, r.violation->fn, r.violation->cause, racing_fn_of(r)};
}

std::string Signature::key() const {
  if (!cause.empty()) return fmt::format("{} {}", violation_name(kind), cause);
  return fmt::format("{} in {}()", violation_name(kind), fn);
}

std::string Signature::to_string() const {
  std::string s = fmt::format("{} in {}()", violation_name(kind), fn);
  if (!racing_fn.empty()) s += " vs " + racing_fn + "()";
  return s;
}

std::string known_line(std::string_view design, const Signature& sig) {
  return fmt::format("design={} {}", design, sig.key());
}

std::string signature_line(std::string_view design, const Signature& sig) {
  if (sig.cause.empty() && sig.racing_fn.empty()) return known_line(design, sig);
  return fmt::format("design={} {} ({})", design, sig.key(), sig.to_string());
}

}  // namespace pf
