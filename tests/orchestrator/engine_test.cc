// The engine end to end against the emulator (issue 5's acceptance): retries of only the
// failed requests with their custom_ids, permanent failures never resubmitted, batch-level
// failures on their own path, expiry, stage 2 from stage 1, and the manifest.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/run_started.h"
#include "tests/orchestrator/engine_test_support.h"
#include "tests/support/files.h"
#include "tests/support/workflow_yaml.h"

namespace batchlog::orchestrator {
namespace {

using testing::EngineHarness;
using testing::WorkflowYaml;

std::string Id(int i) {
  char id[16];
  std::snprintf(id, sizeof(id), "q%03d", i);
  return id;
}

// 10 of 100 fail transiently, 3 of those again on retry 1, 1 of those again on retry 2.
std::string TenThreeOnePlan(const std::string& kind) {
  std::string plan = "request_faults:\n  fail_first_attempts:\n";
  for (int i = 0; i < 10; ++i) {
    const int attempts = i == 0 ? 3 : i < 3 ? 2 : 1;
    plan += "    " + Id(i) + ": {kind: " + kind + ", attempts: " + std::to_string(attempts) + "}\n";
  }
  return plan;
}

// Runs a one-stage workflow of `samples` on `provider` as `run_id`; it must stop for a
// person: kFailedPrecondition, a message naming `cause` and the command to go on.
// `adjust` may change the request first.
void RunUntilOperatorStop(EngineHarness& harness, const std::string& provider,
                          const std::string& run_id, int samples, const std::string& cause,
                          const std::function<void(RunRequest&)>& adjust = {}) {
  harness.WriteDataset("data.jsonl", samples);
  const auto workflow = harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false, provider));
  RunRequest request = harness.Request();
  request.run_id = run_id;
  if (adjust) adjust(request);
  auto stopped = StartRun(workflow, request);
  REQUIRE_FALSE(stopped.ok());
  const std::string message = stopped.status().message();
  INFO(message);
  CHECK(stopped.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(message.find(cause) != std::string::npos);
  CHECK(message.find("batchlog resume " + run_id) != std::string::npos);
}

void CheckTenThreeOne(const std::string& provider, const std::string& api) {
  EngineHarness harness(TenThreeOnePlan("server_error"));
  harness.WriteDataset("data.jsonl", 100);
  const auto workflow =
      harness.Write("wf.yaml", WorkflowYaml("data.jsonl", /*two_stages=*/false, provider));
  auto outcome = harness.Run(workflow);
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);

  const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["total_requests"] == 100);
  CHECK(stage["succeeded"] == 99);
  CHECK(stage["total_failures"] == 10);
  CHECK(stage["recovered_by_retry"] == 9);
  CHECK(stage["retry_attempts"] == 2);
  CHECK(stage["retry_status"] == "exhausted");
  CHECK(stage["final_failed_ids"] == nlohmann::json::array({"q000"}));
  CHECK(stage["errors"].contains("q000"));
  CHECK(stage["batch_ids"].size() == 1);
  CHECK(stage["retry_batch_ids"].size() == 2);

  // Each retry batch held exactly the failed requests, under their original custom_ids.
  const nlohmann::json submissions = harness.Stats()[api]["submissions"];
  CHECK(submissions.size() == 100);
  for (int i = 0; i < 100; ++i) {
    const int expected = i < 3 ? 3 : i < 10 ? 2 : 1;
    CAPTURE(Id(i));
    CHECK(submissions[Id(i)] == expected);
  }
}

TEST_CASE("failed requests are retried as batches of only them, then abandoned when exhausted",
          "[orchestrator][engine]") {
  SECTION("OpenAI") { CheckTenThreeOne("oa", "openai"); }
  SECTION("Anthropic") { CheckTenThreeOne("an", "anthropic"); }
}

TEST_CASE("permanent failures are recorded with their code and never resubmitted",
          "[orchestrator][engine]") {
  EngineHarness harness(R"(
request_faults:
  always_fail:
    q001: invalid_request
    q002: content_filter
  fail_first_attempts:
    q003: {kind: rate_limit, attempts: 1}
)");
  harness.WriteDataset("data.jsonl", 8);
  auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false)));
  REQUIRE(outcome.ok());
  const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["succeeded"] == 6);
  CHECK(stage["final_failed_ids"] == nlohmann::json::array({"q001", "q002"}));
  CHECK(stage["errors"]["q002"] == "content_policy_violation");
  CHECK_FALSE(stage["errors"]["q001"].get<std::string>().empty());
  CHECK(stage["recovered_by_retry"] == 1);
  const nlohmann::json submissions = harness.Stats()["openai"]["submissions"];
  CHECK(submissions["q001"] == 1);
  CHECK(submissions["q002"] == 1);
  CHECK(submissions["q003"] == 2);  // the retryable one of the same batch, split out
}

