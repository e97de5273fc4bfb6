#include "model/sync/hook.h"

#include <thread>

namespace pf::sync {

namespace detail {
thread_local Hook* tls_hook = nullptr;
}

Hook* current_hook() noexcept { return detail::tls_hook; }
void set_current_hook(Hook* hook) noexcept { detail::tls_hook = hook; }

void block(Site site, const void* obj) {
  if (Hook* h = detail::tls_hook) {
    h->block(site, obj);
  } else {
    std::this_thread::yield();
  }
}

const char* access_name(Access a) {
  switch (a) {
    case Access::kLoad: return "load";
    case Access::kStore: return "store";
    case Access::kRmw: return "rmw";
    case Access::kFence: return "fence";
    case Access::kLock: return "lock";
    case Access::kUnlock: return "unlock";
    case Access::kFlush: return "flush";
  }
  return "?";
}

const char* memory_name(Memory m) {
  switch (m) {
    case Memory::kSc: return "sc";
    case Memory::kTso: return "tso";
    case Memory::kArm: return "arm";
  }
  return "?";
}

}  // namespace pf::sync
