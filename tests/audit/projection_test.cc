// The audit projection, the cost accounting of the manifest projection and the manifest
// diff, on hand-built logs (no store, no provider): every expected figure is computed by
// hand in the test.
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "replay/audit_projection.h"
#include "replay/manifest_diff.h"
#include "replay/replayer.h"
#include "replay/snapshot_codec.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using batchlog::testing::EventSequenceBuilder;

Projections Fold(const std::vector<v1::Event>& events, std::size_t end) {
  Projections projections;
  Replayer replayer(projections);
  VectorEventSource source(events, 0, end);
  REQUIRE(replayer.Fold(source).ok());
  return projections;
}

AuditState Audit(const std::vector<v1::Event>& events, AuditSelection selection) {
  AuditState state;
  state.selection = std::move(selection);
  for (const v1::Event& event : events) REQUIRE(Apply(state, event).ok());
  FinishAudit(state);
  return state;
}

void AddPrice(v1::Event& started, const std::string& stage, const std::string& model,
              double input, double output, double discount) {
  v1::ModelPrice* price = started.mutable_run_started()->add_prices();
  price->set_workflow("math");
  price->set_stage(stage);
  price->set_model(model);
  price->set_input_per_million(input);
  price->set_output_per_million(output);
  price->set_batch_discount(discount);
}

void Planned(EventSequenceBuilder& log, const std::string& stage, const std::string& id,
             const std::string& model) {
  log.RequestPlanned("math", stage, id).mutable_request_planned()->set_model(model);
}

// q000 fails twice (server_error, then rate_limit_exceeded) and succeeds on attempt 3;
// q001 succeeds at once.
std::vector<v1::Event> FailedTwiceThenSucceeded() {
  EventSequenceBuilder log("audit-run");
  log.RunStarted();
  Planned(log, "stage_1", "q000", "gpt-4o-mini");
  Planned(log, "stage_1", "q001", "gpt-4o-mini");
  log.BatchPlanned("math:stage_1:a1:b000000", "math", "stage_1", {"q000", "q001"}, 1);
  log.BatchSubmitted("math:stage_1:a1:b000000", "batch_a1");
  v1::Event& polled = log.Append();
  polled.mutable_batch_polled()->set_batch_key("math:stage_1:a1:b000000");
  polled.mutable_batch_polled()->set_status(v1::BATCH_STATUS_IN_PROGRESS);
  polled.mutable_batch_polled()->mutable_counts()->set_total(2);
  log.BatchEnded("math:stage_1:a1:b000000");
  log.RequestFailed("math:stage_1:a1:b000000", "q000", 1, "server_error",
                    v1::ERROR_CLASS_RETRYABLE)
      .mutable_request_failed()
      ->set_http_status(500);
  log.RequestSucceeded("math:stage_1:a1:b000000", "q001", 1, 10, 5);
  log.ResultsIngested("math:stage_1:a1:b000000");
  v1::Event& retry_1 = log.RetryScheduled("math", "stage_1", {"q000"}, 2, log.now_unix_us() + 31);
  retry_1.mutable_retry_scheduled()->set_delay_s(31.5);
  retry_1.mutable_retry_scheduled()->set_jitter_factor(1.05);
  log.BatchPlanned("math:stage_1:a2:b000001", "math", "stage_1", {"q000"}, 2);
  log.BatchSubmitted("math:stage_1:a2:b000001", "batch_a2");
  log.BatchEnded("math:stage_1:a2:b000001");
  log.RequestFailed("math:stage_1:a2:b000001", "q000", 2, "rate_limit_exceeded",
                    v1::ERROR_CLASS_RETRYABLE)
      .mutable_request_failed()
      ->set_http_status(429);
  log.ResultsIngested("math:stage_1:a2:b000001");
  v1::Event& retry_2 = log.RetryScheduled("math", "stage_1", {"q000"}, 3, log.now_unix_us() + 61);
  retry_2.mutable_retry_scheduled()->set_delay_s(61.25);
  retry_2.mutable_retry_scheduled()->set_jitter_factor(1.02);
  log.BatchPlanned("math:stage_1:a3:b000002", "math", "stage_1", {"q000"}, 3);
  log.BatchSubmitted("math:stage_1:a3:b000002", "batch_a3");
  log.BatchEnded("math:stage_1:a3:b000002");
  log.RequestSucceeded("math:stage_1:a3:b000002", "q000", 3, 12, 6);
  log.ResultsIngested("math:stage_1:a3:b000002");
  log.StageCompleted("math", "stage_1");
  log.RunCompleted();
  return log.Take();
}

