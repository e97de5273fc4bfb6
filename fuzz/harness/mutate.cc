#include "fuzz/harness/mutate.h"

#include <algorithm>
#include <array>
#include <vector>

namespace pf {
namespace {

using sched::SplitMix64;

// What the world offers an op's arguments.
struct Targets {
  std::vector<int> vpns;          // mapped vpns (every page of a large folio)
  std::vector<int> file_indices;  // page-cache indices of file mappings
  // Typed subsets of `vpns`, as syzkaller types an argument by the
  // resource a call acts on (vpn_pool() says which op draws from which):
  std::vector<int> private_vpns;   // private mappings: their pages are or become anon
  std::vector<int> minor_vpns;     // file_private: UFFDIO_CONTINUE's only mapping
  std::vector<int> readonly_vpns;  // no VM_WRITE: where FOLL_FORCE differs from a write
  int pgmaps = 0;                 // pagemaps World::build creates
  bool p2pdma = false;
  // The page this scenario is about, or -1: half of the vpn and index
  // arguments drawn name it. Races need two ops on one page, and the
  // interesting ones three or more (a fault, a zap, a refill); drawn
  // uniformly over 2-5 mapped pages, three ops meet on one page about one
  // time in twelve, with a focus page a little more than one time in four.
  int focus = -1;
};

Targets targets_of(const WorldSpec& spec) {
  Targets t;
  const WorldSpec w = spec.canonical();
  std::array<bool, 4> device_types{};
  for (int v = 0; v < kMaxVpn; ++v) {
    const VpnSpec& s = w.vpn[static_cast<size_t>(v)];
    if (s.backing == Backing::kNone) continue;
    const bool is_private = s.backing == Backing::kAnon || s.backing == Backing::kAnonMovable ||
                            s.backing == Backing::kThp || s.backing == Backing::kZeroPage ||
                            s.backing == Backing::kFilePrivate;
    for (int i = 0; i < (1 << s.order) && v + i < kMaxVpn; ++i) {
      t.vpns.push_back(v + i);
      if (is_private) t.private_vpns.push_back(v + i);
      if (s.backing == Backing::kFilePrivate) t.minor_vpns.push_back(v + i);
      if (!s.vm_write) t.readonly_vpns.push_back(v + i);
    }
    switch (s.backing) {
      case Backing::kFile:
      case Backing::kFilePrivate: t.file_indices.push_back(v); break;  // pgoff == vpn
      case Backing::kDax: device_types[0] = true; break;
      case Backing::kDevicePrivate: device_types[1] = true; break;
      case Backing::kDeviceCoherent: device_types[2] = true; break;
      case Backing::kP2pdma: device_types[3] = true, t.p2pdma = true; break;
      default: break;
    }
  }
  for (bool b : device_types) t.pgmaps += b;  // one pagemap per device type present
  return t;
}

// Mostly one of `from`, sometimes anything in [0, n).
int pick(SplitMix64& rng, const std::vector<int>& from, int n) {
  if (!from.empty() && rng.below(100) < 85) return from[rng.below(from.size())];
  return static_cast<int>(rng.below(static_cast<uint64_t>(n)));
}

// A vpn or page-cache index argument drawn from `from` (a file index is its
// vpn): the focus page half of the time, if it is one of `from`.
int pick_near(SplitMix64& rng, const Targets& t, const std::vector<int>& from, int n) {
  if (t.focus >= 0 && std::find(from.begin(), from.end(), t.focus) != from.end() &&
      rng.below(2) == 0)
    return t.focus;
  return pick(rng, from, n);
}

// The vpns an op of kind `k` draws from: the ones it can act on, where the
// world has any. An op drawn on a page it cannot touch (UFFDIO_CONTINUE on
// an anon mapping: -EINVAL; KSM or a split on a page-cache page: nothing)
// is a wasted step of the search; pick() still names any vpn now and then.
const std::vector<int>& vpn_pool(const Targets& t, OpKind k, SplitMix64& rng) {
  auto or_all = [&](const std::vector<int>& pool) -> const std::vector<int>& {
    return pool.empty() ? t.vpns : pool;
  };
  switch (k) {
    case OpKind::uffd_continue:  // include/linux/userfaultfd_k.h: vma_can_userfault()
      return or_all(t.minor_vpns);
    case OpKind::reclaim_anon:
    case OpKind::split:
    case OpKind::ksm:
    case OpKind::collapse: return or_all(t.private_vpns);  // anon folios only
    case OpKind::poke:
      // FOLL_FORCE only matters without VM_WRITE (mm/gup.c:
      // check_vma_flags()); elsewhere a poke is a GUP write.
      return rng.below(2) ? or_all(t.readonly_vpns) : t.vpns;
    default: return t.vpns;
  }
}

// The page of one of the scenario's ops, if any names one.
int focus_of(const Scenario& s, SplitMix64& rng) {
  std::vector<int> used;
  for (const auto& ops : s.program.threads)
    for (const Op& op : ops) switch (op_args(op.kind)) {
        case OpArgs::kVpnN:
        case OpArgs::kVpn:
        case OpArgs::kIndex: used.push_back(op.a); break;  // an index is its vpn (pgoff == vpn)
        case OpArgs::kMmVpn: used.push_back(op.b); break;
        default: break;
      }
  return used.empty() ? -1 : used[rng.below(used.size())];
}

// Relative weights of the ops (ops.def order): pins, their releases and
// what races them come up more often than the rest.
constexpr std::array<uint8_t, kNumOps> kOpWeight = {
    1, 1, 3, 3,        // gup gup_fast pin pin_fast
    1, 1, 1, 2, 3, 2,  // put_page put_user_page put_user_pages_dirty_lock unpin unpin_dirty dma_write
    2, 1,              // user_write user_read
    2, 1, 2, 2, 2,     // writeback sync reclaim_file reclaim_anon migrate
    2, 1, 2, 1, 1,     // fork munmap truncate memunmap collapse
    2, 2, 1, 1,        // poke madvise_dontneed mprotect vmsplice
    2, 2, 1};          // uffd_continue split ksm
static_assert(kOpWeight.size() == kNumOps);

OpKind random_kind(SplitMix64& rng) {
  unsigned total = 0;
  for (uint8_t w : kOpWeight) total += w;
  uint64_t r = rng.below(total);
  for (int k = 0; k < kNumOps; ++k) {
    if (r < kOpWeight[static_cast<size_t>(k)]) return static_cast<OpKind>(k);
    r -= kOpWeight[static_cast<size_t>(k)];
  }
  return OpKind::pin;
}

// Arguments and flags for an op of kind `k`, drawn from the world.
Op random_args(SplitMix64& rng, OpKind k, const Targets& t) {
  Op op;
  op.kind = k;
  switch (op_args(k)) {
    case OpArgs::kNone: break;
    case OpArgs::kVpnN:
      op.a = static_cast<int8_t>(pick_near(rng, t, t.vpns, kMaxVpn));
      op.b = static_cast<int8_t>(rng.below(10) < 7 ? 1 : 2 + rng.below(kMaxGupPages - 1));
      break;
    case OpArgs::kSlot: op.a = static_cast<int8_t>(rng.below(10) < 7 ? -1 : rng.below(4)); break;
    case OpArgs::kMmVpn:
      op.a = static_cast<int8_t>(rng.below(4) < 3 ? 0 : 1 + rng.below(2));
      op.b = static_cast<int8_t>(pick_near(rng, t, vpn_pool(t, k, rng), kMaxVpn));
      break;
    case OpArgs::kIndex:
      op.a = static_cast<int8_t>(pick_near(rng, t, t.file_indices, kMaxFileIdx));
      break;
    case OpArgs::kVpn:
      op.a = static_cast<int8_t>(pick_near(rng, t, vpn_pool(t, k, rng), kMaxVpn));
      break;
    case OpArgs::kPgmap:
      op.a = static_cast<int8_t>(t.pgmaps > 0 ? rng.below(static_cast<uint64_t>(t.pgmaps))
                                              : rng.below(kMaxPgmaps));
      break;
  }
  const uint8_t allowed = op_flags_allowed(k);
  uint8_t f = 0;
  if ((allowed & kOpWrite) && rng.below(10) < 6) f |= kOpWrite;
  if ((allowed & kOpLongterm) && rng.below(100) < 15) f |= kOpLongterm;
  if ((allowed & kOpP2pdma) && t.p2pdma && rng.below(2)) f |= kOpP2pdma;
  if ((allowed & kOpDirty) && rng.below(10) < 8) f |= kOpDirty;
  op.flags = f;
  return op.canonical();
}

Op random_op(SplitMix64& rng, const Targets& t) { return random_args(rng, random_kind(rng), t); }

VpnSpec random_vpn_spec(SplitMix64& rng) {
  static constexpr std::array<std::pair<Backing, uint8_t>, 10> kBacking = {{
      {Backing::kAnon, 3}, {Backing::kThp, 1}, {Backing::kFile, 4}, {Backing::kAnonMovable, 1},
      {Backing::kZeroPage, 1}, {Backing::kDax, 1}, {Backing::kDevicePrivate, 1},
      {Backing::kDeviceCoherent, 1}, {Backing::kP2pdma, 1}, {Backing::kFilePrivate, 2}}};
  uint64_t r = rng.below(16);
  VpnSpec v;
  for (auto [b, w] : kBacking) {
    if (r < w) {
      v.backing = b;
      break;
    }
    r -= w;
  }
  uint64_t o = rng.below(20);
  v.order = static_cast<uint8_t>(o < 16 ? 0 : o < 19 ? 1 : 2);
  v.writable = rng.below(100) < 85;
  v.vm_write = rng.below(100) < 85;  // else PROT_READ: FOLL_FORCE's ground
  return v;
}

std::vector<Op> random_thread(SplitMix64& rng, const Targets& t, int max_ops) {
  std::vector<Op> ops(1 + rng.below(static_cast<uint64_t>(max_ops)));
  for (Op& op : ops) op = random_op(rng, t);
  return ops;
}

sched::Preemption random_point(SplitMix64& rng, size_t threads) {
  return sched::Preemption{static_cast<uint32_t>(rng.below(64)),
                           static_cast<uint8_t>(rng.below(std::max<size_t>(threads, 1)))};
}

// Keeps a scenario within the format's limits and canonical.
void tidy(Scenario& s) {
  s.program.world = s.program.world.canonical();
  auto& th = s.program.threads;
  if (th.empty()) th.emplace_back();
  if (th.size() > kMaxThreads) th.resize(kMaxThreads);
  for (auto& ops : th) {
    if (ops.size() > kMaxOpsPerThread) ops.resize(kMaxOpsPerThread);
    for (Op& op : ops) op = op.canonical();
  }
  if (s.schedule.points.size() > sched::kMaxPreemptions)
    s.schedule.points.resize(sched::kMaxPreemptions);
  for (auto& p : s.schedule.points)
    p.after_steps = std::min(p.after_steps, sched::kMaxEncodedAfterSteps);
  s.schedule.one_in = std::max<uint8_t>(s.schedule.one_in, 1);
  s.schedule.depth = std::clamp<uint8_t>(s.schedule.depth, 1, kMaxPctDepth);
  s.schedule.k = std::max<uint16_t>(s.schedule.k, 1);
}

}  // namespace

Scenario random_scenario(SplitMix64& rng, ScheduleKind kind) {
  Scenario s;
  WorldSpec& w = s.program.world;
  w.free_pages = static_cast<int>(2 + rng.below(11));
  const int nvpn = static_cast<int>(1 + rng.below(4));
  for (int i = 0; i < nvpn; ++i) {
    int v = static_cast<int>(rng.below(kMaxVpn));
    const VpnSpec spec = random_vpn_spec(rng);
    if (spec.backing == Backing::kThp) v &= ~(kVpnPerPmd - 1);  // a thp range is one PMD
    w.vpn[static_cast<size_t>(v)] = spec;
    // Sometimes the PMD buddy too, with the same backing: collapse needs a
    // PMD of anon pages, and races between neighbours need neighbours.
    if (rng.below(3) == 0) w.vpn[static_cast<size_t>(v ^ 1)] = w.vpn[static_cast<size_t>(v)];
  }
  w = w.canonical();
  Targets t = targets_of(w);
  if (!t.vpns.empty()) t.focus = t.vpns[rng.below(t.vpns.size())];
  const int nthreads = static_cast<int>(1 + rng.below(3));
  for (int i = 0; i < nthreads; ++i) s.program.threads.push_back(random_thread(rng, t, 6));
  s.schedule.kind = kind;
  s.schedule.seed = rng.next();
  if (kind == ScheduleKind::kInput) {
    const int npoints = static_cast<int>(rng.below(5));
    for (int i = 0; i < npoints; ++i) s.schedule.points.push_back(random_point(rng, nthreads));
  }
  tidy(s);
  return s;
}

void mutate_scenario(Scenario& s, SplitMix64& rng, bool kind_may_change) {
  tidy(s);
  auto& threads = s.program.threads;
  Targets t = targets_of(s.program.world);
  t.focus = focus_of(s, rng);  // new ops and arguments meet the old ones
  auto& ops = threads[rng.below(threads.size())];
  const uint64_t pos = ops.empty() ? 0 : rng.below(ops.size());
  switch (rng.below(12)) {
    case 0:  // insert an op
    case 1:
      if (ops.size() < kMaxOpsPerThread)
        ops.insert(ops.begin() + static_cast<std::ptrdiff_t>(rng.below(ops.size() + 1)),
                   random_op(rng, t));
      break;
    case 2:  // delete an op
      if (!ops.empty()) ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(pos));
      break;
    case 3:  // new arguments for an op, same kind
      if (!ops.empty()) ops[pos] = random_args(rng, ops[pos].kind, t);
      break;
    case 4:  // another op in its place
      if (!ops.empty()) ops[pos] = random_op(rng, t);
      break;
    case 5:  // toggle one flag the op allows
      if (!ops.empty()) {
        uint8_t allowed = op_flags_allowed(ops[pos].kind);
        if (allowed) {
          uint8_t bit;
          do bit = static_cast<uint8_t>(1u << rng.below(4));
          while (!(allowed & bit));
          ops[pos].flags ^= bit;
        }
      }
      break;
    case 6: {  // move an op to another thread (or swap two within one)
      if (ops.empty()) break;
      auto& to = threads[rng.below(threads.size())];
      Op op = ops[pos];
      ops.erase(ops.begin() + static_cast<std::ptrdiff_t>(pos));
      if (to.size() < kMaxOpsPerThread)
        to.insert(to.begin() + static_cast<std::ptrdiff_t>(rng.below(to.size() + 1)), op);
      break;
    }
    case 7:  // add or drop a thread
      if (threads.size() < kMaxThreads && (threads.size() == 1 || rng.below(2)))
        threads.push_back(random_thread(rng, t, 4));
      else if (threads.size() > 1)
        threads.erase(threads.begin() + static_cast<std::ptrdiff_t>(rng.below(threads.size())));
      break;
    case 8: {  // change the world
      WorldSpec& w = s.program.world;
      if (rng.below(4) == 0) w.free_pages = static_cast<int>(rng.below(kMaxFreePages + 1));
      else if (rng.below(3) == 0) w.vpn[rng.below(kMaxVpn)] = VpnSpec{};
      else w.vpn[rng.below(kMaxVpn)] = random_vpn_spec(rng);
      break;
    }
    default: {  // the schedule
      Schedule& sc = s.schedule;
      if (kind_may_change && rng.below(8) == 0) {
        sc.kind = static_cast<ScheduleKind>(rng.below(kNumScheduleKinds));
        sc.seed = rng.next();
        sc.one_in = static_cast<uint8_t>(1u << rng.below(6));
        sc.depth = static_cast<uint8_t>(2 + rng.below(2));
        break;
      }
      if (sc.kind != ScheduleKind::kInput) {
        sc.seed = rng.next();
        if (sc.kind == ScheduleKind::kPct && rng.below(2))
          sc.depth = static_cast<uint8_t>(1 + rng.below(kMaxPctDepth));
        break;
      }
      auto& pts = sc.points;
      uint64_t what = rng.below(4);
      if (pts.empty() || what == 0) {
        pts.insert(pts.begin() + static_cast<std::ptrdiff_t>(rng.below(pts.size() + 1)),
                   random_point(rng, threads.size()));
      } else if (what == 1) {
        pts.erase(pts.begin() + static_cast<std::ptrdiff_t>(rng.below(pts.size())));
      } else if (what == 2) {
        auto& p = pts[rng.below(pts.size())];
        int64_t delta = static_cast<int64_t>(rng.below(17)) - 8;
        p.after_steps = static_cast<uint32_t>(std::max<int64_t>(0, p.after_steps + delta));
      } else {
        pts[rng.below(pts.size())].thread = static_cast<uint8_t>(rng.below(threads.size()));
      }
    }
  }
  tidy(s);
}

Scenario cross_over(const Scenario& a, const Scenario& b, SplitMix64& rng) {
  Scenario s = a;
  auto& th = s.program.threads;
  const auto& other = b.program.threads;
  if (!other.empty()) {
    const auto& pick_from = other[rng.below(other.size())];
    if (th.size() < kMaxThreads && rng.below(2))
      th.push_back(pick_from);
    else if (!th.empty())
      th[rng.below(th.size())] = pick_from;
  }
  if (rng.below(2) && s.schedule.kind == b.schedule.kind) s.schedule = b.schedule;
  tidy(s);
  return s;
}

}  // namespace pf
