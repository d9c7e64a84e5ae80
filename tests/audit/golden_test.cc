// Golden logs (tests/golden/README.md): small logs exported with `batchlog events --json`,
// each with its approved manifest and history outputs. The test imports each log (JSONL ->
// events -> a fresh store), replays it, and diffs the manifest and the history of a few
// requests against the approved files, so a schema or projection change that alters what
// an old log means fails here, loudly, instead of silently rewriting history.
//
// BATCHLOG_APPROVE=1 rewrites the approved files from the current code instead of
// comparing (a person runs it, and reviews the diff in the commit). The logs themselves are
// written by the hidden test case "[.golden-generate]", once per schema version.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <catch2/catch.hpp>

#include "replay/audit_projection.h"
#include "replay/replayer.h"
#include "src/orchestrator/cancel.h"
#include "src/orchestrator/fork.h"
#include "src/orchestrator/history.h"
#include "src/orchestrator/run_reader.h"
#include "src/store/store.h"
#include "tests/audit/audit_test_support.h"
#include "tests/orchestrator/engine_test_support.h"
#include "tests/support/temp_dir.h"
#include "tests/support/files.h"

namespace batchlog::orchestrator {
namespace {

using batchlog::testing::ReadFileText;
using batchlog::testing::WriteFileText;

namespace v1 = events::v1;

const std::filesystem::path kGoldenDir = BATCHLOG_GOLDEN_DIR;

struct GoldenLog {
  std::string name;
  std::vector<std::string> history_ids;  // one history per custom_id
};

const std::vector<GoldenLog>& GoldenLogs() {
  static const std::vector<GoldenLog> logs = {
      {"v1-retries", {"q001", "q002", "q003"}},
      {"v1-fork", {"q001", "q002"}},
      {"v1-cancel-resume", {"q000"}},
  };
  return logs;
}

// A golden file's bytes; the test fails when it is missing.
std::string ReadGolden(const std::filesystem::path& path) {
  INFO(path.string());
  REQUIRE(std::filesystem::exists(path));
  return ReadFileText(path);
}

bool Approving() {
  const char* approve = std::getenv("BATCHLOG_APPROVE");
  return approve != nullptr && std::string(approve) == "1";
}

// Compares with the approved file, or rewrites it when approving.
void CheckApproved(const std::filesystem::path& path, const std::string& actual) {
  if (Approving()) {
    WriteFileText(path, actual);
    WARN("approved " << path.string());
    return;
  }
  INFO("approved file " << path.string() << " (BATCHLOG_APPROVE=1 rewrites it after review)");
  CHECK(actual == ReadGolden(path));
}

// The stable export format (docs/events.md): the proto3 JSON mapping with field names.
std::string ToJsonLine(const v1::Event& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string line;
  REQUIRE(google::protobuf::util::MessageToJsonString(event, &line, options).ok());
  return line + "\n";
}

std::vector<v1::Event> ImportJsonl(const std::string& text) {
  std::vector<v1::Event> events;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    v1::Event& event = events.emplace_back();
    const auto status = google::protobuf::util::JsonStringToMessage(line, &event);
    INFO(line);
    REQUIRE(status.ok());
  }
  return events;
}

// Appends `events` to a new run of a fresh store, as the original writer did (blobs are not
// exported: history and the manifest never read them).
void ImportIntoStore(const std::filesystem::path& root, const std::vector<v1::Event>& events) {
  auto store = store::Store::Open(root, true);
  REQUIRE(store.ok());
  store::RunMetadata metadata;
  metadata.run_id = events.front().run_id();
  metadata.run_name = "golden";
  auto log = store->CreateRun(metadata);
  REQUIRE(log.ok());
  store::StepBatch step;
  for (const v1::Event& event : events) {
    store::PendingEvent& pending = step.events.emplace_back();
    pending.event = event;
    pending.event.clear_seq();
    pending.event.clear_run_id();
    pending.event.clear_blob_bytes();
  }
  auto appended = (*log)->Append(step);
  REQUIRE(appended.ok());
  REQUIRE(appended->last == events.size());
}

TEST_CASE("golden logs replay to their approved manifest and history", "[audit][golden]") {
  for (const GoldenLog& golden : GoldenLogs()) {
    SECTION(golden.name) {
      const std::filesystem::path base = kGoldenDir / "logs" / golden.name;
      const std::vector<v1::Event> events =
          ImportJsonl(ReadGolden(base.string() + ".events.jsonl"));
      REQUIRE_FALSE(events.empty());

      // The pure fold, from scratch.
      replay::Projections projections;
      replay::Replayer replayer(projections);
      replay::VectorEventSource source(events);
      REQUIRE(replayer.Fold(source).ok());
      const std::string manifest = replay::RenderManifestJson(projections);
      CheckApproved(base.string() + ".manifest.json", manifest);

      // Through a store: snapshot-free replay and the indexed history.
      batchlog::testing::TempDir dir("batchlog-golden");
      ImportIntoStore(dir.path() / "store", events);
      auto reader = RunReader::Open(dir.path() / "store", events.front().run_id());
      REQUIRE(reader.ok());
      auto regenerated = reader->Manifest(kLatestSeq);
      REQUIRE(regenerated.ok());
      CHECK(*regenerated == manifest);
      std::string table;
      std::string jsonl;
      for (const std::string& id : golden.history_ids) {
        auto history = History(*reader, replay::AuditSelection{.custom_ids = {id}});
        REQUIRE(history.ok());
        table += "# history " + id + "\n" + replay::RenderAuditTable(*history);
        jsonl += replay::RenderAuditJsonl(*history);
      }
      CheckApproved(base.string() + ".history.txt", table);
      CheckApproved(base.string() + ".history.jsonl", jsonl);
    }
  }
}

// Writes the golden logs from scenarios run against the emulator. Run by hand when a new
// schema version is released (tests/golden/README.md); never part of the default run.
TEST_CASE("generate the golden logs", "[.golden-generate]") {
  using testing::AuditWorkflowYaml;
  using testing::EngineHarness;
  const auto export_run = [](const EngineHarness& harness, const std::string& run_id,
                             const std::string& name) {
    auto reader = RunReader::Open(harness.store(), run_id);
    REQUIRE(reader.ok());
    std::string jsonl;
    REQUIRE(reader
                ->VisitEvents(1, kLatestSeq,
                              [&](const v1::Event& event) {
                                jsonl += ToJsonLine(event);
                                return true;
                              })
                .ok());
    WriteFileText(kGoldenDir / "logs" / (name + ".events.jsonl"), jsonl);
  };
  std::filesystem::create_directories(kGoldenDir / "logs");
  {
    EngineHarness harness(
        "request_faults:\n  fail_first_attempts:\n    q001: {kind: server_error, attempts: 2}\n"
        "    q003: {kind: timeout, attempts: 3}\n  always_fail:\n    q002: invalid_request\n");
    harness.WriteDataset("data.jsonl", 6);
    RunRequest request = harness.Request();
    request.run_id = "golden-retries";
    auto outcome =
        StartRun(harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true)), request);
    REQUIRE(outcome.ok());
    export_run(harness, "golden-retries", "v1-retries");
    request.run_id = "golden-fork";
    const auto judge =
        harness.Write("wf2.yaml", AuditWorkflowYaml("data.jsonl", true, "Judge: {{stage_1.text}}"));
    auto fork = ForkRun(ForkOptions{.source_run_id = "golden-retries",
                                    .from_stage = "stage_2",
                                    .workflow_file = judge},
                        request);
    REQUIRE(fork.ok());
    export_run(harness, "golden-fork", "v1-fork");
  }
  {
    EngineHarness harness;
    harness.WriteDataset("data.jsonl", 3);
    RunRequest request = harness.Request();
    request.run_id = "golden-cancel-resume";
    auto stop = std::make_shared<std::atomic<bool>>(false);
    request.stop = stop.get();
    request.on_progress = [stop](const replay::Projections& projections) {
      if (projections.run_state.counters.batches_submitted > 0) stop->store(true);
    };
    REQUIRE(StartRun(harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", false)), request)
                .ok());
    REQUIRE(CancelRun("golden-cancel-resume", CancelOptions{.resumable = true, .poll_s = 0.5},
                      harness.Request())
                .ok());
    REQUIRE(harness.Resume("golden-cancel-resume").ok());
    export_run(harness, "golden-cancel-resume", "v1-cancel-resume");
  }
}

}  // namespace
}  // namespace batchlog::orchestrator
