// One function per subcommand; each adds itself to the app and, when run, sets
// context.exit_code. The files are named after the subcommand (runs_command.cc, ...).
#pragma once

#include <CLI/CLI.hpp>

#include "src/cli/cli_context.h"

namespace batchlog::cli {

void AddRunsCommand(CLI::App& app, CliContext& context);
void AddEventsCommand(CLI::App& app, CliContext& context);
void AddManifestCommand(CLI::App& app, CliContext& context);
void AddRunCommand(CLI::App& app, CliContext& context);
void AddResumeCommand(CLI::App& app, CliContext& context);
void AddStatusCommand(CLI::App& app, CliContext& context);
void AddResultsCommand(CLI::App& app, CliContext& context);
void AddDemoCommand(CLI::App& app, CliContext& context);
void AddSimCommand(CLI::App& app, CliContext& context);
void AddVerifyCommand(CLI::App& app, CliContext& context);
void AddHistoryCommand(CLI::App& app, CliContext& context);
void AddDiffManifestCommand(CLI::App& app, CliContext& context);
void AddForkCommand(CLI::App& app, CliContext& context);
void AddCancelCommand(CLI::App& app, CliContext& context);

}  // namespace batchlog::cli
