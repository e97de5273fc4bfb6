// The repro timeline, checked on real recorded runs: what a reader relies on
// (every op in its lane and in order, the violation pointing at its step,
// switches drawn, the width bounded, ASCII really ASCII, the HTML balanced
// and escaped, the same run drawn the same way twice).
#include "fuzz/harness/timeline.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/harness/catalog.h"
#include "fuzz/harness/run.h"
#include "tests/test_util.h"

namespace pf {
namespace {

using K = OpKind;

Op op(OpKind k, int a = 0, int b = 1, uint8_t flags = 0) {
  return Op{k, static_cast<int8_t>(a), static_cast<int8_t>(b), flags};
}

WorldSpec one(Backing b) {
  WorldSpec w;
  w.vpn[0] = VpnSpec{b, 0, true};
  return w;
}

const CatalogEntry& entry(std::string_view name) {
  for (const CatalogEntry& e : catalog())
    if (e.name == name) return e;
  ADD_FAILURE() << "no catalog entry " << name;
  return catalog().front();
}

struct Recorded {
  Scenario scenario;
  RunResult run;
};

Recorded record(const char* design, Program program, std::vector<sched::Preemption> points = {},
                sched::Recording recording = sched::Recording::kFullTrace) {
  Recorded r;
  r.scenario.design = test::design(design);
  r.scenario.program = std::move(program);
  r.scenario.schedule.points = points;
  sched::InputStrategy strategy(std::move(points));
  Runner runner;
  r.run = runner.run(*r.scenario.design, r.scenario.program, strategy,
                     RunOptions{.recording = recording});
  return r;
}

// The seed's crash: one thread, get_only, dirty_without_buffers at the end.
Recorded writeback_crash() {
  return record("get_only", entry("writeback_strips_buffers_under_dma").program);
}

// Two threads on one anon page, switched back and forth by preemption
// points; runs clean under folio_pincount, so both exits and the final
// check run too.
Program two_threads() {
  return Program{one(Backing::kAnon),
                 {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::unpin_dirty, -1, 1, kOpDirty)},
                  {op(K::gup, 0, 1), op(K::user_read, 0, 0), op(K::put_page, -1)}}};
}
const std::vector<sched::Preemption> kBackAndForth = {{3, 1}, {4, 0}, {6, 1}, {5, 0}, {7, 1}};

// The cells of one lane's column, top to bottom, trailing blanks trimmed
// (table lines only: those with the lane separator).
std::vector<std::string> lane_cells(const std::string& text, size_t lane, std::string_view bar = "│") {
  std::vector<std::string> cells;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    std::vector<std::string_view> parts;
    for (size_t b = line.find(bar); b != std::string_view::npos; b = line.find(bar)) {
      parts.push_back(line.substr(0, b));
      line.remove_prefix(b + bar.size());
    }
    parts.push_back(line);
    if (parts.size() < lane + 2) continue;
    std::string cell(parts[lane + 1]);
    while (!cell.empty() && cell.back() == ' ') cell.pop_back();
    while (!cell.empty() && cell.front() == ' ') cell.erase(0, 1);
    cells.push_back(cell);
  }
  return cells;
}

// The op rows ("▶ ...") of one lane, in order.
std::vector<std::string> op_cells(const std::string& text, size_t lane) {
  std::vector<std::string> ops;
  for (const std::string& c : lane_cells(text, lane))
    if (c.rfind("▶ ", 0) == 0) ops.push_back(c.substr(std::string_view("▶ ").size()));
  return ops;
}

size_t count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string_view::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

size_t max_line_columns(const std::string& text) {
  size_t best = 0, cols = 0;
  for (char c : text) {
    if (c == '\n') {
      best = std::max(best, cols);
      cols = 0;
    } else if ((c & 0xc0) != 0x80) {
      ++cols;
    }
  }
  return std::max(best, cols);
}

// Tags nest and close, outside <style>; text never holds a raw '<'. Returns
// "" or what is wrong.
std::string tag_balance(const std::string& html) {
  std::vector<std::string> open;
  for (size_t p = html.find('<'); p != std::string::npos; p = html.find('<', p + 1)) {
    const size_t end = html.find('>', p);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(p);
    std::string tag = html.substr(p + 1, end - p - 1);
    if (tag.empty() || tag[0] == '!') continue;
    if (tag.back() == '/') continue;  // self-closing
    const bool closing = tag[0] == '/';
    std::string name = tag.substr(closing ? 1 : 0, tag.find_first_of(" \n", closing ? 1 : 0) -
                                                       (closing ? 1 : 0));
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))
      return "not a tag at " + std::to_string(p) + ": <" + tag.substr(0, 20);
    if (name == "meta") continue;
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> closes nothing open";
      open.pop_back();
    } else {
      open.push_back(name);
      if (name == "style") {
        p = html.find("</style>", p);
        if (p == std::string::npos) return "<style> not closed";
        open.pop_back();
      }
    }
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

