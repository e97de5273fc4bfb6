// One owner per campaign directory: an advisory lock (flock(2)) on
// DIR/campaign.lock, taken by `campaign` and `campaign --resume` and held
// for the whole run. The kernel drops it when the holder exits, however it
// exits (SIGKILL included), so a stale lock cannot outlive its owner; the
// file keeps the holder's pid only so that the refusal can name it.
// `report` and `promote` only read the directory and take no lock.
#pragma once

#include <filesystem>
#include <string>

namespace pf::campaign {

class DirLock {
 public:
  DirLock() = default;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

  // Takes the lock on `dir` (which must exist). On failure returns the
  // message to print: the holder's pid if another process has it, or why
  // the lock file could not be used.
  std::string acquire(const std::filesystem::path& dir);
  bool held() const { return fd_ >= 0; }

  static constexpr const char* kFileName = "campaign.lock";

 private:
  int fd_ = -1;
};

}  // namespace pf::campaign
