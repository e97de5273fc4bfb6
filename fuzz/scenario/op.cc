// The op table (ops.def) as names, argument shapes and flags, and an op's
// canonical and text forms.
#include "fuzz/scenario/op.h"

#include <fmt/format.h>

namespace pf {
namespace {

struct OpRow {
  const char* name;
  const char* fn;
  OpArgs args;
  uint8_t flags;
};
constexpr OpArgs kVpnN = OpArgs::kVpnN, kSlot = OpArgs::kSlot, kMmVpn = OpArgs::kMmVpn,
                 kIndex = OpArgs::kIndex, kVpn = OpArgs::kVpn, kPgmap = OpArgs::kPgmap,
                 kNone = OpArgs::kNone;
constexpr OpRow kOps[] = {
#define PF_OP(name, fn, args, flags) {#name, fn, args, static_cast<uint8_t>(flags)},
#include "fuzz/scenario/ops.def"
#undef PF_OP
};

int mod(int x, int n) { return ((x % n) + n) % n; }

}  // namespace

const char* op_name(OpKind k) { return kOps[static_cast<int>(k)].name; }
const char* op_kernel_function(OpKind k) { return kOps[static_cast<int>(k)].fn; }
OpArgs op_args(OpKind k) { return kOps[static_cast<int>(k)].args; }
uint8_t op_flags_allowed(OpKind k) { return kOps[static_cast<int>(k)].flags; }

const char* op_args_text(OpArgs a) {
  switch (a) {
    case OpArgs::kNone: return "";
    case OpArgs::kVpnN: return "vpn n";
    case OpArgs::kSlot: return "slot";
    case OpArgs::kMmVpn: return "mm vpn";
    case OpArgs::kIndex: return "index";
    case OpArgs::kVpn: return "vpn";
    case OpArgs::kPgmap: return "pgmap";
  }
  return "?";
}

std::optional<OpKind> parse_op_kind(std::string_view name) {
  for (int i = 0; i < kNumOps; ++i)
    if (name == kOps[i].name) return static_cast<OpKind>(i);
  return std::nullopt;
}

Op Op::canonical() const {
  Op c;
  c.kind = kind;
  c.a = 0;
  c.b = 0;
  c.flags = flags & op_flags_allowed(kind);
  switch (op_args(kind)) {
    case OpArgs::kNone: break;
    case OpArgs::kVpnN:
      c.a = static_cast<int8_t>(mod(a, kMaxVpn));
      c.b = static_cast<int8_t>(1 + mod(b - 1, kMaxGupPages));
      break;
    case OpArgs::kSlot: c.a = static_cast<int8_t>(mod(a + 1, kMaxHeld + 1) - 1); break;
    case OpArgs::kMmVpn:
      c.a = static_cast<int8_t>(mod(a, kNumMmIds));
      c.b = static_cast<int8_t>(mod(b, kMaxVpn));
      break;
    case OpArgs::kIndex: c.a = static_cast<int8_t>(mod(a, kMaxFileIdx)); break;
    case OpArgs::kVpn: c.a = static_cast<int8_t>(mod(a, kMaxVpn)); break;
    case OpArgs::kPgmap: c.a = static_cast<int8_t>(mod(a, kMaxPgmaps)); break;
  }
  return c;
}

std::string Op::to_string() const {
  const Op c = canonical();
  std::string s = op_name(kind);
  switch (op_args(kind)) {
    case OpArgs::kNone: break;
    case OpArgs::kVpnN:
    case OpArgs::kMmVpn: s += fmt::format(" {} {}", c.a, c.b); break;
    case OpArgs::kSlot: s += c.a < 0 ? std::string(" all") : fmt::format(" {}", c.a); break;
    case OpArgs::kIndex:
    case OpArgs::kVpn:
    case OpArgs::kPgmap: s += fmt::format(" {}", c.a); break;
  }
  for (int bit = 0; bit < 4; ++bit)
    if (c.flags & (1u << bit)) s += fmt::format(" {}", kOpFlagNames[bit]);
  return s;
}

}  // namespace pf
