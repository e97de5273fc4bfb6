// The self-check catalog: the seed thread's arguments and the historical
// mistakes, each as a small Program plus the design that has the flaw and
// the violation kind it must raise. Most run sequentially (one whole op at a
// time); a race that needs a preemption inside an op (Dirty COW's zap lands
// inside one GUP call) carries the input schedule that shows it, as a
// regression does. The same programs must run clean under the correct
// designs. Used by `pinfuzz selfcheck` and the tests.
#pragma once

#include <string>
#include <vector>

#include "fuzz/harness/program.h"
#include "fuzz/scenario/op.h"
#include "fuzz/sched/strategy.h"

namespace pf {

struct CatalogEntry {
  std::string name;
  std::string buggy_design;   // parse_design() text
  ViolationKind expected;
  std::string reference;      // commit, CVE or thread
  Program program;
  bool clean_under_correct;   // false where the program itself is misuse
  // Empty: run_sequential(). Else the deterministic engine under this input
  // schedule (after N steps switch to thread T ...). Step counts move when
  // the model's scheduling points do; the tests then say so.
  std::vector<sched::Preemption> schedule = {};
};

const std::vector<CatalogEntry>& catalog();

// Runs an entry under `d`: sequentially, or under its input schedule.
Outcome run_catalog_entry(const Design& d, const CatalogEntry& e);

// Designs the self-check table runs every entry under.
std::vector<std::string> selfcheck_designs();

}  // namespace pf
