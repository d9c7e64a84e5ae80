// The audit subcommands of the real `batchlog` binary, on a run the engine wrote in-process:
// flags, output forms and exit codes (the logic itself is tested in engine_audit_test.cc).
#include <array>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "replay/snapshot_codec.h"
#include "src/base/time_format.h"
#include "src/orchestrator/cancel.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/time_travel.h"
#include "src/store/store.h"
#include "tests/audit/audit_test_support.h"
#include "tests/orchestrator/engine_test_support.h"

namespace batchlog::orchestrator {
namespace {

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs `batchlog --store STORE args...` (stderr discarded) and returns stdout and the code.
Output Batchlog(const std::filesystem::path& store, const std::string& args) {
  const std::string command =
      std::string(BATCHLOG_BINARY) + " --store '" + store.string() + "' " + args + " 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  Output output;
  std::array<char, 4096> buffer{};
  std::size_t read = 0;
  while ((read = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    output.out.append(buffer.data(), read);
  }
  const int status = ::pclose(pipe);
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

TEST_CASE("the audit subcommands answer from the log of a finished run", "[audit][cli]") {
  testing::EngineHarness harness(
      "request_faults:\n  fail_first_attempts:\n    q003: {kind: server_error, attempts: 2}\n"
      "  always_fail:\n    q004: invalid_request\n");
  harness.WriteDataset("data.jsonl", 6);
  RunRequest request = harness.Request();
  request.run_id = "cli-run";
  auto outcome =
      StartRun(harness.Write("wf.yaml", testing::AuditWorkflowYaml("data.jsonl", true)), request);
  REQUIRE(outcome.ok());
  const std::filesystem::path store = harness.store();

  SECTION("history: a table, JSONL, and usage errors") {
    const Output table = Batchlog(store, "history cli-run --custom-id q003");
    CAPTURE(table.out);
    CHECK(table.exit_code == 0);
    CHECK(table.out.find("succeeded on attempt 3") != std::string::npos);
    const Output jsonl = Batchlog(store, "history cli-run --custom-id q004 --json");
    CHECK(jsonl.exit_code == 0);
    std::istringstream lines(jsonl.out);
    std::string line;
    std::vector<nlohmann::json> rows;
    while (std::getline(lines, line)) rows.push_back(nlohmann::json::parse(line));
    REQUIRE(rows.size() >= 3);
    CHECK(rows.back()["event"] == "summary");
    CHECK(rows.back()["state"] == "not_planned");
    CHECK(Batchlog(store, "history cli-run").exit_code == 2);  // usage: no selector
    CHECK(Batchlog(store, "history cli-run --custom-id nope").exit_code == 3);
    CHECK(Batchlog(store, "history cli-run --batch math:stage_1:a1:b000000 --json").exit_code ==
          0);
  }

  SECTION("manifest --as-of a timestamp, and diff-manifest") {
    auto reader = RunReader::Open(store, "cli-run");
    REQUIRE(reader.ok());
    std::uint64_t stage_seq = 0;
    std::int64_t stage_time = 0;
    REQUIRE(reader
                ->VisitEvents(1, kLatestSeq,
                              [&](const events::v1::Event& event) {
                                if (!event.has_stage_completed()) return true;
                                stage_seq = event.seq();
                                stage_time = event.recorded_at_unix_us();
                                return false;
                              })
                .ok());
    const std::string at = base::FormatUnixMicrosUtc(stage_time);
    const Output manifest = Batchlog(store, "manifest cli-run --as-of " + at);
    CHECK(manifest.exit_code == 0);
    auto point = ResolvePoint(*reader, at);
    REQUIRE(point.ok());
    auto expected = reader->Manifest(*point);
    REQUIRE(expected.ok());
    CHECK(manifest.out == *expected);
    CHECK(Batchlog(store, "manifest cli-run --as-of 2001-01-01T00:00:00Z").exit_code == 3);
    const Output diff =
        Batchlog(store, "diff-manifest cli-run " + std::to_string(stage_seq) + " latest");
    CAPTURE(diff.out);
    CHECK(diff.exit_code == 0);
    CHECK(diff.out.find("math/stage_2") != std::string::npos);
    const Output json = Batchlog(store, "diff-manifest cli-run 1 latest --json");
    CHECK(json.exit_code == 0);
    CHECK(nlohmann::json::parse(json.out)["to_seq"] == reader->last_seq());
  }

  SECTION("runs and status show progress, failures and cost") {
    const Output runs = Batchlog(store, "runs");
    CAPTURE(runs.out);
    CHECK(runs.exit_code == 0);
    CHECK(runs.out.find("cli-run") != std::string::npos);
    CHECK(runs.out.find("10/11") != std::string::npos);  // 6 + 5 succeeded of 6 + 5 planned
    const Output status = Batchlog(store, "status cli-run");
    CAPTURE(status.out);
    CHECK(status.exit_code == 0);
    CHECK(status.out.find("cost ") != std::string::npos);
  }

  SECTION("fork and cancel refuse what they cannot do, with their exit codes") {
    CHECK(Batchlog(store, "fork cli-run --from stage_1 -q").exit_code == 5);
    CHECK(Batchlog(store, "cancel cli-run -q").exit_code == 5);  // already completed
  }

  SECTION("a snapshot of another format version is skipped, not reported as damage") {
    {
      auto opened = store::Store::Open(store, false);
      REQUIRE(opened.ok());
      auto log = opened->OpenRun("cli-run", store::OpenMode::kReadWrite);
      REQUIRE(log.ok());
      auto projections = ReplayLog(**log);
      REQUIRE(projections.ok());
      std::string bytes = replay::EncodeSnapshot(*projections);
      bytes[8] = static_cast<char>(replay::kSnapshotVersion - 1);  // the header's version
      REQUIRE(replay::SnapshotVersion(bytes) == replay::kSnapshotVersion - 1);
      store::StepBatch step;
      step.snapshot = bytes;
      REQUIRE((*log)->Append(step).ok());
    }
    const Output manifest = Batchlog(store, "manifest cli-run");
    CHECK(manifest.exit_code == 0);
    CHECK(manifest.out == harness.ManifestFileText(*outcome));
  }
}

TEST_CASE("status tells a run cancelled resumable from one cancelled for good",
          "[audit][cli][cancel]") {
  // The run stops with its batch refused (quota), so nothing is in flight for the cancel.
  testing::EngineHarness harness(
      "control_faults:\n  - {operation: create, kind: quota_exceeded, api: openai, calls: [1]}\n");
  harness.WriteDataset("data.jsonl", 3);
  RunRequest request = harness.Request();
  request.run_id = "paused";
  REQUIRE_FALSE(
      StartRun(harness.Write("wf.yaml", testing::WorkflowYaml("data.jsonl", false)), request)
          .ok());
  auto cancelled =
      CancelRun("paused", CancelOptions{.resumable = true, .poll_s = 0.5}, harness.Request());
  REQUIRE(cancelled.ok());
  const Output status = Batchlog(harness.store(), "status paused");
  CAPTURE(status.out);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("cancelled resumable: `batchlog resume paused`") != std::string::npos);
}

}  // namespace
}  // namespace batchlog::orchestrator
