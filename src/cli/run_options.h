// The options `run`, `resume` and `demo` share, and what they do with them: logging
// (plain timestamped lines off a terminal, a live progress table on one, --quiet,
// --log-format json), SIGINT/SIGTERM as a clean stop that leaves the run resumable, and
// turning a RunOutcome into a summary and an exit code.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "src/base/result.h"
#include "src/cli/cli_context.h"
#include "src/orchestrator/run_session.h"

namespace batchlog::cli {

struct RunOptions {
  bool quiet = false;
  std::string log_format = "text";  // text | json
  std::uint64_t seed = 0;
  std::string base_url;  // every provider at this server (e.g. a `batchlog sim`)
};

void AddRunOptions(CLI::App& command, RunOptions& options);

// Configures logging, installs the stop handlers and fills what every run request needs.
// The returned request reads the stop flag and the clocks, which live as long as the
// process.
orchestrator::RunRequest PrepareRun(const CliContext& context, const RunOptions& options);

// Prints the outcome (manifest path, final progress) and returns the exit code.
// `stopped_hint`: what to do with a stopped run (default: resume it).
int FinishRun(const base::Result<orchestrator::RunOutcome>& outcome, const RunOptions& options,
              const CliContext& context, const std::string& stopped_hint = {});

}  // namespace batchlog::cli
