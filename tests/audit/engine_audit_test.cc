// Issue 7's acceptance, end to end against the in-process emulator on a shared fake clock:
// history of a request retried twice, time travel at each StageCompleted, cost against an
// independent recount of the log, fork re-running only the later stage, cancel leaving
// nothing in flight at the provider.
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <httplib.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "replay/audit_projection.h"
#include "src/base/time_format.h"
#include "src/orchestrator/cancel.h"
#include "src/orchestrator/fork.h"
#include "src/orchestrator/history.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/run_summary.h"
#include "src/orchestrator/time_travel.h"
#include "src/store/store.h"
#include "tests/audit/audit_test_support.h"
#include "tests/orchestrator/engine_test_support.h"

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;
using testing::AuditWorkflowYaml;
using testing::EngineHarness;

RunReader OpenReader(const EngineHarness& harness, const std::string& run_id) {
  auto reader = RunReader::Open(harness.store(), run_id);
  REQUIRE(reader.ok());
  return std::move(reader).value();
}

replay::AuditState HistoryOf(const RunReader& reader, replay::AuditSelection selection,
                             bool full_scan, HistoryStats* stats = nullptr) {
  auto history = History(reader, selection, HistoryOptions{.force_full_scan = full_scan}, stats);
  REQUIRE(history.ok());
  return std::move(history).value();
}

std::vector<v1::Event> AllEvents(const RunReader& reader) {
  std::vector<v1::Event> events;
  REQUIRE(reader
              .VisitEvents(1, kLatestSeq,
                           [&](const v1::Event& event) {
                             events.push_back(event);
                             return true;
                           })
              .ok());
  return events;
}

TEST_CASE("the history of a request that failed twice then succeeded shows three attempts",
          "[audit][history][engine]") {
  EngineHarness harness(
      "request_faults:\n  fail_first_attempts:\n    q003: {kind: server_error, attempts: 2}\n"
      "  always_fail:\n    q005: invalid_request\n");
  harness.WriteDataset("data.jsonl", 8);
  auto outcome = harness.Run(harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true)));
  REQUIRE(outcome.ok());
  REQUIRE(outcome->status == replay::RunStatus::kCompleted);
  const RunReader reader = OpenReader(harness, outcome->run_id);

  HistoryStats stats;
  const replay::AuditState state =
      HistoryOf(reader, replay::AuditSelection{.custom_ids = {"q003"}, .stage = "stage_1"},
                false, &stats);
  CHECK_FALSE(stats.full_scan);
  CHECK(stats.events_read < reader.last_seq());
  std::vector<std::string> batch_keys;
  std::vector<std::string> provider_ids;
  std::vector<std::string> errors;
  std::vector<double> delays;
  for (const replay::AuditRow& row : state.rows) {
    switch (row.event) {
      case replay::AuditEvent::kBatchPlanned:
        batch_keys.push_back(row.batch_key);
        CHECK(row.attempt == batch_keys.size());
        break;
      case replay::AuditEvent::kBatchSubmitted:
        provider_ids.push_back(row.provider_batch_id);
        break;
      case replay::AuditEvent::kRequestFailed:
        errors.push_back(row.code);
        CHECK(row.error_class == "retryable");
        CHECK(row.http_status == 500);
        break;
      case replay::AuditEvent::kRetryScheduled:
        delays.push_back(row.delay_s);
        CHECK(row.jitter_factor > 0);
        CHECK(row.not_before_unix_us > row.recorded_at_unix_us);
        break;
      default:
        break;
    }
  }
  CHECK(batch_keys.size() == 3);
  CHECK(std::set<std::string>(batch_keys.begin(), batch_keys.end()).size() == 3);
  CHECK(provider_ids.size() == 3);
  CHECK(errors == std::vector<std::string>{"server_error", "server_error"});
  REQUIRE(delays.size() == 2);
  CHECK(delays[0] > 0);
  CHECK(delays[1] > delays[0]);  // backoff doubles (jitter 0.2 cannot undo it)
  REQUIRE(state.summaries.size() == 1);
  CHECK(state.summaries[0].state == "succeeded");
  CHECK(state.summaries[0].attempts == 3);
  CHECK(state.summaries[0].failures == 2);

  // "Why is q005 missing from stage 2's results?" in one answer.
  const replay::AuditState missing =
      HistoryOf(reader, replay::AuditSelection{.custom_ids = {"q005"}}, false);
  REQUIRE(missing.summaries.size() == 2);
  CHECK(missing.summaries[0].state == "failed_final");
  CHECK(missing.summaries[0].explanation.find("permanent") != std::string::npos);
  CHECK(missing.summaries[1].stage == "stage_2");
  CHECK(missing.summaries[1].state == "not_planned");
  CHECK(missing.summaries[1].explanation.find("failed_final") != std::string::npos);
}

