#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "src/cli/commands.h"
#include "src/orchestrator/history.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::cli {

// Read-only: works while the run is going (the reader opens the log as a secondary).
void AddHistoryCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "history", "Audit timeline of every attempt of some requests (why is it missing?)");
  struct Options {
    std::string run_id;
    std::vector<std::string> custom_ids;
    std::string batch_key;
    std::string workflow;
    std::string stage;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required()->check(NonEmpty());
  CLI::Option* custom_id =
      command->add_option("--custom-id", options->custom_ids, "A request's custom_id (repeatable)");
  CLI::Option* batch = command->add_option("--batch", options->batch_key,
                                           "A batch_key: the batch's events and results");
  command->add_option("--workflow", options->workflow, "Only this workflow");
  command->add_option("--stage", options->stage, "Only this stage (with --workflow: a stage)");
  command->add_flag("--json", options->json, "JSONL, one row per line (docs/operations.md)");
  batch->excludes(custom_id);
  command->callback([&context, options, command] {
    // Which flags go together is usage (exit 2), checked before the store is opened.
    if (options->custom_ids.empty() && options->batch_key.empty() && options->workflow.empty() &&
        options->stage.empty()) {
      context.exit_code = ReportUsageError(
          "history needs a selector: --custom-id ID, --batch KEY, or --workflow W --stage S",
          *command);
      return;
    }
    if (!options->batch_key.empty() && (!options->workflow.empty() || !options->stage.empty())) {
      context.exit_code =
          ReportUsageError("--batch names one batch: leave out --workflow/--stage", *command);
      return;
    }
    auto reader = orchestrator::RunReader::Open(context.store, options->run_id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    replay::AuditSelection selection;
    selection.custom_ids.insert(options->custom_ids.begin(), options->custom_ids.end());
    selection.batch_key = options->batch_key;
    selection.workflow = options->workflow;
    selection.stage = options->stage;
    auto history = orchestrator::History(*reader, selection);
    if (!history.ok()) {
      context.exit_code = ReportError(history.status());
      return;
    }
    const std::string text =
        options->json ? replay::RenderAuditJsonl(*history) : replay::RenderAuditTable(*history);
    std::fwrite(text.data(), 1, text.size(), stdout);
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
