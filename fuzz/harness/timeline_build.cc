// The timeline model (timeline.h): a recorded run's trace, op marks and
// violation turned into lanes and rows, steps grouped and their values
// named, for the text and HTML renderers.
#include "fuzz/harness/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string_view>

#include "fuzz/harness/timeline_internal.h"
#include "model/page.h"
#include "model/world.h"

namespace pf {
namespace {

using timeline_detail::lane_name;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// ---- values ----------------------------------------------------------------
//
// Raw words mean little to a reader ("196608→65536"); the object's name
// (World::describe()) says what the word is, so the value is shown as that
// thing: a pte as pfn and bits, page flags as the bits that changed.

enum class Form : uint8_t { kNumber, kHex, kPageFlags, kPte, kData };

Form form_of(std::string_view object) {
  if (starts_with(object, "page ")) {
    if (ends_with(object, " flags")) return Form::kPageFlags;
    if (ends_with(object, " data")) return Form::kData;
    if (ends_with(object, " pgmap") || ends_with(object, " zone_device_data") ||
        ends_with(object, " lru.next") || ends_with(object, " lru.prev"))
      return Form::kHex;
  }
  if (object.find(" pte[") != std::string_view::npos) return Form::kPte;
  return Form::kNumber;
}

// model/page.h has the bits but no table of their names.
constexpr std::pair<uint32_t, const char*> kPageFlagNames[] = {
    {PG_locked, "locked"},         {PG_dirty, "dirty"},
    {PG_writeback, "writeback"},   {PG_lru, "lru"},
    {PG_private, "private"},       {PG_head, "head"},
    {PG_anon, "anon"},             {PG_anon_exclusive, "anon_exclusive"},
    {PG_dma_pinned, "dma_pinned"}, {PG_dma_pinned_was_lru, "dma_pinned_was_lru"},
    {PG_zero, "zero"},             {PG_swapcache, "swapcache"},
};

std::string flags_change(int64_t before, int64_t after) {
  const auto b = static_cast<uint32_t>(before), a = static_cast<uint32_t>(after);
  std::string out;
  for (int bit = 0; bit < 32; ++bit) {
    const uint32_t m = 1u << bit;
    if (!((a ^ b) & m)) continue;
    if (!out.empty()) out += ' ';
    out += (a & m) ? '+' : '-';
    const char* name = nullptr;
    for (const auto& [flag, n] : kPageFlagNames)
      if (flag == m) name = n;
    out += name ? std::string(name) : fmt::format("bit{}", bit);
  }
  return out.empty() ? fmt::format("={:#x}", a) : out;
}

std::string pte_text(int64_t v) {
  if (static_cast<uint64_t>(v) == kPteNone) return "none";
  const Pte p = Pte::unpack(static_cast<uint64_t>(v));
  const char* excl = p.exclusive ? " excl" : "";
  if (p.swap) return fmt::format("swap slot{}{}", p.pfn, excl);
  if (p.migration) return fmt::format("migr pfn{}{}", p.pfn, excl);
  if (p.device_private) return fmt::format("devpriv pfn{}", p.pfn);
  if (!p.present) return fmt::format("pfn{} !present", p.pfn);
  return fmt::format("pfn{} {}{}", p.pfn, p.writable ? "w" : "ro", p.dirty ? "d" : "");
}

std::string value_text(Form f, int64_t v) {
  switch (f) {
    case Form::kPte: return pte_text(v);
    case Form::kHex:
    case Form::kPageFlags: return fmt::format("{:#x}", static_cast<uint64_t>(v));
    case Form::kData:
      if (static_cast<uint32_t>(v) == kPoison) return "poison";
      break;
    case Form::kNumber:
      if (v > 0xffff) return fmt::format("{:#x}", v);
      break;
  }
  return fmt::format("{}", v);
}

std::string step_detail(const sched::Step& st, const std::string& object) {
  std::string s = fmt::format("#{} {}:{} {}", st.index, st.fn, st.line, sync::access_name(st.kind));
  if (!object.empty()) s += " " + object;
  if (st.has_value && st.kind == sync::Access::kLoad) {
    s += " = " + value_text(form_of(object), st.before);
  } else if (st.has_value) {
    const Form f = form_of(object);
    s += " " + value_text(f, st.before) + "→" + value_text(f, st.after);
    if (f == Form::kPageFlags) s += " (" + flags_change(st.before, st.after) + ")";
  } else if (st.kind == sync::Access::kRmw) {
    s += " (failed: no change)";
  }
  if (st.buffered) s += " (buffered: not yet visible to other threads)";
  if (st.early) s += " (read early: the word as it was at this thread's last ordering point)";
  return s;
}

// ---- collapsing steps into a row --------------------------------------------

// What one row did to one object: the values it went through, or only read.
struct ObjectUse {
  std::string name;
  Form form = Form::kNumber;
  std::vector<int64_t> values;     // before, after, after, ...
  std::vector<std::string> flags;  // kPageFlags: each change
  int failed = 0;                  // read-modify-writes that changed nothing
  std::optional<int64_t> read;     // the last value a load saw, if recorded
  bool buffered = false;           // weak memory: a write waits in the store buffer
  bool flushed = false;            // weak memory: a buffered write became visible
  bool early = false;              // weak memory: a load satisfied early (arm)
};

// "folio_put_refs ×2  page 3 refcount 1026→1025→2, read page 3 flags"
std::string summarize(const TimelineRow& row, std::span<const sched::Step> steps,
                      std::span<const std::string> objects) {
  std::vector<ObjectUse> uses;
  bool fence = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const sched::Step& st = steps[i];
    if (st.kind == sync::Access::kFence) {
      fence = true;
      continue;
    }
    auto it = std::find_if(uses.begin(), uses.end(),
                           [&](const ObjectUse& u) { return u.name == objects[i]; });
    if (it == uses.end()) {
      uses.push_back({objects[i], form_of(objects[i]), {}, {}, 0, std::nullopt});
      it = uses.end() - 1;
    }
    if (st.kind == sync::Access::kLoad) {
      if (st.has_value) it->read = st.before;
      it->early |= st.early;
      continue;
    }
    it->buffered |= st.buffered;
    it->flushed |= st.kind == sync::Access::kFlush;
    if (st.has_value) {
      if (it->form == Form::kPageFlags) it->flags.push_back(flags_change(st.before, st.after));
      if (it->values.empty() || it->values.back() != st.before) it->values.push_back(st.before);
      it->values.push_back(st.after);
    } else if (st.kind == sync::Access::kRmw) {
      ++it->failed;
    }
  }
  std::vector<std::string> parts, reads;
  for (const ObjectUse& u : uses) {
    if (u.values.empty() && !u.failed) {
      // "↶": read early, an older value than memory held (arm).
      reads.push_back((u.read ? u.name + "=" + value_text(u.form, *u.read) : u.name) +
                      (u.early ? " ↶" : ""));
      continue;
    }
    std::string p = u.name;
    if (u.form == Form::kPageFlags) {
      for (const std::string& f : u.flags) p += " " + f;
    } else if (!u.values.empty()) {
      // Long chains keep both ends: where the word started and ended.
      const size_t n = u.values.size();
      for (size_t k = 0; k < n; ++k) {
        if (n > 4 && k > 1 && k + 1 < n) {
          if (k == 2) p += "→…";
          continue;
        }
        p += (k ? "→" : " ") + value_text(u.form, u.values[k]);
      }
    }
    if (u.failed) p += u.failed > 1 ? fmt::format(" ✗{}", u.failed) : " ✗";
    // Weak memory: "⧖" a store only this thread sees yet; "visible:" when
    // the others see it (a flush step, docs/model.md "Weak memory").
    if (u.buffered) p += " ⧖";
    if (u.flushed) p = "visible: " + p;
    parts.push_back(p);
  }
  if (fence) parts.push_back("fence");
  if (!reads.empty()) {
    std::string r = "read ";
    for (size_t k = 0; k < reads.size(); ++k) r += (k ? ", " : "") + reads[k];
    parts.push_back(r);
  }
  std::string s = row.fn + (row.count > 1 ? fmt::format(" ×{}", row.count) : "");
  for (size_t k = 0; k < parts.size(); ++k) s += (k ? ", " : "  ") + parts[k];
  return s;
}

std::string op_text(const Scenario& s, const OpMark& m) {
  if (m.thread == kFinalThread) return "final check";
  if (m.op == kExitOp) return "exit (release_all)";
  const auto& threads = s.program.threads;
  if (m.thread < threads.size() && m.op >= 0 && static_cast<size_t>(m.op) < threads[m.thread].size())
    return threads[m.thread][static_cast<size_t>(m.op)].to_string();
  return fmt::format("op #{}", m.op);
}

}  // namespace

