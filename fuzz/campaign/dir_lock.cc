#include "fuzz/campaign/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pf::campaign {

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::string DirLock::acquire(const std::filesystem::path& dir) {
  const std::string path = (dir / kFileName).string();
  // O_CLOEXEC: the workers must not inherit it, or a killed campaign's lock
  // would live on in them.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return fmt::format("{}: cannot open the lock file: {}", path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32] = {};
    if (::pread(fd, buf, sizeof buf - 1, 0) > 0) {
      for (char* p = buf; *p; ++p)
        if (*p == '\n') *p = 0;
      holder = buf;
    }
    ::close(fd);
    if (err != EWOULDBLOCK)
      return fmt::format("{}: cannot lock: {}", path, std::strerror(err));
    return fmt::format("{} is in use by another campaign (pid {}, lock {}); wait for it to end or "
                       "stop it, then --resume",
                       dir.string(), holder.empty() ? std::string("unknown") : holder, path);
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    return fmt::format("{}: cannot write the lock file: {}", path, std::strerror(err));
  }
  fd_ = fd;
  return "";
}

}  // namespace pf::campaign
