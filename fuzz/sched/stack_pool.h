// StackPool: fiber stacks that outlive a run, so running a scenario costs no
// mmap/munmap (allocating a 256 KiB stack per run made a 3-fiber run ~9x
// slower). Each stack sits above a PROT_NONE guard page: a fiber that
// overflows faults at once instead of corrupting a neighbour.
// Thread-safe; between acquire() and release() a stack has exactly one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "fuzz/sched/fiber_san.h"

namespace pf::sched {

// Usable bytes per fiber stack. Model call chains are shallow, but the
// sanitizers inflate frames (ASan redzones, TSan bookkeeping).
inline constexpr size_t kDefaultStackSize =
    san::kSanitizerBuild ? 512 * 1024 : 64 * 1024;

struct FiberStack {
  void* mapping = nullptr;  // guard page first, then the usable stack
  size_t mapping_size = 0;
  size_t guard_size = 0;

  explicit operator bool() const { return mapping != nullptr; }
  void* bottom() const { return static_cast<char*>(mapping) + guard_size; }
  void* top() const { return static_cast<char*>(mapping) + mapping_size; }
  size_t size() const { return mapping_size - guard_size; }
};

class StackPool {
 public:
  explicit StackPool(size_t stack_size = kDefaultStackSize);
  // Unmaps the cached stacks. Stacks still acquired are not tracked; their
  // owners must release them first (Scheduler does, in its destructor).
  ~StackPool();
  StackPool(const StackPool&) = delete;
  StackPool& operator=(const StackPool&) = delete;

  // A cached stack if there is one, else a fresh mapping. Aborts if the
  // kernel refuses the mapping: a fuzzer without stacks cannot go on.
  FiberStack acquire();
  // Back to the cache, for the next acquire().
  void release(FiberStack stack);

  size_t stack_size() const { return stack_size_; }
  size_t cached() const;      // stacks waiting in the cache
  uint64_t mappings() const;  // stacks ever mapped: flat once reuse kicks in

  // The process-wide pool that schedulers use unless told otherwise. Never
  // destroyed, so schedulers in static storage can release into it at exit.
  static StackPool& shared();

 private:
  const size_t stack_size_;
  mutable std::mutex mu_;
  std::vector<FiberStack> free_;
  uint64_t mappings_ = 0;
};

}  // namespace pf::sched
