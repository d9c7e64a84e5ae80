#include <cstdio>

#include "src/base/time_format.h"
#include "src/cli/commands.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::cli {

void AddRunsCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("runs", "List the runs of the store");
  command->callback([&context] {
    auto runs = orchestrator::ListRuns(context.store);
    if (!runs.ok()) {
      context.exit_code = ReportError(runs.status());
      return;
    }
    std::printf("%-32s %-24s %-10s %10s  %s\n", "RUN_ID", "NAME", "STATUS", "LAST_SEQ", "CREATED");
    for (const auto& run : *runs) {
      std::printf("%-32s %-24s %-10s %10llu  %s\n", run.run_id.c_str(), run.run_name.c_str(),
                  run.status.empty() ? "-" : run.status.c_str(),
                  static_cast<unsigned long long>(run.last_seq),
                  base::FormatUnixMicrosUtc(run.created_at_unix_us).c_str());
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
