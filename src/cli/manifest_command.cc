#include <cerrno>
#include <cstdio>
#include <string>

#include "src/cli/commands.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/time_travel.h"

namespace batchlog::cli {
namespace {

// The error says why (errno): "No such file or directory" and "No space left on device"
// call for different fixes.
base::Status WriteManifestFile(const std::string& path, const std::string& bytes) {
  const std::string what = "cannot write manifest to '" + path + "'";
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) return OsError(what, errno);
  int error_number = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size()) error_number = errno;
  // A full disk often shows only when the buffer is flushed, at fclose.
  if (std::fclose(out) != 0 && error_number == 0) error_number = errno;
  return error_number == 0 ? base::Status::Ok() : OsError(what, error_number);
}

}  // namespace

void AddManifestCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand("manifest", "Regenerate a run's manifest from its log");
  struct Options {
    std::string run_id;
    std::string as_of;
    std::string output;
  };
  auto options = std::make_shared<Options>();
  command->add_option("RUN_ID", options->run_id, "The run")->required()->check(NonEmpty());
  command
      ->add_option("--as-of", options->as_of,
                   "The manifest as it stood right after this seq, or at this RFC 3339 UTC "
                   "time (the last seq recorded at or before it); default: latest")
      ->check(HistoryPoint());
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
      context.exit_code = kExitOk;
      return;
    }
    const base::Status written = WriteManifestFile(options->output, *manifest);
    context.exit_code = written.ok() ? kExitOk : ReportError(written);
  });
}

}  // namespace batchlog::cli
