// Where the model used to be kinder than the kernel (issue 15): each test is
// a scenario with an input schedule that puts the race exactly where the
// kernel has it, and checks both that the race happened (in the trace) and
// what the kernel does about it.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "fuzz/harness/run.h"
#include "fuzz/scenario/scenario.h"
#include "model/violation.h"
#include "tests/test_util.h"

namespace pf {
namespace {

RunResult run_traced(const char* text, const char* design) {
  TextParse p = parse_text(text, "test");
  EXPECT_TRUE(p.scenario) << p.error;
  Runner runner;
  RunOptions opts;
  opts.recording = sched::Recording::kFullTrace;
  return runner.run(p.scenario.value_or(Scenario{}), test::design(design), opts);
}

// The index of the first (or last) step of `thread` in model function `fn`;
// -1 if there is none.
int64_t first_step(const RunResult& r, int thread, std::string_view fn) {
  for (const auto& s : r.trace)
    if (s.thread == thread && fn == s.fn) return static_cast<int64_t>(s.index);
  return -1;
}
int64_t last_step(const RunResult& r, int thread, std::string_view fn) {
  int64_t last = -1;
  for (const auto& s : r.trace)
    if (s.thread == thread && fn == s.fn) last = static_cast<int64_t>(s.index);
  return last;
}

// --- fork's copy of a maybe-pinned page (mm/memory.c, 6.x) --------------------
//
// Thread 1 pins the page, so fork must copy it for the child. The copy needs
// a preallocated folio: copy_present_page() returns -EAGAIN, copy_pte_range()
// drops the PTLs, allocates, and goes `again`. In that window thread 1 unpins
// and reclaim swaps the page out and frees it. The kernel re-reads the PTE,
// finds a swap entry and duplicates it; the model used to drop the PTL and copy
// from the page after it was freed (found by `pinfuzz run --strategy=pct`,
// then minimized).
constexpr const char* kForkCopyVsSwapOut = R"(pinfuzz-scenario 1
free_pages 1
vpn 0 anon
thread 0
  fork
thread 1
  pin 0 1
  unpin 0
  reclaim_anon 0
schedule input 0:1 11:0 1:0 9:1
)";

TEST(Fidelity, ForkRereadsThePteAfterPreallocatingItsCopy) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    RunResult r = run_traced(kForkCopyVsSwapOut, d.c_str());
    EXPECT_FALSE(r.violation) << d << ": " << r.violation->to_string();
    // The race happened: the page was freed (by thread 1's reclaim) after
    // fork first read the PTE and before it read it again.
    const int64_t first_read = first_step(r, 0, "copy_present_pte");
    const int64_t freed = first_step(r, 1, "folio_free");
    const int64_t reread = last_step(r, 0, "copy_present_pte");
    ASSERT_GE(first_read, 0) << d;
    ASSERT_GE(freed, 0) << d << ": the reclaim did not free the page";
    EXPECT_LT(first_read, freed) << d;
    EXPECT_LT(freed, reread) << d << ": fork did not re-read the PTE after the free";
  }
}

}  // namespace
}  // namespace pf
