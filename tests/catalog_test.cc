// The bug catalog (fuzz/harness/bugs.def) is consistent with the design
// table and with the regression corpus: every row names a buggy design and a
// correct fix, and corpus/regressions holds a found, minimized input for each
// row (and nothing that belongs to no row). Whether those inputs still
// reproduce is the pinfuzz_regress ctest's job.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "fuzz/harness/bugs.h"
#include "fuzz/harness/regress.h"

namespace pf {
namespace {

TEST(Catalog, RowsParseBuggyAndFixed) {
  std::set<std::string_view> names;
  ASSERT_GE(bug_catalog().size(), 15u);
  for (const BugConfig& b : bug_catalog()) {
    SCOPED_TRACE(std::string(b.name));
    EXPECT_TRUE(names.insert(b.name).second) << "duplicate row";
    auto buggy = parse_design(b.design);
    auto fixed = parse_design(b.fixed);
    ASSERT_TRUE(buggy.design) << buggy.error;
    ASSERT_TRUE(fixed.design) << fixed.error;
    EXPECT_FALSE(buggy.design->is_correct());
    EXPECT_TRUE(fixed.design->is_correct());
    EXPECT_EQ(find_bug(b.name), &b);
  }
  EXPECT_EQ(find_bug("no_such_bug"), nullptr);
}

// A row's buggy design, however it is reached (find --bug, a campaign
// config, a ClusterFuzzLite target's name), defaults to the row's memory
// model; its fix and the correct designs to sc. Some row must need a weak
// model, or this checks nothing.
TEST(Catalog, DefaultMemoryIsTheRowsModel) {
  int weak = 0;
  for (const BugConfig& b : bug_catalog()) {
    SCOPED_TRACE(std::string(b.name));
    EXPECT_EQ(default_memory(b.buggy_design()), b.memory());
    EXPECT_EQ(default_memory(b.fixed_design()), sync::Memory::kSc);
    weak += b.memory() != sync::Memory::kSc;
  }
  EXPECT_GE(weak, 2);
  for (const std::string& name : design_names(DesignSet::kCorrect))
    EXPECT_EQ(default_memory(*parse_design(name).design), sync::Memory::kSc) << name;
}

TEST(Catalog, RegressionCorpusHasAnEntryPerRowAndNoStrays) {
  std::vector<std::string> errors;
  auto entries = load_regressions(PINFUZZ_SOURCE_DIR "/corpus/regressions", &errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  std::set<std::string> covered;
  for (const RegressionEntry& e : entries) {
    SCOPED_TRACE(e.path);
    const BugConfig* b = find_bug(e.bug);
    ASSERT_NE(b, nullptr) << "entry for a bug that is not in bugs.def: " << e.bug;
    EXPECT_NE(e.path.find("/" + e.bug + "/"), std::string::npos) << "entry filed under the wrong row";
    EXPECT_EQ(e.design, b->design);
    EXPECT_EQ(e.fixed, b->fixed);
    EXPECT_EQ(e.expected, b->expected);
    covered.insert(e.bug);
  }
  for (const BugConfig& b : bug_catalog())
    EXPECT_TRUE(covered.count(std::string(b.name)))
        << "no regression entry for " << b.name << ": run `pinfuzz find --bug " << b.name
        << " --promote corpus/regressions`";
}

}  // namespace
}  // namespace pf
