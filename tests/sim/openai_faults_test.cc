// Fault injection on the OpenAI side: every request-level kind, the batch-level faults and
// the control-plane faults, each decided by the fault plan.
#include <chrono>

#include <catch2/catch.hpp>

#include "tests/sim/sim_test_client.h"

namespace batchlog::sim {
namespace {

using nlohmann::json;
using testing::SimHarness;
using testing::SimResponse;

std::map<std::string, json> LinesById(SimHarness& harness, const json& file_id) {
  std::map<std::string, json> out;
  if (!file_id.is_string()) return out;
  for (const auto& line : testing::ParseJsonLines(harness.DownloadOrDie(file_id))) {
    out[line["custom_id"].get<std::string>()] = line;
  }
  return out;
}

TEST_CASE("each request-level fault kind has its OpenAI line shape", "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  auto& always = options.fault_plan.mutable_request_faults().always_fail;
  const std::vector<OutcomeKind> kinds = {OutcomeKind::kRateLimit,     OutcomeKind::kServerError,
                                          OutcomeKind::kOverloaded,    OutcomeKind::kTimeout,
                                          OutcomeKind::kExpired,       OutcomeKind::kContentFilter,
                                          OutcomeKind::kInvalidRequest};
  std::string input = testing::ChatLine("ok", "Paraphrase: fine") + "\n";
  for (const auto kind : kinds) {
    const std::string id(OutcomeKindName(kind));
    always[id] = kind;
    input += testing::ChatLine(id, "Paraphrase: " + id) + "\n";
  }
  SimHarness harness(options);
  const json batch = harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(input))["id"]);
  CHECK(batch["status"] == "completed");
  CHECK(batch["request_counts"] == json({{"total", 8}, {"completed", 2}, {"failed", 6}}));
  const auto output = LinesById(harness, batch["output_file_id"]);
  const auto errors = LinesById(harness, batch["error_file_id"]);
  REQUIRE(output.size() == 2);
  REQUIRE(errors.size() == 6);

  CHECK(output.at("ok")["response"]["body"]["choices"][0]["finish_reason"] == "stop");
  const json filtered = output.at("content_filter")["response"];
  CHECK(filtered["status_code"] == 200);
  CHECK(filtered["body"]["choices"][0]["finish_reason"] == "content_filter");

  const auto http_failure = [&](const std::string& id, int status, const char* code) {
    INFO(id);
    const json& line = errors.at(id);
    CHECK(line["id"].get<std::string>().rfind("batch_req_", 0) == 0);
    CHECK(line["error"].is_null());
    CHECK(line["response"]["status_code"] == status);
    const json& error = line["response"]["body"]["error"];
    for (const char* key : {"message", "type", "param", "code"}) CHECK(error.contains(key));
    if (code != nullptr) CHECK(error["code"] == code);
  };
  http_failure("rate_limit", 429, "rate_limit_exceeded");
  http_failure("server_error", 500, nullptr);
  http_failure("overloaded", 503, "server_is_overloaded");
  http_failure("invalid_request", 400, "context_length_exceeded");

  const auto non_http = [&](const std::string& id, const char* code) {
    INFO(id);
    const json& line = errors.at(id);
    CHECK(line["response"].is_null());
    CHECK(line["error"]["code"] == code);
    CHECK(line["error"]["message"].is_string());
  };
  non_http("timeout", "request_timeout");
  non_http("expired", "batch_expired");
}

TEST_CASE("a transient failure succeeds when the custom_id is submitted again",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  auto& faults = options.fault_plan.mutable_request_faults();
  faults.rates[static_cast<std::size_t>(OutcomeKind::kRateLimit)] = 1.0;
  faults.transient_attempts_max = 1;
  SimHarness harness(options);
  const std::string input = testing::ChatLines(5);
  json first = harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(input))["id"]);
  CHECK(first["request_counts"]["failed"] == 5);
  json second = harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(input))["id"]);
  CHECK(second["request_counts"]["completed"] == 5);
  CHECK(second["error_file_id"].is_null());
  const json stats = harness.client().Get("/_sim/stats").Json();
  CHECK(stats["openai"]["submissions"]["req-0"] == 2);
}