// q004 fails permanently at stage 1, so no later stage has a request for it; q006 fails
// once with `kind`.
std::string Q004PermanentQ006Once(const std::string& kind) {
  return "request_faults:\n  always_fail:\n    q004: invalid_request\n"
         "  fail_first_attempts:\n    q006: {kind: " +
         kind + ", attempts: 1}\n";
}

TEST_CASE("stage 2 is built from stage 1's successes only, and retried the same way",
          "[orchestrator][engine]") {
  EngineHarness harness(Q004PermanentQ006Once("overloaded"));
  harness.WriteDataset("data.jsonl", 10);
  auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", true)));
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);
  const nlohmann::json workflow = harness.ManifestFile(*outcome)["workflows"]["math"];
  CAPTURE(workflow.dump(2));
  CHECK(workflow["stage_1"]["succeeded"] == 9);
  CHECK(workflow["stage_2"]["total_requests"] == 9);  // not q004
  CHECK(workflow["stage_2"]["succeeded"] == 9);
  CHECK(workflow["stage_2"]["recovered_by_retry"] == 1);  // q006 on the Anthropic side
  const nlohmann::json stats = harness.Stats();
  CHECK_FALSE(stats["anthropic"]["submissions"].contains("q004"));
  CHECK(stats["anthropic"]["submissions"]["q006"] == 2);

  // Stage 2's bodies carry stage 1's answers.
  auto reader = RunReader::Open(harness.store(), outcome->run_id);
  REQUIRE(reader.ok());
  bool saw_answer = false;
  REQUIRE(reader
              ->VisitEvents(1, kLatestSeq,
                            [&](const events::v1::Event& event) {
                              if (event.has_request_planned() &&
                                  event.request_planned().stage() == "stage_2") {
                                auto body = reader->ReadBlob(event.seq());
                                REQUIRE(body.ok());
                                saw_answer = body->find("Score 0-10: ") != std::string::npos &&
                                             body->find("plus") != std::string::npos;
                                return false;
                              }
                              return true;
                            })
              .ok());
  CHECK(saw_answer);
}

// A third stage reads the answers of both earlier stages. Small steps (4 events) make the
// executor read those answers in several chunks, and a retried stage-1 request puts its
// answer's seq out of order with its neighbours'.
TEST_CASE("a third stage gets each sample's own answers from both earlier stages",
          "[orchestrator][engine]") {
  EngineHarness harness(Q004PermanentQ006Once("server_error"));
  harness.WriteDataset("data.jsonl", 12);
  const std::string yaml = WorkflowYaml("data.jsonl", true) + R"(      - name: stage_3
        from: stage_2
        provider: oa
        body:
          model: gpt-4o-mini
          max_tokens: 64
          messages: [{role: user, content: "Echo: {{stage_1.text}} | {{stage_2.text}}"}]
)";
  ::setenv("BATCHLOG_EVENTS_PER_STEP", "4", 1);
  auto outcome = harness.Run(harness.Write("wf.yaml", yaml));
  ::unsetenv("BATCHLOG_EVENTS_PER_STEP");
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);
  const nlohmann::json workflow = harness.ManifestFile(*outcome)["workflows"]["math"];
  CAPTURE(workflow.dump(2));
  CHECK(workflow["stage_3"]["total_requests"] == 11);  // not q004
  CHECK(workflow["stage_3"]["succeeded"] == 11);

  // Every stage-3 body holds its own sample's stage-1 answer and stage-2 answer ("score: N").
  auto reader = RunReader::Open(harness.store(), outcome->run_id);
  REQUIRE(reader.ok());
  std::map<std::string, std::string> stage_2_score;
  std::map<std::string, std::string> stage_3_body;
  REQUIRE(reader
              ->VisitEvents(1, kLatestSeq,
                            [&](const events::v1::Event& event) {
                              if (event.has_request_planned()) {
                                const auto& planned = event.request_planned();
                                if (planned.stage() == "stage_3") {
                                  auto body = reader->ReadBlob(event.seq());
                                  REQUIRE(body.ok());
                                  stage_3_body[planned.custom_id()] = *body;
                                }
                              }
                              if (event.has_request_succeeded() &&
                                  event.request_succeeded().batch_key().find(":stage_2:") !=
                                      std::string::npos) {
                                auto body = reader->ReadBlob(event.seq());
                                REQUIRE(body.ok());
                                const auto at = body->find("score: ");
                                REQUIRE(at != std::string::npos);
                                stage_2_score[event.request_succeeded().custom_id()] =
                                    body->substr(at, body->find('"', at) - at);
                              }
                              return true;
                            })
              .ok());
  REQUIRE(stage_3_body.size() == 11);
  for (const auto& [custom_id, body] : stage_3_body) {
    CAPTURE(custom_id, body);
    const int n = std::stoi(custom_id.substr(1));
    CHECK(body.find("Echo: In other words, what is " + std::to_string(n) + " plus " +
                    std::to_string(n) + "? | " + stage_2_score.at(custom_id)) != std::string::npos);
  }
}

