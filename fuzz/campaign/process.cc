#include "fuzz/campaign/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace pf::campaign {

Process::~Process() {
  if (pid_ > 0 && !status_) {
    signal(SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (fd_ >= 0) ::close(fd_);
}

std::string Process::start(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fmt::format("pipe: {}", std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    return fmt::format("fork: {}", std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the campaign died already
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    ::execv(args[0], args.data());
    const char msg[] = "pinfuzz campaign: exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no race with the first signal()
  ::close(p[1]);
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  pid_ = pid;
  fd_ = p[0];
  return "";
}

void Process::read_lines(std::vector<std::string>* lines) {
  if (fd_ < 0) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      partial_.append(buf, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1)
        lines->push_back(partial_.substr(start, nl - start));
      partial_.erase(0, start);
      // A child that prints megabytes without a newline must not grow us.
      if (partial_.size() > (1u << 20)) {
        lines->push_back(partial_);
        partial_.clear();
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (!partial_.empty()) lines->push_back(std::move(partial_));
    partial_.clear();
    ::close(fd_);
    fd_ = -1;
    return;
  }
}

std::optional<int> Process::poll_exit() {
  if (status_ || pid_ <= 0) return status_;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) status_ = st;
  return status_;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("killed by signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return fmt::format("ended with wait status {}", status);
}

long rss_kib(pid_t pid) {
  std::string path = pid > 0 ? fmt::format("/proc/{}/statm", pid) : "/proc/self/statm";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return 0;
  long size = 0, resident = 0;
  int n = std::fscanf(f, "%ld %ld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

long groups_rss_kib(const std::vector<pid_t>& groups) {
  if (groups.empty()) return 0;
  long total = 0;
  const long page_kib = ::sysconf(_SC_PAGESIZE) / 1024;
  DIR* proc = ::opendir("/proc");
  if (!proc) return 0;
  while (dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    FILE* f = std::fopen(path, "r");
    if (!f) continue;  // exited meanwhile
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and ')'.
    const char* p = std::strrchr(buf, ')');
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (!p || std::sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) continue;
    if (std::find(groups.begin(), groups.end(), pgrp) == groups.end()) continue;
    // Field 24 (rss, pages) is the 21st after the state.
    long rss = 0;
    const char* q = p + 1;
    for (int field = 0; field < 21 && q; ++field) q = std::strchr(q + 1, ' ');
    if (q && std::sscanf(q, " %ld", &rss) == 1) total += rss * page_kib;
  }
  ::closedir(proc);
  return total;
}

}  // namespace pf::campaign
