// The self-check catalog: the seed thread's arguments and the historical
// mistakes, each as a small sequential Program plus the design that has the
// flaw and the violation kind it must raise. The same programs must run
// clean under the correct designs. Used by `pinfuzz selfcheck` and the tests.
#pragma once

#include <string>
#include <vector>

#include "fuzz/scenario/op.h"

namespace pf {

struct CatalogEntry {
  std::string name;
  std::string buggy_design;   // parse_design() text
  ViolationKind expected;
  std::string reference;      // commit, CVE or thread
  Program program;
  bool clean_under_correct;   // false where the program itself is misuse
};

const std::vector<CatalogEntry>& catalog();

// Designs the self-check table runs every entry under.
std::vector<std::string> selfcheck_designs();

}  // namespace pf
