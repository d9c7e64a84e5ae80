// `batchlog sim`: runs the batch API emulator (docs/emulator.md) in the foreground until
// SIGINT or SIGTERM. Prints one line "batchlog sim: listening on http://127.0.0.1:PORT"
// once it accepts connections (with --port 0, read the port from that line).
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "src/cli/commands.h"
#include "src/sim/emulator.h"
#include "src/sim/fault_plan.h"

namespace batchlog::cli {
namespace {

struct SimFlags {
  int port = 8089;
  std::string fault_plan;
  double time_scale = 1.0;
  std::uint64_t seed = 1;
  int threads = 8;
  sim::LifecycleOptions lifecycle;
};

int RunSim(const SimFlags& flags) {
  sim::EmulatorOptions options;
  options.port = flags.port;
  options.seed = flags.seed;
  options.time_scale = flags.time_scale;
  options.threads = flags.threads;
  options.lifecycle = flags.lifecycle;
  if (!flags.fault_plan.empty()) {
    auto plan = sim::FaultPlan::LoadFile(flags.fault_plan);
    if (!plan.ok()) return ReportError(plan.status());
    options.fault_plan = std::move(plan).value();
  }

  // Block the stop signals before any server thread exists, so every thread inherits the
  // mask and sigwait below is the only receiver.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto emulator = sim::Emulator::Start(options);
  if (!emulator.ok()) return ReportError(emulator.status());
  std::printf("batchlog sim: listening on %s (seed %llu, time scale %g)\n",
              (*emulator)->base_url().c_str(), static_cast<unsigned long long>(flags.seed),
              flags.time_scale);
  std::fflush(stdout);

  int received = 0;
  sigwait(&stop_signals, &received);
  (*emulator)->Stop();
  std::printf("batchlog sim: stopped\n");
  return kExitOk;
}

}  // namespace

void AddSimCommand(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<SimFlags>();
  CLI::App* command = app.add_subcommand(
      "sim", "Run the OpenAI + Anthropic batch API emulator on 127.0.0.1 (docs/emulator.md)");
  command->add_option("--port", flags->port, "TCP port on 127.0.0.1; 0 = ephemeral")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--fault-plan", flags->fault_plan, "Fault plan file (YAML or JSON)")
      ->check(CLI::ExistingFile);
  command
      ->add_option("--time-scale", flags->time_scale,
                   "Simulated seconds per real second (compresses the 24 h window)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->add_option("--seed", flags->seed, "Seed of every outcome, fault, id and order")
      ->capture_default_str();
  command->add_option("--threads", flags->threads, "Worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  command
      ->add_option("--validating-s", flags->lifecycle.validating_s,
                   "Simulated seconds in validating (OpenAI)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--processing-s-base", flags->lifecycle.processing_s_base,
                   "Simulated seconds before the first request finishes")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--processing-s-per-request", flags->lifecycle.processing_s_per_request,
                   "Simulated seconds between consecutive requests")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--finalizing-s", flags->lifecycle.finalizing_s,
                   "Simulated seconds in finalizing (OpenAI)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--cancelling-s", flags->lifecycle.cancelling_s,
                   "Simulated seconds from a cancel to cancelled")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command
      ->add_option("--window-s", flags->lifecycle.window_s,
                   "The completion window in simulated seconds")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command->callback([&context, flags] { context.exit_code = RunSim(*flags); });
}

}  // namespace batchlog::cli