TEST_CASE("Anthropic prompt-cache reads and writes are recorded per result and priced",
          "[orchestrator][engine][cost]") {
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 10);
  batchlog::testing::WorkflowYamlSpec spec;
  spec.stage_1_provider = "an";
  spec.extra_defaults =
      "  prices:\n"
      "    gpt-4o-mini: {input_per_million: 3, output_per_million: 15,"
      " cached_input_per_million: 0.3, cache_write_input_per_million: 3.75}\n";
  // A system block marked for caching, shared by every request of the stage.
  std::string yaml = batchlog::testing::WorkflowYaml(spec);
  const std::string messages = "          messages: [";
  REQUIRE(yaml.find(messages) != std::string::npos);
  yaml.insert(yaml.find(messages),
              "          system: [{type: text, text: \"" + std::string(200, 'x') +
                  "\", cache_control: {type: ephemeral}}]\n");
  auto outcome = harness.Run(harness.Write("wf.yaml", yaml));
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);

  // The emulator answers one batch: its first request writes the 50-token prefix, the other
  // nine read it (docs/emulator.md, "Prompt caching").
  auto reader = RunReader::Open(harness.store(), outcome->run_id);
  REQUIRE(reader.ok());
  int writes = 0;
  int reads = 0;
  double expected = 0;
  const auto tokens = [](std::uint64_t count) { return static_cast<double>(count); };
  REQUIRE(reader
              ->VisitEvents(1, kLatestSeq,
                            [&](const events::v1::Event& event) {
                              if (!event.has_request_succeeded()) return true;
                              const events::v1::Usage& usage = event.request_succeeded().usage();
                              CAPTURE(usage.DebugString());
                              CHECK(usage.input_tokens() > 0);
                              if (usage.cache_write_input_tokens() == 50) ++writes;
                              if (usage.cached_input_tokens() == 50) ++reads;
                              expected += (tokens(usage.input_tokens()) * 3.0 +
                                           tokens(usage.cached_input_tokens()) * 0.3 +
                                           tokens(usage.cache_write_input_tokens()) * 3.75 +
                                           tokens(usage.output_tokens()) * 15.0) /
                                          1e6 * 0.5;
                              return true;
                            })
              .ok());
  CHECK(writes == 1);
  CHECK(reads == 9);
  const nlohmann::json manifest = harness.ManifestFile(*outcome);
  CAPTURE(manifest["cost"].dump());
  CHECK(manifest["cost"]["total"].get<double>() == Approx(expected).epsilon(1e-9));
  const nlohmann::json& usage = manifest["workflows"]["math"]["stage_1"]["usage"];
  CHECK(usage["cached_input_tokens"] == 9 * 50);
  CHECK(usage["cache_write_input_tokens"] == 50);
}

TEST_CASE("the manifest regenerated from the log equals the file, and resume changes nothing",
          "[orchestrator][engine]") {
  EngineHarness harness(TenThreeOnePlan("timeout"));
  harness.WriteDataset("data.jsonl", 20);
  auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", true)));
  REQUIRE(outcome.ok());
  const std::string file = harness.ManifestFileText(*outcome);
  auto reader = RunReader::Open(harness.store(), outcome->run_id);
  REQUIRE(reader.ok());
  auto regenerated = reader->Manifest(kLatestSeq);
  REQUIRE(regenerated.ok());
  CHECK(*regenerated == file);

  auto resumed = harness.Resume(outcome->run_id);
  REQUIRE(resumed.ok());
  CHECK(resumed->last_seq == outcome->last_seq);
  CHECK(harness.ManifestFileText(*outcome) == file);
}

