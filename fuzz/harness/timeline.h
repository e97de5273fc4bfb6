// The swimlane timeline `pinfuzz repro` prints for a recorded run: one lane
// per model thread (plus "final" when the end-of-run check ran), time flowing
// down, the op each thread begins as its own row, consecutive steps of one
// thread in one model function collapsed into one row with the values they
// changed, context switches drawn across the lanes, and the violation placed
// right after the step that revealed it. Relacy's "execution history", laid
// out so that a kernel developer follows the interleaving with the eye.
//
// Contract: the output is a pure function of its arguments - no addresses,
// clocks or locale - so two identical runs render byte for byte the same.
// A RunResult recorded without Recording::kFullTrace renders its violation
// and says that there is no trace to draw; nothing here ever throws on a
// short or inconsistent trace (a mark past the end, an op index the program
// does not have): it is drawn as found.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"

namespace pf {

// One row of the timeline, in execution order.
struct TimelineRow {
  enum class Kind : uint8_t {
    kOp,         // a thread begins an op (OpMark): "▶ pin 0 1 write"
    kSteps,      // consecutive steps of one lane in one model function
    kViolation,  // the first violation, after the step that revealed it
  };
  Kind kind = Kind::kSteps;
  // Index into Timeline::lanes; -1 for a violation no lane owns (a deadlock
  // or hang reported by the scheduler itself).
  int lane = 0;
  // kSteps: the trace indices (Step::index) of its first and last step.
  // kOp: the step the op began before. kViolation: Violation::step.
  uint64_t first_step = 0;
  uint64_t last_step = 0;
  uint32_t count = 0;   // kSteps: how many steps it stands for
  std::string fn;       // kSteps: the model function (the kernel's name)
  std::string text;     // the one-line cell text (UTF-8: →, ×, ▶, ✖)
  // Full detail, one line per step ("#12 folio_ref_add:29 rmw page 0
  // refcount 3→4"), or the whole violation: what a hover shows.
  std::vector<std::string> details;
  // kOp / kSteps: the previous op or steps row is in another lane - the
  // scheduler switched threads here.
  bool switch_before = false;
  // kSteps: holds the step after which the violation was seen.
  bool has_violation_step = false;
};

struct Timeline {
  std::vector<std::string> lanes;  // "T0", "T1", ..., then "final" if it ran
  std::vector<TimelineRow> rows;
  size_t violation_row = SIZE_MAX;  // index into rows, SIZE_MAX if none
  // Per lane, the op rows of ops that never began ("T1 put_page all"), in
  // program order: the run stopped before they could.
  std::vector<std::string> not_started;
};

// The rows both renderers draw. Steps are grouped only while lane and
// function stay the same; an op mark or the violation step ends a group.
Timeline build_timeline(const Scenario& s, const RunResult& r);

struct TimelineOptions {
  // Draw at most this many rows: the last ones up to and including the
  // violation (or the end of the run), after a "… K earlier rows" line that
  // names the op each lane is in. 0 = every row.
  size_t max_rows = 200;
  // Only bytes < 0x80: "->" for "→", "|" for "│", "x" for "×", and so on,
  // and any other non-ASCII byte of an embedded string as '?'.
  bool ascii = false;
  // Target width of a table line, in terminal columns; cells are cut with
  // "…" to fit. Lanes get between 16 and 48 columns each, so five lanes fit
  // in 160.
  int max_width = 160;
};

// Plain text: a header line, the table (a step-index column, then one
// column per lane), switch lines between rows of different lanes, the
// violation in its lane, then the full violation line (wrapped at
// max_width) and the ops that never began.
std::string render_timeline_text(const Scenario& s, const RunResult& r,
                                 const TimelineOptions& o = {});

// &, <, >, " and ' as HTML entities: text and attribute values alike.
std::string html_escape(std::string_view s);

// One self-contained HTML page (inline CSS and SVG, no scripts, nothing
// fetched): `title`, the violation signature, the replay `command`, the
// scenario as print_text() writes it, and the timeline as an SVG - a lane
// per thread, a box per row with the full step details as its hover
// <title>, op rows labelled, context switches drawn as arrows and the
// violation in red - followed by the text timeline for copying into mail.
// Every embedded string is HTML-escaped.
std::string render_timeline_html(const Scenario& s, const RunResult& r, const std::string& title,
                                 const std::string& command);

}  // namespace pf
