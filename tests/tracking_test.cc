// Conformance of every pin-tracking design (every designs.def row) to the
// contract of model/tracking.h, so a new design gets this suite for free.
//
// A row that claims correct tracking must keep every property. A row that
// does not runs the same checks, and the suite prints the properties it
// breaks (its flaw as the interface sees it) without failing: a planted flaw
// is the fuzzer's to find, this suite only says what a contract violation
// looks like from the outside. The properties:
//   balance      pin then unpin leaves every word of the folio (struct page
//                and page_ext) as it was, with no violation
//   sees_pin     while a pin is held, folio_maybe_dma_pinned() is true
//                (designs with traits.tracks_pins)
//   exact_count  a folio of an order the design counts exactly shows the
//                number of pins held in PinWords::pincount
//   zero_page    a design that does not pin the zero page leaves its words
//                alone while a pin is held
//   load_peek    the model's reads and the oracles' peeks give one answer,
//                and peek_pin_counter() agrees with read_pin_words()
//   mixed        FOLL_GET and FOLL_PIN on one page, released in either
//                order: the pin is seen while held, both balance
//   no_false_negative  random scenarios under random schedules never see
//                maybe_pinned() false while the ghost count has a pin
#include <fmt/format.h>

#include <set>

#include "fuzz/harness/run.h"
#include "fuzz/sched/strategy.h"
#include "model/tracking.h"
#include "tests/test_util.h"

namespace pf {
namespace {

// Where a pin can land: each backing GUP can return, the sizes of folio the
// designs count differently, and the flags that backing needs.
struct Probe {
  const char* what;
  Backing backing;
  uint8_t order;
  GupFlags flags;
};
constexpr Probe kProbes[] = {
    {"anon", Backing::kAnon, 0, {}},
    {"anon order 1", Backing::kAnon, 1, {}},
    {"anon order 2", Backing::kAnon, 2, {}},
    {"anon order 3", Backing::kAnon, 3, {}},
    {"anon_movable", Backing::kAnonMovable, 0, {}},
    {"file", Backing::kFile, 0, {}},
    {"zero page", Backing::kZeroPage, 0, {}},
    {"fs-dax", Backing::kDax, 0, {}},
    {"p2pdma", Backing::kP2pdma, 0, {.p2pdma = true}},
    {"device_coherent", Backing::kDeviceCoherent, 0, {}},
};

// Every word a design may keep, for the pages of one folio.
std::vector<int64_t> words_of(const World& w, Pfn head) {
  std::vector<int64_t> v;
  const int nr = 1 << w.pages[static_cast<size_t>(head)].order();
  for (int i = 0; i < nr; ++i) {
    const Pfn pfn = static_cast<Pfn>(head + i);
    const Page& p = w.pages[static_cast<size_t>(pfn)];
    for (int64_t x : {int64_t{p.refcount.peek()}, int64_t{p.mapcount.peek()},
                      int64_t{p.flags.peek()}, int64_t(p.lru[0].peek()), int64_t(p.lru[1].peek()),
                      int64_t{p.pincount.peek()}, int64_t{p.mapping.peek()}})
      v.push_back(x);
    if (const PageExt* e = w.page_ext_get(pfn))
      for (auto& word : e->word) v.push_back(word.peek());
  }
  return v;
}

// The answer of folio_maybe_dma_pinned() as the model reads it, checked
// against the oracles' peek: they must agree (load_peek).
class Conformance : public ::testing::TestWithParam<TrackingId> {
 protected:
  const DesignRow& row() const { return design_row(GetParam()); }
  const Tracking& tracking() const { return tracking_of(GetParam()); }

  // A broken property: a failure for a row that claims correctness, a line
  // of the report for one that does not.
  void broken(const std::string& property, const std::string& detail) {
    if (row().correct) {
      ADD_FAILURE() << row().name << " breaks " << property << ": " << detail;
    } else {
      broken_.insert(property);
      std::cout << "  " << row().name << " (buggy) breaks " << property << ": " << detail << "\n";
    }
  }
  void TearDown() override {
    if (!row().correct) {
      std::string all;
      for (auto& p : broken_) all += " " + p;
      RecordProperty("broken", all.empty() ? "(none)" : all);
    }
  }

