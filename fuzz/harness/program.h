// A Program: an initial world and, per model thread, a short list of
// operations. Executing an Op is deterministic given the interleaving of
// the model's shared accesses; the harness decides that interleaving
// (sequential, real threads, or - later - the deterministic scheduler).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/check.h"
#include "model/mm.h"

namespace pf {

enum class OpKind : uint8_t {
#define PF_OP(name, fn, args) name,
#include "fuzz/harness/ops.def"
#undef PF_OP
};
inline constexpr int kNumOps = 0
#define PF_OP(name, fn, args) +1
#include "fuzz/harness/ops.def"
#undef PF_OP
    ;
const char* op_name(OpKind k);
const char* op_kernel_function(OpKind k);

enum OpFlag : uint8_t {
  kOpWrite = 1,
  kOpLongterm = 2,
  kOpP2pdma = 4,
  kOpDirty = 8,
};

struct Op {
  OpKind kind;
  int8_t a = 0;   // vpn / slot / index / mm / pgmap (see ops.def)
  int8_t b = 1;   // n / vpn (user_write, user_read)
  uint8_t flags = 0;
  std::string to_string() const;
};

struct Program {
  WorldSpec world;
  std::vector<std::vector<Op>> threads;  // 1..kMaxThreads
};

// Runs one op for `t`. Never throws; bad arguments are a no-op or an errno.
void run_op(World& w, Task& t, const Op& op);

struct Outcome {
  std::optional<Violation> violation;  // the first one
  uint32_t kinds = 0;                  // every kind seen
  uint64_t steps = 0;                  // shared accesses made
  bool saw(ViolationKind k) const { return kinds & (1u << static_cast<int>(k)); }
};

struct SequentialOptions {
  uint64_t step_budget = 1'000'000;
  bool check_each_op = true;  // check_invariants() after every op
};

// Runs the threads' ops round-robin, one whole op at a time, on the calling
// OS thread, then final_check(). An op that would block is a deadlock (no
// other thread can run inside an op); the step budget running out is a hang.
Outcome run_sequential(const Design& d, const Program& p, SequentialOptions opt = {});

// Runs each thread's program on its own std::thread (free mode), repeated
// `rounds` times on a fresh world each, stopping at the first violation.
Outcome run_threads(const Design& d, const Program& p, int rounds);

}  // namespace pf