TEST_CASE("a batch-level failure takes its own path and is not a request-level retry",
          "[orchestrator][engine]") {
  SECTION("validation failure: the batch's requests are abandoned, never resubmitted") {
    EngineHarness harness("batch_faults:\n  - {kind: validation_failure, batches: [1]}\n");
    harness.WriteDataset("data.jsonl", 5);
    auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false)));
    REQUIRE(outcome.ok());
    const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 0);
    CHECK(stage["final_failed_ids"].size() == 5);
    CHECK(stage["errors"]["q000"] == "batch_failed");
    CHECK(stage["retry_attempts"] == 0);
    CHECK(stage["total_failures"] == 0);
    CHECK(harness.Stats()["openai"]["batches_created"] == 1);
  }
  SECTION("token_limit_exceeded: the same requests are resubmitted later at the same attempt") {
    EngineHarness harness("batch_faults:\n  - {kind: token_limit_exceeded, batches: [1]}\n");
    harness.WriteDataset("data.jsonl", 5);
    auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false)));
    REQUIRE(outcome.ok());
    const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 5);
    CHECK(stage["retry_attempts"] == 0);
    CHECK(stage["total_failures"] == 0);
    CHECK(harness.Stats()["openai"]["batches_created"] == 2);
  }
  SECTION("token_limit_exceeded again and again with nothing else in flight: the run stops") {
    // A batch alone over the provider's limit never passes: after 3 such failures in a row
    // the run stops for a person instead of resubmitting it forever; nothing is abandoned
    // and resume submits the same requests (here the 4th batch passes).
    EngineHarness harness(
        "batch_faults:\n  - {kind: token_limit_exceeded, batches: [1, 2, 3]}\n");
    RunUntilOperatorStop(harness, "oa", "too-big", 5,
                         "token_limit_exceeded; the stage's batches failed so 3 times in a row");
    CHECK(harness.Stats()["openai"]["batches_created"] == 3);
    for (const events::v1::Event& event : EventsOf(harness, "too-big")) {
      CHECK_FALSE(event.has_requests_abandoned());
    }

    auto resumed = harness.Resume("too-big");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
    const nlohmann::json stage = harness.ManifestFile(*resumed)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 5);
    CHECK(stage["retry_attempts"] == 0);
    CHECK(harness.Stats()["openai"]["batches_created"] == 4);
  }
  SECTION("token_limit_exceeded declared permanent in the workflow file: abandoned") {
    EngineHarness harness("batch_faults:\n  - {kind: token_limit_exceeded, batches: [1]}\n");
    harness.WriteDataset("data.jsonl", 5);
    const std::string extra = "        error_classes: {permanent: [token_limit_exceeded]}\n";
    auto outcome =
        harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false, "oa", extra)));
    REQUIRE(outcome.ok());
    const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 0);
    CHECK(stage["final_failed_ids"].size() == 5);
    CHECK(stage["retry_attempts"] == 0);
    CHECK(harness.Stats()["openai"]["batches_created"] == 1);
  }
}

TEST_CASE("an expired batch keeps its completed results and retries the rest as expired",
          "[orchestrator][engine]") {
  // With or without lines for the requests that never ran: a request the files leave out is
  // recorded as the failure the batch's end implies.
  const std::string omit = GENERATE("false", "true");
  CAPTURE(omit);
  EngineHarness harness("batch_faults:\n  - {kind: expire, batches: [1], completed_fraction: 0.5, "
                        "omit_unrun_lines: " + omit + "}\n");
  harness.WriteDataset("data.jsonl", 10);
  auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false)));
  REQUIRE(outcome.ok());
  const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["succeeded"] == 10);
  CHECK(stage["total_failures"] == 5);
  CHECK(stage["recovered_by_retry"] == 5);
  CHECK(stage["retry_attempts"] == 1);
  const nlohmann::json submissions = harness.Stats()["openai"]["submissions"];
  int retried = 0;
  for (const auto& [id, count] : submissions.items()) retried += count.get<int>() == 2 ? 1 : 0;
  CHECK(retried == 5);
}

