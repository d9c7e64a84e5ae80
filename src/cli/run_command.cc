#include <memory>
#include <string>

#include "src/cli/commands.h"
#include "src/cli/run_options.h"
#include "src/orchestrator/run_session.h"

namespace batchlog::cli {

void AddRunCommand(CLI::App& app, CliContext& context) {
  CLI::App* command =
      app.add_subcommand("run", "Start a workflow run (or continue the run --run-id names)");
  struct Options {
    std::string workflow;
    std::string run_id;
    bool allow_changed_workflow = false;
    RunOptions run;
  };
  auto options = std::make_shared<Options>();
  command->add_option("WORKFLOW", options->workflow, "The workflow file (YAML)")->required();
  command
      ->add_option("--run-id", options->run_id,
                   "Id of the run (default: <run_name>-<UTC time>); an existing run resumes")
      ->check(NonEmpty());
  command->add_flag("--allow-changed-workflow", options->allow_changed_workflow,
                    "Continue an existing run with a workflow file that differs from the one "
                    "it was recorded with (recorded as a WorkflowFileChanged event)");
  AddRunOptions(*command, options->run);
  command->callback([&context, options] {
    orchestrator::RunRequest request = PrepareRun(context, options->run);
    request.run_id = options->run_id;
    request.allow_changed_workflow = options->allow_changed_workflow;
    context.exit_code =
        FinishRun(orchestrator::StartRun(options->workflow, request), options->run, context);
  });
}

void AddResumeCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "resume", "Continue a stopped or crashed run from its log (a finished run is left as is)");
  struct Options {
    std::string run_id;
    bool recover_damaged_wal = false;
    RunOptions run;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required()->check(NonEmpty());
  command->add_flag("--recover-damaged-wal", options->recover_damaged_wal,
                    "Resume a run whose write-ahead log is damaged in the middle, DROPPING every "
                    "event after the damage (see docs/operations.md; copy the run folder first)");
  AddRunOptions(*command, options->run);
  command->callback([&context, options] {
    orchestrator::RunRequest request = PrepareRun(context, options->run);
    request.store_options.recover_damaged_wal = options->recover_damaged_wal;
    context.exit_code =
        FinishRun(orchestrator::ResumeRun(options->run_id, request), options->run, context);
  });
}

}  // namespace batchlog::cli