namespace timeline_detail {

std::string lane_name(const Timeline& t, int lane) {
  return lane >= 0 && static_cast<size_t>(lane) < t.lanes.size() ? t.lanes[lane] : "scheduler";
}

}  // namespace timeline_detail

Timeline build_timeline(const Scenario& s, const RunResult& r) {
  Timeline t;
  std::vector<std::string> objects = r.objects;  // as long as the trace, whatever came in
  objects.resize(r.trace.size());
  std::vector<OpMark> marks = r.marks;
  std::stable_sort(marks.begin(), marks.end(),
                   [](const OpMark& a, const OpMark& b) { return a.step < b.step; });
  // The final check runs as a second scheduler phase; its steps carry
  // kFinalThread and begin at the final mark.
  uint64_t final_from = UINT64_MAX;
  size_t nthreads = std::max<size_t>(1, s.program.threads.size());
  for (const OpMark& m : marks) {
    if (m.thread == kFinalThread) final_from = std::min(final_from, m.step);
    else nthreads = std::max<size_t>(nthreads, m.thread + 1u);
  }
  for (const sched::Step& st : r.trace)
    if (st.index < final_from && st.thread != kFinalThread) nthreads = std::max<size_t>(nthreads, st.thread + 1u);
  for (size_t i = 0; i < nthreads; ++i) t.lanes.push_back(fmt::format("T{}", i));
  const bool has_final = final_from != UINT64_MAX;
  const int final_lane = static_cast<int>(nthreads);
  if (has_final) t.lanes.push_back("final");
  auto lane_of = [&](const sched::Step& st) {
    return st.index >= final_from || st.thread == kFinalThread ? final_lane
                                                               : static_cast<int>(st.thread);
  };

  int prev_lane = -1;  // lane of the last op or steps row
  auto push = [&](TimelineRow row) {
    row.switch_before = prev_lane >= 0 && prev_lane != row.lane;
    prev_lane = row.lane;
    t.rows.push_back(std::move(row));
  };
  std::vector<int16_t> last_op(nthreads, -1);
  auto push_mark = [&](const OpMark& m) {
    TimelineRow row;
    row.kind = TimelineRow::Kind::kOp;
    row.lane = m.thread == kFinalThread ? final_lane : m.thread;
    row.first_step = row.last_step = m.step;
    row.text = "▶ " + op_text(s, m);
    row.details.push_back(fmt::format("{} begins {} before step #{}", lane_name(t, row.lane),
                                      op_text(s, m), m.step));
    if (m.thread < nthreads && m.op >= 0) last_op[m.thread] = std::max(last_op[m.thread], m.op);
    push(std::move(row));
  };

  const std::optional<Violation>& v = r.violation;
  bool violation_placed = false;
  auto push_violation = [&](int step_lane) {
    TimelineRow row;
    row.kind = TimelineRow::Kind::kViolation;
    // The observing thread if there is one; else the lane whose step
    // revealed it (an invariant checked after every step), else the final
    // check, else nobody (the scheduler's deadlock or hang).
    if (v->thread >= 0 && static_cast<size_t>(v->thread) < nthreads) row.lane = v->thread;
    else if (step_lane >= 0) row.lane = step_lane;
    else row.lane = has_final ? final_lane : -1;
    row.first_step = row.last_step = v->step;
    row.text = std::string("✖ ") + violation_name(v->kind);
    if (v->pfn >= 0) row.text += fmt::format(" pfn={}", v->pfn);
    if (!v->fn.empty()) row.text += " in " + v->fn + "()";
    row.details.push_back(v->to_string());
    t.violation_row = t.rows.size();
    t.rows.push_back(std::move(row));
    violation_placed = true;
  };

  size_t mi = 0;
  size_t group_begin = 0;  // trace index of the current steps row's first step
  auto close_group = [&](size_t end) {
    if (t.rows.empty() || t.rows.back().kind != TimelineRow::Kind::kSteps || end <= group_begin)
      return;
    TimelineRow& row = t.rows.back();
    const size_t n = end - group_begin;
    row.text = summarize(row, std::span(r.trace).subspan(group_begin, n),
                         std::span(objects).subspan(group_begin, n));
  };
  for (size_t i = 0; i < r.trace.size(); ++i) {
    const sched::Step& st = r.trace[i];
    while (mi < marks.size() && marks[mi].step <= st.index) {
      close_group(i);
      push_mark(marks[mi++]);
    }
    const int lane = lane_of(st);
    const std::string& object = objects[i];
    TimelineRow* last = t.rows.empty() ? nullptr : &t.rows.back();
    if (last && last->kind == TimelineRow::Kind::kSteps && last->lane == lane &&
        last->fn == st.fn && !last->has_violation_step) {
      last->last_step = st.index;
      ++last->count;
    } else {
      close_group(i);
      group_begin = i;
      TimelineRow row;
      row.lane = lane;
      row.first_step = row.last_step = st.index;
      row.count = 1;
      row.fn = st.fn;
      push(std::move(row));
    }
    t.rows.back().details.push_back(step_detail(st, object));
    if (v && !violation_placed && st.index == v->step) {
      t.rows.back().has_violation_step = true;
      close_group(i + 1);
      push_violation(lane);
    }
  }
  close_group(r.trace.size());
  // Ops begun after the last step: a thread that returned from its op as
  // the run was stopped marks its next op (or exit) before its next access,
  // where it is stopped. Only a run that was not cut short did them.
  while (mi < marks.size() && !violation_placed) push_mark(marks[mi++]);
  if (v && !violation_placed) push_violation(-1);

  // Without marks (no full trace) nothing is known to have begun or not.
  for (size_t th = 0; !marks.empty() && th < nthreads && th < s.program.threads.size(); ++th)
    for (size_t op = static_cast<size_t>(last_op[th] + 1); op < s.program.threads[th].size(); ++op)
      t.not_started.push_back(fmt::format("T{} {}", th, s.program.threads[th][op].to_string()));
  return t;
}

}  // namespace pf
