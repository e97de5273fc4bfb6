// Fiber-switch annotations for AddressSanitizer and ThreadSanitizer; every
// function here compiles to nothing in a build without that sanitizer.
// Contract: call start_switch() right before a jump and finish_switch() first
// thing after landing, so ASan knows which stack is live (exceptions and
// fake stacks depend on it) and TSan keeps one shadow call stack per fiber and
// a happens-before edge at every switch (fibers on one OS thread never race).
// See compiler-rt/include/sanitizer/common_interface_defs.h and
// tsan_interface.h for the protocol this follows.
#pragma once

#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PF_SCHED_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define PF_SCHED_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(PF_SCHED_ASAN)
#define PF_SCHED_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(PF_SCHED_TSAN)
#define PF_SCHED_TSAN 1
#endif

#if PF_SCHED_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if PF_SCHED_TSAN
#include <sanitizer/tsan_interface.h>
#endif

// always_inline: under TSan a wrapper frame that spans a fiber switch would
// enter on one fiber's shadow call stack and leave on another's.
#define PF_SCHED_SAN_INLINE __attribute__((always_inline)) inline

namespace pf::sched::san {

#if PF_SCHED_ASAN || PF_SCHED_TSAN
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

// What the sanitizers need to know about one execution context (a fiber or
// the OS thread that hosts them).
struct Context {
  void* asan_fake_stack = nullptr;  // ASan's fake stack while switched out
  const void* stack_bottom = nullptr;  // lowest usable byte; host: learned
  size_t stack_size = 0;               // from the first switch away from it
  void* tsan_fiber = nullptr;
};

// Before jumping to `to`. `self_fake_stack` is nullptr when the caller is
// leaving for good (ASan then frees its fake stack).
PF_SCHED_SAN_INLINE void start_switch(void** self_fake_stack, const Context& to) {
#if PF_SCHED_ASAN
  __sanitizer_start_switch_fiber(self_fake_stack, to.stack_bottom,
                                 to.stack_size);
#else
  (void)self_fake_stack;
#endif
#if PF_SCHED_TSAN
  __tsan_switch_to_fiber(to.tsan_fiber, 0);  // 0: synchronize
#else
  (void)to;
#endif
}

// After landing. Reports the stack we came from (ASan builds only; other
// builds leave the outputs untouched).
PF_SCHED_SAN_INLINE void finish_switch(void* self_fake_stack, const void** from_bottom,
                          size_t* from_size) {
#if PF_SCHED_ASAN
  __sanitizer_finish_switch_fiber(self_fake_stack, from_bottom, from_size);
#else
  (void)self_fake_stack, (void)from_bottom, (void)from_size;
#endif
}

// A reused stack still carries the redzones poisoned by frames that never
// returned (a fiber leaves by jumping, not by returning); clear them before
// the stack hosts a new fiber, or ASan reports a stale overflow.
PF_SCHED_SAN_INLINE void unpoison_stack(const void* bottom, size_t size) {
#if PF_SCHED_ASAN
  __asan_unpoison_memory_region(bottom, size);
#else
  (void)bottom, (void)size;
#endif
}

PF_SCHED_SAN_INLINE void* tsan_current_fiber() {
#if PF_SCHED_TSAN
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}
PF_SCHED_SAN_INLINE void* tsan_create_fiber() {
#if PF_SCHED_TSAN
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}
PF_SCHED_SAN_INLINE void tsan_destroy_fiber(void* fiber) {
#if PF_SCHED_TSAN
  if (fiber) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}
// For code that must run under another fiber's TSan identity without a
// stack switch of our own (fiber creation; see Scheduler).
PF_SCHED_SAN_INLINE void tsan_switch_to(void* fiber) {
#if PF_SCHED_TSAN
  __tsan_switch_to_fiber(fiber, 0);
#else
  (void)fiber;
#endif
}

}  // namespace pf::sched::san