TEST_CASE("requests a finished batch's files leave out cost an attempt: cancelled ones end",
          "[orchestrator][engine]") {
  // Cancelled by someone else with half done: the other half ends cancelled, whether the
  // provider wrote batch_cancelled lines for them or nothing at all.
  const auto run = [](const std::string& omit) {
    EngineHarness harness("batch_faults:\n  - {kind: cancel, batches: [1], completed_fraction: "
                          "0.5, omit_unrun_lines: " + omit + "}\n");
    harness.WriteDataset("data.jsonl", 10);
    auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false)));
    REQUIRE(outcome.ok());
    CHECK(outcome->status == replay::RunStatus::kCompleted);
    CHECK(harness.Stats()["openai"]["batches_created"] == 1);
    // Without lines, batchlog recorded the five failures itself.
    int recorded_by_batchlog = 0;
    for (const events::v1::Event& event : testing::EventsOf(harness, outcome->run_id)) {
      recorded_by_batchlog +=
          event.has_request_failed() && event.request_failed().error_type() == "batchlog";
    }
    CHECK(recorded_by_batchlog == (omit == "true" ? 5 : 0));
    return harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
  };
  const nlohmann::json with_lines = run("false");
  const nlohmann::json without_lines = run("true");
  CAPTURE(with_lines.dump(2), without_lines.dump(2));
  CHECK(with_lines["succeeded"] == 5);
  CHECK(without_lines["succeeded"] == 5);
  CHECK(with_lines["final_failed_ids"].size() == 5);
  CHECK(without_lines["final_failed_ids"] == with_lines["final_failed_ids"]);
  CHECK(without_lines["errors"] == with_lines["errors"]);
  CHECK(without_lines["total_failures"] == with_lines["total_failures"]);
  CHECK(without_lines["retry_attempts"] == with_lines["retry_attempts"]);
}

TEST_CASE("the enqueued-token quota holds new batches until enqueued ones end",
          "[orchestrator][engine][quota]") {
  // 20 requests of about 30 estimated tokens, batches of 4, a quota of about 2.5 batches.
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 20);
  const std::string extra =
      "        batch_limits: {max_requests: 4}\n"
      "        quota: {enqueued_tokens: 300}\n";
  auto outcome =
      harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false, "oa", extra)));
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);
  CHECK(harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"]["succeeded"] == 20);

  // Replaying the log: the estimated tokens of batches planned and not yet ended never
  // exceed the quota, a hold was recorded and so was its end.
  auto reader = RunReader::Open(harness.store(), outcome->run_id);
  REQUIRE(reader.ok());
  std::map<std::string, std::uint64_t> open;  // batch_key -> estimated tokens
  std::uint64_t enqueued = 0;
  std::uint64_t peak = 0;
  int holds = 0;
  int releases = 0;
  int batches = 0;
  REQUIRE(reader
              ->VisitEvents(1, reader->last_seq(),
                            [&](const events::v1::Event& event) {
                              if (event.has_batch_planned()) {
                                const auto& planned = event.batch_planned();
                                CHECK(planned.estimated_input_tokens() > 0);
                                CHECK(planned.model() == "gpt-4o-mini");
                                open[planned.batch_key()] = planned.estimated_input_tokens();
                                enqueued += planned.estimated_input_tokens();
                                peak = std::max(peak, enqueued);
                                ++batches;
                              } else if (event.has_batch_ended()) {
                                enqueued -= open.at(event.batch_ended().batch_key());
                              } else if (event.has_quota_warning()) {
                                const auto& warning = event.quota_warning();
                                CHECK(warning.provider() == "oa");
                                CHECK(warning.model() == "gpt-4o-mini");
                                CHECK(warning.quota_tokens() == 300);
                                (warning.holding() ? holds : releases) += 1;
                              }
                              return true;
                            })
              .ok());
  INFO("peak " << peak << " tokens over " << batches << " batches");
  CHECK(peak <= 300);
  CHECK(peak > 150);  // more than one batch was in flight at once
  CHECK(batches >= 5);
  CHECK(holds >= 1);
  CHECK(releases >= 1);
}


TEST_CASE("a failure only an operator can cure stops the run, and resume retries it",
          "[orchestrator][engine][operator]") {
  const auto check = [](const std::string& provider, const std::string& api,
                        const std::string& code) {
    EngineHarness harness(R"(
request_faults:
  fail_first_attempts:
    q002: {kind: insufficient_quota, attempts: 1}
)");
    RunUntilOperatorStop(harness, provider, "billing", 6, code);
    // Nothing was retried yet: the request failed once and waits for the operator.
    CHECK(harness.Stats()[api]["submissions"]["q002"] == 1);

    auto resumed = harness.Resume("billing");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
    const nlohmann::json stage = harness.ManifestFile(*resumed)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 6);
    CHECK(stage["recovered_by_retry"] == 1);
    CHECK(harness.Stats()[api]["submissions"]["q002"] == 2);
  };
  SECTION("OpenAI") { check("oa", "openai", "insufficient_quota"); }
  SECTION("Anthropic") { check("an", "anthropic", "billing_error"); }
}

