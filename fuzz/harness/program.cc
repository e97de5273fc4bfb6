// Executing ops and programs (program.h): what each op calls in the model,
// and the sequential and free-running program runners.
#include "fuzz/harness/program.h"

#include <fmt/format.h>

#include <memory>
#include <thread>

#include "model/memremap.h"
#include "model/sync/hook.h"

namespace pf {
namespace {

// The slots an op addresses. Strict: the slot named, or with `all` every
// live one of the wanted kind. Well-formed: only live slots of the wanted
// kind, so a release never meets a page it cannot release.
std::vector<int> slots_of(const Task& t, int8_t slot, std::optional<GupHow> how, OpMode mode) {
  std::vector<int> out;
  auto wanted = [&](int i) {
    const Held& h = t.held[static_cast<size_t>(i)];
    return h.live && (!how || h.how == *how);
  };
  if (slot >= 0) {
    if (mode == OpMode::kStrict || (slot < kMaxHeld && wanted(slot))) out.push_back(slot);
    return out;
  }
  for (int i = 0; i < kMaxHeld; ++i)
    if (wanted(i)) out.push_back(i);
  return out;
}

GupFlags gup_flags(const Op& op) {
  return GupFlags{(op.flags & kOpWrite) != 0, (op.flags & kOpLongterm) != 0,
                  (op.flags & kOpP2pdma) != 0};
}

MakeDirty dirty(const Op& op) { return (op.flags & kOpDirty) ? MakeDirty::kYes : MakeDirty::kNo; }

// The kind of handle a release op releases in well-formed mode: the
// pin-era calls release pins; put_page releases FOLL_GET references. Under
// a design that cannot tell the two apart (TrackingTraits), the 2018
// put_user_page*() calls take either, as they did.
std::optional<GupHow> releases(const World& w, OpKind k, OpMode mode) {
  switch (k) {
    case OpKind::put_page: return GupHow::kGet;
    case OpKind::unpin:
    case OpKind::unpin_dirty: return GupHow::kPin;
    case OpKind::put_user_page:
    case OpKind::put_user_pages_dirty_lock: {
      if (mode == OpMode::kWellFormed && w.tracking.traits.tells_pin_from_get)
        return GupHow::kPin;
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

// A driver asks for make_dirty only on pages the device could write: the
// FOLL_WRITE ones (well-formed mode). Calls `release` once for the slots
// to dirty and once for the rest, keeping their order within each group.
template <class Release>
void for_dirty_split(const Task& t, const std::vector<int>& slots, MakeDirty d, OpMode mode,
                     Release release) {
  if (mode == OpMode::kStrict || d == MakeDirty::kNo) {
    release(slots, d);
    return;
  }
  std::vector<int> written, read_only;
  for (int s : slots) (t.held[static_cast<size_t>(s)].write ? written : read_only).push_back(s);
  if (!written.empty()) release(written, MakeDirty::kYes);
  if (!read_only.empty()) release(read_only, MakeDirty::kNo);
}

bool valid_vpn(int v) { return v >= 0 && v < kMaxVpn; }
bool valid_index(int i) { return i >= 0 && i < kMaxFileIdx; }

// Sequential execution: there is no other thread to wait for, so a block
// is a deadlock, reported and escaped by unwinding the op.
struct AbandonOp {};
class SequentialHook final : public sync::Hook {
 public:
  SequentialHook(World& w, uint64_t budget) : w_(w), budget_(budget) {}
  void on_access(sync::Site site, const void*, sync::Access) override {
    if (++steps_ > budget_ && !abandoning()) {
      w_.report(ViolationKind::hang, -1, current_, site.fn,
                fmt::format("step budget of {} exceeded", budget_));
      throw AbandonOp{};
    }
  }
  void block(sync::Site site, const void*) override {
    if (abandoning()) return;
    w_.report(ViolationKind::deadlock, -1, current_, site.fn,
              "the only runnable thread blocked (sequential run)");
    throw AbandonOp{};
  }
  void wake(const void*) override {}
  uint64_t steps() const { return steps_; }
  const Task* current_ = nullptr;

 private:
  static bool abandoning() { return std::uncaught_exceptions() > 0; }
  World& w_;
  uint64_t budget_;
  uint64_t steps_ = 0;
};

Outcome outcome_of(World& w, uint64_t steps) {
  Outcome o;
  o.violation = w.violations.first();
  o.kinds = w.violations.kinds_seen();
  o.steps = steps;
  return o;
}

}  // namespace

void release_all(World& w, Task& t) {
  for (int i = 0; i < kMaxHeld; ++i) {
    const Held& h = t.held[static_cast<size_t>(i)];
    if (!h.live) continue;
    if (h.how == GupHow::kPin) unpin_user_page(w, t, i);
    else put_page(w, t, i);
  }
}

bool run_op(World& w, Task& t, const Op& op, OpMode mode) {
  switch (op.kind) {
    case OpKind::gup:
    case OpKind::gup_fast:
    case OpKind::pin:
    case OpKind::pin_fast: {
      if (!valid_vpn(op.a) || op.b < 1) return false;
      auto fn = op.kind == OpKind::gup        ? get_user_pages
                : op.kind == OpKind::gup_fast ? get_user_pages_fast
                : op.kind == OpKind::pin      ? pin_user_pages
                                              : pin_user_pages_fast;
      return fn(w, t, op.a, op.b, gup_flags(op)) > 0;
    }
    case OpKind::put_page: {
      auto s = slots_of(t, op.a, releases(w, op.kind, mode), mode);
      for (int slot : s) put_page(w, t, slot);
      return !s.empty();
    }
    case OpKind::put_user_page: {
      auto s = slots_of(t, op.a, releases(w, op.kind, mode), mode);
      for (int slot : s) put_user_page(w, t, slot);
      return !s.empty();
    }
    case OpKind::put_user_pages_dirty_lock: {
      auto s = slots_of(t, op.a, releases(w, op.kind, mode), mode);
      for_dirty_split(t, s, dirty(op), mode, [&](std::span<const int> slots, MakeDirty d) {
        put_user_pages_dirty_lock(w, t, slots, d);
      });
      return !s.empty();
    }
    case OpKind::unpin: {
      auto s = slots_of(t, op.a, releases(w, op.kind, mode), mode);
      unpin_user_pages(w, t, s);
      return !s.empty();
    }
    case OpKind::unpin_dirty: {
      auto s = slots_of(t, op.a, releases(w, op.kind, mode), mode);
      for_dirty_split(t, s, dirty(op), mode, [&](std::span<const int> slots, MakeDirty d) {
        unpin_user_pages_dirty_lock(w, t, slots, d);
      });
      return !s.empty();
    }
    case OpKind::dma_write: {
      // A device writes memory only through a FOLL_WRITE pin or reference.
      bool wrote = false;
      for (int s : slots_of(t, op.a, std::nullopt, mode))
        if (mode == OpMode::kStrict || t.held[static_cast<size_t>(s)].write) {
          dma_write(w, t, s);
          wrote = true;
        }
      return wrote;
    }
    case OpKind::user_write:
      return valid_vpn(op.b) && user_write(w, t, op.a, op.b) >= 0;
    case OpKind::user_read:
      return valid_vpn(op.b) && user_read(w, t, op.a, op.b) >= 0;
    case OpKind::writeback:
      return valid_index(op.a) && writeback(w, t, op.a);
    case OpKind::sync:
      sync_file(w, t);
      return true;
    case OpKind::reclaim_file:
      return valid_index(op.a) && reclaim_file(w, t, op.a);
    case OpKind::reclaim_anon:
      return valid_vpn(op.a) && reclaim_vpn(w, t, op.a);
    case OpKind::migrate:
      return valid_vpn(op.a) && migrate_vpn(w, t, op.a) == 0;
    case OpKind::fork:
      return fork_mm(w, t) >= 0;
    case OpKind::munmap:
      if (!valid_vpn(op.a)) return false;
      munmap_vpn(w, t, op.a);
      return true;
    case OpKind::truncate:
      if (!valid_index(op.a)) return false;
      truncate_index(w, t, op.a);
      return true;
    case OpKind::collapse:
      return valid_vpn(op.a) && collapse_pmd(w, t, op.a) == 0;
    case OpKind::poke:
      return valid_vpn(op.b) && access_remote_vm_write(w, t, op.a, op.b) >= 0;
    case OpKind::madvise_dontneed:
      return valid_vpn(op.a) && madvise_dontneed(w, t, op.a) == 0;
    case OpKind::uffd_continue:
      return valid_vpn(op.a) && uffd_continue(w, t, op.a) == 0;
    case OpKind::split:
      return valid_vpn(op.a) && split_folio_vpn(w, t, op.a) == 0;
    case OpKind::ksm:
      return valid_vpn(op.a) && ksm_write_protect(w, t, op.a) == 0;
    case OpKind::mprotect:
      return valid_vpn(op.a) && mprotect_vpn(w, t, op.a, (op.flags & kOpWrite) != 0) == 0;
    case OpKind::vmsplice:
      // fs/splice.c: vmsplice_to_pipe() -> iter_to_pipe() ->
      // iov_iter_get_pages2(): get_user_pages_fast() without FOLL_WRITE.
      // The pipe buffer holds the FOLL_GET reference until the reader
      // consumes it (put_page); what it reads is the page's data then.
      return valid_vpn(op.a) && get_user_pages_fast(w, t, op.a, 1, GupFlags{}) > 0;
    case OpKind::memunmap:
      // A device teardown (unbind, module unload) runs in a context that
      // holds no GUP references of its own: holding one, it could wait for
      // itself, or for a thread that waits for it (two teardowns, each
      // holding a page of the other's memory).
      if (mode == OpMode::kWellFormed && t.nheld() > 0) return false;
      driver_teardown(w, t, op.a);
      return true;
  }
  return false;
}

Outcome run_sequential(const Design& d, const Program& p, SequentialOptions opt) {
  auto w = std::make_unique<World>(d, p.world);
  SequentialHook hook(*w, opt.step_budget);
  sync::ScopedHook scoped(&hook);
  size_t longest = 0;
  for (auto& ops : p.threads) longest = std::max(longest, ops.size());
  bool stop = false;
  for (size_t i = 0; i < longest && !stop; ++i) {
    for (size_t th = 0; th < p.threads.size() && th < kMaxThreads && !stop; ++th) {
      if (i >= p.threads[th].size()) continue;
      Task& t = w->tasks[th];
      hook.current_ = &t;
      try {
        run_op(*w, t, p.threads[th][i]);
        if (opt.check_each_op) check_invariants(*w);
      } catch (const AbandonOp&) {
        stop = true;
      }
    }
  }
  hook.current_ = nullptr;
  if (!stop) {
    try {
      final_check(*w);
    } catch (const AbandonOp&) {
    }
  }
  return outcome_of(*w, hook.steps());
}

Outcome run_threads(const Design& d, const Program& p, int rounds) {
  Outcome last;
  for (int r = 0; r < rounds; ++r) {
    auto w = std::make_unique<World>(d, p.world);
    std::vector<std::thread> threads;
    for (size_t th = 0; th < p.threads.size() && th < kMaxThreads; ++th) {
      threads.emplace_back([&w, &p, th] {
        Task& t = w->tasks[th];
        for (const Op& op : p.threads[th]) {
          if (w->violated()) return;
          run_op(*w, t, op);
        }
      });
    }
    for (auto& th : threads) th.join();
    final_check(*w);
    last = outcome_of(*w, 0);
    if (last.violation) return last;
  }
  return last;
}

}  // namespace pf
