#include <cstdio>
#include <string>

#include "src/cli/commands.h"
#include "src/cli/event_format.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::cli {

void AddEventsCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("events", "Export a run's raw event log");
  struct Options {
    std::string run_id;
    std::uint64_t from_seq = 1;
    std::uint64_t to_seq = orchestrator::kLatestSeq;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required();
  command->add_option("--from", options->from_seq, "First seq to export");
  command->add_option("--to", options->to_seq, "Last seq to export (inclusive)");
  command->add_flag("--json", options->json, "JSONL, one event per line (docs/events.md)");
  command->callback([&context, options] {
    auto reader = orchestrator::RunReader::Open(context.store, options->run_id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    base::Status render_status;
    const base::Status status = reader->VisitEvents(
        options->from_seq, options->to_seq, [&](const events::v1::Event& event) {
          if (options->json) {
            auto line = EventToJsonLine(event);
            if (!line.ok()) {
              render_status = line.status();
              return false;
            }
            std::fwrite(line->data(), 1, line->size(), stdout);
          } else {
            const std::string line = EventToTextLine(event);
            std::fwrite(line.data(), 1, line.size(), stdout);
          }
          return true;
        });
    if (!status.ok() || !render_status.ok()) {
      std::fflush(stdout);
      context.exit_code = ReportError(status.ok() ? render_status : status);
      return;
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
