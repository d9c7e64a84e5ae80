#include <algorithm>
#include <cstdio>
#include <string>

#include "src/base/time_format.h"
#include "src/cli/commands.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/run_summary.h"

namespace batchlog::cli {

// Never opens a log: status comes from meta.json, progress, failures and cost from the
// run's manifest file (src/orchestrator/run_summary.h).
void AddRunsCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("runs", "List the runs of the store");
  command->callback([&context] {
    auto runs = orchestrator::ListRuns(context.store);
    if (!runs.ok()) {
      context.exit_code = ReportError(runs.status());
      return;
    }
    // Id and name columns as wide as the widest (run ids are up to 64 characters).
    int id_width = 6;
    int name_width = 4;
    for (const auto& run : *runs) {
      id_width = std::max(id_width, static_cast<int>(run.run_id.size()));
      name_width = std::max(name_width, static_cast<int>(run.run_name.size()));
    }
    std::printf("%-*s %-*s %-10s %15s %7s %12s %10s  %s\n", id_width, "RUN_ID", name_width,
                "NAME", "STATUS", "PROGRESS", "FAILED", "COST", "LAST_SEQ", "CREATED");
    for (const auto& run : *runs) {
      const orchestrator::RunSummary summary =
          orchestrator::ReadRunSummary(context.store, run.run_id);
      std::string progress = "-";
      std::string failed = "-";
      std::string cost = "-";
      if (summary.known) {
        progress = std::to_string(summary.succeeded) + "/" + std::to_string(summary.requests);
        failed = std::to_string(summary.failed);
        char amount[32];
        std::snprintf(amount, sizeof(amount), "%.4f", summary.cost);
        cost = amount;
      }
      std::printf("%-*s %-*s %-10s %15s %7s %12s %10llu  %s\n", id_width, run.run_id.c_str(),
                  name_width, run.run_name.c_str(), run.status.empty() ? "-" : run.status.c_str(),
                  progress.c_str(), failed.c_str(), cost.c_str(),
                  static_cast<unsigned long long>(run.last_seq),
                  base::FormatUnixMicrosUtc(run.created_at_unix_us).c_str());
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
