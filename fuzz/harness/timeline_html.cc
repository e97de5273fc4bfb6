// The HTML page of a timeline (timeline.h): one self-contained file, the
// timeline drawn as inline SVG, every embedded string escaped.
#include "fuzz/harness/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "fuzz/harness/timeline_internal.h"

namespace pf {

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

namespace {

using timeline_detail::columns;
using timeline_detail::lane_name;

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
  if (r.limitation)
    h += "<p class=\"note\">" +
         esc(fmt::format("Known kernel limitation met: {} in {}(): {} (see {})",
                         violation_name(r.limitation->kind), r.limitation->fn,
                         r.limitation->detail, limitation_reference(r.limitation->kind))) +
         "</p>\n";
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
