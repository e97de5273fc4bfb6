// What one scheduled run produced: how it ended, a 64-bit hash of the
// interleaving, and (in recording mode) every step. Nothing here depends on
// addresses: objects are numbered in first-seen order and functions are
// hashed by name, so dev, asan, tsan and release builds agree on all of it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/sync/hook.h"

namespace pf::sched {

enum class Status : uint8_t {
  kCompleted,  // every model thread returned
  kDeadlock,   // every unfinished model thread was parked
  kHang,       // the step budget ran out
  kStopped,    // request_stop(), or a model thread threw
};
const char* status_name(Status s);

inline constexpr uint32_t kNoObject = 0xffffffffu;  // fences have no object

// One shared access, in execution order.
struct Step {
  uint64_t index = 0;   // 0-based position in the run
  uint8_t thread = 0;   // model thread index
  const char* fn = "";  // Site::fn: the model function (a string literal)
  unsigned line = 0;    // Site::line
  sync::Access kind = sync::Access::kLoad;
  uint32_t object = kNoObject;  // order of first appearance in this run
  // The object's address, to name it (World::describe()). Differs between
  // builds and runs: never hashed, never compared, never printed raw.
  const void* address = nullptr;
  // Stores and successful read-modify-writes: the value before and after.
  // Loads (Recording::kFullTrace only): the value read, in both.
  int64_t before = 0;
  int64_t after = 0;
  bool has_value = false;
  // Weak memory: a store or read-modify-write whose write went into the
  // thread's store buffer, not yet visible to the others; a later
  // Access::kFlush step of the same thread (same fn and line) publishes it.
  bool buffered = false;
  // Weak memory (arm): a load satisfied early, before the loads that precede
  // it: it read the word as it was at its thread's last ordering point (a
  // barrier, an acquire, a read-modify-write), not as it is now.
  bool early = false;
};

struct Result {
  Status status = Status::kCompleted;
  uint64_t steps = 0;        // shared accesses executed
  uint64_t switches = 0;     // times the running model thread changed
  uint64_t preemptions = 0;  // of those, switches away from a runnable thread
  uint64_t parks = 0;        // block() calls that parked a thread
  // Over every step: (thread, fn name, kind) and, for stores and
  // read-modify-writes, (before, after). Equal traces give equal hashes.
  uint64_t trace_hash = 0;
  uint64_t seed = 0;         // Strategy::seed()
  std::string schedule;      // Strategy::describe() (Recording::kFullTrace only)
  // Threads that could not be unwound after the run ended (a destructor
  // that blocked or spun forever). They are dropped as they stand: whatever
  // their frames own leaks, the in-flight unwind exception included.
  uint32_t abandoned = 0;
  std::vector<Step> trace;   // Recording::kFullTrace only
};

}  // namespace pf::sched
