#include "fuzz/harness/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string_view>

#include "model/page.h"
#include "model/world.h"

namespace pf {
namespace {

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
    {PG_zero, "zero"},
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
  if (p.swap) return fmt::format("swap{}", p.pfn);
  if (p.migration) return fmt::format("migr pfn{}", p.pfn);
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
      continue;
    }
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
      reads.push_back(u.read ? u.name + "=" + value_text(u.form, *u.read) : u.name);
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

std::string lane_name(const Timeline& t, int lane) {
  return lane >= 0 && static_cast<size_t>(lane) < t.lanes.size() ? t.lanes[lane] : "scheduler";
}

}  // namespace

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

// ---- text ------------------------------------------------------------------

namespace {

// Terminal columns of UTF-8 text: one per code point. Every glyph this file
// writes is a narrow one, and the model's names are ASCII.
size_t columns(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

std::string to_ascii(std::string_view s) {
  static constexpr std::pair<std::string_view, std::string_view> kMap[] = {
      {"→", "->"}, {"×", "x"}, {"▶", ">"}, {"✖", "X"}, {"✗", "!"}, {"…", "..."},
      {"│", "|"},  {"─", "-"}, {"┼", "+"}, {"┄", "."},
  };
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += s[i++];
      continue;
    }
    bool mapped = false;
    for (const auto& [from, to] : kMap) {
      if (s.substr(i, from.size()) == from) {
        out += to;
        i += from.size();
        mapped = true;
        break;
      }
    }
    if (mapped) continue;
    out += '?';  // one '?' per code point, whatever it was
    for (++i; i < s.size() && (static_cast<unsigned char>(s[i]) & 0xc0) == 0x80;) ++i;
  }
  return out;
}

class TextTable {
 public:
  TextTable(const Timeline& t, const TimelineOptions& o) : t_(t), o_(o) {
    const int lanes = static_cast<int>(std::max<size_t>(1, t.lanes.size()));
    width_ = std::clamp((o.max_width - kIndexWidth) / lanes - 3, 16, 48);
  }

  std::string g(std::string_view unicode) const {
    return o_.ascii ? to_ascii(unicode) : std::string(unicode);
  }

  // `text` cut to `w` columns with an ellipsis, padded with spaces to `w`.
  std::string fit(std::string text, size_t w) const {
    text = g(text);
    const std::string ell = g("…");
    size_t cols = columns(text);
    if (cols > w) {
      const size_t keep = w - columns(ell);
      size_t i = 0, n = 0;
      for (; i < text.size(); ++i)
        if ((text[i] & 0xc0) != 0x80 && n++ == keep) break;
      text = text.substr(0, i) + ell;
      cols = w;
    }
    return text + std::string(w - cols, ' ');
  }

  // One table line: the index column, then each lane's cell.
  std::string line(std::string_view index, const std::vector<std::string>& cells,
                   const std::string& fill = " ") const {
    std::string s = fmt::format("{:>{}} ", g(index), kIndexWidth - 1);
    for (size_t l = 0; l < t_.lanes.size(); ++l) {
      s += g("│") + fill;
      s += l < cells.size() && !cells[l].empty() ? cells[l] : repeat(fill, width_);
      s += fill;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  }

  std::string row_line(const std::string& index, int lane, const std::string& text) const {
    std::vector<std::string> cells(t_.lanes.size());
    if (lane < 0) return fmt::format("{:>{}} {}\n", g(index), kIndexWidth - 1, g(text));
    cells[static_cast<size_t>(lane)] = fit(text, width_);
    return line(index, cells);
  }

  std::string header() const {
    std::vector<std::string> cells;
    for (const std::string& n : t_.lanes) cells.push_back(fit(n, width_));
    std::string s = line("step", cells);
    std::string rule = repeat(g("─"), kIndexWidth);
    for (size_t l = 0; l < t_.lanes.size(); ++l) rule += g("┼") + repeat(g("─"), width_ + 2);
    return s + rule + "\n";
  }

  // A context switch: a dashed line across the lanes, labelled in the lane
  // that runs next.
  std::string switch_line(int from, int to) const {
    const std::string dash = g("┄");
    std::vector<std::string> cells(t_.lanes.size());
    for (size_t l = 0; l < cells.size(); ++l) cells[l] = repeat(dash, width_);
    std::string label = repeat(dash, 2) + " " + lane_name(t_, from) + g(" → ") + lane_name(t_, to) + " ";
    label += repeat(dash, width_ > columns(label) ? width_ - columns(label) : 0);
    if (to >= 0) cells[static_cast<size_t>(to)] = fit(label, width_);
    return line("", cells, dash);
  }

  size_t width() const { return width_; }
  static constexpr int kIndexWidth = 6;

 private:
  static std::string repeat(const std::string& s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += s;
    return out;
  }

  const Timeline& t_;
  const TimelineOptions& o_;
  size_t width_;
};

// Greedy word wrap; continuation lines indented by `indent` spaces.
std::string wrap(const std::string& text, size_t width, size_t indent) {
  std::string out, line;
  bool has_word = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (has_word && columns(line) + 1 + columns(word) > width) {
      out += line + "\n";
      line = std::string(indent, ' ');
      has_word = false;
    }
    if (has_word) line += ' ';
    line += word;
    has_word = true;
  }
  return out + line + "\n";
}

