#include <cstdio>
#include <fstream>
#include <string>

#include "src/cli/commands.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/time_travel.h"

namespace batchlog::cli {

void AddManifestCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("manifest", "Regenerate a run's manifest from its log");
  struct Options {
    std::string run_id;
    std::string as_of;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required();
  command->add_option("--as-of", options->as_of,
                      "The manifest as it stood right after this seq, or at this RFC 3339 UTC "
                      "time (the last seq recorded at or before it); default: latest");
  command->add_option("-o,--output", options->output, "Write to this file instead of stdout");
  command->callback([&context, options] {
    auto reader = orchestrator::RunReader::Open(context.store, options->run_id);
    if (!reader.ok()) {
      context.exit_code = ReportError(reader.status());
      return;
    }
    auto as_of = orchestrator::ResolvePoint(*reader, options->as_of);
    if (!as_of.ok()) {
      context.exit_code = ReportError(as_of.status());
      return;
    }
    auto manifest = reader->Manifest(*as_of);
    if (!manifest.ok()) {
      context.exit_code = ReportError(manifest.status());
      return;
    }
    if (options->output.empty()) {
      std::fwrite(manifest->data(), 1, manifest->size(), stdout);
    } else {
      std::ofstream out(options->output, std::ios::binary | std::ios::trunc);
      out << *manifest;
      out.flush();
      if (!out) {
        context.exit_code = ReportError(
            base::UnavailableError("cannot write manifest to '" + options->output + "'"));
        return;
      }
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace batchlog::cli
