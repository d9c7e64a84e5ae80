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
  command->add_option("RUN_ID", options->run_id, "The run")->required()->check(NonEmpty());
  CLI::Option* from =
      command->add_option("--from", options->from_seq, "First seq to export")->check(Seq());
  command->add_option("--to", options->to_seq, "Last seq to export (inclusive)")->check(Seq());
  command->add_flag("--json", options->json, "JSONL, one event per line (docs/events.md)");
  command->callback([&context, options, command, from] {
    if (options->from_seq > options->to_seq) {
      // Seqs start at 1: --to 0 alone selects nothing, and says so in its own terms.
      const std::string from_text = from->count() > 0
                                        ? "--from " + std::to_string(options->from_seq)
                                        : "the first seq (1)";
      context.exit_code = ReportUsageError(from_text + " is after --to " +
                                               std::to_string(options->to_seq) +
                                               ": the range is empty",
                                           *command);
      return;
    }
    auto reader = orchestrator::RunReader::Open(context.store, options->run_id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    // As `manifest --as-of`: a start past the end is a mistake, not an empty export. --to
    // past the end is fine (everything up to the end); so is a default --from on an empty log.
    if (from->count() > 0 && options->from_seq > reader->last_seq()) {
      context.exit_code = ReportError(base::NotFoundError(
          "--from: run '" + options->run_id + "' has no seq " + std::to_string(options->from_seq) +
          " (its last seq is " + std::to_string(reader->last_seq()) + ")"));
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
