#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "src/cli/commands.h"
#include "src/cli/run_options.h"
#include "src/orchestrator/cancel.h"

namespace batchlog::cli {

void AddCancelCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "cancel", "Cancel a run's in-flight provider batches and end it (or leave it resumable)");
  struct Options {
    std::string run_id;
    orchestrator::CancelOptions cancel;
    RunOptions run;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run (no other process may be running it)")
      ->required()
      ->check(NonEmpty());
  command->add_flag("--resumable", options->cancel.resumable,
                    "Leave the run resumable: `batchlog resume` continues it, resubmitting what "
                    "the cancel stopped (default: the run ends for good)");
  command->add_option("--reason", options->cancel.reason, "Recorded in RunCancelled");
  command->add_option("--wait-s", options->cancel.wait_s,
                      "How long to wait for the batches to end at the provider (default 900)");
  command->add_option("--poll-s", options->cancel.poll_s,
                      "Poll interval while waiting (default 5)");
  command->add_flag("-q,--quiet", options->run.quiet, "Print warnings and the summary only");
  command->add_option("--base-url", options->run.base_url,
                      "Send every provider's calls to this server instead (e.g. a `batchlog sim`)");
  command->callback([&context, options] {
    const orchestrator::RunRequest request = PrepareRun(context, options->run);
    auto outcome = orchestrator::CancelRun(options->run_id, options->cancel, request);
    spdlog::default_logger()->flush();
    if (!outcome.ok()) {
      context.exit_code = ReportError(outcome.status());
      return;
    }
    const std::string how = outcome->resumable
                                ? " (resumable: batchlog resume " + outcome->run_id + ")"
                                : std::string(" (final)");
    std::printf("run %s: %s%s\n", outcome->run_id.c_str(),
                std::string(replay::RunStatusName(outcome->status)).c_str(), how.c_str());
    std::printf("  batches asked to cancel: %u; results recorded for %u; still cancelling: %u\n",
                outcome->cancel_requests, outcome->batches_ingested, outcome->batches_still_open);
    std::printf("  requests abandoned: %llu\nmanifest: %s\n",
                static_cast<unsigned long long>(outcome->requests_abandoned),
                outcome->manifest_path.string().c_str());
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