TEST_CASE("outcomes depend on (seed, custom_id, attempt), not on the batch",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.mutable_request_faults()
      .rates[static_cast<std::size_t>(OutcomeKind::kServerError)] = 0.5;
  const auto failed_ids = [&](const std::string& input) {
    SimHarness harness(options);
    const json batch = harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(input))["id"]);
    std::set<std::string> ids;
    for (const auto& [id, line] : LinesById(harness, batch["error_file_id"])) ids.insert(id);
    return ids;
  };
  // The same custom_ids in another order and with other prompts fail the same way.
  std::string reordered;
  for (int i = 29; i >= 0; --i) {
    reordered += testing::ChatLine("req-" + std::to_string(i), "other " + std::to_string(i)) + "\n";
  }
  const auto first = failed_ids(testing::ChatLines(30));
  CHECK_FALSE(first.empty());
  CHECK(first.size() < 30);
  CHECK(failed_ids(reordered) == first);
}

BatchFaultRule BatchRule(BatchFaultKind kind, double fraction = 0.5) {
  BatchFaultRule rule;
  rule.kind = kind;
  rule.batches = {1};
  rule.completed_fraction = fraction;
  return rule;
}

TEST_CASE("a validation_failure batch fault fails the first batch only", "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddBatchRule(BatchRule(BatchFaultKind::kValidationFailure));
  SimHarness harness(options);
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(3));
  const json failed = harness.RunToEnd(harness.CreateBatchOrDie(file_id)["id"], 1);
  CHECK(failed["status"] == "failed");
  CHECK(failed["errors"]["data"].size() == 1);
  CHECK(harness.RunToEnd(harness.CreateBatchOrDie(file_id)["id"], 1)["status"] == "completed");
}

TEST_CASE("a token_limit_exceeded batch fault fails the batch with that code",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddBatchRule(BatchRule(BatchFaultKind::kTokenLimitExceeded));
  SimHarness harness(options);
  const json batch = harness.RunToEnd(
      harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(3)))["id"], 1);
  CHECK(batch["status"] == "failed");
  const json& error = batch["errors"]["data"][0];
  CHECK(error["code"] == "token_limit_exceeded");
  CHECK(error["message"].get<std::string>().find("Enqueued token limit reached for gpt-4o-mini") !=
        std::string::npos);
  CHECK(harness.client().Get("/_sim/stats").Json()["openai"]["requests_submitted"] == 0);
}

TEST_CASE("an expire batch fault expires the batch with its fraction completed",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddBatchRule(BatchRule(BatchFaultKind::kExpire, 0.4));
  SimHarness harness(options);
  const std::string id =
      harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(10)))["id"];
  harness.Advance(3600);
  CHECK(harness.GetBatchOrDie(id)["status"] == "in_progress");
  const json batch = harness.RunToEnd(id, 3600);
  CHECK(batch["status"] == "expired");
  CHECK(batch["request_counts"] == json({{"total", 10}, {"completed", 4}, {"failed", 6}}));
  const auto errors = LinesById(harness, batch["error_file_id"]);
  REQUIRE(errors.size() == 6);
  CHECK(errors.begin()->second["error"]["code"] == "batch_expired");
}

TEST_CASE("a cancel batch fault cancels the batch part-way", "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddBatchRule(BatchRule(BatchFaultKind::kCancelByOther, 0.5));
  SimHarness harness(options);
  const json batch = harness.RunToEnd(
      harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(10)))["id"], 0.5);
  CHECK(batch["status"] == "cancelled");
  CHECK(batch["cancelling_at"].is_number_integer());
  CHECK(batch["request_counts"] == json({{"total", 10}, {"completed", 5}, {"failed", 5}}));
}

ControlFaultRule ControlRule(Operation operation, ControlFaultKind kind) {
  ControlFaultRule rule;
  rule.operation = operation;
  rule.kind = kind;
  rule.api = Api::kOpenAi;
  rule.calls = {1};
  return rule;
}

TEST_CASE("a rate_limit control fault answers 429 with Retry-After, then recovers",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  ControlFaultRule rule = ControlRule(Operation::kCreate, ControlFaultKind::kRateLimit);
  rule.retry_after_s = 7;
  options.fault_plan.AddControlRule(rule);
  SimHarness harness(options);
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(1));
  const json body = {{"input_file_id", file_id},
                     {"endpoint", "/v1/chat/completions"},
                     {"completion_window", "24h"}};
  const SimResponse limited = harness.client().PostJson("/v1/batches", body);
  CHECK(limited.status == 429);
  CHECK(limited.Header("Retry-After") == "7");
  CHECK(limited.Json()["error"]["code"] == "rate_limit_exceeded");
  CHECK(harness.client().Get("/v1/batches").Json()["data"].empty());
  CHECK(harness.client().PostJson("/v1/batches", body).status == 200);
}