TEST_CASE("a create refused for credentials or billing stops the run with nothing spent",
          "[orchestrator][engine][operator]") {
  const auto check = [](const std::string& provider, const std::string& api,
                        const std::string& fault, const std::string& code) {
    CAPTURE(api, fault);
    EngineHarness harness("control_faults:\n  - {operation: create, kind: " + fault +
                          ", api: " + api + ", calls: [1]}\n");
    RunUntilOperatorStop(harness, provider, "refused", 6, code);
    CHECK(harness.Stats()[api]["batches_created"] == 0);

    // Nothing was abandoned and no attempt was spent; the refusal is on record with the
    // key's masked echo scrubbed.
    int rejected = 0;
    int abandoned = 0;
    for (const events::v1::Event& event : testing::EventsOf(harness, "refused")) {
      if (event.has_submit_rejected()) {
        ++rejected;
        const auto& refusal = event.submit_rejected();
        CHECK(refusal.error_class() == events::v1::ERROR_CLASS_OPERATOR_ACTION);
        CHECK(refusal.message().find("***") == std::string::npos);
        CHECK(refusal.message().find("test") == std::string::npos);
      }
      abandoned += event.has_requests_abandoned() ? 1 : 0;
    }
    CHECK(rejected == 1);
    CHECK(abandoned == 0);

    auto resumed = harness.Resume("refused");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
    const nlohmann::json stage = harness.ManifestFile(*resumed)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 6);
    CHECK(stage["retry_attempts"] == 0);
    CHECK(harness.Stats()[api]["batches_created"] == 1);
  };
  SECTION("OpenAI, key refused") { check("oa", "openai", "unauthorized", "invalid_api_key"); }
  SECTION("OpenAI, quota") { check("oa", "openai", "quota_exceeded", "insufficient_quota"); }
  SECTION("Anthropic, key refused") {
    check("an", "anthropic", "unauthorized", "authentication_error");
  }
  SECTION("Anthropic, billing") { check("an", "anthropic", "quota_exceeded", "billing_error"); }
}

TEST_CASE("a Retry-After on a poll longer than the transport waits delays the next poll",
          "[orchestrator][engine][retry_after]") {
  const auto check = [](const std::string& provider, const std::string& api) {
    CAPTURE(api);
    // The first poll is answered 429 with Retry-After 600 s: above the transport's own
    // ceiling (120 s), so the engine schedules the next poll itself, not at its 1 s backoff.
    EngineHarness harness("control_faults:\n  - {operation: get, kind: rate_limit, api: " + api +
                          ", calls: [1], retry_after_s: 600}\n");
    harness.WriteDataset("data.jsonl", 3);
    auto outcome =
        harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false, provider)));
    REQUIRE(outcome.ok());
    CHECK(outcome->status == replay::RunStatus::kCompleted);
    std::int64_t submitted_us = 0;
    std::int64_t ended_us = 0;
    for (const events::v1::Event& event : EventsOf(harness, outcome->run_id)) {
      if (event.has_batch_submitted()) submitted_us = event.recorded_at_unix_us();
      if (event.has_batch_ended()) ended_us = event.recorded_at_unix_us();
    }
    REQUIRE(submitted_us > 0);
    REQUIRE(ended_us > 0);
    CHECK(ended_us - submitted_us >= 600'000'000);
    CHECK(harness.Stats()[api]["control_calls"]["get"].get<int>() <= 4);
  };
  SECTION("OpenAI") { check("oa", "openai"); }
  SECTION("Anthropic") { check("an", "anthropic"); }
}

TEST_CASE("a create refused for a path the provider lacks stops the run, abandoning nothing",
          "[orchestrator][engine][operator]") {
  // A 404 to a batch create says the URL is wrong (a base_url without /v1), not that the
  // requests are: abandoning them would end the run "completed" with all of them lost.
  const auto check = [](const std::string& provider, const std::string& api) {
    CAPTURE(api);
    EngineHarness harness("control_faults:\n  - {operation: create, kind: not_found, api: " +
                          api + ", calls: [1]}\n");
    RunUntilOperatorStop(harness, provider, "nopath", 4, "base_url");
    for (const events::v1::Event& event : EventsOf(harness, "nopath")) {
      CHECK_FALSE(event.has_requests_abandoned());
    }
    auto resumed = harness.Resume("nopath");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
    CHECK(harness.ManifestFile(*resumed)["workflows"]["math"]["stage_1"]["succeeded"] == 4);
  };
  SECTION("OpenAI") { check("oa", "openai"); }
  SECTION("Anthropic") { check("an", "anthropic"); }
}

