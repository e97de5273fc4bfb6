// pinfuzz: the command-line front end. Subcommands live in fuzz/cli/*.cc.
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "fuzz/cli/cli.h"

namespace pf::cli {

void error(const std::string& msg) { fmt::print(stderr, "pinfuzz: {}\n", msg); }

const CLI::Validator& positive_count() {
  static const CLI::Validator v(
      [](std::string& text) -> std::string {
        size_t used = 0;
        unsigned long long n = 0;
        try {
          if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0])))
            n = std::stoull(text, &used);
        } catch (...) {
          used = 0;
        }
        if (used != text.size() || used == 0 || n == 0)
          return fmt::format("{}: want a whole number of at least 1", text);
        return "";
      },
      "COUNT >= 1");
  return v;
}

const CLI::Validator& positive_seconds() {
  static const CLI::Validator v(
      [](std::string& text) -> std::string {
        size_t used = 0;
        double s = 0;
        try {
          s = std::stod(text, &used);
        } catch (...) {
          used = 0;
        }
        if (used != text.size() || used == 0 || !(s > 0) || !std::isfinite(s))
          return fmt::format("{}: want a positive number of seconds", text);
        return "";
      },
      "SECONDS > 0");
  return v;
}

std::optional<Scenario> load_file(const std::string& path, const DecodeOptions& opt) {
  LoadedScenario l = load_scenario_file(path, opt);
  if (!l.scenario) error(l.error);
  else if (!l.warning.empty()) fmt::print(stderr, "pinfuzz: note: {}\n", l.warning);
  return std::move(l.scenario);
}

void add_config_options(CLI::App& cmd, RunConfig& config) {
  cmd.add_option_function<std::string>(
         "--design",
         [&config](const std::string& v) {
           if (auto e = parse_design_value(v, &config.design); !e.empty())
             throw CLI::ValidationError(e);
         },
         "Design to run under, NAME[,knob=value...] (see `pinfuzz designs`); replaces the "
         "scenario's own")
      ->envname("PINFUZZ_DESIGN");
  cmd.add_option_function<std::string>(
         "--strategy",
         [&config](const std::string& v) {
           if (auto e = parse_strategy_value(v, &config.strategy); !e.empty())
             throw CLI::ValidationError(e);
         },
         "Read the schedule as this strategy: input, random or pct (replaces the scenario's); "
         "any: as the scenario says (the default)")
      ->envname("PINFUZZ_STRATEGY");
  cmd.add_option_function<std::string>(
         "--memory",
         [&config](const std::string& v) {
           if (auto e = parse_memory_value(v, &config.memory); !e.empty())
             throw CLI::ValidationError(e);
         },
         "Memory model: sc (sequentially consistent), tso (x86 store buffers) or arm (stores "
         "and relaxed atomics visible out of order; docs/model.md, \"Weak memory\"); replaces "
         "the scenario's; any: as the scenario says (the default; find: the catalog row's model, "
         "else sc)")
      ->envname("PINFUZZ_MEMORY");
  cmd.add_option_function<std::string>(
         "--steps",
         [&config](const std::string& v) {
           if (auto e = parse_steps_value(v, &config.step_budget); !e.empty())
             throw CLI::ValidationError(e);
         },
         fmt::format("Step budget per run; more steps is a hang (default {})", kDefaultStepBudget))
      ->envname("PINFUZZ_STEPS");
}

}  // namespace pf::cli

int main(int argc, char** argv) {
  using namespace pf::cli;
  CLI::App app{
      "pinfuzz: a concurrent stress fuzzer for Linux pin/release semantics.\n"
      "A reference model of page refcounts and DMA pins, run under deterministic\n"
      "interleavings; see README.md and docs/."};
  app.require_subcommand(1);
  app.fallthrough(false);
  Action action;
  add_model_commands(app, action);
  add_scenario_commands(app, action);
  add_run_commands(app, action);
  add_corpus_commands(app, action);
  add_stress_commands(app, action);
  add_campaign_commands(app, action);
  add_verify_commands(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitBadInput;
  }
  return action ? action() : kExitBadInput;
}
