// Structure-aware generation and mutation of scenarios, for libFuzzer's
// LLVMFuzzerCustomMutator and for the random-scenario searches. Byte-level
// mutation rarely makes two ops of two threads name the same page (a
// pin of vpn 3 and a truncate of file index 3); these do it on purpose:
// an op's arguments are drawn mostly from what the world has (mapped vpns,
// file indices, pagemaps, live slots), and the schedule's preemption points
// are mutated as a list.
//
// Contract: every function is deterministic in the generator's state, and
// every Scenario it returns is canonical (encode_bytes() / decode_bytes()
// round-trip it), within the format's limits.
#pragma once

#include "fuzz/scenario/scenario.h"
#include "fuzz/sched/strategy.h"

namespace pf {

// A scenario built from nothing: a small world, 1..3 threads of 1..6 ops.
// `kind` is the schedule kind it gets (input: a few preemption points).
Scenario random_scenario(sched::SplitMix64& rng, ScheduleKind kind = ScheduleKind::kInput);

// One mutation, chosen at random: insert, delete, change or move an op, an
// argument or a flag; add or drop a thread; change the world; add, drop or
// move a preemption point; change the schedule's seed; and, if
// `kind_may_change`, switch the schedule to another kind.
void mutate_scenario(Scenario& s, sched::SplitMix64& rng, bool kind_may_change = false);

// Threads taken from two scenarios (the world of `a`).
Scenario cross_over(const Scenario& a, const Scenario& b, sched::SplitMix64& rng);

}  // namespace pf