TEST_CASE("an OpenAI create refused with Cannot find file is waited out a few times",
          "[orchestrator][engine]") {
  SECTION("twice: the third create passes") {
    EngineHarness harness(
        "control_faults:\n  - {operation: create, kind: file_not_ready, calls: [1, 2]}\n");
    harness.WriteDataset("data.jsonl", 4);
    auto outcome = harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false)));
    REQUIRE(outcome.ok());
    CHECK(outcome->status == replay::RunStatus::kCompleted);
    const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
    CAPTURE(stage.dump(2));
    CHECK(stage["succeeded"] == 4);
    CHECK(stage["final_failed_ids"].empty());
    CHECK(harness.Stats()["openai"]["batches_created"] == 1);
  }
  SECTION("every time: the run stops for a person, nothing abandoned") {
    EngineHarness harness(
        "control_faults:\n  - {operation: create, kind: file_not_ready, calls: [1, 2, 3]}\n");
    RunUntilOperatorStop(harness, "oa", "nofile", 4, "3 times in a row");
    for (const events::v1::Event& event : EventsOf(harness, "nofile")) {
      CHECK_FALSE(event.has_requests_abandoned());
    }
    auto resumed = harness.Resume("nofile");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
  }
}

TEST_CASE("resume refuses a dataset that changed since the run started, and takes it back",
          "[orchestrator][engine][resume]") {
  // The run stops with its batch refused (quota); the dataset is then edited.
  EngineHarness harness(
      "control_faults:\n  - {operation: create, kind: quota_exceeded, api: openai, calls: [1]}\n");
  RunUntilOperatorStop(harness, "oa", "edited", 4, "insufficient_quota");
  const std::filesystem::path data = harness.dir() / "data.jsonl";
  const std::string original = batchlog::testing::ReadFileText(data);
  const std::vector<events::v1::Event> events = EventsOf(harness, "edited");
  REQUIRE(events.front().has_run_started());
  const auto& recorded = events.front().run_started().datasets();
  REQUIRE(recorded.size() == 1);
  CHECK(recorded[0].workflow() == "math");
  CHECK(recorded[0].bytes() == original.size());
  CHECK(recorded[0].sha256() == Sha256Hex(original));

  std::string edited = original;
  edited.replace(edited.find("plus"), 4, "times");
  batchlog::testing::WriteFileText(data, edited);
  auto refused = harness.Resume("edited");
  REQUIRE_FALSE(refused.ok());
  INFO(refused.status().message());
  CHECK(refused.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("the dataset of workflow 'math' changed") !=
        std::string::npos);
  CHECK(harness.Stats()["openai"]["batches_created"] == 0);

  batchlog::testing::WriteFileText(data, original);
  auto resumed = harness.Resume("edited");
  REQUIRE(resumed.ok());
  CHECK(resumed->status == replay::RunStatus::kCompleted);
}

TEST_CASE("a run against an in-process emulator (the demo) is never resumed",
          "[orchestrator][engine][resume]") {
  // Its providers died with the process; its workflow file names the real ones.
  EngineHarness harness(
      "control_faults:\n  - {operation: create, kind: quota_exceeded, api: openai, calls: [1]}\n");
  RunUntilOperatorStop(harness, "oa", "demo-like", 3, "insufficient_quota",
                       [](RunRequest& request) { request.in_process_emulator = true; });
  CHECK(EventsOf(harness, "demo-like").front().run_started().in_process_emulator());
  auto refused = harness.Resume("demo-like");
  REQUIRE_FALSE(refused.ok());
  INFO(refused.status().message());
  CHECK(refused.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("`batchlog demo` starts a new run") != std::string::npos);
  CHECK(harness.Stats()["openai"]["batches_created"] == 0);
}

TEST_CASE("a batch the provider no longer knows stops the run instead of polling forever",
          "[orchestrator][engine][operator]") {
  const auto check = [](const std::string& provider, const std::string& api) {
    CAPTURE(api);
    // Every poll answers 404 for a while; the run stops after three in a row.
    EngineHarness harness("control_faults:\n  - {operation: get, kind: not_found, api: " + api +
                          ", calls: [1, 2, 3]}\n");
    RunUntilOperatorStop(harness, provider, "gone", 5, "failed 3 times in a row: ");

    // The batch is still in flight in the log: resume polls it again (now found) and
    // ingests it, with nothing submitted twice.
    auto resumed = harness.Resume("gone");
    REQUIRE(resumed.ok());
    CHECK(resumed->status == replay::RunStatus::kCompleted);
    CHECK(harness.ManifestFile(*resumed)["workflows"]["math"]["stage_1"]["succeeded"] == 5);
    CHECK(harness.Stats()[api]["batches_created"] == 1);
    for (const auto& [id, count] : harness.Stats()[api]["submissions"].items()) {
      CAPTURE(id);
      CHECK(count == 1);
    }
  };
  SECTION("OpenAI") { check("oa", "openai"); }
  SECTION("Anthropic") { check("an", "anthropic"); }
}

