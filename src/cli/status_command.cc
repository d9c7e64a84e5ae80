#include <cstdio>
#include <memory>
#include <string>

#include "src/base/time_format.h"
#include "src/cli/commands.h"
#include "src/orchestrator/progress_view.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/run_summary.h"

namespace batchlog::cli {

// Works while the run is going: the reader opens the log as a secondary of its writer.
void AddStatusCommand(CLI::App& app, CliContext& context) {
  CLI::App* command =
      app.add_subcommand("status", "Progress of a run from its log (default: the most recent run)");
  auto run_id = std::make_shared<std::string>();
  command->add_option("RUN_ID", *run_id, "The run")->check(NonEmpty());
  command->callback([&context, run_id] {
    std::string id = *run_id;
    if (id.empty()) {
      auto runs = orchestrator::ListRuns(context.store);
      if (!runs.ok()) {
        context.exit_code = ReportError(runs.status());
        return;
      }
      if (runs->empty()) {
        context.exit_code =
            ReportError(base::NotFoundError("store '" + context.store.string() + "' has no runs"));
        return;
      }
      id = runs->back().run_id;
    }
    auto reader = orchestrator::RunReader::Open(context.store, id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    auto projections = reader->ReplayTo(orchestrator::kLatestSeq);
    if (!projections.ok()) {
      context.exit_code = ReportError(projections.status());
      return;
    }
    std::printf("%s", orchestrator::RenderProgress(*projections).c_str());
    std::printf("  %s", orchestrator::RenderCostLine(*projections).c_str());
    if (projections->run_state.lifecycle.run_status == replay::RunStatus::kCancelled &&
        projections->run_state.resumable) {
      // Its stopped requests read as failed until then: resume plans them again.
      std::printf("  cancelled resumable: `batchlog resume %s` plans its stopped requests "
                  "again and continues it\n",
                  id.c_str());
    }
    if (projections->run_state.lifecycle.run_status == replay::RunStatus::kRunning &&
        !reader->has_writer()) {
      bool demo = false;
      reader->VisitEvents(1, 1, [&demo](const events::v1::Event& event) {
              demo = event.run_started().in_process_emulator();
              return false;
            })
          .IgnoreError();  // unreadable: the generic hint
      if (demo) {
        std::printf("  stopped: its emulator lived in the `batchlog demo` process and is gone; "
                    "`batchlog demo` starts a new run\n");
      } else {
        std::printf(
            "  stopped: no process is writing this run; `batchlog resume %s` continues it\n",
            id.c_str());
      }
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