const sched::Step* find_step(const RunResult& r, uint64_t index) {
  if (index < r.trace.size() && r.trace[index].index == index) return &r.trace[index];
  for (const sched::Step& st : r.trace)
    if (st.index == index) return &st;
  return nullptr;
}

std::string violation_line(const Timeline& t, const RunResult& r) {
  const Violation& v = *r.violation;
  std::string where;
  if (const sched::Step* st = find_step(r, v.step)) {
    int lane = -1;  // the lane that made the step, not the one that observed it
    for (const TimelineRow& row : t.rows)
      if (row.has_violation_step) lane = row.lane;
    where = fmt::format("after step #{} ({} {}:{})", v.step, lane_name(t, lane), st->fn, st->line);
  } else {
    where = fmt::format("at the end of the run, after {} steps", r.steps);
  }
  return fmt::format("✖ {}: {}", where, v.to_string());
}

}  // namespace

std::string render_timeline_text(const Scenario& s, const RunResult& r, const TimelineOptions& o) {
  const Timeline t = build_timeline(s, r);
  const TextTable tab(t, o);
  const size_t wrap_at = static_cast<size_t>(std::max(o.max_width, 40));
  std::string out = tab.g(fmt::format(
      "timeline: {} steps, {} thread{}, {}, schedule {}\n", r.steps, s.program.threads.size(),
      s.program.threads.size() == 1 ? "" : "s", sched::status_name(r.status),
      r.schedule.empty() ? s.schedule.to_string() : r.schedule));
  if (r.trace.empty() && r.steps > 0)
    out += "(no trace recorded: run with Recording::kFullTrace to draw one)\n";
  out += tab.header();

  const size_t end = t.violation_row < t.rows.size() ? t.violation_row + 1 : t.rows.size();
  const size_t begin = o.max_rows && end > o.max_rows ? end - o.max_rows : 0;
  if (begin > 0) {
    // What each lane is in the middle of when the window opens.
    std::vector<std::string> cells(t.lanes.size());
    for (size_t i = 0; i < begin; ++i)
      if (t.rows[i].kind == TimelineRow::Kind::kOp && t.rows[i].lane >= 0)
        cells[static_cast<size_t>(t.rows[i].lane)] = t.rows[i].text;
    for (std::string& c : cells)
      if (!c.empty()) c = tab.fit("(" + c + ")", tab.width());
    out += tab.g(fmt::format("… {} earlier rows\n", begin));
    out += tab.line("…", cells);
  }
  int prev_lane = -1;
  for (size_t i = begin; i < end; ++i) {
    const TimelineRow& row = t.rows[i];
    if (row.kind == TimelineRow::Kind::kViolation) {
      out += tab.row_line("", row.lane, row.text);
      continue;
    }
    if (row.switch_before && i > begin) out += tab.switch_line(prev_lane, row.lane);
    prev_lane = row.lane;
    std::string index = row.kind == TimelineRow::Kind::kSteps ? fmt::format("{}", row.first_step) : "";
    out += tab.row_line(index, row.lane, row.text);
  }
  if (end < t.rows.size()) out += tab.g(fmt::format("… {} later rows\n", t.rows.size() - end));

  out += "\n";
  if (r.violation) out += tab.g(wrap(violation_line(t, r), wrap_at, 2));
  else out += fmt::format("no violation ({})\n", sched::status_name(r.status));
  if (std::any_of(t.rows.begin() + static_cast<std::ptrdiff_t>(begin),
                  t.rows.begin() + static_cast<std::ptrdiff_t>(end),
                  [](const TimelineRow& row) { return row.text.find("✗") != std::string::npos; }))
    out += tab.g("✗: a read-modify-write that failed and changed nothing (a busy lock, a lost cmpxchg)\n");
  if (!t.not_started.empty()) {
    std::string ns = "never began:";
    for (size_t i = 0; i < t.not_started.size(); ++i) ns += (i ? ", " : " ") + t.not_started[i];
    out += tab.g(wrap(ns, wrap_at, 2));
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// ---- html ------------------------------------------------------------------

namespace {

std::string esc(std::string_view s) { return html_escape(s); }

// `s` cut to `n` code points, with an ellipsis if it was longer.
std::string clip(const std::string& s, size_t n) {
  if (columns(s) <= n) return s;
  size_t i = 0, k = 0;
  for (; i < s.size(); ++i)
    if ((s[i] & 0xc0) != 0x80 && k++ == n - 1) break;
  return s.substr(0, i) + "…";
}

// SVG geometry, in pixels. 11px monospace is about 6.6px per character.
constexpr int kIndexW = 56, kLaneW = 300, kHeadH = 28, kRowH = 20, kSwitchH = 14;
constexpr size_t kBoxChars = (kLaneW - 14) * 10 / 66;
// A hang can leave kDefaultStepBudget steps; a page of that many boxes
// helps nobody.
constexpr size_t kHtmlMaxRows = 3000;
constexpr size_t kMaxHoverLines = 80;

int lane_x(int lane) { return kIndexW + std::max(lane, 0) * kLaneW; }

std::string svg_timeline(const Timeline& t) {
  const size_t end = t.rows.size();
  const size_t stop = t.violation_row < t.rows.size() ? t.violation_row + 1 : end;
  const size_t begin = stop > kHtmlMaxRows ? stop - kHtmlMaxRows : 0;
  const int lanes = static_cast<int>(t.lanes.size());
  const int width = kIndexW + lanes * kLaneW + 8;

  std::string body;
  int y = kHeadH + (begin > 0 ? kRowH : 0);
  if (begin > 0)
    body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"idx\">… {} earlier rows</text>\n",
                        kIndexW + 6, kHeadH + 14, begin);
  int prev_lane = -1;
  for (size_t i = begin; i < end; ++i) {
    const TimelineRow& row = t.rows[i];
    using K = TimelineRow::Kind;
    if (row.kind != K::kViolation) {
      if (row.switch_before && i > begin && prev_lane >= 0) {
        // A context switch: a dashed rule across the lanes and an arrow from
        // the lane that ran to the lane that runs next.
        const int mid = y + kSwitchH / 2;
        body += fmt::format(
            "<g class=\"switch\"><title>context switch: {} → {} before step #{}</title>"
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"rule\"/>"
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"arrow\" "
            "marker-end=\"url(#head)\"/></g>\n",
            esc(lane_name(t, prev_lane)), esc(lane_name(t, row.lane)), row.first_step, kIndexW, mid,
            width - 8, mid, lane_x(prev_lane) + kLaneW / 2, mid, lane_x(row.lane) + kLaneW / 2, mid);
        y += kSwitchH;
      }
      prev_lane = row.lane;
    }
    const char* cls = row.kind == K::kOp          ? "op"
                      : row.kind == K::kViolation ? "violation"
                      : row.has_violation_step    ? "steps hit"
                                                  : "steps";
    std::string hover;
    if (row.kind == K::kSteps)
      hover = fmt::format("{} {} ({} step{})\n", lane_name(t, row.lane), row.fn, row.count,
                          row.count == 1 ? "" : "s");
    for (size_t k = 0; k < row.details.size() && k < kMaxHoverLines; ++k)
      hover += row.details[k] + "\n";
    if (row.details.size() > kMaxHoverLines)
      hover += fmt::format("… {} more\n", row.details.size() - kMaxHoverLines);
    const int x = row.lane >= 0 ? lane_x(row.lane) : kIndexW;
    const int w = row.lane >= 0 ? kLaneW : lanes * kLaneW;
    body += fmt::format("<g class=\"{}\"><title>{}</title>", cls, esc(hover));
    if (row.kind == K::kSteps)
      body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"idx\">{}</text>", kIndexW - 6,
                          y + 14, row.first_step);
    body += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\"/>"
        "<text x=\"{}\" y=\"{}\">{}</text></g>\n",
        x + 4, y + 1, w - 8, kRowH - 2, x + 10, y + 14,
        esc(clip(row.text, row.lane >= 0 ? kBoxChars : kBoxChars * static_cast<size_t>(lanes))));
    y += kRowH;
  }
  if (stop < end) {
    body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"idx\">… {} later rows</text>\n",
                        kIndexW + 6, y + 14, end - stop);
    y += kRowH;
  }
  const int height = y + 8;

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\">\n"
      "<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
      "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">"
      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d9822b\"/></marker></defs>\n",
      width, height);
  for (int l = 0; l < lanes; ++l) {
    svg += fmt::format(
        "<rect x=\"{}\" y=\"0\" width=\"{}\" height=\"{}\" class=\"lane{}\"/>"
        "<text x=\"{}\" y=\"18\" class=\"lanename\">{}</text>\n",
        lane_x(l), kLaneW, height, l % 2, lane_x(l) + kLaneW / 2, esc(t.lanes[l]));
  }
  svg += fmt::format("<text x=\"{}\" y=\"18\" class=\"idx\">step</text>\n", kIndexW - 6);
  return svg + body + "</svg>\n";
}