TEST_CASE("a create that fails inside the server is reconciled, never created twice",
          "[orchestrator][engine][reconcile]") {
  // 500 and a gateway's 502 may come after the batch was made; a timeout (OpenAI 408,
  // Anthropic 504) too; all are looked up before any new create.
  const std::string fault = GENERATE("server_error", "bad_gateway", "timeout");
  const auto check = [&fault](const std::string& provider, const std::string& api) {
    CAPTURE(api, fault);
    EngineHarness harness("control_faults:\n  - {operation: create, kind: " + fault +
                          ", api: " + api + ", calls: [1]}\n");
    harness.WriteDataset("data.jsonl", 4);
    auto outcome =
        harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false, provider)));
    REQUIRE(outcome.ok());
    CHECK(outcome->status == replay::RunStatus::kCompleted);
    CHECK(harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"]["succeeded"] == 4);
    const nlohmann::json stats = harness.Stats()[api];
    CAPTURE(stats.dump());
    CHECK(stats["batches_created"] == 1);
    // The failed create made the engine look the batch up before creating it again (an
    // OpenAI 408 is a refusal, retried after a hold: no look-up needed).
    if (!(fault == "timeout" && api == "openai")) {
      CHECK(stats["control_calls"]["list"].get<int>() >= 1);
    }
  };
  SECTION("OpenAI") { check("oa", "openai"); }
  SECTION("Anthropic") { check("an", "anthropic"); }
}

TEST_CASE("a provider that never answers stops the run (exit 6) instead of holding it forever",
          "[orchestrator][engine][operator]") {
  EngineHarness harness;
  harness.WriteDataset("data.jsonl", 4);
  // The stage's own backoff is long; the calls to a provider that never answered are not
  // spaced by it (minutes before a typo in base_url is reported), but by a few seconds.
  const auto workflow = harness.Write(
      "wf.yaml", WorkflowYaml("data.jsonl", false, "oa",
                              "        retry: {initial_delay_s: 30, max_delay_s: 300}\n"));
  RunRequest request = harness.Request();
  request.run_id = "nowhere";
  request.setup.base_url_override = "http://127.0.0.1:1";  // nothing listens there
  const base::Timestamp start = harness.clock().Now();
  auto stopped = StartRun(workflow, request);
  REQUIRE_FALSE(stopped.ok());
  CHECK(harness.clock().Now() - start < std::chrono::seconds(60));
  INFO(stopped.status().message());
  CHECK(stopped.status().code() == base::StatusCode::kUnavailable);
  CHECK(stopped.status().message().find("has not answered any of its first 5 calls") !=
        std::string::npos);
  CHECK(stopped.status().message().find("batchlog resume nowhere") != std::string::npos);

  // With the right address the run goes on from its log.
  auto resumed = harness.Resume("nowhere");
  REQUIRE(resumed.ok());
  CHECK(resumed->status == replay::RunStatus::kCompleted);
  CHECK(harness.ManifestFile(*resumed)["workflows"]["math"]["stage_1"]["succeeded"] == 4);
}

TEST_CASE("a request over the batch byte limit on its own is never sent and is reported",
          "[orchestrator][engine]") {
  EngineHarness harness;
  std::string dataset;
  for (int i = 0; i < 4; ++i) {
    const std::string problem = i == 2 ? std::string(3000, 'x') : "What is " + std::to_string(i);
    dataset += R"({"id": "q00)" + std::to_string(i) + R"(", "problem": ")" + problem + "\"}\n";
  }
  harness.Write("data.jsonl", dataset);
  const std::string extra = "        batch_limits: {max_bytes: 2000}\n";
  auto outcome =
      harness.Run(harness.Write("wf.yaml", WorkflowYaml("data.jsonl", false, "oa", extra)));
  REQUIRE(outcome.ok());
  CHECK(outcome->status == replay::RunStatus::kCompleted);
  const nlohmann::json stage = harness.ManifestFile(*outcome)["workflows"]["math"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["succeeded"] == 3);
  CHECK(stage["final_failed_ids"] == nlohmann::json::array({"q002"}));
  CHECK(stage["errors"]["q002"] == "request_too_large");
  const nlohmann::json submissions = harness.Stats()["openai"]["submissions"];
  CHECK_FALSE(submissions.contains("q002"));
  CHECK(submissions.size() == 3);
}

}  // namespace
}  // namespace batchlog::orchestrator