TEST_CASE("server_error and overloaded control faults answer 500 and 503",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddControlRule(ControlRule(Operation::kGet, ControlFaultKind::kServerError));
  options.fault_plan.AddControlRule(ControlRule(Operation::kList, ControlFaultKind::kOverloaded));
  SimHarness harness(options);
  const SimResponse get = harness.client().Get("/v1/batches/batch_x");
  CHECK(get.status == 500);
  CHECK(get.Json()["error"]["type"] == "server_error");
  const SimResponse list = harness.client().Get("/v1/batches");
  CHECK(list.status == 503);
  CHECK(list.Json()["error"]["code"] == "server_is_overloaded");
  CHECK(harness.client().Get("/v1/batches").status == 200);
  CHECK(harness.client().Get("/v1/batches/batch_x").status == 404);
}

TEST_CASE("a connection_reset control fault closes the socket without a response",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddControlRule(
      ControlRule(Operation::kUpload, ControlFaultKind::kConnectionReset));
  SimHarness harness(options);
  const SimResponse reset = harness.client().UploadFile(testing::ChatLines(2));
  CHECK_FALSE(reset.ok);
  CHECK(harness.client().Get("/_sim/stats").Json()["openai"]["files_created"] == 0);
  CHECK(harness.client().UploadFile(testing::ChatLines(2)).status == 200);
}

TEST_CASE("a dropped create response still creates the batch", "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.AddControlRule(
      ControlRule(Operation::kCreate, ControlFaultKind::kDropResponse));
  SimHarness harness(options);
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(2));
  const SimResponse dropped =
      harness.client().PostJson("/v1/batches", {{"input_file_id", file_id},
                                                {"endpoint", "/v1/chat/completions"},
                                                {"completion_window", "24h"},
                                                {"metadata", {{"batchlog_batch_key", "bk-1"}}}});
  CHECK_FALSE(dropped.ok);
  const json list = harness.client().Get("/v1/batches").Json();
  REQUIRE(list["data"].size() == 1);
  CHECK(list["data"][0]["metadata"]["batchlog_batch_key"] == "bk-1");
}

TEST_CASE("a slow control fault delays the answer, which is otherwise normal",
          "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  ControlFaultRule rule = ControlRule(Operation::kList, ControlFaultKind::kSlow);
  rule.delay_ms = 150;
  options.fault_plan.AddControlRule(rule);
  SimHarness harness(options);
  const auto start = std::chrono::steady_clock::now();
  const SimResponse slow = harness.client().Get("/v1/batches");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(slow.status == 200);
  CHECK(elapsed >= std::chrono::milliseconds(150));
}

TEST_CASE("a truncate control fault cuts the results download short", "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  ControlFaultRule rule = ControlRule(Operation::kDownload, ControlFaultKind::kTruncate);
  rule.truncate_fraction = 0.5;
  options.fault_plan.AddControlRule(rule);
  SimHarness harness(options);
  const json batch =
      harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(50)))["id"]);
  const std::string path = "/v1/files/" + batch["output_file_id"].get<std::string>() + "/content";
  const SimResponse truncated = harness.client().Get(path);
  CHECK_FALSE(truncated.ok);
  const SimResponse full = harness.client().Get(path);
  REQUIRE(full.status == 200);
  CHECK(testing::ParseJsonLines(full.body).size() == 50);
}

TEST_CASE("a rate fault plan from YAML strikes polls at about its rate", "[sim][openai][faults]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  auto plan = FaultPlan::Parse(R"(
control_faults:
  - {operation: get, kind: server_error, rate: 0.5}
)");
  REQUIRE(plan.ok());
  options.fault_plan = *plan;
  SimHarness harness(options);
  const std::string id = harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(1)))["id"];
  int failures = 0;
  for (int i = 0; i < 40; ++i) {
    const int status = harness.client().Get("/v1/batches/" + id).status;
    CHECK((status == 200 || status == 500));
    if (status == 500) ++failures;
  }
  CHECK(failures > 5);
  CHECK(failures < 35);
  CHECK(harness.client().Get("/_sim/stats").Json()["openai"]["control_faults_injected"] ==
        failures);
}

}  // namespace
}  // namespace batchlog::sim
