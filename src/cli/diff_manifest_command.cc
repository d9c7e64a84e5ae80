#include <cstdio>
#include <memory>
#include <string>

#include "src/cli/commands.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/time_travel.h"

namespace batchlog::cli {

void AddDiffManifestCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "diff-manifest", "What changed in a run's manifest between two points of its log");
  struct Options {
    std::string run_id;
    std::string from;
    std::string to;
    bool json = false;
    std::size_t limit = 20;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required()->check(NonEmpty());
  command->add_option("A", options->from, "From: a seq, an RFC 3339 UTC timestamp, or `latest`")
      ->required()
      ->check(HistoryPoint());
  command->add_option("B", options->to, "To: a seq, an RFC 3339 UTC timestamp, or `latest`")
      ->required()
      ->check(HistoryPoint());
  command->add_flag("--json", options->json, "One JSON document listing every change");
  command->add_option("--limit", options->limit,
                      "custom_ids shown per state change in the text form (default 20)");
  command->callback([&context, options] {
    auto reader = orchestrator::RunReader::Open(context.store, options->run_id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    auto diff = orchestrator::DiffManifestPoints(*reader, options->from, options->to);
    if (!diff.ok()) {
      context.exit_code = ReportError(diff.status());
      return;
    }
    const std::string text = options->json ? replay::RenderManifestDiffJson(*diff)
                                           : replay::RenderManifestDiffText(*diff, options->limit);
    std::fwrite(text.data(), 1, text.size(), stdout);
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
