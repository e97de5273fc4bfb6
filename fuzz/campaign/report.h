// A campaign's report: report.json (the state, plus the derived tables) and
// report.html, one self-contained page (inline CSS and SVG, no scripts,
// nothing fetched) with executions/s, coverage, violations and memory over
// time, the table of distinct violations (first seen, count, design) and the
// per-design table (time to the first violation). Each violation links to
// violations/<id>.html: its minimized scenario, repro command and swimlane
// timeline, rendered by fuzz/harness/timeline.h.
#pragma once

#include <string>

#include "fuzz/campaign/state.h"

namespace pf::campaign {

struct ReportPaths {
  std::string campaign_dir;  // holds crashes/
  std::string report_dir;    // gets report.json, report.html, violations/
};

// Writes everything atomically. "" or an error naming the path.
std::string write_report(const State& s, const ReportPaths& p);

// The per-design table as fixed-width text (for the terminal) or markdown.
// The known kernel limitations the campaign met (model/limitations.def),
// as text lines for the console: "" if none.
std::string limitations_text(const State& s);
std::string design_table(const State& s, bool markdown);

}  // namespace pf::campaign
