#include "fuzz/sched/stack_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace pf::sched {
namespace {

size_t page_size() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

StackPool::StackPool(size_t stack_size)
    : stack_size_(round_up(stack_size, page_size())) {}

StackPool::~StackPool() {
  for (const FiberStack& s : free_) munmap(s.mapping, s.mapping_size);
}

FiberStack StackPool::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      FiberStack s = free_.back();
      free_.pop_back();
      return s;
    }
    ++mappings_;
  }
  FiberStack s;
  s.guard_size = page_size();
  s.mapping_size = stack_size_ + s.guard_size;
  // MAP_NORESERVE: only the pages a fiber touches cost memory.
  void* p = mmap(nullptr, s.mapping_size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("pinfuzz: mmap of a fiber stack");
    std::abort();
  }
  if (mprotect(p, s.guard_size, PROT_NONE) != 0) {
    std::perror("pinfuzz: mprotect of a fiber stack guard page");
    std::abort();
  }
  s.mapping = p;
  return s;
}

void StackPool::release(FiberStack stack) {
  if (!stack) return;
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(stack);
}

size_t StackPool::cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

uint64_t StackPool::mappings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mappings_;
}

StackPool& StackPool::shared() {
  static StackPool* pool = new StackPool();  // leaked on purpose, see header
  return *pool;
}

}  // namespace pf::sched
