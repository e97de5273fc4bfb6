// Scenario files load whichever form they hold and name the path in every
// error; writes are atomic, and go into a FIFO or device in place.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fuzz/scenario/scenario.h"
#include "tests/scenario_samples.h"
#include "tests/test_util.h"

namespace pf {
namespace {

namespace fs = std::filesystem;
using test::kCanonical;
using test::kHead;
using test::parsed;

class ScenarioFiles : public test::TempDirTest {
 protected:
  ScenarioFiles() : TempDirTest("scenario_files_test") {}
  std::string path(const char* name) const { return (dir_ / name).string(); }
  std::string write(const char* name, std::string_view data) const {
    std::ofstream(path(name), std::ios::binary) << data;
    return path(name);
  }
};

TEST_F(ScenarioFiles, TextFileLoadsAsText) {
  LoadedScenario l = load_scenario_file(write("a.scn", kCanonical[0]));
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_TRUE(l.was_text);
  EXPECT_EQ(*l.scenario, parsed(kCanonical[0]));
}

TEST_F(ScenarioFiles, ByteFileLoadsAsBytes) {
  auto b = encode_bytes(parsed(kCanonical[1]));
  LoadedScenario l = load_scenario_file(write("a.bin", std::string(b.begin(), b.end())));
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_FALSE(l.was_text);
  EXPECT_EQ(*l.scenario, parsed(kCanonical[1]));
}

TEST_F(ScenarioFiles, TextParseErrorNamesTheFileLineAndColumn) {
  std::string p = write("bad.scn", kHead + "vpn 8 anon\n");
  LoadedScenario l = load_scenario_file(p);
  EXPECT_FALSE(l.scenario);
  EXPECT_EQ(l.error.rfind(p + ":2:5: error: vpn 8 is out of range", 0), 0u) << l.error;
}

TEST_F(ScenarioFiles, EmptyMissingAndFutureFilesAreRejectedNamingThePath) {
  std::string empty = write("empty", "");
  LoadedScenario e = load_scenario_file(empty);
  EXPECT_FALSE(e.scenario);
  EXPECT_EQ(e.error, empty + ": empty file");

  std::string missing = path("missing");
  LoadedScenario m = load_scenario_file(missing);
  EXPECT_FALSE(m.scenario);
  EXPECT_EQ(m.error.rfind(missing + ": cannot open", 0), 0u) << m.error;

  std::string future = write("future", std::string{"\x1f\x00\x08\x00\x00", 5});
  LoadedScenario f = load_scenario_file(future);
  EXPECT_FALSE(f.scenario);
  EXPECT_EQ(f.error.rfind(future + ": ", 0), 0u) << f.error;
  EXPECT_NE(f.error.find("format version 31; this build reads versions 1 to"), std::string::npos)
      << f.error;
}

// The byte form is total: past the end every byte reads as 0, so a file of
// just the version byte is the all-zero scenario, not an error.
TEST_F(ScenarioFiles, VersionByteAloneLoadsAsTheAllZeroScenario) {
  LoadedScenario l = load_scenario_file(write("short.bin", std::string{"\x01", 1}));
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_FALSE(l.was_text);
  EXPECT_EQ(print_text(*l.scenario),
            "pinfuzz-scenario 8\nfree_pages 0\nthread 0\nschedule input\n");
}

TEST_F(ScenarioFiles, AtomicWriteLeavesOnlyTheFile) {
  std::string p = path("out.bin");
  ASSERT_EQ(write_file_atomic(p, "first"), "");
  ASSERT_EQ(write_file_atomic(p, std::string("second\0", 7)), "");
  std::ifstream in(p, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, std::string("second\0", 7));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"out.bin"});
}

TEST_F(ScenarioFiles, ByteFileCutShortLoadsWithAWarningNamingThePart) {
  auto b = encode_bytes(parsed(kCanonical[1]));
  std::string p = write("cut.bin", std::string(b.begin(), b.end() - 3));
  LoadedScenario l = load_scenario_file(p);
  ASSERT_TRUE(l.scenario) << l.error;
  EXPECT_EQ(l.warning.rfind(fmt::format("{} ends inside the schedule ({} bytes)", p, b.size() - 3), 0),
            0u)
      << l.warning;
  std::string whole = write("whole.bin", std::string(b.begin(), b.end()));
  EXPECT_EQ(load_scenario_file(whole).warning, "");
}

// A path that is not a regular file (a FIFO here; /dev/stdout, /dev/full)
// is written in place: renaming over it would replace it with a file.
TEST_F(ScenarioFiles, AtomicWriteToAFifoWritesIntoIt) {
  std::string p = path("fifo");
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  int rd = ::open(p.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rd, 0);
  ASSERT_EQ(write_file_atomic(p, "through"), "");
  char buf[16] = {};
  EXPECT_EQ(::read(rd, buf, sizeof buf), 7);
  ::close(rd);
  EXPECT_EQ(std::string(buf), "through");
  EXPECT_TRUE(fs::is_fifo(p));
}

TEST_F(ScenarioFiles, AtomicWriteIntoAMissingDirectoryNamesThePath) {
  std::string p = path("no/such/dir/out.bin");
  std::string err = write_file_atomic(p, "x");
  EXPECT_NE(err, "");
  EXPECT_NE(err.find(p), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(p));
}

}  // namespace
}  // namespace pf