// ---- text ------------------------------------------------------------------

TEST(TimelineText, EveryThreadsOpsAppearInItsLaneInOrder) {
  const Recorded r = record("folio_pincount", two_threads(), kBackAndForth);
  ASSERT_FALSE(r.run.violation) << r.run.violation->to_string();
  const std::string text = render_timeline_text(r.scenario, r.run, {.max_rows = 0});
  for (size_t t = 0; t < 2; ++t) {
    std::vector<std::string> want;
    for (const Op& o : r.scenario.program.threads[t]) want.push_back(o.to_string());
    want.push_back("exit (release_all)");
    EXPECT_EQ(op_cells(text, t), want) << "lane T" << t << " in\n" << text;
  }
  EXPECT_EQ(op_cells(text, 2), std::vector<std::string>{"final check"}) << text;
  EXPECT_NE(text.find("no violation (completed)"), std::string::npos) << text;
}

TEST(TimelineText, ContextSwitchesAreDrawn) {
  const Recorded r = record("folio_pincount", two_threads(), kBackAndForth);
  size_t trace_switches = 0;
  for (size_t i = 1; i < r.run.trace.size(); ++i)
    trace_switches += r.run.trace[i].thread != r.run.trace[i - 1].thread;
  ASSERT_GE(trace_switches, 4u) << "the preemption points should interleave the threads";
  const std::string text = render_timeline_text(r.scenario, r.run, {.max_rows = 0});
  const size_t drawn = count(text, " T0 → T1 ") + count(text, " T1 → T0 ");
  EXPECT_GE(drawn, trace_switches - 1) << text;  // - 1: the switch to the final check
  EXPECT_EQ(count(text, " T1 → final ") + count(text, " T0 → final "), 1u) << text;
}

TEST(TimelineText, ViolationNamesItsKindStepAndLane) {
  const Recorded r = writeback_crash();
  ASSERT_TRUE(r.run.violation);
  const Violation& v = *r.run.violation;
  ASSERT_EQ(v.kind, ViolationKind::dirty_without_buffers);
  const std::string text = render_timeline_text(r.scenario, r.run);
  EXPECT_NE(text.find("✖ after step #" + std::to_string(v.step) + " (T0 "), std::string::npos)
      << text;
  EXPECT_NE(text.find("dirty_without_buffers pfn=0 thread=0 in ext4_dirty_folio()"),
            std::string::npos)
      << text;
  const std::vector<std::string> cells = lane_cells(text, 0);
  ASSERT_FALSE(cells.empty());
  EXPECT_EQ(cells.back().rfind("✖ dirty_without_buffers", 0), 0u) << text;

  // The row right above the violation holds its step.
  const Timeline t = build_timeline(r.scenario, r.run);
  ASSERT_LT(t.violation_row, t.rows.size());
  ASSERT_GT(t.violation_row, 0u);
  const TimelineRow& hit = t.rows[t.violation_row - 1];
  EXPECT_TRUE(hit.has_violation_step);
  EXPECT_LE(hit.first_step, v.step);
  EXPECT_EQ(hit.last_step, v.step);
}

TEST(TimelineText, InvariantViolationLandsInTheLaneOfItsStep) {
  // T0 pins, then T1's get + put_page clears the page_flag design's pin bit
  // under it: the check after T1's step reports it, with no thread of its own.
  const Program p{one(Backing::kAnon),
                  {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::unpin_dirty, -1, 1, kOpDirty)},
                   {op(K::gup, 0, 1), op(K::put_page, -1)}}};
  const Recorded r = record("page_flag", p, {{14, 1}});
  ASSERT_TRUE(r.run.violation);
  ASSERT_EQ(r.run.violation->kind, ViolationKind::pin_count_mismatch);
  ASSERT_EQ(r.run.violation->thread, -1);
  const uint64_t step = r.run.violation->step;
  ASSERT_LT(step, r.run.trace.size());
  ASSERT_EQ(r.run.trace[step].thread, 1);
  const Timeline t = build_timeline(r.scenario, r.run);
  ASSERT_LT(t.violation_row, t.rows.size());
  EXPECT_EQ(t.rows[t.violation_row].lane, 1);
  const std::string text = render_timeline_text(r.scenario, r.run);
  EXPECT_EQ(lane_cells(text, 1).back().rfind("✖ pin_count_mismatch pfn=0", 0), 0u) << text;
  EXPECT_NE(text.find("✖ after step #" + std::to_string(step) + " (T1 "), std::string::npos) << text;
}