TEST_CASE("history read through the index equals a full scan of the log",
          "[audit][history][engine]") {
  EngineHarness harness(
      "request_faults:\n  fail_first_attempts:\n    q001: {kind: rate_limit, attempts: 1}\n"
      "    q004: {kind: timeout, attempts: 3}\n  always_fail:\n    q002: content_filter\n");
  harness.WriteDataset("data.jsonl", 12);
  auto outcome = harness.Run(harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true)));
  REQUIRE(outcome.ok());
  const RunReader reader = OpenReader(harness, outcome->run_id);
  const std::vector<replay::AuditSelection> selections = {
      {.custom_ids = {"q001"}},
      {.custom_ids = {"q002", "q004"}},
      {.custom_ids = {"q001"}, .workflow = "math", .stage = "stage_2"},
      {.custom_ids = {"q004"}, .workflow = "math", .stage = "stage_2"},  // never got there
      {.workflow = "math", .stage = "stage_1"},
      {.batch_key = "math:stage_1:a1:b000000"},
  };
  for (const replay::AuditSelection& selection : selections) {
    const replay::AuditState targeted = HistoryOf(reader, selection, false);
    const replay::AuditState scanned = HistoryOf(reader, selection, true);
    const std::string table = replay::RenderAuditTable(targeted);
    CAPTURE(table);
    CHECK_FALSE(targeted.rows.empty());
    CHECK(replay::RenderAuditJsonl(targeted) == replay::RenderAuditJsonl(scanned));
    CHECK(table == replay::RenderAuditTable(scanned));
  }
  CHECK(History(reader, replay::AuditSelection{.custom_ids = {"nope"}}).status().code() ==
        base::StatusCode::kNotFound);
  CHECK(History(reader, replay::AuditSelection{}).status().code() ==
        base::StatusCode::kInvalidArgument);
}

