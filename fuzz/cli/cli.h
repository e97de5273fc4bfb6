// The `pinfuzz` command: each file in fuzz/cli/ registers one group of
// subcommands. Exit codes follow one rule everywhere: 0 success (or clean),
// 1 a violation was found / reproduced / missed as expected, 2 bad input or
// usage (the message names the file and the problem).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "fuzz/harness/config.h"
#include "fuzz/scenario/scenario.h"

namespace pf::cli {

inline constexpr int kExitClean = 0;
inline constexpr int kExitViolation = 1;
inline constexpr int kExitBadInput = 2;

// Set by a subcommand's callback to what main() should run after parsing.
using Action = std::function<int()>;

void add_model_commands(CLI::App& app, Action& action);     // designs, selfcheck
void add_scenario_commands(CLI::App& app, Action& action);  // show, encode, dict
void add_run_commands(CLI::App& app, Action& action);       // repro, run
void add_corpus_commands(CLI::App& app, Action& action);    // minimize, find, regress
void add_stress_commands(CLI::App& app, Action& action);    // stress
void add_campaign_commands(CLI::App& app, Action& action);  // campaign, report, promote
void add_verify_commands(CLI::App& app, Action& action);    // verify

// --design, --strategy and --steps on `cmd`, validated into `config` when
// parsed (a bad value is a usage error that lists the valid ones).
void add_config_options(CLI::App& cmd, RunConfig& config);

// The libFuzzer dictionary `pinfuzz dict` prints (corpus/pinfuzz.dict).
std::string dictionary_text();

// Validators whose message states the rule: a count of at least 1 (a
// whole number: "-3", "0" and "1.5" are refused, never wrapped or
// truncated), and a positive number of seconds.
const CLI::Validator& positive_count();
const CLI::Validator& positive_seconds();

// "pinfuzz: <msg>" on stderr.
void error(const std::string& msg);

// A scenario file (text or bytes), read as `opt` says. On failure prints
// the error, naming the file, and returns nullopt; a warning (a byte file
// cut short) is printed and the scenario returned.
std::optional<Scenario> load_file(const std::string& path, const DecodeOptions& opt = {});

}  // namespace pf::cli
