#include <memory>
#include <string>

#include "src/cli/commands.h"
#include "src/cli/run_options.h"
#include "src/orchestrator/fork.h"

namespace batchlog::cli {

void AddForkCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "fork", "A new run carrying over a run's results before STAGE, running STAGE onwards");
  struct Options {
    orchestrator::ForkOptions fork;
    std::string workflow_file;
    std::string run_id;
    RunOptions run;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->fork.source_run_id, "The source run")
      ->required()
      ->check(NonEmpty());
  command->add_option("--from", options->fork.from_stage,
                      "The first stage to run again; the stages before it are carried over")
      ->required();
  command->add_option("--workflow-file", options->workflow_file,
                      "The workflow file for the new run (default: the source's, as recorded)");
  command->add_option("--workflow", options->fork.workflow,
                      "Fork only this workflow (default: every workflow with a stage STAGE)");
  command
      ->add_option("--run-id", options->run_id,
                   "Id of the new run (default: <source>-fork-<UTC time>)")
      ->check(NonEmpty());
  AddRunOptions(*command, options->run);
  command->callback([&context, options] {
    orchestrator::RunRequest request = PrepareRun(context, options->run);
    request.run_id = options->run_id;
    options->fork.workflow_file = options->workflow_file;
    context.exit_code =
        FinishRun(orchestrator::ForkRun(options->fork, request), options->run, context);
  });
}

}  // namespace batchlog::cli