TEST_CASE("manifest --as-of each StageCompleted seq equals the manifest file written then",
          "[audit][time-travel][engine]") {
  EngineHarness harness(
      "request_faults:\n  fail_first_attempts:\n    q002: {kind: server_error, attempts: 1}\n");
  harness.WriteDataset("data.jsonl", 10);
  const auto workflow = harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true));
  RunRequest request = harness.Request();
  request.run_id = "as-of-run";
  const std::filesystem::path manifest_path = ManifestPath(harness.store(), request.run_id);
  // The file as the loop left it after each round, by the seq it was generated at.
  auto written = std::make_shared<std::map<std::uint64_t, std::string>>();
  request.on_progress = [manifest_path, written](const replay::Projections&) {
    std::ifstream in(manifest_path, std::ios::binary);
    if (!in) return;
    std::ostringstream text;
    text << in.rdbuf();
    const nlohmann::json manifest = nlohmann::json::parse(text.str());
    (*written)[manifest["generated_at_seq"].get<std::uint64_t>()] = text.str();
  };
  auto outcome = StartRun(workflow, request);
  REQUIRE(outcome.ok());
  REQUIRE(outcome->status == replay::RunStatus::kCompleted);
  const RunReader reader = OpenReader(harness, outcome->run_id);

  std::vector<std::uint64_t> stage_ends;
  std::map<std::uint64_t, std::int64_t> times;
  for (const v1::Event& event : AllEvents(reader)) {
    if (event.has_stage_completed() || event.has_run_completed()) {
      stage_ends.push_back(event.seq());
    }
    times[event.seq()] = event.recorded_at_unix_us();
  }
  REQUIRE(stage_ends.size() == 3);  // stage_1, stage_2, the run
  for (const std::uint64_t seq : stage_ends) {
    CAPTURE(seq);
    REQUIRE(written->contains(seq));
    auto regenerated = reader.Manifest(seq);
    REQUIRE(regenerated.ok());
    CHECK(*regenerated == written->at(seq));
    // By time: the last seq recorded at or before the StageCompleted's time.
    const std::string at = base::FormatUnixMicrosUtc(times[seq]);
    auto point = ResolvePoint(reader, at);
    REQUIRE(point.ok());
    CHECK(*point >= seq);
    CHECK(times[*point] == times[seq]);
    if (*point + 1 <= reader.last_seq()) CHECK(times[*point + 1] > times[seq]);
  }
  // The last manifest is the file on disk, byte for byte.
  CHECK(written->rbegin()->second == harness.ManifestFileText(*outcome));
  CHECK(ResolvePoint(reader, "2001-01-01T00:00:00Z").status().code() ==
        base::StatusCode::kNotFound);
  CHECK(ResolvePoint(reader, "yesterday").status().code() == base::StatusCode::kInvalidArgument);
  CHECK(ResolvePoint(reader, std::to_string(reader.last_seq() + 1)).status().code() ==
        base::StatusCode::kNotFound);
}

TEST_CASE("the manifest's cost equals an independent recount of the billed results",
          "[audit][cost][engine]") {
  EngineHarness harness(
      "request_faults:\n  fail_first_attempts:\n    q001: {kind: server_error, attempts: 2}\n");
  harness.WriteDataset("data.jsonl", 10);
  auto outcome = harness.Run(harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true)));
  REQUIRE(outcome.ok());
  const RunReader reader = OpenReader(harness, outcome->run_id);
  // Prices of AuditWorkflowYaml: gpt-4o-mini 0.15/0.6 (batch 50 % off), claude 3/15 (50 %).
  const std::map<std::string, std::pair<double, double>> prices = {
      {"gpt-4o-mini", {0.15, 0.6}}, {"claude-sonnet-4-5", {3.0, 15.0}}};
  std::map<std::pair<std::string, std::string>, std::string> model;  // (stage, id) -> model
  std::map<std::string, std::string> stage_of_batch;
  std::set<std::tuple<std::string, std::string, std::uint32_t>> billed;
  double expected = 0;
  std::uint64_t results = 0;
  const auto bill = [&](const std::string& batch, const std::string& id, std::uint32_t attempt,
                        const v1::Usage& usage) {
    const std::string& stage = stage_of_batch[batch];
    if (!billed.insert({stage, id, attempt}).second) return;  // re-ingested: once
    const auto& [input, output] = prices.at(model[{stage, id}]);
    expected += (static_cast<double>(usage.input_tokens()) * input +
                 static_cast<double>(usage.output_tokens()) * output) /
                1e6 * 0.5;
    ++results;
  };
  for (const v1::Event& event : AllEvents(reader)) {
    if (event.has_request_planned()) {
      model[{event.request_planned().stage(), event.request_planned().custom_id()}] =
          event.request_planned().model();
    } else if (event.has_batch_planned()) {
      stage_of_batch[event.batch_planned().batch_key()] = event.batch_planned().stage();
    } else if (event.has_request_succeeded()) {
      const v1::RequestSucceeded& r = event.request_succeeded();
      bill(r.batch_key(), r.custom_id(), r.attempt(), r.usage());
    } else if (event.has_request_failed()) {
      const v1::RequestFailed& r = event.request_failed();
      if (r.error_class() != v1::ERROR_CLASS_CANCELLED && r.code() != "expired" &&
          r.code() != "batch_expired") {
        bill(r.batch_key(), r.custom_id(), r.attempt(), r.usage());
      }
    }
  }
  CHECK(results == 2 * (10 + 2));  // each stage: 10 requests, q001 failing twice
  REQUIRE(expected > 0);
  const nlohmann::json manifest = harness.ManifestFile(*outcome);
  CAPTURE(manifest["cost"].dump());
  CHECK(manifest["cost"]["total"].get<double>() == Approx(expected).epsilon(1e-8));
  // Attempt 2 billed nothing (a server error carries no usage): attempts 1 and 3 cost.
  const nlohmann::json& by_attempt = manifest["workflows"]["math"]["stage_1"]["cost"]["by_attempt"];
  CHECK(by_attempt.size() == 2);
  CHECK(by_attempt.contains("1"));
  CHECK(by_attempt.contains("3"));
  const RunSummary summary = ReadRunSummary(harness.store(), outcome->run_id);
  CHECK(summary.known);
  CHECK(summary.succeeded == 20);
  CHECK(summary.requests == 20);
  CHECK(summary.cost == manifest["cost"]["total"].get<double>());
  auto projections = reader.ReplayTo(kLatestSeq);
  REQUIRE(projections.ok());
  CHECK(RenderCostLine(*projections).find("math/stage_2") != std::string::npos);
}

