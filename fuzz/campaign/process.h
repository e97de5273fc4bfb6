// A child process whose stdout and stderr come back through one pipe, read
// line by line without blocking: how a campaign runs its pinfuzz_fuzzer
// workers. The child gets its own process group (a terminal's Ctrl-C goes
// to the campaign, which then stops the workers in order) and dies with the
// campaign (PR_SET_PDEATHSIG), so a SIGKILLed campaign leaves no orphans
// fuzzing on.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace pf::campaign {

class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts argv[0] (a path) with `argv`. "" or an error.
  std::string start(const std::vector<std::string>& argv);
  pid_t pid() const { return pid_; }
  int fd() const { return fd_; }  // the output pipe, for poll(); -1 once at EOF

  // Reads what is available; appends complete lines (without '\n') to
  // `lines`. At EOF the last partial line is flushed and fd() becomes -1.
  void read_lines(std::vector<std::string>* lines);

  // Non-blocking wait. Once it has exited: its status, as waitpid()
  // reports it.
  std::optional<int> poll_exit();
  void signal(int sig);  // to its process group

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string partial_;
  std::optional<int> status_;
};

// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_status(int status);

// Resident set size of a process in KiB (/proc/PID/statm), 0 if unknown.
long rss_kib(pid_t pid);

// Resident set size in KiB of every process in the given process groups
// (each worker is its own group: the fuzzer and whatever it started, such
// as the llvm-symbolizer libFuzzer spawns), from one scan of /proc.
long groups_rss_kib(const std::vector<pid_t>& groups);

}  // namespace pf::campaign
