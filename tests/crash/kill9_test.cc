// The randomized kill -9 loop: the real `batchlog run` / `batchlog resume` is killed with
// SIGKILL at random instants (seeded; BATCHLOG_SEED replays a failure) and resumed until
// the run completes; then it must equal the uninterrupted run (tests/crash/crash_harness.h).
//
// Size: BATCHLOG_CRASH_KILLS kills per scenario (default 100; the nightly setting is e.g.
// BATCHLOG_CRASH_KILLS=1000), spread over as many runs as it takes (a run survives about a
// dozen). Each kill lands uniformly within BATCHLOG_CRASH_MAX_DELAY_MS (default 400) of the
// process start, which covers start-up, replay, submission, polling, ingestion and the
// stage and run ends of this scenario.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/crash/crash_harness.h"
#include "tests/support/files.h"

namespace batchlog::crash {
namespace {

// One run of the scenario on a fresh emulator and store, killed at random instants (at most
// `kills_left` times) and resumed until it completes; returns the kills.
int KillUntilCompleted(const Scenario& scenario, std::mt19937_64& random, int kills_left,
                       int max_delay_ms) {
  std::uniform_int_distribution<int> delay_ms(0, max_delay_ms);
  CrashHarness harness(scenario, "kill9");
  int kills = 0;
  int invocations = 0;
  bool completed = false;
  while (!completed) {
    // Until RunStarted is in the log, the run is (re)started from the workflow file.
    const bool started = harness.ReadLog().started;
    std::unique_ptr<Child> child =
        harness.Start(started ? harness.ResumeArgs() : harness.RunArgs());
    ++invocations;
    if (kills < kills_left) {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(random));
      while (!child->Exited() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      if (!child->Exited()) {
        child->Kill();
        ++kills;
        continue;
      }
    }
    const ChildResult result = child->Wait();
    INFO("invocation " << invocations << " stderr:\n" << result.err);
    REQUIRE(result.exit_code == 0);
    completed = harness.ReadLog().status == "completed";
  }
  INFO(kills << " kills in " << invocations << " invocations");
  CheckAgainstOracle(harness, scenario);
  return kills;
}

void KillLoop(const Scenario& scenario, std::uint64_t seed) {
  const int kills_max = EnvCount("BATCHLOG_CRASH_KILLS", 100);
  const int max_delay_ms = EnvCount("BATCHLOG_CRASH_MAX_DELAY_MS", 400);
  std::mt19937_64 random(seed);
  int kills = 0;
  int runs = 0;
  while (kills < kills_max) {
    INFO("seed " << seed << ", run " << runs + 1 << ", kills so far " << kills);
    kills += KillUntilCompleted(scenario, random, kills_max - kills, max_delay_ms);
    ++runs;
  }
  std::printf("%s: %d kills over %d runs, each resumed to the oracle's outcome\n",
              scenario.name.c_str(), kills, runs);
}

TEST_CASE("a run killed with SIGKILL at random instants resumes to the uninterrupted outcome "
          "(OpenAI then Anthropic)",
          "[crash][kill9]") {
  KillLoop(OpenAiThenAnthropic(), TestSeed(20261128));
}

TEST_CASE("a run killed with SIGKILL at random instants resumes to the uninterrupted outcome "
          "(Anthropic for both stages)",
          "[crash][kill9]") {
  KillLoop(AnthropicThenAnthropic(), TestSeed(20261129));
}

TEST_CASE("SIGINT or SIGTERM stops a run between two steps with exit 130, stopped and whole",
          "[crash][signal]") {
  const int signal = GENERATE(SIGINT, SIGTERM);
  CAPTURE(signal);
  CrashHarness harness(OpenAiThenAnthropic(), "signal");
  // A workflow whose provider does not answer and whose retry waits 30 s: the run is
  // certainly still going (in a hold) when the signal comes.
  std::string text = batchlog::testing::ReadFileText(harness.workflow());
  const std::string fast = "initial_delay_s: 0.02, multiplier: 2, max_delay_s: 0.08";
  REQUIRE(text.find(fast) != std::string::npos);
  text.replace(text.find(fast), fast.size(), "initial_delay_s: 30, multiplier: 2, max_delay_s: 60");
  const std::filesystem::path slow = harness.dir() / "slow.yaml";
  batchlog::testing::WriteFileText(slow, text);
  std::unique_ptr<Child> child = harness.Start({"run", slow.string(), "--run-id",
                                                harness.run_id(), "--base-url",
                                                "http://127.0.0.1:1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  REQUIRE_FALSE(child->Exited());
  child->Signal(signal);
  const ChildResult stopped = child->Wait(30);
  INFO(stopped.out << stopped.err);
  CHECK(stopped.exit_code == 130);
  CHECK(stopped.out.find("stopped (resumable: batchlog resume " + harness.run_id()) !=
        std::string::npos);
  // Nobody writes the run now: it is listed as stopped, and its log is whole.
  const ChildResult runs = harness.Batchlog({"runs"});
  CHECK(runs.exit_code == 0);
  CHECK(runs.out.find("stopped") != std::string::npos);
  const ChildResult verify = harness.Batchlog({"verify", harness.run_id()});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

}  // namespace
}  // namespace batchlog::crash
