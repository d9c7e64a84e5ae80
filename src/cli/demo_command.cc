#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "src/cli/commands.h"
#include "src/cli/demo_example.h"
#include "src/cli/run_options.h"
#include "src/orchestrator/run_session.h"
#include "src/sim/emulator.h"
#include "src/sim/fault_plan.h"

namespace batchlog::cli {
namespace {

// Simulated seconds per real second, for the emulator and the engine's waits alike: the
// example's 30 s polls and retry delays become 0.3 s.
constexpr double kDemoTimeScale = 100.0;

// A little of everything the engine handles: transient failures that a retry cures, a
// content-filter refusal that it must not retry, and a 429 on one batch create.
constexpr std::string_view kDemoFaultPlan = R"(
request_faults:
  rates: {rate_limit: 0.04, server_error: 0.03, overloaded: 0.02, content_filter: 0.01}
  transient_attempts_max: 1
control_faults:
  - {operation: create, kind: rate_limit, calls: [2], retry_after_s: 1}
)";

base::Status WriteFile(const std::filesystem::path& path, std::string_view content) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.flush();
  if (!out) return base::UnavailableError("cannot write '" + path.string() + "'");
  return base::Status::Ok();
}

void PrintSummary(const orchestrator::RunOutcome& outcome) {
  std::ifstream in(outcome.manifest_path);
  const nlohmann::json manifest = nlohmann::json::parse(in, nullptr, false);
  if (manifest.is_discarded()) return;
  for (const auto& [workflow, stages] : manifest["workflows"].items()) {
    for (const auto& [stage, facts] : stages.items()) {
      std::printf(
          "  %s/%s: %d of %d succeeded, %d failed at least once, %d recovered by "
          "retry, %zu final failures\n",
          workflow.c_str(), stage.c_str(), facts.value("succeeded", 0),
          facts.value("total_requests", 0), facts.value("total_failures", 0),
          facts.value("recovered_by_retry", 0),
          facts.contains("final_failed_ids") ? facts["final_failed_ids"].size() : 0);
    }
  }
}

}  // namespace

void AddDemoCommand(CLI::App& app, CliContext& context) {
  CLI::App* command = app.add_subcommand(
      "demo",
      "Run the example two-stage workflow (examples/math-paraphrase) against the built-in "
      "emulator, with a few injected failures; no API key needed");
  auto options = std::make_shared<RunOptions>();
  AddRunOptions(*command, *options);
  command->callback([&context, options] {
    auto plan = sim::FaultPlan::Parse(kDemoFaultPlan);
    if (!plan.ok()) {
      context.exit_code = ReportError(plan.status());
      return;
    }
    sim::EmulatorOptions sim_options;
    sim_options.seed = options->seed != 0 ? options->seed : 1;
    sim_options.time_scale = kDemoTimeScale;
    sim_options.fault_plan = std::move(plan).value();
    auto emulator = sim::Emulator::Start(sim_options);
    if (!emulator.ok()) {
      context.exit_code = ReportError(emulator.status());
      return;
    }
    // The store first: it must be created in an empty directory.
    if (const base::Status status = orchestrator::EnsureStore(context.store); !status.ok()) {
      context.exit_code = ReportError(status);
      return;
    }
    const std::filesystem::path example = context.store / "demo" / "math-paraphrase";
    for (const auto& [path, content] :
         {std::pair{example / "workflow.yaml", kDemoWorkflowYaml},
          std::pair{example / "data" / "math.jsonl", kDemoDatasetJsonl}}) {
      if (const base::Status status = WriteFile(path, content); !status.ok()) {
        context.exit_code = ReportError(status);
        return;
      }
    }
    std::printf("batchlog demo: emulator at %s (time x%.0f); example at %s\n",
                (*emulator)->base_url().c_str(), kDemoTimeScale, example.string().c_str());
    std::fflush(stdout);
    orchestrator::RunRequest request = PrepareRun(context, *options);
    request.setup.base_url_override = (*emulator)->base_url();
    request.setup.time_scale = kDemoTimeScale;
    request.in_process_emulator = true;
    // The emulator accepts any key; a real one in the environment is never needed.
    request.setup.lookup_env = [](const std::string&) -> std::optional<std::string> {
      return "sk-batchlog-demo";
    };
    const auto outcome = orchestrator::StartRun(example / "workflow.yaml", request);
    // The emulator lives in this process and goes with it: a stopped demo run has no
    // provider to resume against.
    context.exit_code = FinishRun(outcome, *options, context,
                                  "the demo's emulator ran inside this process and is gone "
                                  "with it; `batchlog demo` starts a new run");
    if (outcome.ok()) PrintSummary(*outcome);
    (*emulator)->Stop();
  });
}

}  // namespace batchlog::cli