TEST(TimelineText, DeadlockIsDrawnAfterTheLastStepAcrossTheLanes) {
  // writeback=wait waits for its own pin to go away: every thread blocks,
  // and the scheduler, not a thread, reports it after the last step.
  const Program p{one(Backing::kFile),
                  {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::writeback, 0),
                    op(K::unpin_dirty, -1, 1, kOpDirty)}}};
  const Recorded r = record("folio_pincount,writeback=wait", p);
  ASSERT_TRUE(r.run.violation);
  ASSERT_EQ(r.run.violation->kind, ViolationKind::deadlock);
  const Timeline t = build_timeline(r.scenario, r.run);
  ASSERT_EQ(t.violation_row, t.rows.size() - 1);
  EXPECT_EQ(t.rows.back().lane, -1);
  const std::string text = render_timeline_text(r.scenario, r.run);
  EXPECT_NE(text.find("\n      ✖ deadlock in scheduler()\n"), std::string::npos) << text;
  EXPECT_NE(text.find("✖ at the end of the run, after " + std::to_string(r.run.steps) +
                      " steps: deadlock"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("never began: T0 unpin_dirty all dirty"), std::string::npos) << text;
  EXPECT_EQ(tag_balance(render_timeline_html(r.scenario, r.run, "deadlock", "c")), "");
}

TEST(TimelineText, CollapsingGroupsStepsOfOneThreadInOneFunction) {
  const Recorded r = record("folio_pincount", two_threads(), kBackAndForth);
  const Timeline t = build_timeline(r.scenario, r.run);
  size_t step_rows = 0, covered = 0;
  for (const TimelineRow& row : t.rows) {
    if (row.kind != TimelineRow::Kind::kSteps) continue;
    ++step_rows;
    covered += row.count;
    ASSERT_EQ(row.last_step - row.first_step + 1, row.count) << row.text;
    for (uint64_t i = row.first_step; i <= row.last_step; ++i) {
      EXPECT_EQ(r.run.trace[i].fn, row.fn) << "step " << i;
      EXPECT_EQ(row.text.rfind(row.fn, 0), 0u) << row.text;
    }
  }
  EXPECT_EQ(covered, r.run.trace.size());
  EXPECT_LT(step_rows, r.run.trace.size() * 2 / 3) << "collapsing should save rows";
}

TEST(TimelineText, StoresShowTheirValues) {
  const Recorded r = writeback_crash();
  const std::string text = render_timeline_text(r.scenario, r.run, {.max_rows = 0});
  EXPECT_NE(text.find("folio_ref_add  page 0 refcount 3→4"), std::string::npos) << text;
  EXPECT_NE(text.find("dma_write  page 0 data 100→1000"), std::string::npos) << text;
  EXPECT_NE(text.find("folio_mark_dirty ×3  page 0 flags +dirty"), std::string::npos) << text;
}

TEST(TimelineText, MaxRowsKeepsTheLastRowsUpToTheViolation) {
  const Recorded r = writeback_crash();
  const Timeline t = build_timeline(r.scenario, r.run);
  const size_t total = t.violation_row + 1;
  ASSERT_GT(total, 10u);
  const std::string text = render_timeline_text(r.scenario, r.run, {.max_rows = 6});
  EXPECT_NE(text.find("… " + std::to_string(total - 6) + " earlier rows\n"), std::string::npos)
      << text;
  // The window opens with the op lane T0 is in, and shows 6 rows after it.
  const std::vector<std::string> cells = lane_cells(text, 0);
  ASSERT_EQ(cells.size(), 1 + 1 + 6u) << text;  // header, "(in op)", rows
  EXPECT_EQ(cells[1].front(), '(') << text;
  EXPECT_EQ(cells.back().rfind("✖ ", 0), 0u) << text;
  EXPECT_EQ(text.find("▶ pin 0 1 write"), std::string::npos) << text;

  const std::string all = render_timeline_text(r.scenario, r.run, {.max_rows = 0});
  EXPECT_EQ(all.find("earlier rows"), std::string::npos);
  EXPECT_EQ(lane_cells(all, 0).size(), 1 + total);
}

TEST(TimelineText, AsciiModeHasNoHighBytes) {
  for (const Recorded& r : {writeback_crash(), record("folio_pincount", two_threads(), kBackAndForth)}) {
    const std::string text = render_timeline_text(r.scenario, r.run, {.max_rows = 8, .ascii = true});
    for (size_t i = 0; i < text.size(); ++i)
      ASSERT_LT(static_cast<unsigned char>(text[i]), 0x80) << "byte " << i << " of\n" << text;
    EXPECT_NE(text.find("->"), std::string::npos) << text;
    EXPECT_NE(text.find("earlier rows"), std::string::npos) << text;
  }
}

