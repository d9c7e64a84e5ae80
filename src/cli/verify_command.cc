#include <cstdio>
#include <memory>
#include <string>

#include "src/cli/commands.h"
#include "src/orchestrator/verify.h"

namespace batchlog::cli {

void AddVerifyCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "verify",
      "Check a run's log: dense seqs, replay from scratch and from snapshots, intent/outcome "
      "pairing, open intents, the manifest file");
  auto run_id = std::make_shared<std::string>();
  command->add_option("RUN_ID", *run_id, "The run")->required()->check(NonEmpty());
  command->callback([&context, run_id] {
    auto report = orchestrator::VerifyRun(context.store, *run_id);
    if (!report.ok()) {
      context.exit_code = ReportError(report.status());
      return;
    }
    const std::string text = orchestrator::RenderVerifyReport(*report);
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (report->ok()) {
      context.exit_code = kExitOk;
      return;
    }
    // One line on stderr for scripts, naming run, check and seq.
    const orchestrator::VerifyFailure& first = report->failures.front();
    std::string where = first.seq != 0 ? " at seq " + std::to_string(first.seq) : "";
    std::fprintf(stderr, "batchlog: error: run %s: %s check failed%s: %s\n", run_id->c_str(),
                 first.check.c_str(), where.c_str(), first.message.c_str());
    context.exit_code = kExitDataLoss;
  });
}

}  // namespace batchlog::cli