TEST_CASE("a fork re-runs only the later stage and its manifest cites the source run",
          "[audit][fork][engine]") {
  EngineHarness harness(
      "request_faults:\n  fail_first_attempts:\n    q001: {kind: server_error, attempts: 1}\n"
      "  always_fail:\n    q003: invalid_request\n");
  harness.WriteDataset("data.jsonl", 8);
  auto source = harness.Run(harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true)));
  REQUIRE(source.ok());
  REQUIRE(source->status == replay::RunStatus::kCompleted);
  const nlohmann::json before = harness.Stats();
  const nlohmann::json source_manifest = harness.ManifestFile(*source);

  const auto judge = harness.Write(
      "wf2.yaml", AuditWorkflowYaml("data.jsonl", true, "A NEW JUDGE: {{stage_1.text}}"));
  RunRequest request = harness.Request();
  request.run_id = "the-fork";
  auto fork = ForkRun(ForkOptions{.source_run_id = source->run_id,
                                  .from_stage = "stage_2",
                                  .workflow_file = judge},
                      request);
  REQUIRE(fork.ok());
  REQUIRE(fork->status == replay::RunStatus::kCompleted);

  // The emulator saw no new stage 1 submission, and every stage 2 request once more.
  const nlohmann::json after = harness.Stats();
  CHECK(after["openai"]["batches_created"] == before["openai"]["batches_created"]);
  CHECK(after["openai"]["submissions"] == before["openai"]["submissions"]);
  for (const auto& [id, count] : before["anthropic"]["submissions"].items()) {
    CAPTURE(id);
    CHECK(after["anthropic"]["submissions"][id].get<int>() == count.get<int>() + 1);
  }
  CHECK_FALSE(after["anthropic"]["submissions"].contains("q003"));

  const nlohmann::json manifest = harness.ManifestFile(*fork);
  CAPTURE(manifest.dump(2));
  CHECK(manifest["forked_from"]["run_id"] == source->run_id);
  CHECK(manifest["forked_from"]["from_stage"] == "stage_2");
  const nlohmann::json& stage_1 = manifest["workflows"]["math"]["stage_1"];
  CHECK(stage_1["carried_from"]["run_id"] == source->run_id);
  CHECK(stage_1["succeeded"] == source_manifest["workflows"]["math"]["stage_1"]["succeeded"]);
  CHECK(stage_1["final_failed_ids"] == nlohmann::json::array({"q003"}));
  CHECK(stage_1["cost"]["total"] == 0.0);  // paid by the source
  CHECK(source_manifest["workflows"]["math"]["stage_1"]["cost"]["total"].get<double>() > 0);
  CHECK(manifest["workflows"]["math"]["stage_2"]["succeeded"] == 7);
  CHECK(manifest["workflows"]["math"]["stage_2"]["cost"]["total"].get<double>() > 0);

  // The provenance seq is the source's StageCompleted of stage 1.
  const RunReader source_reader = OpenReader(harness, source->run_id);
  const std::uint64_t completed_seq = stage_1["carried_from"]["seq"].get<std::uint64_t>();
  bool is_stage_completed = false;
  REQUIRE(source_reader
              .VisitEvents(completed_seq, completed_seq,
                           [&](const v1::Event& event) {
                             is_stage_completed = event.has_stage_completed() &&
                                                  event.stage_completed().stage() == "stage_1";
                             return false;
                           })
              .ok());
  CHECK(is_stage_completed);

  // The fork's stage 2 was built from the carried answers with the new prompt.
  const RunReader reader = OpenReader(harness, fork->run_id);
  int new_prompts = 0;
  for (const v1::Event& event : AllEvents(reader)) {
    if (event.has_request_planned() && event.request_planned().stage() == "stage_2") {
      auto body = reader.ReadBlob(event.seq());
      REQUIRE(body.ok());
      new_prompts += body->find("A NEW JUDGE") != std::string::npos ? 1 : 0;
    }
  }
  CHECK(new_prompts == 7);
  const replay::AuditState history =
      HistoryOf(reader, replay::AuditSelection{.custom_ids = {"q001"}}, false);
  REQUIRE(history.summaries.size() == 2);
  CHECK(history.summaries[0].explanation.find("carried over from run " + source->run_id) !=
        std::string::npos);
  CHECK(history.summaries[1].state == "succeeded");

  SECTION("a fork from the first stage, or a stage that does not exist, is refused") {
    request.run_id = "bad-fork";
    CHECK(ForkRun(ForkOptions{.source_run_id = source->run_id, .from_stage = "stage_1"}, request)
              .status()
              .code() == base::StatusCode::kInvalidArgument);
    CHECK(ForkRun(ForkOptions{.source_run_id = source->run_id, .from_stage = "stage_9"}, request)
              .status()
              .code() == base::StatusCode::kInvalidArgument);
  }
}

