#include "src/cli/commands.h"

namespace batchlog::cli {

// UNFINISHED (issue 5): the demo needs the emulator (issue 3), the providers (issue 4) and
// the workflow engine (issue 5). Until then it says so and fails, rather than pretending.
void AddDemoCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "demo", "Run the example workflow against the built-in emulator (not yet available)");
  command->callback([&context] {
    context.exit_code = ReportError(base::UnimplementedError(
        "demo is not available yet: it arrives with the workflow engine (issue 5)"));
  });
}

}  // namespace batchlog::cli
