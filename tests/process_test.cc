// The campaign's worker processes (fuzz/campaign/process.h): the memory a
// worker costs is its whole process group, the fuzzer and what it starts
// (libFuzzer's llvm-symbolizer is 60 MB), as bench/soak.py measures it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "fuzz/campaign/process.h"

namespace pf::campaign {
namespace {

// A worker (sh, small) whose child (perl) holds a 16 MB string.
TEST(Process, GroupRssCountsTheWorkersChildren) {
  if (::access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/perl";
  Process p;
  // Two commands: sh stays the parent instead of exec'ing perl.
  const char* script =
      "/usr/bin/perl -e '$| = 1; $x = \"y\" x 16000000; print \"ready\\n\"; sleep 30'; exit 0";
  ASSERT_EQ(p.start({"/bin/sh", "-c", script}), "");
  // Wait for the 16 MB string to exist.
  std::vector<std::string> lines;
  for (int i = 0; i < 200 && lines.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    p.read_lines(&lines);
  }
  ASSERT_FALSE(lines.empty()) << "the worker never said it was ready";
  const long shell = rss_kib(p.pid());
  const long group = groups_rss_kib({p.pid()});
  EXPECT_LT(shell, 8000) << "sh itself is small";
  EXPECT_GE(group, shell + 15000) << "the child's 16 MB string is counted";
  // Not rsslim or vsize read by mistake.
  EXPECT_LT(group, 64000);
  EXPECT_EQ(groups_rss_kib({}), 0);
  // A group that does not exist holds nothing.
  EXPECT_EQ(groups_rss_kib({p.pid() + 1000000}), 0);
  p.signal(SIGKILL);
}

}  // namespace
}  // namespace pf::campaign
