// What the scenario tests (tests/scenario_*_test.cc) share: hand-written
// scenarios in canonical form, which between them hold every op, backing
// and schedule kind, and two helpers to read and check them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "fuzz/scenario/scenario.h"

namespace pf::test {

// The first line of every scenario text.
inline const std::string kHead = "pinfuzz-scenario " + std::to_string(kFormatVersion) + "\n";

// Hand-written scenarios in canonical form: across them every op kind,
// every backing and every schedule kind appears (checked below).
inline const char* const kCanonical[] = {
    R"(pinfuzz-scenario 8
design pin_bias,counter_bits=12,no_gup_fast_recheck=on
free_pages 3
vpn 0 anon order=2
vpn 4 file
vpn 5 zero ro
vpn 6 dax
vpn 7 p2pdma
thread 0
  gup 0 4 write longterm
  pin_fast 7 1 p2pdma
  put_user_pages_dirty_lock 0 dirty
  unpin_dirty all dirty
  dma_write 7
thread 1
  gup_fast 4 1
  pin 6 2 write
  put_page 0
  put_user_page all
  unpin 1
thread 2
schedule input 3:1 0:0 32767:255
)",
    R"(pinfuzz-scenario 8
design folio_pincount,writeback=bounce,devmap_base=one
vpn 0 anon_movable order=1
vpn 2 device_private
vpn 3 device_coherent ro
vpn 4 anon order=2 ro
thread 0
  user_write 3 7
  user_read 0 1
  writeback 7
  sync
  reclaim_file 0
  reclaim_anon 4
thread 1
  migrate 0
  fork
  munmap 2
  truncate 5
  memunmap 3
  collapse 6
schedule random seed=18446744073709551615 one_in=1
)",
    R"(pinfuzz-scenario 8
free_pages 0
vpn 7 anon
thread 0
  fork
thread 1
thread 2
thread 3
  sync
schedule pct seed=7 depth=8 k=65535
)",
    R"(pinfuzz-scenario 8
free_pages 16
thread 0
schedule input
)",
    R"(pinfuzz-scenario 8
design get_only
vpn 0 anon order=3
thread 0
  pin 0 4
  pin 1 4
  pin 2 4
  pin 3 4
  pin 4 4
  pin 5 4
  pin 6 4
  pin 7 4
  unpin 0
  unpin 1
  unpin 2
  unpin 3
  unpin 4
  unpin 5
  unpin 6
  unpin 7
schedule pct seed=0 depth=1 k=1
)",
    R"(pinfuzz-scenario 8
design folio_pincount,dirty_cow=on
vpn 0 file_private prot=r
vpn 1 anon prot=r
vpn 2 file ro
vpn 4 thp prot=r
thread 0
  poke 0 0
  mprotect 1 write
  mprotect 2
thread 1
  madvise_dontneed 0
  user_read 0 0
  vmsplice 1
  uffd_continue 0
  split 1
  ksm 1
schedule random seed=3 one_in=4
)",
};

inline Scenario parsed(std::string_view text) {
  TextParse r = parse_text(text, "t.scn");
  EXPECT_TRUE(r.scenario) << r.error;
  return r.scenario.value_or(Scenario{});
}

inline bool is_canonical(const Scenario& s) {
  if (s.program.world != s.program.world.canonical()) return false;
  if (s.program.threads.empty() || s.program.threads.size() > kMaxThreads) return false;
  for (const auto& ops : s.program.threads) {
    if (ops.size() > static_cast<size_t>(kMaxOpsPerThread)) return false;
    for (const Op& op : ops)
      if (op != op.canonical()) return false;
  }
  return s.schedule.points.size() <= sched::kMaxPreemptions;
}


}  // namespace pf::test
