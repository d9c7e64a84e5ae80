// sim_sdk_check: the CTest driver of the official-SDK check (tests/sim/sdk/README.md).
// Starts the emulator in-process on an ephemeral port with fault_plan.json and a lifecycle
// short enough for a test (every batch ends in seconds, the 24 h window in a few), runs
//
//   node sdk_check.mjs --base-url <emulator> --modules <dir> --fault-plan <plan>
//
// and exits with node's exit status (1 if node could not run or died by a signal).
//
//   sim_sdk_check --script tests/sim/sdk/sdk_check.mjs --modules BUILD/sdk/node_modules
//                 --fault-plan tests/sim/sdk/fault_plan.json [--node node] [--seed N]
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "src/sim/emulator.h"
#include "src/sim/emulator_options.h"
#include "src/sim/fault_plan.h"

extern char** environ;

namespace batchlog::sim {
namespace {

// Simulated seconds per real second, and the simulated lifecycle: a 12-request batch takes
// 2 + 20 + 12 * 2 + 4 = 50 simulated seconds (2.5 s real) and runs no request in its first
// second, so the script sees it in progress and cancels it before anything ran, even on a
// loaded machine; the window (120 s, 6 s real) is what the planned expiries wait for.
constexpr double kTimeScale = 20.0;
LifecycleOptions SdkCheckLifecycle() {
  LifecycleOptions lifecycle;
  lifecycle.validating_s = 2.0;
  lifecycle.processing_s_base = 20.0;
  lifecycle.processing_s_per_request = 2.0;
  lifecycle.finalizing_s = 4.0;
  lifecycle.cancelling_s = 4.0;
  lifecycle.window_s = 120.0;
  return lifecycle;
}

// Runs argv (argv[0] looked up on PATH) and returns its exit status; 1 when it could not
// start or was killed by a signal.
int RunChild(const std::vector<std::string>& arguments) {
  std::vector<char*> argv;
  argv.reserve(arguments.size() + 1);
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (spawn_error != 0) {
    std::fprintf(stderr,
                 "sim_sdk_check: cannot run '%s' (errno %d); is Node.js installed? "
                 "scripts/install-deps installs it\n",
                 argv[0], spawn_error);
    return 1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::perror("sim_sdk_check: waitpid");
      return 1;
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  std::fprintf(stderr, "sim_sdk_check: '%s' died by signal %d\n", argv[0], WTERMSIG(status));
  return 1;
}

int Main(int argc, char** argv) {
  CLI::App app("Drives the emulator with the official OpenAI and Anthropic SDKs");
  std::string node = "node";
  std::string script;
  std::string modules;
  std::string fault_plan_path;
  std::uint64_t seed = 7;
  app.add_option("--node", node, "The Node.js executable (looked up on PATH)");
  app.add_option("--script", script, "sdk_check.mjs")->required();
  app.add_option("--modules", modules, "The node_modules folder holding the SDKs")->required();
  app.add_option("--fault-plan", fault_plan_path, "fault_plan.json")->required();
  app.add_option("--seed", seed, "The emulator's seed");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  if (!std::filesystem::exists(std::filesystem::path(modules) / "openai") ||
      !std::filesystem::exists(std::filesystem::path(modules) / "@anthropic-ai" / "sdk")) {
    std::fprintf(stderr,
                 "sim_sdk_check: the SDKs are not installed in %s; the sim_sdk_install test "
                 "(tests/sim/sdk/install_sdks.sh) installs them with npm ci\n",
                 modules.c_str());
    return 1;
  }
  auto plan = FaultPlan::LoadFile(fault_plan_path);
  if (!plan.ok()) {
    std::fprintf(stderr, "sim_sdk_check: %s\n", plan.status().ToString().c_str());
    return 1;
  }

  EmulatorOptions options;
  options.port = 0;
  options.seed = seed;
  options.time_scale = kTimeScale;
  options.fault_plan = *plan;
  options.lifecycle = SdkCheckLifecycle();
  auto emulator = Emulator::Start(options);
  if (!emulator.ok()) {
    std::fprintf(stderr, "sim_sdk_check: cannot start the emulator: %s\n",
                 emulator.status().ToString().c_str());
    return 1;
  }
  std::printf("sim_sdk_check: emulator at %s (seed %llu, time scale %.0f)\n",
              (*emulator)->base_url().c_str(), static_cast<unsigned long long>(seed), kTimeScale);
  std::fflush(stdout);

  const int exit_code = RunChild({node, script, "--base-url", (*emulator)->base_url(), "--modules",
                                  modules, "--fault-plan", fault_plan_path});
  (*emulator)->Stop();
  std::printf("sim_sdk_check: node exited with %d\n", exit_code);
  return exit_code;
}

}  // namespace
}  // namespace batchlog::sim

int main(int argc, char** argv) { return batchlog::sim::Main(argc, argv); }