// Starts a run and stops it as soon as a batch was submitted: the batch is in flight.
base::Result<RunOutcome> RunUntilSubmitted(const EngineHarness& harness,
                                           const std::filesystem::path& workflow,
                                           const std::string& run_id,
                                           std::shared_ptr<std::atomic<bool>> stop) {
  RunRequest request = harness.Request();
  request.run_id = run_id;
  request.stop = stop.get();
  request.on_progress = [stop](const replay::Projections& projections) {
    if (projections.run_state.counters.batches_submitted > 0) stop->store(true);
  };
  return StartRun(workflow, request);
}

TEST_CASE("cancel leaves no in-flight batch at the provider and ends the run for good",
          "[audit][cancel][engine]") {
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 6);
  const auto workflow = harness.Write("wf.yaml", AuditWorkflowYaml("data.jsonl", true));
  auto stop = std::make_shared<std::atomic<bool>>(false);
  auto stopped = RunUntilSubmitted(harness, workflow, "to-cancel", stop);
  REQUIRE(stopped.ok());
  REQUIRE(stopped->stopped);
  REQUIRE(testing::InFlightBatches(harness) > 0);

  SECTION("refused while another process writes the run") {
    auto store = store::Store::Open(harness.store(), false);
    REQUIRE(store.ok());
    auto writer = store->OpenRun("to-cancel", store::OpenMode::kReadWrite);
    REQUIRE(writer.ok());
    auto refused = CancelRun("to-cancel", CancelOptions{}, harness.Request());
    CHECK(refused.status().code() == base::StatusCode::kFailedPrecondition);
    CHECK(refused.status().message().find("Stop the process") != std::string::npos);
    CHECK(testing::InFlightBatches(harness) > 0);  // nothing was cancelled
  }

  SECTION("final") {
    auto cancelled = CancelRun("to-cancel", CancelOptions{.poll_s = 0.5}, harness.Request());
    REQUIRE(cancelled.ok());
    CHECK(cancelled->status == replay::RunStatus::kCancelled);
    CHECK(cancelled->cancel_requests >= 1);
    CHECK(cancelled->batches_still_open == 0);
    CHECK(testing::InFlightBatches(harness) == 0);
    const nlohmann::json manifest =
        nlohmann::json::parse(harness.ManifestFileText(RunOutcome{
            .run_id = "to-cancel", .manifest_path = cancelled->manifest_path}));
    CAPTURE(manifest.dump(2));
    CHECK(manifest["status"] == "cancelled");
    const nlohmann::json& stage_1 = manifest["workflows"]["math"]["stage_1"];
    CHECK(stage_1["final_failed_ids"].size() + stage_1["succeeded"].get<std::size_t>() == 6);
    CHECK(stage_1["in_flight"] == 0);
    CHECK(stage_1["cost"]["total"] == 0.0);  // nothing finished before the cancel
    // Resume leaves a run cancelled for good as it is.
    auto resumed = harness.Resume("to-cancel");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCancelled);
    CHECK(resumed->last_seq == cancelled->last_seq);
    CHECK(CancelRun("to-cancel", CancelOptions{}, harness.Request()).status().code() ==
          base::StatusCode::kFailedPrecondition);
  }

  SECTION("final, with a provider that refuses every cancel call: the run stays open") {
    // The harness's emulator has no faults; a second one answering every cancel with 500
    // stands in for an unreachable provider, through the same run.
    EngineHarness failing("control_faults:\n  - {operation: cancel, kind: server_error, "
                          "rate: 1.0}\n");
    RunRequest request = harness.Request();
    request.setup.base_url_override = failing.Request().setup.base_url_override;
    auto refused = CancelRun("to-cancel", CancelOptions{.wait_s = 1, .poll_s = 0.5}, request);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == base::StatusCode::kUnavailable);
    CHECK(refused.status().message().find("not marked cancelled") != std::string::npos);
    CHECK(refused.status().message().find("batchlog cancel to-cancel") != std::string::npos);
    // Nothing was closed (a cancelled run would refuse a second cancel): a cancel that
    // reaches the provider ends the run.
    auto cancelled = CancelRun("to-cancel", CancelOptions{.poll_s = 0.5}, harness.Request());
    REQUIRE(cancelled.ok());
    CHECK(cancelled->status == replay::RunStatus::kCancelled);
    CHECK(testing::InFlightBatches(harness) == 0);
  }

  SECTION("resumable: resume resubmits what the cancel stopped and completes") {
    auto cancelled = CancelRun("to-cancel", CancelOptions{.resumable = true, .poll_s = 0.5},
                               harness.Request());
    REQUIRE(cancelled.ok());
    CHECK(cancelled->status == replay::RunStatus::kCancelled);
    CHECK(cancelled->resumable);
    CHECK(testing::InFlightBatches(harness) == 0);
    auto resumed = harness.Resume("to-cancel");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
    const nlohmann::json manifest = harness.ManifestFile(*resumed);
    CAPTURE(manifest.dump(2));
    CHECK(manifest["workflows"]["math"]["stage_1"]["succeeded"] == 6);
    CHECK(manifest["workflows"]["math"]["stage_2"]["succeeded"] == 6);
    CHECK(manifest["workflows"]["math"]["stage_1"]["retry_attempts"] == 0);  // no retry used
    for (const auto& [id, count] : harness.Stats()["openai"]["submissions"].items()) {
      CAPTURE(id);
      CHECK(count.get<int>() == 2);  // the cancelled submission, then the resumed one
    }
    const RunReader reader = OpenReader(harness, "to-cancel");
    const replay::AuditState history =
        HistoryOf(reader, replay::AuditSelection{.custom_ids = {"q000"}, .stage = "stage_1"},
                  false);
    bool saw_cancel = false;
    bool saw_resume = false;
    for (const replay::AuditRow& row : history.rows) {
      saw_cancel = saw_cancel || (row.event == replay::AuditEvent::kRunCancelled && row.resumable);
      saw_resume = saw_resume || row.event == replay::AuditEvent::kRunResumed;
    }
    CHECK(saw_cancel);
    CHECK(saw_resume);
  }
}

}  // namespace
}  // namespace batchlog::orchestrator