TEST(TimelineText, FourThreadsFitIn160Columns) {
  Program p{one(Backing::kFile),
            {{op(K::pin, 0, 1, kOpWrite), op(K::dma_write, 0), op(K::unpin_dirty, -1, 1, kOpDirty)},
             {op(K::gup, 0, 1), op(K::put_page, -1)},
             {op(K::writeback, 0), op(K::reclaim_file, 0)},
             {op(K::user_write, 0, 0), op(K::migrate, 0)}}};
  const Recorded r = record("folio_pincount", p, {{5, 1}, {5, 2}, {5, 3}, {9, 0}, {9, 2}});
  const std::string text = render_timeline_text(r.scenario, r.run, {.max_rows = 0});
  EXPECT_LE(max_line_columns(text), 160u) << text;
  EXPECT_NE(text.find("…"), std::string::npos) << "some cell should need cutting:\n" << text;
  for (size_t t = 0; t < 4; ++t) EXPECT_FALSE(op_cells(text, t).empty()) << "T" << t << "\n" << text;
}

TEST(TimelineText, SameRunSameText) {
  const Recorded a = record("folio_pincount", two_threads(), kBackAndForth);
  const Recorded b = record("folio_pincount", two_threads(), kBackAndForth);
  ASSERT_EQ(a.run.trace_hash, b.run.trace_hash);
  EXPECT_EQ(render_timeline_text(a.scenario, a.run), render_timeline_text(a.scenario, a.run));
  EXPECT_EQ(render_timeline_text(a.scenario, a.run), render_timeline_text(b.scenario, b.run));
  const Recorded c = writeback_crash(), d = writeback_crash();
  EXPECT_EQ(render_timeline_text(c.scenario, c.run), render_timeline_text(d.scenario, d.run));
}

TEST(TimelineText, WithoutATraceStillNamesTheViolation) {
  const Recorded r = record("get_only", entry("writeback_strips_buffers_under_dma").program, {},
                            sched::Recording::kHashOnly);
  ASSERT_TRUE(r.run.violation);
  const std::string text = render_timeline_text(r.scenario, r.run);
  EXPECT_NE(text.find("no trace recorded"), std::string::npos) << text;
  EXPECT_NE(text.find("dirty_without_buffers pfn=0"), std::string::npos) << text;
}

// ---- html ------------------------------------------------------------------

TEST(TimelineHtml, SelfContainedAndBalanced) {
  const Recorded r = record("folio_pincount", two_threads(), kBackAndForth);
  const std::string html = render_timeline_html(r.scenario, r.run, "two threads", "pinfuzz repro x");
  EXPECT_EQ(tag_balance(html), "");
  EXPECT_EQ(count(html, "<svg"), 1u);
  EXPECT_EQ(count(html, "</svg>"), 1u);
  EXPECT_EQ(count(html, "<script"), 0u);
  EXPECT_EQ(count(html, "src="), 0u);
  EXPECT_EQ(count(html, "href="), 0u);
  EXPECT_EQ(count(html, "http"), 1u) << "only the SVG namespace";
  EXPECT_NE(html.find(print_text(r.scenario).substr(0, 20)), std::string::npos);
  // A box per row, every one with its hover title, and the switches drawn.
  const Timeline t = build_timeline(r.scenario, r.run);
  EXPECT_EQ(count(html, "<rect") - t.lanes.size(), t.rows.size());
  EXPECT_GE(count(html, "class=\"switch\""), 4u);
  EXPECT_EQ(count(html, "<g class="), count(html, "</g>"));
}

TEST(TimelineHtml, EscapesEverythingItEmbeds) {
  Recorded r = writeback_crash();
  ASSERT_TRUE(r.run.violation);
  r.run.violation->detail = "buffers <freed> & \"gone\"";
  const std::string html =
      render_timeline_html(r.scenario, r.run, "<b>title</b>", "pinfuzz repro 'a<b'.scn");
  EXPECT_EQ(tag_balance(html), "");
  EXPECT_EQ(html.find("<freed>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("buffers &lt;freed&gt; &amp; &quot;gone&quot;"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;title&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("pinfuzz repro &#39;a&lt;b&#39;.scn"), std::string::npos);
  EXPECT_NE(html.find("class=\"violation\""), std::string::npos);
  EXPECT_NE(html.find("class=\"steps hit\""), std::string::npos);
}

TEST(TimelineHtml, SameRunSamePage) {
  const Recorded a = writeback_crash(), b = writeback_crash();
  const std::string ha = render_timeline_html(a.scenario, a.run, "t", "c");
  EXPECT_EQ(ha, render_timeline_html(a.scenario, a.run, "t", "c"));
  EXPECT_EQ(ha, render_timeline_html(b.scenario, b.run, "t", "c"));
}

}  // namespace
}  // namespace pf
