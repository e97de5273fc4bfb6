// `pinfuzz designs` and `pinfuzz selfcheck`: what the model offers and
// whether its catalog of known flaws still shows each one.
#include <fmt/format.h>

#include "fuzz/cli/cli.h"
#include "fuzz/harness/bugs.h"
#include "fuzz/harness/catalog.h"
#include "fuzz/harness/program.h"

namespace pf::cli {
namespace {

int cmd_designs() {
  fmt::print("Designs (--design=NAME[,knob=value...]):\n");
  for (const DesignRow& r : design_table())
    fmt::print("  {:<16} {:<7} {}\n", r.name, r.correct ? "correct" : "buggy", r.history);
  fmt::print("\nKnobs (boolean knobs are named after the mistake; off = the kernel's behaviour):\n");
  for (auto& k : knob_table())
    fmt::print("  {:<25} {:<24} {}\n  {:<25} {:<24} [{}]\n", k.name, k.values, k.description, "",
               "", k.reference);
  fmt::print("\nBug catalog (pinfuzz find --bug NAME; corpus/regressions/NAME/; docs/designs.md):\n");
  for (const BugConfig& b : bug_catalog())
    fmt::print("  {:<24} {}\n  {:<24} expect {}{} [{}]; fixed by {}\n", b.name, b.summary, "",
               violation_name(b.expected),
               b.memory() == sync::Memory::kSc
                   ? ""
                   : fmt::format(" under --memory={}", sync::memory_name(b.memory())),
               b.reference, b.fixed);
  fmt::print("\nKnown kernel limitations (the real kernel does this too: reported apart, never a "
             "violation of a design):\n");
  for (int k = 0; k < kNumViolationKinds; ++k) {
    const auto kind = static_cast<ViolationKind>(k);
    if (!is_kernel_limitation(kind)) continue;
    fmt::print("  {:<24} {}\n  {:<24} [{}]\n", violation_name(kind), limitation_description(kind),
               "", limitation_reference(kind));
  }
  return kExitClean;
}

// Runs every catalog entry under its buggy design and under every design of
// the table; prints which violation each run raised. Exit 1 if a buggy
// design misses its expected violation or a correct design raises one.
int cmd_selfcheck(bool verbose) {
  auto designs = selfcheck_designs();
  std::string header = fmt::format("{:<38} {:<24}", "scenario", "expected under flaw");
  for (auto& d : designs) header += fmt::format(" {:<16}", d);
  fmt::print("{}\n", header);
  int failures = 0;
  for (const auto& e : catalog()) {
    auto bug = parse_design(e.buggy_design);
    if (!bug.design) {
      error(fmt::format("catalog entry {}: {}", e.name, bug.error));
      return kExitBadInput;
    }
    Outcome o = run_catalog_entry(*bug.design, e);
    bool found = o.saw(e.expected);
    failures += !found;
    std::string row = fmt::format(
        "{:<38} {:<24}", e.name,
        fmt::format("{} {}", violation_name(e.expected), found ? "ok" : "MISSED"));
    for (auto& dn : designs) {
      Design d = *parse_design(dn).design;
      Outcome r = run_catalog_entry(d, e);
      std::string cell = r.violation ? violation_name(r.violation->kind) : "clean";
      if (d.is_correct() && e.clean_under_correct && r.violation) {
        ++failures;
        cell += "!";
      }
      row += fmt::format(" {:<16}", cell);
      if (verbose && r.violation) fmt::print("    {}: {}\n", dn, r.violation->to_string());
    }
    fmt::print("{}\n", row);
  }
  fmt::print(
      "\n{} scenario(s), {} failure(s). A '!' marks a violation under a correct design "
      "(a model bug).\n",
      catalog().size(), failures);
  return failures ? kExitViolation : kExitClean;
}

}  // namespace

void add_model_commands(CLI::App& app, Action& action) {
  static bool targets = false;
  auto* designs =
      app.add_subcommand("designs", "List pin-tracking designs and knobs, with their history");
  designs->add_flag("--targets", targets,
                    "Only the fuzz target names an OSS-Fuzz build leaves, one per line: "
                    "pinfuzz_fuzzer_<row> per catalog row, pinfuzz_fuzzer_<design> per "
                    "correct design (each binary reads its design from its name)");
  designs->callback([&action] {
    action = [] {
      if (!targets) return cmd_designs();
      for (const FuzzTarget& t : fuzz_targets()) fmt::print("{}\n", t.name);
      return kExitClean;
    };
  });
  auto* selfcheck = app.add_subcommand(
      "selfcheck",
      "Run the model's catalog of known flaws (sequentially) under every design and print a "
      "table; exit 1 if a flaw is missed or a correct design raises a violation");
  static bool verbose = false;
  selfcheck->add_flag("-v,--verbose", verbose, "Print each violation in full");
  selfcheck->callback([&action] { action = [] { return cmd_selfcheck(verbose); }; });
}

}  // namespace pf::cli