constexpr const char* kCss = R"(
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; }
.sig { color: #b00020; font-weight: bold; font-family: monospace; font-size: 1.1em; }
.note { color: #555; }
svg text { font-family: monospace; font-size: 11px; white-space: pre; }
svg .lane0 { fill: #fbfbfd; } svg .lane1 { fill: #f1f3f8; }
svg .lanename { font-weight: bold; font-size: 13px; text-anchor: middle; }
svg .idx { fill: #777; text-anchor: end; }
svg .steps rect { fill: #e3ebf6; stroke: #9fb3d1; }
svg .op rect { fill: #d8f0dc; stroke: #5a9f68; } svg .op text { font-weight: bold; }
svg .hit rect { fill: #f9d0d0; stroke: #c0392b; stroke-width: 2; }
svg .violation rect { fill: #c0392b; } svg .violation text { fill: #fff; font-weight: bold; }
svg .rule { stroke: #d9822b; stroke-dasharray: 3 3; stroke-width: 1; }
svg .arrow { stroke: #d9822b; stroke-width: 2; }
)";

}  // namespace

std::string render_timeline_html(const Scenario& s, const RunResult& r, const std::string& title,
                                 const std::string& command) {
  const Timeline t = build_timeline(s, r);
  const std::string signature = r.violation
                                    ? r.violation->to_string()
                                    : fmt::format("no violation ({})", sched::status_name(r.status));
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + esc(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
  h += "<h1>" + esc(title) + "</h1>\n";
  h += "<p class=\"sig\">" + esc(signature) + "</p>\n";
  h += "<p>Replay:</p>\n<pre class=\"cmd\">" + esc(command) + "</pre>\n";
  h += "<h2>Scenario</h2>\n<pre>" + esc(print_text(s)) + "</pre>\n";
  h += "<h2>Timeline</h2>\n<p class=\"note\">" +
       esc(fmt::format("{} steps, {}, schedule {}. Time flows down; one box per run of steps "
                       "in one function; hover a box for every step it stands for.",
                       r.steps, sched::status_name(r.status),
                       r.schedule.empty() ? s.schedule.to_string() : r.schedule)) +
       "</p>\n";
  if (r.trace.empty() && r.steps > 0)
    h += "<p class=\"note\">No trace was recorded (Recording::kFullTrace draws one).</p>\n";
  h += svg_timeline(t);
  h += "<h2>As text</h2>\n<pre>" + esc(render_timeline_text(s, r, TimelineOptions{.max_rows = 0})) +
       "</pre>\n";
  return h + "</body>\n</html>\n";
}

}  // namespace pf
