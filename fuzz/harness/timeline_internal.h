// What the timeline's build, text and HTML files (timeline_build.cc,
// timeline_text.cc, timeline_html.cc) share besides timeline.h. Private to
// those files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "fuzz/harness/timeline.h"

namespace pf::timeline_detail {

// The lane's name, "T0" ... "final"; "scheduler" for a row no lane owns.
std::string lane_name(const Timeline& t, int lane);

// Terminal columns of UTF-8 text: one per code point. Every glyph the
// renderers write is a narrow one, and the model's names are ASCII.
size_t columns(std::string_view s);

}  // namespace pf::timeline_detail
