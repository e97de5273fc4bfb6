// Real std::threads on the correct designs: pinning, DMA, dirty release and
// plain gets racing writeback, reclaim and CPU writes, round after round on
// a fresh world. Runs in the tsan preset too, where it must be report-free.
#include "fuzz/harness/program.h"
#include "tests/test_util.h"

namespace pf {
namespace {

Program stress_program() {
  Program p;
  p.world.vpn[0] = VpnSpec{Backing::kFile, 0, true};
  p.world.vpn[1] = VpnSpec{Backing::kFile, 0, true};
  p.world.vpn[2] = VpnSpec{Backing::kAnon, 0, true};
  p.world.vpn[3] = VpnSpec{Backing::kAnon, 1, true};
  using K = OpKind;
  auto op = [](K k, int a = 0, int b = 1, uint8_t f = 0) {
    return Op{k, static_cast<int8_t>(a), static_cast<int8_t>(b), f};
  };
  p.threads = {
      {op(K::pin_fast, 0, 2, kOpWrite), op(K::dma_write, -1), op(K::unpin_dirty, -1, 1, kOpDirty),
       op(K::pin, 2, 1, kOpWrite), op(K::dma_write, -1), op(K::unpin_dirty, -1, 1, kOpDirty)},
      {op(K::gup_fast, 1, 1), op(K::dma_write, -1), op(K::put_page, -1),
       op(K::pin_fast, 3, 2, kOpWrite), op(K::dma_write, -1), op(K::unpin, -1)},
      {op(K::writeback, 0), op(K::writeback, 1), op(K::user_write, 0, 2), op(K::sync)},
      {op(K::reclaim_file, 0), op(K::reclaim_file, 1), op(K::reclaim_anon, 2),
       op(K::user_write, 0, 0), op(K::migrate, 2)},
  };
  return p;
}

TEST(Stress, CorrectDesignsRunCleanOnRealThreads) {
  for (const std::string& d : design_names(DesignSet::kCorrect)) {
    Outcome o = run_threads(test::design(d.c_str()), stress_program(), /*rounds=*/1500);
    EXPECT_FALSE(o.violation) << d << ": " << o.violation->to_string();
  }
}

TEST(Stress, GetOnlyIsCaughtOnRealThreadsToo) {
  // Not a timing assertion: the sequence is racy only in which violation
  // comes first; the buffers are stripped under DMA in every round where
  // reclaim runs between the writeback and the release.
  Program p;
  p.world.vpn[0] = VpnSpec{Backing::kFile, 0, true};
  auto op = [](OpKind k, int a = 0, int b = 1, uint8_t f = 0) {
    return Op{k, static_cast<int8_t>(a), static_cast<int8_t>(b), f};
  };
  p.threads = {{op(OpKind::pin, 0, 1, kOpWrite), op(OpKind::writeback, 0),
                op(OpKind::reclaim_file, 0), op(OpKind::dma_write, -1),
                op(OpKind::put_user_pages_dirty_lock, -1, 1, kOpDirty)}};
  Outcome o = run_threads(test::design("get_only"), p, 1);
  EXPECT_TRUE(o.saw(ViolationKind::dirty_without_buffers));
}

}  // namespace
}  // namespace pf