TEST_CASE("history of a request that failed twice then succeeded shows three attempts",
          "[audit][history]") {
  const std::vector<v1::Event> events = FailedTwiceThenSucceeded();
  REQUIRE(Fold(events, events.size()).run_state.lifecycle.run_status == RunStatus::kCompleted);
  const AuditState state = Audit(events, AuditSelection{.custom_ids = {"q000"}});

  std::vector<std::string> batches;
  std::vector<std::string> codes;
  std::vector<double> delays;
  std::vector<std::uint32_t> retry_attempts;
  for (const AuditRow& row : state.rows) {
    CHECK(row.custom_id != "q001");
    if (row.event == AuditEvent::kBatchPlanned) {
      batches.push_back(row.batch_key);
      CHECK(row.custom_ids == std::vector<std::string>{"q000"});
      CHECK(row.attempt == batches.size());
    }
    if (row.event == AuditEvent::kRequestFailed) codes.push_back(row.code);
    if (row.event == AuditEvent::kRetryScheduled) {
      delays.push_back(row.delay_s);
      retry_attempts.push_back(row.attempt);
    }
  }
  CHECK(batches == std::vector<std::string>{"math:stage_1:a1:b000000", "math:stage_1:a2:b000001",
                                            "math:stage_1:a3:b000002"});
  CHECK(codes == std::vector<std::string>{"server_error", "rate_limit_exceeded"});
  CHECK(delays == std::vector<double>{31.5, 61.25});
  CHECK(retry_attempts == std::vector<std::uint32_t>{2, 3});
  REQUIRE(state.summaries.size() == 1);
  CHECK(state.summaries[0].state == "succeeded");
  CHECK(state.summaries[0].attempts == 3);
  CHECK(state.summaries[0].failures == 2);
  CHECK(state.summaries[0].provider_batch_id == "batch_a3");

  const std::string jsonl = RenderAuditJsonl(state);
  CAPTURE(jsonl);
  CHECK(jsonl.find(R"("event":"request_failed")") != std::string::npos);
  CHECK(jsonl.find(R"("http_status":429)") != std::string::npos);
  CHECK(jsonl.find(R"("provider_batch_id":"batch_a2")") != std::string::npos);
  const std::string table = RenderAuditTable(state);
  CAPTURE(table);
  CHECK(table.find("succeeded on attempt 3") != std::string::npos);
  CHECK(table.find("after 2 failed attempts") != std::string::npos);
}

TEST_CASE("history marks a failure whose code no classification rule knew", "[audit][history]") {
  std::vector<v1::Event> events = FailedTwiceThenSucceeded();
  for (v1::Event& event : events) {
    if (event.has_request_failed() && event.request_failed().attempt() == 1) {
      event.mutable_request_failed()->set_code("weird_code");
      event.mutable_request_failed()->set_unknown_code(true);
    }
  }
  const AuditState state = Audit(events, AuditSelection{.custom_ids = {"q000"}});
  const std::string table = RenderAuditTable(state);
  CAPTURE(table);
  CHECK(table.find("weird_code (retryable: an unknown code") != std::string::npos);
  CHECK(table.find("rate_limit_exceeded (retryable, http 429") != std::string::npos);
  const std::string jsonl = RenderAuditJsonl(state);
  CAPTURE(jsonl);
  CHECK(jsonl.find(R"("code":"weird_code","error_class":"retryable","unknown_code":true)") !=
        std::string::npos);
}

TEST_CASE("a batch selection keeps only that batch's events and results", "[audit][history]") {
  const std::vector<v1::Event> events = FailedTwiceThenSucceeded();
  const AuditState state =
      Audit(events, AuditSelection{.batch_key = "math:stage_1:a1:b000000"});
  std::vector<std::string> results;
  for (const AuditRow& row : state.rows) {
    if (!row.batch_key.empty()) CHECK(row.batch_key == "math:stage_1:a1:b000000");
    CHECK(row.event != AuditEvent::kRetryScheduled);
    if (row.event == AuditEvent::kRequestFailed || row.event == AuditEvent::kRequestSucceeded) {
      results.push_back(row.custom_id);
    }
  }
  CHECK(results == std::vector<std::string>{"q000", "q001"});
  CHECK(state.summaries.empty());
}