  bool answer(World& w, Pfn head, const std::string& where) {
    const bool peeked = folio_maybe_dma_pinned_peek(w, head);
    const bool loaded = folio_maybe_dma_pinned(w, nullptr, head);
    if (peeked != loaded)
      broken("load_peek", fmt::format("{}: loads say {}, peeks say {}", where, loaded, peeked));
    const int32_t alone = tracking().peek_pin_counter(w, head);
    const int32_t in_words = tracking().read_pin_words(w, head, PinRead::kPeek, {}).pincount;
    if (alone != in_words)
      broken("load_peek", fmt::format("{}: peek_pin_counter() {} but PinWords::pincount {}", where,
                                      alone, in_words));
    return peeked;
  }

  std::unique_ptr<World> world_for(const Probe& p) {
    WorldSpec s;
    s.vpn[0] = VpnSpec{p.backing, p.order, p.backing != Backing::kZeroPage};
    return std::make_unique<World>(Design{.tracking = GetParam()}, s);
  }

  std::set<std::string> broken_;
};

using PinFn = int (*)(World&, Task&, int, int, GupFlags);
struct Path {
  const char* name;
  PinFn pin;
  PinFn get;
};
constexpr Path kPaths[] = {{"slow", pin_user_pages, get_user_pages},
                           {"fast", pin_user_pages_fast, get_user_pages_fast}};

TEST_P(Conformance, PinThenUnpinBalancesAndIsSeenWhileHeld) {
  int pinned = 0;
  for (const Probe& probe : kProbes) {
    for (const Path& path : kPaths) {
      const std::string where = fmt::format("{} ({} path)", probe.what, path.name);
      auto w = world_for(probe);
      Task& t = w->tasks[0];
      const Pfn head = test::mapped(*w, 0);
      const auto before = words_of(*w, head);
      // Two pins, on the head and (for a large folio) a tail page.
      const int tail = probe.order > 0 ? 1 : 0;
      const int got = path.pin(*w, t, 0, 1, probe.flags) + path.pin(*w, t, tail, 1, probe.flags);
      if (got != 2) {
        // Every probe pins on the kernel's rules; a design that breaks the
        // page it tracks (a corrupted pgmap) makes the next GUP fail.
        broken("balance", fmt::format("{}: two pins returned {} in all", where, got));
        continue;
      }
      ++pinned;
      const bool counted = tracking().traits.pins_zero_page || head != w->zero_pfn;
      if (!counted) {
        if (words_of(*w, head) != before)
          broken("zero_page", where + ": a pin the design does not take changed the folio");
      } else {
        if (tracking().traits.tracks_pins && !answer(*w, head, where))
          broken("sees_pin", where + ": folio_maybe_dma_pinned() is false with 2 pins held");
        if (tracking().exact_pincount(probe.order)) {
          const int32_t n = tracking().read_pin_words(*w, head, PinRead::kPeek, {}).pincount;
          if (n != 2) broken("exact_count", fmt::format("{}: pincount {} with 2 pins held", where, n));
        }
      }
      unpin_user_page(*w, t, 1);
      unpin_user_page(*w, t, 0);
      answer(*w, head, where);
      if (words_of(*w, head) != before)
        broken("balance", where + ": the folio's words differ after pin, pin, unpin, unpin");
      if (w->violated()) broken("balance", where + ": " + test::first_violation(*w));
    }
  }
  if (row().correct) EXPECT_EQ(pinned, static_cast<int>(std::size(kProbes) * std::size(kPaths)));
  EXPECT_GT(pinned, 0);
}

TEST_P(Conformance, GetAndPinMixedOnOnePage) {
  for (const Probe& probe : kProbes) {
    if (probe.backing == Backing::kZeroPage) continue;  // a pin that is not one
    for (bool pin_first_out : {true, false}) {
      const std::string where =
          fmt::format("{}, {} released first", probe.what, pin_first_out ? "pin" : "get");
      auto w = world_for(probe);
      Task& t = w->tasks[0];
      const Pfn head = test::mapped(*w, 0);
      const auto before = words_of(*w, head);
      const int got = get_user_pages(*w, t, 0, 1, probe.flags) +  // slot 0
                      pin_user_pages(*w, t, 0, 1, probe.flags);    // slot 1
      if (got != 2) {
        broken("mixed", fmt::format("{}: a get and a pin returned {} in all", where, got));
        continue;
      }
      const bool tracks = tracking().traits.tracks_pins;
      if (tracks && !answer(*w, head, where))
        broken("mixed", where + ": a get and a pin held, maybe_pinned() false");
      if (pin_first_out) {
        unpin_user_page(*w, t, 1);
        answer(*w, head, where);
        put_page(*w, t, 0);
      } else {
        put_page(*w, t, 0);
        if (tracks && !answer(*w, head, where))
          broken("mixed", where + ": the get was put, the pin is held, maybe_pinned() false");
        unpin_user_page(*w, t, 1);
      }
      if (words_of(*w, head) != before)
        broken("mixed", where + ": the folio's words differ after both were released");
      if (w->violated()) broken("mixed", where + ": " + test::first_violation(*w));
    }
  }
}

// The oracle that matters most, on interleavings: random byte strings make
// well-formed programs, run under seeded random and PCT schedules with the
// per-step check (check_invariants(): the ghost count against the design's
// peeked answer) and the model's own checks at every folio_maybe_dma_pinned().
TEST_P(Conformance, NoFalseNegativeOnRandomScenarios) {
  if (!row().correct) GTEST_SKIP() << row().name << " does not claim correct tracking";
  Runner runner;
  sched::SplitMix64 rng(0x7a11 + static_cast<uint64_t>(GetParam()));
  const Design d{.tracking = GetParam()};
  int ran = 0, pinned = 0;
  for (int i = 0; i < 1500; ++i) {
    std::vector<uint8_t> b(3 + rng.below(120));
    for (auto& x : b) x = static_cast<uint8_t>(rng.next());
    b[0] = kFormatVersion;
    b[1] = b[2] = 0;  // no design text
    ByteDecode dec = decode_bytes(b, {.ignore_design = true});
    ASSERT_TRUE(dec.scenario) << dec.error;
    RunResult r = runner.run(*dec.scenario, d);
    ++ran;
    ASSERT_FALSE(r.saw(ViolationKind::pin_count_mismatch))
        << row().name << ": " << r.violation->to_string() << "\n"
        << print_text(*dec.scenario);
    for (auto& ops : dec.scenario->program.threads)
      for (const Op& op : ops) pinned += op.kind == OpKind::pin || op.kind == OpKind::pin_fast;
  }
  EXPECT_EQ(ran, 1500);
  EXPECT_GT(pinned, 500);  // the scenarios did pin
}

INSTANTIATE_TEST_SUITE_P(Designs, Conformance,
                         ::testing::ValuesIn([] {
                           std::vector<TrackingId> ids;
                           for (const DesignRow& r : design_table()) ids.push_back(r.id);
                           return ids;
                         }()),
                         [](const auto& info) { return std::string(tracking_name(info.param)); });

TEST(Tracking, EveryRowHasAnImplementationWithSaneTraits) {
  for (const DesignRow& r : design_table()) {
    const Tracking& t = tracking_of(r.id);
    EXPECT_EQ(&t, &tracking_of(r.id)) << r.name << ": one shared instance";
    EXPECT_GE(t.traits.exact_pincount_order, 0) << r.name;
    if (t.traits.checks_pin_balance_at_exit)
      EXPECT_STRNE(t.traits.pincount_word, "") << r.name << ": the exit check names its counter";
    if (r.correct) EXPECT_TRUE(t.traits.tracks_pins) << r.name;
  }
}

}  // namespace
}  // namespace pf
