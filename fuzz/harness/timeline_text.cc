// The swimlane text of a timeline (timeline.h): a table with a column per
// lane, switch lines, the violation in its lane and the ops that never
// began; UTF-8 box drawing, or ASCII on request.
#include "fuzz/harness/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "fuzz/harness/timeline_internal.h"

namespace pf {

namespace timeline_detail {

size_t columns(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

}  // namespace timeline_detail

namespace {

using timeline_detail::columns;
using timeline_detail::lane_name;

std::string to_ascii(std::string_view s) {
  static constexpr std::pair<std::string_view, std::string_view> kMap[] = {
      {"→", "->"}, {"×", "x"}, {"▶", ">"}, {"✖", "X"}, {"✗", "!"}, {"…", "..."},
      {"│", "|"},  {"─", "-"}, {"┼", "+"}, {"┄", "."}, {"⧖", "~"}, {"↶", "<"},
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
  if (r.limitation)
    out += wrap(fmt::format("known kernel limitation: {} in {}(): {} (see {})",
                            violation_name(r.limitation->kind), r.limitation->fn,
                            r.limitation->detail, limitation_reference(r.limitation->kind)),
                wrap_at, 2);
  if (std::any_of(t.rows.begin() + static_cast<std::ptrdiff_t>(begin),
                  t.rows.begin() + static_cast<std::ptrdiff_t>(end),
                  [](const TimelineRow& row) { return row.text.find("✗") != std::string::npos; }))
    out += tab.g("✗: a read-modify-write that failed and changed nothing (a busy lock, a lost cmpxchg)\n");
  if (std::any_of(t.rows.begin() + static_cast<std::ptrdiff_t>(begin),
                  t.rows.begin() + static_cast<std::ptrdiff_t>(end),
                  [](const TimelineRow& row) { return row.text.find("⧖") != std::string::npos; }))
    out += tab.g("⧖: a store waiting in its thread's store buffer (weak memory), not yet visible to "
                 "the others; \"visible:\" marks the step that makes it visible\n");
  if (std::any_of(t.rows.begin() + static_cast<std::ptrdiff_t>(begin),
                  t.rows.begin() + static_cast<std::ptrdiff_t>(end),
                  [](const TimelineRow& row) { return row.text.find("↶") != std::string::npos; }))
    out += tab.g("↶: a load satisfied early (weak memory, arm): it read the word as it was at its "
                 "thread's last ordering point\n");
  if (!t.not_started.empty()) {
    std::string ns = "never began:";
    for (size_t i = 0; i < t.not_started.size(); ++i) ns += (i ? ", " : " ") + t.not_started[i];
    out += tab.g(wrap(ns, wrap_at, 2));
  }
  return out;
}

}  // namespace pf
