// batchlog: the command line. Thin by design: parse flags, call the orchestrator, print.
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "src/cli/cli_context.h"
#include "src/cli/commands.h"

#ifndef BATCHLOG_VERSION
#define BATCHLOG_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace batchlog::cli;
  CliContext context;
  // Library warnings (a damaged snapshot skipped, ...) go to stderr, so the stdout of
  // `manifest`, `events` and `results` stays machine-readable. run/resume/cancel install
  // their own logger (run_options.cc).
  auto warnings = spdlog::stderr_logger_st("batchlog-cli");
  warnings->set_pattern("batchlog: %l: %v");
  spdlog::set_default_logger(warnings);
  if (const char* env_store = std::getenv("BATCHLOG_STORE"); env_store && *env_store) {
    context.store = env_store;
  }

  CLI::App app{"batchlog: event-sourced orchestrator for staged LLM batch workflows"};
  app.set_version_flag("--version", std::string("batchlog ") + BATCHLOG_VERSION);
  app.add_option("--store", context.store,
                 "Store directory holding one event log per run (env BATCHLOG_STORE)");
  app.require_subcommand(1);
  // `batchlog run WF.yaml --store DIR` as well as `batchlog --store DIR run WF.yaml`: a
  // subcommand hands the options it does not know (--store) to the top level.
  app.fallthrough();

  AddRunCommand(app, context);
  AddResumeCommand(app, context);
  AddStatusCommand(app, context);
  AddRunsCommand(app, context);
  AddEventsCommand(app, context);
  AddManifestCommand(app, context);
  AddResultsCommand(app, context);
  AddDemoCommand(app, context);
  AddSimCommand(app, context);
  AddVerifyCommand(app, context);
  AddHistoryCommand(app, context);
  AddDiffManifestCommand(app, context);
  AddForkCommand(app, context);
  AddCancelCommand(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version are "errors" to CLI11 with code 0; everything else is usage.
    if (error.get_exit_code() == 0) return app.exit(error);
    return ReportParseError(app, error);
  }
  return context.exit_code;
}
