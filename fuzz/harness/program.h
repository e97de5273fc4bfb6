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

enum OpFlag : uint8_t {
  kOpWrite = 1,     // FOLL_WRITE
  kOpLongterm = 2,  // FOLL_LONGTERM
  kOpP2pdma = 4,    // FOLL_PCI_P2PDMA
  kOpDirty = 8,     // make_dirty
};
inline constexpr uint8_t kOpFlagMask = 15;
// The flag words, in bit order: what the text format writes after the args.
inline constexpr const char* kOpFlagNames[] = {"write", "longterm", "p2pdma", "dirty"};

// What an op's arguments are (ops.def).
enum class OpArgs : uint8_t { kNone, kVpnN, kSlot, kMmVpn, kIndex, kVpn, kPgmap };

enum class OpKind : uint8_t {
#define PF_OP(name, fn, args, flags) name,
#include "fuzz/harness/ops.def"
#undef PF_OP
};
inline constexpr int kNumOps = 0
#define PF_OP(name, fn, args, flags) +1
#include "fuzz/harness/ops.def"
#undef PF_OP
    ;
const char* op_name(OpKind k);
const char* op_kernel_function(OpKind k);
OpArgs op_args(OpKind k);
uint8_t op_flags_allowed(OpKind k);
// "vpn n", "slot", ...: the argument names of a shape, for help and errors.
const char* op_args_text(OpArgs a);
std::optional<OpKind> parse_op_kind(std::string_view name);

// Argument domains. A slot of -1 means every held page of the kind the op
// releases (`all` in text).
inline constexpr int kMaxGupPages = 4;  // n of one GUP call
inline constexpr int kNumMmIds = 4;     // mm 0 and up to three forks

struct Op {
  OpKind kind = OpKind::sync;
  int8_t a = 0;   // vpn / slot / index / mm / pgmap (see ops.def)
  int8_t b = 1;   // n (GUP) or vpn (user_write, user_read)
  uint8_t flags = 0;

  // The op with every argument the shape does not use reset, every used
  // one brought into its domain (vpn mod 8, n in 1..4, slot in -1..7, ...)
  // and only the allowed flags kept. Executing an op and its canonical form
  // does the same; the text and byte forms hold canonical ops only.
  Op canonical() const;
  // Text form: "pin 0 1 write", "unpin_dirty all dirty", "fork".
  std::string to_string() const;
  friend bool operator==(const Op&, const Op&) = default;
};

inline constexpr int kMaxOpsPerThread = 16;

struct Program {
  WorldSpec world;
  std::vector<std::vector<Op>> threads;  // 1..kMaxThreads
  friend bool operator==(const Program&, const Program&) = default;
};

// How a program's releases are held to the API contract.
enum class OpMode : uint8_t {
  // Ops do exactly what they say: a release of an empty slot, or of a
  // FOLL_GET page with an unpin, is reported as api_misuse. The self-check
  // catalog uses this to show the oracle.
  kStrict,
  // Ops behave as a correct driver would (the fuzzing mode): a release
  // addresses only held pages of the kind it releases and is skipped
  // otherwise; the device writes, and a release dirties, only pages taken
  // with FOLL_WRITE; a thread tears down device memory only while it holds
  // no GUP references (a teardown runs in its own context);
  // a thread's exit releases what it still holds. What remains to be found
  // are the design's mistakes, not the caller's.
  kWellFormed,
};

// Runs one op for `t`. Never throws; bad arguments are a no-op or an errno.
void run_op(World& w, Task& t, const Op& op, OpMode mode = OpMode::kStrict);
// A driver's teardown at thread exit: releases every page `t` still holds
// (without dirtying), as process exit or driver close would.
void release_all(World& w, Task& t);

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
