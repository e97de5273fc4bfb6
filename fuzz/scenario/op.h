// The vocabulary of a scenario: the operations a model thread's program can
// contain (one row each in ops.def), their arguments and flags, and a
// Program (initial world plus per-thread op lists). Names, parsing and
// canonical form only; running an op is the harness's (fuzz/harness/program.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/world.h"

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
#include "fuzz/scenario/ops.def"
#undef PF_OP
};
inline constexpr int kNumOps = 0
#define PF_OP(name, fn, args, flags) +1
#include "fuzz/scenario/ops.def"
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

}  // namespace pf