TEST_CASE("a re-ingested result is shown as a duplicate and counted once", "[audit][cost]") {
  EventSequenceBuilder log("dup-run");
  AddPrice(log.RunStarted(), "stage_1", "m", 1'000'000, 0, 0);  // one unit per input token
  Planned(log, "stage_1", "q000", "m");
  log.BatchPlanned("b1", "math", "stage_1", {"q000"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  log.RequestSucceeded("b1", "q000", 1, 7, 0);
  log.RequestSucceeded("b1", "q000", 1, 7, 0);  // a resume downloaded the file again
  log.ResultsIngested("b1");
  const std::vector<v1::Event> events = log.Take();
  const Projections projections = Fold(events, events.size());
  CHECK(ComputeCost(projections).total == 7.0);
  const AuditState state = Audit(events, AuditSelection{.custom_ids = {"q000"}});
  int duplicates = 0;
  for (const AuditRow& row : state.rows) duplicates += row.duplicate ? 1 : 0;
  CHECK(duplicates == 1);
}

// The hand-computed case: two stages, one model priced differently per stage, one model
// without a price, billed failures, an expired and a cancelled attempt with usage, and a
// re-ingested success.
std::vector<v1::Event> CostLog() {
  EventSequenceBuilder log("cost-run");
  v1::Event& started = log.RunStarted();
  AddPrice(started, "stage_1", "model-a", 2.0, 4.0, 0.5);
  AddPrice(started, "stage_2", "model-a", 10.0, 20.0, 0.0);
  for (const char* id : {"q1", "q2", "q3", "q4"}) Planned(log, "stage_1", id, "model-a");
  Planned(log, "stage_1", "q5", "model-b");
  log.BatchPlanned("b1", "math", "stage_1", {"q1", "q2", "q3", "q4", "q5"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  log.RequestSucceeded("b1", "q1", 1, 100, 50);
  log.RequestFailed("b1", "q2", 1, "rate_limit_exceeded", v1::ERROR_CLASS_RETRYABLE);
  log.RequestFailed("b1", "q3", 1, "content_policy_violation", v1::ERROR_CLASS_PERMANENT, 30,
                    10);
  log.RequestFailed("b1", "q4", 1, "expired", v1::ERROR_CLASS_RETRYABLE, 40, 40);
  log.RequestSucceeded("b1", "q5", 1, 1000, 1000);
  log.RequestSucceeded("b1", "q1", 1, 100, 50);  // re-ingested: not counted again
  log.ResultsIngested("b1");
  log.RetryScheduled("math", "stage_1", {"q2", "q4"}, 2, log.now_unix_us());
  log.BatchPlanned("b2", "math", "stage_1", {"q2", "q4"}, 2);
  log.BatchSubmitted("b2", "batch_2");
  log.BatchEnded("b2", v1::BATCH_STATUS_CANCELLED);
  log.RequestSucceeded("b2", "q2", 2, 200, 100);
  log.RequestFailed("b2", "q4", 2, "batch_cancelled", v1::ERROR_CLASS_CANCELLED, 5, 5);
  log.ResultsIngested("b2");
  log.StageCompleted("math", "stage_1");
  Planned(log, "stage_2", "q1", "model-a");
  log.BatchPlanned("b3", "math", "stage_2", {"q1"}, 1);
  log.BatchSubmitted("b3", "batch_3");
  log.BatchEnded("b3");
  log.RequestSucceeded("b3", "q1", 1, 10, 10);
  log.ResultsIngested("b3");
  log.StageCompleted("math", "stage_2");
  log.RunCompleted();
  return log.Take();
}

TEST_CASE("cost equals the hand-computed sum over billed attempts", "[audit][cost]") {
  const std::vector<v1::Event> events = CostLog();
  const Projections projections = Fold(events, events.size());
  const ManifestCost cost = ComputeCost(projections);
  // stage_1, attempt 1: q1 100/50 + q3 30/10 (a billed failure) at 2/4 per million, half
  // off: (130 * 2 + 60 * 4) / 1e6 * 0.5. The expired q4 and the re-ingested q1 cost nothing;
  // q5's model has no price.
  const double attempt_1 = (130 * 2.0 + 60 * 4.0) / 1e6 * 0.5;
  // stage_1, attempt 2: q2 200/100; the cancelled q4 costs nothing.
  const double attempt_2 = (200 * 2.0 + 100 * 4.0) / 1e6 * 0.5;
  // stage_2: q1 10/10 at the stage's own price of the same model, no discount.
  const double stage_2 = (10 * 10.0 + 10 * 20.0) / 1e6;
  REQUIRE(cost.stages.size() == 2);
  CHECK(cost.stages[0].total == Approx(attempt_1 + attempt_2).epsilon(1e-12));
  REQUIRE(cost.stages[0].by_attempt.size() == 2);
  CHECK(cost.stages[0].by_attempt[0].second == Approx(attempt_1).epsilon(1e-12));
  CHECK(cost.stages[0].by_attempt[1].second == Approx(attempt_2).epsilon(1e-12));
  CHECK(cost.stages[0].unpriced_input_tokens == 1000);
  CHECK(cost.stages[0].unpriced_output_tokens == 1000);
  CHECK(cost.stages[1].total == Approx(stage_2).epsilon(1e-12));
  CHECK(cost.total == Approx(attempt_1 + attempt_2 + stage_2).epsilon(1e-12));

  const nlohmann::json manifest =
      nlohmann::json::parse(RenderManifestJson(projections));
  CAPTURE(manifest.dump(2));
  CHECK(manifest["cost"]["total"].get<double>() == Approx(0.00095).epsilon(1e-9));
  CHECK(manifest["cost"]["by_workflow"]["math"].get<double>() == Approx(0.00095).epsilon(1e-9));
  const nlohmann::json& stage_1 = manifest["workflows"]["math"]["stage_1"];
  CHECK(stage_1["cost"]["total"].get<double>() == Approx(0.00065).epsilon(1e-9));
  CHECK(stage_1["cost"]["by_attempt"]["1"].get<double>() == Approx(0.00025).epsilon(1e-9));
  CHECK(stage_1["cost"]["by_attempt"]["2"].get<double>() == Approx(0.0004).epsilon(1e-9));
  CHECK(stage_1["cost"]["unpriced_tokens"]["input_tokens"] == 1000);
  // usage keeps every recorded result's tokens (duplicates once), billed or not.
  CHECK(stage_1["usage"]["input_tokens"] == 100 + 30 + 40 + 1000 + 200 + 5);
}

// Three stages of one model, each with 1,000 input tokens of which 600 were read from a
// prompt cache, and 100 output tokens: stage_1 priced OpenAI-style (cached tokens counted
// inside input_tokens), stage_2 Anthropic-style (reported beside it, so input_tokens is
// 400) with 200 more written to the cache at a cache-write rate, stage_3 with no cached or
// cache-write rate and also 200 written.
std::vector<v1::Event> CachedInputLog() {
  EventSequenceBuilder log("cached-run");
  v1::Event& started = log.RunStarted();
  AddPrice(started, "stage_1", "m", 2.0, 8.0, 0.5);
  AddPrice(started, "stage_2", "m", 3.0, 15.0, 0.5);
  AddPrice(started, "stage_3", "m", 2.0, 8.0, 0.5);
  auto& prices = *started.mutable_run_started()->mutable_prices();
  prices[0].set_cached_input_per_million(1.0);
  prices[0].set_cached_in_input(true);
  prices[1].set_cached_input_per_million(0.3);
  prices[1].set_cached_in_input(false);
  prices[1].set_cache_write_input_per_million(3.75);
  int batch = 0;
  for (const auto& [stage, input] : {std::pair<std::string, int>{"stage_1", 1000},
                                     {"stage_2", 400}, {"stage_3", 1000}}) {
    const std::string key = "b" + std::to_string(++batch);
    Planned(log, stage, "q" + stage, "m");
    log.BatchPlanned(key, "math", stage, {"q" + stage}, 1);
    log.BatchSubmitted(key, "batch_" + key);
    log.BatchEnded(key);
    v1::Event& succeeded = log.RequestSucceeded(key, "q" + stage, 1, input, 100);
    v1::Usage* usage = succeeded.mutable_request_succeeded()->mutable_usage();
    usage->set_cached_input_tokens(600);
    if (stage != "stage_1") usage->set_cache_write_input_tokens(200);
    log.ResultsIngested(key);
  }
  return log.Take();
}

TEST_CASE("cached input tokens are billed at the cached rate, as the provider counts them",
          "[audit][cost]") {
  const std::vector<v1::Event> events = CachedInputLog();
  const Projections projections = Fold(events, events.size());
  const ManifestCost cost = ComputeCost(projections);
  REQUIRE(cost.stages.size() == 3);
  // OpenAI-style: 400 uncached at 2, 600 cached at 1, 100 out at 8; half off.
  CHECK(cost.stages[0].total == Approx((400 * 2.0 + 600 * 1.0 + 100 * 8.0) / 1e6 * 0.5));
  // Anthropic-style: 400 input at 3, plus 600 cache reads at 0.3 and 200 cache writes at
  // 3.75, 100 out at 15; half off.
  CHECK(cost.stages[1].total ==
        Approx((400 * 3.0 + 600 * 0.3 + 200 * 3.75 + 100 * 15.0) / 1e6 * 0.5));
  // No cached rate: input_tokens at the input price, as before the rate existed; no
  // cache-write rate: the 200 written at the input price too.
  CHECK(cost.stages[2].total == Approx((1000 * 2.0 + 200 * 2.0 + 100 * 8.0) / 1e6 * 0.5));

  // The snapshot keeps the rates and the cached and cache-write counts.
  auto decoded = DecodeSnapshot(EncodeSnapshot(projections));
  REQUIRE(decoded.ok());
  CHECK(*decoded == projections);
  CHECK(RenderManifestJson(*decoded) == RenderManifestJson(projections));
}

TEST_CASE("a snapshot anywhere in the log keeps the cost and the audit index",
          "[audit][cost][snapshot]") {
  const std::vector<v1::Event> events = CostLog();
  const Projections full = Fold(events, events.size());
  for (std::size_t cut = 1; cut < events.size(); ++cut) {
    CAPTURE(cut);
    const Projections head = Fold(events, cut);
    auto decoded = DecodeSnapshot(EncodeSnapshot(head));
    REQUIRE(decoded.ok());
    CHECK(*decoded == head);
    Projections resumed = std::move(decoded).value();
    Replayer replayer(resumed);
    VectorEventSource tail(events, cut, events.size());
    REQUIRE(replayer.Fold(tail).ok());
    CHECK(resumed == full);
    CHECK(RenderManifestJson(resumed) == RenderManifestJson(full));
  }
}

TEST_CASE("the manifest diff lists counts, state changes and cost between two seqs",
          "[audit][diff]") {
  const std::vector<v1::Event> events = CostLog();
  // After the first batch's results (seq of ResultsIngested b1) and at the end.
  std::size_t first_ingested = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].has_results_ingested()) {
      first_ingested = i + 1;
      break;
    }
  }
  const Projections a = Fold(events, first_ingested);
  const Projections b = Fold(events, events.size());
  const ManifestDiff diff = DiffManifests(a, b);
  CHECK(diff.seq_a == first_ingested);
  CHECK(diff.seq_b == events.size());
  REQUIRE(diff.stages.size() == 2);
  const StageDiff& stage_1 = diff.stages[0];
  CHECK(stage_1.counts_a[1] == 2);  // succeeded: q1, q5
  CHECK(stage_1.counts_b[1] == 3);  // + q2
  REQUIRE(stage_1.changes.size() == 2);
  CHECK(stage_1.changes[0].custom_id == "q2");
  CHECK(stage_1.changes[0].from == "failed_retryable_waiting");
  CHECK(stage_1.changes[0].to == "succeeded");
  CHECK(stage_1.changes[1].custom_id == "q4");
  CHECK(stage_1.changes[1].to == "failed_final");
  CHECK(stage_1.changes[1].error == "batch_cancelled");
  CHECK(stage_1.new_batch_ids == std::vector<std::string>{"batch_2"});
  CHECK_FALSE(stage_1.completed_a);
  CHECK(stage_1.completed_b);
  const StageDiff& stage_2 = diff.stages[1];
  CHECK_FALSE(stage_2.in_a);
  REQUIRE(stage_2.changes.size() == 1);
  CHECK(stage_2.changes[0].from == "not_planned");
  const std::string text = RenderManifestDiffText(diff, 20);
  CAPTURE(text);
  CHECK(text.find("failed_retryable_waiting -> succeeded (1): q2") != std::string::npos);
  CHECK(text.find("math/stage_2 (new) (completed)") != std::string::npos);
  CHECK(nlohmann::json::parse(RenderManifestDiffJson(diff))["stages"].size() == 2);
  // Backwards, the same changes read the other way.
  const ManifestDiff back = DiffManifests(b, a);
  REQUIRE(back.stages.size() == 2);
  CHECK(back.stages[1].changes[0].to == "not_planned");
}

// A run of math/stage_1 with q0 and q1 submitted together in batch b1 (provider batch_1).
void SubmitTwoRequests(EventSequenceBuilder& log) {
  log.RunStarted();
  Planned(log, "stage_1", "q0", "m");
  Planned(log, "stage_1", "q1", "m");
  log.BatchPlanned("b1", "math", "stage_1", {"q0", "q1"}, 1);
  log.BatchSubmitted("b1", "batch_1");
}

TEST_CASE("a resumed run plans again the requests a resumable cancel stopped",
          "[audit][cancel]") {
  EventSequenceBuilder log("cancel-run");
  SubmitTwoRequests(log);
  log.BatchEnded("b1", v1::BATCH_STATUS_CANCELLED);
  log.RequestSucceeded("b1", "q0", 1);
  log.RequestFailed("b1", "q1", 1, "batch_cancelled", v1::ERROR_CLASS_CANCELLED);
  log.ResultsIngested("b1");
  v1::Event& cancelled = log.Append();
  cancelled.mutable_run_cancelled()->set_resumable(true);
  log.Append().mutable_run_resumed()->set_reason("batchlog resume");
  std::vector<v1::Event> events = log.Take();
  const Projections projections = Fold(events, events.size());
  const Lifecycle& lifecycle = projections.run_state.lifecycle;
  CHECK(lifecycle.run_status == RunStatus::kRunning);
  CHECK(lifecycle.requests.status[0] == RequestStatus::kSucceeded);
  CHECK(lifecycle.requests.status[1] == RequestStatus::kPlanned);
  CHECK(lifecycle.requests.attempt[1] == 1);  // a cancel uses up no retry

  // A final cancel cannot be resumed.
  events[events.size() - 2].mutable_run_cancelled()->set_resumable(false);
  Projections refused;
  Replayer replayer(refused);
  VectorEventSource source(events);
  const base::Status status = replayer.Fold(source);
  CHECK(status.code() == base::StatusCode::kDataLoss);
  CHECK(status.message().find("not resumable") != std::string::npos);
}

TEST_CASE("a request that failed, then was stopped by a final cancel, keeps its own error",
          "[audit][cancel]") {
  EventSequenceBuilder log("cancel-run");
  SubmitTwoRequests(log);
  log.BatchEnded("b1");
  log.RequestFailed("b1", "q0", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RequestFailed("b1", "q1", 1, "batch_cancelled", v1::ERROR_CLASS_CANCELLED);
  log.ResultsIngested("b1");
  log.RequestsAbandoned("math", "stage_1", {"q0", "q1"}, v1::ABANDON_REASON_CANCELLED);
  const std::vector<v1::Event> events = log.Take();
  const AuditState state = Audit(events, AuditSelection{.custom_ids = {"q0", "q1"}});
  REQUIRE(state.summaries.size() == 2);
  for (const AuditSummary& summary : state.summaries) {
    CAPTURE(summary.custom_id, summary.explanation);
    CHECK(summary.state == "failed_final");
    if (summary.custom_id == "q0") {
      CHECK(summary.code == "server_error");
      CHECK(summary.explanation.find("failed on attempt 1 (server_error") != std::string::npos);
      CHECK(summary.explanation.find("cancelled, so it was not retried") != std::string::npos);
    } else {
      CHECK(summary.code == "cancelled");
      CHECK(summary.explanation.find("never processed") != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace batchlog::replay
