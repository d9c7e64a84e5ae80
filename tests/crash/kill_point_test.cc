// Every kill point of docs/operations.md, one at a time: the real `batchlog run` stops
// there as a kill -9 would, `batchlog resume` stops again at the same point during
// recovery (a second crash), and a last resume completes. The outcome must equal an
// uninterrupted run's (tests/crash/crash_harness.h, "the oracle"), on both scenarios:
// stage 1 on OpenAI then stage 2 on Anthropic, and both stages on Anthropic.
#include <string>

#include <catch2/catch.hpp>

#include "tests/crash/crash_harness.h"

namespace batchlog::crash {
namespace {

// Runs the scenario with a crash at `point` (its `hit`-th time), a second crash at the same
// point during recovery, then resumes to completion and checks against the oracle.
void CrashAndRecover(const Scenario& scenario, const std::string& point, int hit) {
  INFO("scenario " << scenario.name << ", kill point " << point << ":" << hit);
  CrashHarness harness(scenario);
  const ChildResult first = harness.Run(point + ":" + std::to_string(hit));
  INFO("first run stderr:\n" << first.err);
  REQUIRE(first.exit_code == kKilledExit);
  CHECK(first.err.find("stopped at kill point") != std::string::npos);

  // The second crash, during recovery: the same point, reached again while resuming.
  const ChildResult second = harness.Resume(point + ":1");
  INFO("recovery stderr:\n" << second.err);
  REQUIRE((second.exit_code == kKilledExit || second.exit_code == 0));

  const ChildResult last = harness.Resume();
  INFO("last resume stderr:\n" << last.err);
  REQUIRE(last.exit_code == 0);
  CheckAgainstOracle(harness, scenario);

  // Resuming a completed run changes nothing.
  const std::uint64_t seq = harness.ReadLog().last_seq;
  REQUIRE(harness.Resume().exit_code == 0);
  CHECK(harness.ReadLog().last_seq == seq);
}

void BothScenarios(const std::string& point) {
  SECTION("stage 1 on OpenAI, stage 2 on Anthropic") {
    CrashAndRecover(OpenAiThenAnthropic(), point, 1);
  }
  SECTION("both stages on Anthropic") { CrashAndRecover(AnthropicThenAnthropic(), point, 2); }
}

TEST_CASE("a crash right after BatchPlanned resumes to the uninterrupted outcome", "[crash]") {
  BothScenarios("after-batch-planned");
}

TEST_CASE("a crash right after the OpenAI upload is recorded resumes to the same outcome",
          "[crash]") {
  CrashAndRecover(OpenAiThenAnthropic(), "after-file-uploaded", 1);
  SECTION("a later upload") { CrashAndRecover(OpenAiThenAnthropic(), "after-file-uploaded", 3); }
}

TEST_CASE("a crash just before the create call resumes to the uninterrupted outcome",
          "[crash]") {
  BothScenarios("before-create");
}

TEST_CASE("a crash after the create returned unrecorded adopts the batch on resume",
          "[crash]") {
  BothScenarios("after-create-returned");
}

TEST_CASE("a crash right after BatchSubmitted resumes to the uninterrupted outcome", "[crash]") {
  BothScenarios("after-batch-submitted");
}

TEST_CASE("a crash right after BatchEnded resumes to the uninterrupted outcome", "[crash]") {
  BothScenarios("after-batch-ended");
}

TEST_CASE("a crash in the middle of result ingestion resumes to the uninterrupted outcome",
          "[crash]") {
  BothScenarios("mid-ingest");
}

TEST_CASE("a crash right after ResultsIngested resumes to the uninterrupted outcome",
          "[crash]") {
  BothScenarios("after-results-ingested");
}

TEST_CASE("a crash between steps of request planning resumes to the uninterrupted outcome",
          "[crash]") {
  BothScenarios("plan-requests-step");
}

TEST_CASE("a crash around a snapshot write resumes to the uninterrupted outcome", "[crash]") {
  SECTION("before") { BothScenarios("before-snapshot"); }
  SECTION("after") { BothScenarios("after-snapshot"); }
}

TEST_CASE("two uninterrupted runs of a scenario agree so the oracle is sound", "[crash]") {
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario);
  REQUIRE(harness.Run().exit_code == 0);
  CheckAgainstOracle(harness, scenario);
  // The scenario exercises what it claims: retries, exhaustion, permanent failures.
  const RunOutcomeView& oracle = Oracle(scenario);
  CHECK(oracle.manifest.find("\"recovered_by_retry\": 0") == std::string::npos);
  CHECK(oracle.manifest.find("\"retry_status\": \"exhausted\"") != std::string::npos);
  CHECK(oracle.manifest.find("content_policy_violation") != std::string::npos);
}

}  // namespace
}  // namespace batchlog::crash
