// `batchlog run FILE --run-id ID` on a run that exists (issue 6, item 6): the same file
// resumes it; a changed file is refused with what changed unless --allow-changed-workflow,
// which records the new text (WorkflowFileChanged) so every later resume uses it.
#include <atomic>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "src/orchestrator/run_reader.h"
#include "tests/orchestrator/engine_test_support.h"

namespace batchlog::orchestrator {
namespace {

using testing::EngineHarness;
using testing::WorkflowYaml;

// Starts the run and stops it after its first round of events: resumable, not finished.
RunOutcome StartAndStop(EngineHarness& harness, const std::filesystem::path& workflow) {
  std::atomic<bool> stop{false};
  RunRequest request = harness.Request();
  request.run_id = "changing";
  request.stop = &stop;
  request.on_progress = [&](const replay::Projections&) { stop = true; };
  auto outcome = StartRun(workflow, request);
  REQUIRE(outcome.ok());
  REQUIRE(outcome->stopped);
  REQUIRE(outcome->status == replay::RunStatus::kRunning);
  return *outcome;
}

base::Result<RunOutcome> Continue(const EngineHarness& harness,
                                  const std::filesystem::path& workflow, bool allow) {
  RunRequest request = harness.Request();
  request.run_id = "changing";
  request.allow_changed_workflow = allow;
  return StartRun(workflow, request);
}

int CountChanges(const EngineHarness& harness) {
  auto reader = RunReader::Open(harness.store(), "changing");
  REQUIRE(reader.ok());
  int changes = 0;
  REQUIRE(reader
              ->VisitEvents(1, reader->last_seq(),
                            [&](const events::v1::Event& event) {
                              changes += event.has_workflow_file_changed() ? 1 : 0;
                              return true;
                            })
              .ok());
  return changes;
}

TEST_CASE("the same workflow file resumes the run without recording a change",
          "[orchestrator][engine][workflow_change]") {
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 6);
  const auto workflow = harness.Write("wf.yaml", WorkflowYaml("data.jsonl", true));
  StartAndStop(harness, workflow);
  auto outcome = Continue(harness, workflow, false);
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);
  CHECK(CountChanges(harness) == 0);
}

TEST_CASE("a changed workflow file is refused with what changed, or recorded when allowed",
          "[orchestrator][engine][workflow_change]") {
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 6);
  const std::string original = WorkflowYaml("data.jsonl", true);
  const auto workflow = harness.Write("wf.yaml", original);
  StartAndStop(harness, workflow);
  std::string edited = original;
  edited.replace(edited.find("max_retries: 2"), 14, "max_retries: 5");
  const auto changed = harness.Write("wf-new.yaml", edited);

  const auto refused = Continue(harness, changed, false);
  REQUIRE_FALSE(refused.ok());
  const std::string message = refused.status().message();
  INFO(message);
  CHECK(refused.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(message.find("- 6:   retry: {max_retries: 2") != std::string::npos);
  CHECK(message.find("+ 6:   retry: {max_retries: 5") != std::string::npos);
  CHECK(message.find("--allow-changed-workflow") != std::string::npos);
  CHECK(message.find("batchlog resume changing") != std::string::npos);
  CHECK(CountChanges(harness) == 0);

  auto allowed = Continue(harness, changed, true);
  REQUIRE(allowed.ok());
  CHECK(allowed->status == replay::RunStatus::kCompleted);
  CHECK(CountChanges(harness) == 1);
  // The new text is now the run's: it continues without a change, the old one is refused.
  CHECK(Continue(harness, changed, false).ok());
  CHECK(Continue(harness, workflow, false).status().code() ==
        base::StatusCode::kFailedPrecondition);
  CHECK(CountChanges(harness) == 1);

  auto reader = RunReader::Open(harness.store(), "changing");
  REQUIRE(reader.ok());
  auto projections = reader->ReplayTo(kLatestSeq);
  REQUIRE(projections.ok());
  CHECK(projections->run_state.config_seq > 1);
}

TEST_CASE("a changed file that drops a recorded stage is refused even when allowed",
          "[orchestrator][engine][workflow_change]") {
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 6);
  const auto workflow = harness.Write("wf.yaml", WorkflowYaml("data.jsonl", true));
  StartAndStop(harness, workflow);
  // Stage 1 renamed: its recorded requests would belong to no stage.
  std::string edited = WorkflowYaml("data.jsonl", false);
  edited.replace(edited.find("name: stage_1"), 13, "name: stage_x");
  const auto refused = Continue(harness, harness.Write("wf-new.yaml", edited), true);
  REQUIRE_FALSE(refused.ok());
  INFO(refused.status().message());
  CHECK(refused.status().message().find("math/stage_1") != std::string::npos);
  CHECK(CountChanges(harness) == 0);
}

TEST_CASE("a resume after a recorded change builds the run from the changed file",
          "[orchestrator][engine][workflow_change]") {
  // resume starts building the run's setup (datasets included) from the file recorded at
  // seq 1 while the log replays; after a WorkflowFileChanged that build must not be used.
  EngineHarness harness;
  const auto first_dataset = harness.WriteDataset("data.jsonl", 6);
  StartAndStop(harness, harness.Write("wf.yaml", WorkflowYaml("data.jsonl", true)));
  harness.WriteDataset("moved.jsonl", 6);
  const auto moved = harness.Write("wf-moved.yaml", WorkflowYaml("moved.jsonl", true));
  {
    std::atomic<bool> stop{false};
    RunRequest request = harness.Request();
    request.run_id = "changing";
    request.allow_changed_workflow = true;
    request.stop = &stop;
    request.on_progress = [&](const replay::Projections&) { stop = true; };
    auto outcome = StartRun(moved, request);
    INFO(outcome.status().ToString());
    REQUIRE(outcome.ok());
    REQUIRE(outcome->status == replay::RunStatus::kRunning);
  }
  REQUIRE(CountChanges(harness) == 1);
  // Only the changed file can still be built: the first one's dataset is gone.
  std::filesystem::remove(first_dataset);
  auto resumed = ResumeRun("changing", harness.Request());
  INFO(resumed.status().ToString());
  REQUIRE(resumed.ok());
  CHECK(resumed->status == replay::RunStatus::kCompleted);
}

}  // namespace
}  // namespace batchlog::orchestrator
