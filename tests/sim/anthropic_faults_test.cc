// Fault injection on the Anthropic path: request-level outcomes in the results file,
// batch-level faults, and control-plane faults per operation (docs/emulator.md).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/sim/fault_plan.h"
#include "tests/sim/anthropic_test_support.h"
#include "tests/sim/sim_test_client.h"

namespace batchlog::sim::testing {
namespace {

std::uint64_t TestSeed() {
  const char* text = std::getenv("BATCHLOG_SEED");
  const std::uint64_t seed = text != nullptr ? std::strtoull(text, nullptr, 10) : 20260301;
  std::cout << "BATCHLOG_SEED=" << seed << "\n";
  return seed;
}

void AddControlRule(EmulatorOptions& options, Operation operation, ControlFaultKind kind,
                    std::vector<std::int64_t> calls) {
  ControlFaultRule rule;
  rule.operation = operation;
  rule.kind = kind;
  rule.api = Api::kAnthropic;
  rule.calls = std::move(calls);
  rule.retry_after_s = 7;
  rule.delay_ms = 60;
  rule.truncate_fraction = 0.5;
  options.fault_plan.AddControlRule(rule);
}

void AddBatchRule(EmulatorOptions& options, BatchFaultKind kind, double completed_fraction) {
  BatchFaultRule rule;
  rule.kind = kind;
  rule.api = Api::kAnthropic;
  rule.batches = {1};
  rule.completed_fraction = completed_fraction;
  options.fault_plan.AddBatchRule(rule);
}

}  // namespace

TEST_CASE("each request outcome kind has its Anthropic result shape", "[sim][anthropic]") {
  struct Expectation {
    OutcomeKind kind;
    std::string result_type;
    std::string detail;  // inner error type, or stop_reason for succeeded
  };
  const std::vector<Expectation> table = {
      {OutcomeKind::kNone, "succeeded", "end_turn"},
      {OutcomeKind::kContentFilter, "succeeded", "refusal"},
      {OutcomeKind::kRateLimit, "errored", "rate_limit_error"},
      {OutcomeKind::kServerError, "errored", "api_error"},
      {OutcomeKind::kOverloaded, "errored", "overloaded_error"},
      {OutcomeKind::kTimeout, "errored", "timeout_error"},
      {OutcomeKind::kInvalidRequest, "errored", "invalid_request_error"},
      {OutcomeKind::kExpired, "expired", ""},
  };
  AnthropicSim sim([&](EmulatorOptions& options) {
    for (const auto& row : table) {
      if (row.kind == OutcomeKind::kNone) continue;
      options.fault_plan.mutable_request_faults().always_fail.emplace(
          std::string(OutcomeKindName(row.kind)), row.kind);
    }
  });
  nlohmann::json requests = nlohmann::json::array();
  for (const auto& row : table) {
    requests.push_back(
        AnthropicRequest(std::string(OutcomeKindName(row.kind)), "Paraphrase: A test."));
  }
  const std::string id = sim.Create({{"requests", requests}})["id"];
  sim.AdvanceSeconds(10);

  const nlohmann::json batch = sim.Retrieve(id);
  INFO(batch.dump());
  CHECK(batch["request_counts"]["succeeded"] == 2);
  CHECK(batch["request_counts"]["errored"] == 5);
  CHECK(batch["request_counts"]["expired"] == 1);
  CHECK(batch["request_counts"]["canceled"] == 0);
  CHECK(batch["request_counts"]["processing"] == 0);

  const std::vector<nlohmann::json> lines = sim.Results(id);
  REQUIRE(lines.size() == table.size());
  for (const auto& row : table) {
    const std::string custom_id(OutcomeKindName(row.kind));
    CAPTURE(custom_id);
    const nlohmann::json* line = FindLine(lines, custom_id);
    REQUIRE(line != nullptr);
    const nlohmann::json& result = (*line)["result"];
    CHECK(result["type"] == row.result_type);
    if (row.result_type == "succeeded") {
      CHECK(result["message"]["stop_reason"] == row.detail);
      CHECK(result["message"]["content"][0]["type"] == "text");
      CHECK(result["message"]["usage"]["output_tokens"].get<int>() > 0);
    } else if (row.result_type == "errored") {
      CHECK(result["error"]["type"] == "error");
      CHECK(result["error"]["error"]["type"] == row.detail);
      CHECK_FALSE(result["error"]["error"]["message"].get<std::string>().empty());
      CHECK(result["error"]["request_id"].get<std::string>().rfind("req_", 0) == 0);
    } else {
      CHECK(result.size() == 1);
    }
  }
}

TEST_CASE("a transient request failure succeeds when the custom_id is resubmitted",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    auto& faults = options.fault_plan.mutable_request_faults();
    faults.rates[static_cast<std::size_t>(OutcomeKind::kOverloaded)] = 1.0;
    faults.transient_attempts_max = 1;
  });
  const std::string first = sim.Create(AnthropicCreateBody(4))["id"];
  sim.AdvanceSeconds(10);
  CHECK(sim.Retrieve(first)["request_counts"]["errored"] == 4);
  for (const auto& line : sim.Results(first)) {
    CHECK(line["result"]["error"]["error"]["type"] == "overloaded_error");
  }

  const std::string second = sim.Create(AnthropicCreateBody(4))["id"];
  sim.AdvanceSeconds(10);
  CHECK(sim.Retrieve(second)["request_counts"]["succeeded"] == 4);

  const nlohmann::json stats = sim.client().Get("/_sim/stats").Json();
  CHECK(stats["anthropic"]["submissions"]["req-0"] == 2);
}

TEST_CASE("request outcomes drawn from rates are reproducible for a seed",
          "[sim][anthropic]") {
  const std::uint64_t seed = TestSeed();
  const auto outcomes = [seed] {
    AnthropicSim sim([seed](EmulatorOptions& options) {
      options.seed = seed;
      auto& faults = options.fault_plan.mutable_request_faults();
      faults.rates[static_cast<std::size_t>(OutcomeKind::kServerError)] = 0.3;
      faults.rates[static_cast<std::size_t>(OutcomeKind::kContentFilter)] = 0.2;
    });
    const std::string id = sim.Create(AnthropicCreateBody(200))["id"];
    sim.AdvanceSeconds(60);
    std::map<std::string, std::string> by_id;
    for (const auto& line : sim.Results(id)) {
      const nlohmann::json& result = line["result"];
      by_id[line["custom_id"]] = result["type"] == "errored"
                                     ? result["error"]["error"]["type"].get<std::string>()
                                     : result["message"]["stop_reason"].get<std::string>();
    }
    return by_id;
  };
  const auto first = outcomes();
  REQUIRE(first.size() == 200);
  int errored = 0;
  int refused = 0;
  for (const auto& [id, outcome] : first) {
    errored += outcome == "api_error" ? 1 : 0;
    refused += outcome == "refusal" ? 1 : 0;
  }
  // 30% and 20% of 200, loosely: the draw is a hash, not a count.
  CHECK(errored > 30);
  CHECK(errored < 90);
  CHECK(refused > 15);
  CHECK(refused < 65);
  CHECK(outcomes() == first);
}

TEST_CASE("a batch validation fault rejects the create and strikes only once",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddBatchRule(options, BatchFaultKind::kValidationFailure, 0);
  });
  RequireAnthropicError(sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(2)),
                        400, "invalid_request_error");
  CHECK(sim.client().Get("/v1/messages/batches").Json()["data"].empty());
  sim.Create(AnthropicCreateBody(2));
}

TEST_CASE("a token limit fault rejects the create with a rate_limit_error",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddBatchRule(options, BatchFaultKind::kTokenLimitExceeded, 0);
  });
  RequireAnthropicError(sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(2)),
                        429, "rate_limit_error");
  const nlohmann::json stats = sim.client().Get("/_sim/stats").Json();
  CHECK(stats["anthropic"]["batches_created"] == 0);
}

TEST_CASE("an expiry fault ends the batch at the window with part of it expired",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddBatchRule(options, BatchFaultKind::kExpire, 0.25);
  });
  const std::string id = sim.Create(AnthropicCreateBody(20))["id"];
  sim.AdvanceSeconds(86399);
  nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "in_progress");
  CHECK(batch["request_counts"]["processing"] == 20);

  sim.AdvanceSeconds(1);
  batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "ended");
  CHECK(batch["request_counts"]["succeeded"] == 5);
  CHECK(batch["request_counts"]["expired"] == 15);
  CHECK(batch["ended_at"] == batch["expires_at"]);
  int expired = 0;
  for (const auto& line : sim.Results(id)) expired += line["result"]["type"] == "expired";
  CHECK(expired == 15);
}

TEST_CASE("a batch cancelled by someone else goes canceling, then ends with canceled results",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddBatchRule(options, BatchFaultKind::kCancelByOther, 0.5);
  });
  const std::string id = sim.Create(AnthropicCreateBody(10))["id"];
  sim.AdvanceSeconds(1.055);  // past the 5th request
  nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "canceling");
  CHECK(batch["cancel_initiated_at"].is_string());
  CHECK(batch["request_counts"]["processing"] == 10);

  sim.AdvanceSeconds(5);
  batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "ended");
  CHECK(batch["request_counts"]["succeeded"] == 5);
  CHECK(batch["request_counts"]["canceled"] == 5);
}

TEST_CASE("control-plane 429, 500 and 529 answer in the Anthropic envelope",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddControlRule(options, Operation::kCreate, ControlFaultKind::kRateLimit, {1});
    AddControlRule(options, Operation::kGet, ControlFaultKind::kServerError, {1});
    AddControlRule(options, Operation::kList, ControlFaultKind::kOverloaded, {1});
    AddControlRule(options, Operation::kDownload, ControlFaultKind::kOverloaded, {1});
    AddControlRule(options, Operation::kCancel, ControlFaultKind::kRateLimit, {1});
    AddControlRule(options, Operation::kDelete, ControlFaultKind::kServerError, {1});
  });

  const SimResponse limited =
      sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(2));
  RequireAnthropicError(limited, 429, "rate_limit_error");
  CHECK(limited.Header("retry-after") == "7");
  const std::string id = sim.Create(AnthropicCreateBody(2))["id"];

  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id), 500, "api_error");
  CHECK(sim.client().Get("/v1/messages/batches/" + id).status == 200);

  RequireAnthropicError(sim.client().Get("/v1/messages/batches"), 529, "overloaded_error");
  CHECK(sim.client().Get("/v1/messages/batches").status == 200);

  const SimResponse cancel_limited =
      sim.client().Post("/v1/messages/batches/" + id + "/cancel", "");
  RequireAnthropicError(cancel_limited, 429, "rate_limit_error");
  CHECK(cancel_limited.Header("retry-after") == "7");

  sim.AdvanceSeconds(10);
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id + "/results"), 529,
                        "overloaded_error");
  CHECK(sim.Results(id).size() == 2);

  RequireAnthropicError(sim.client().Delete("/v1/messages/batches/" + id), 500, "api_error");
  CHECK(sim.client().Delete("/v1/messages/batches/" + id).status == 200);

  const nlohmann::json stats = sim.client().Get("/_sim/stats").Json();
  CHECK(stats["anthropic"]["control_faults_injected"] == 6);
}

TEST_CASE("a connection reset on retrieve gives the client no response at all",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddControlRule(options, Operation::kGet, ControlFaultKind::kConnectionReset, {1});
  });
  const std::string id = sim.Create(AnthropicCreateBody(1))["id"];
  const SimResponse reset = sim.client().Get("/v1/messages/batches/" + id);
  CHECK_FALSE(reset.ok);
  CHECK(sim.client().Get("/v1/messages/batches/" + id).status == 200);
}

TEST_CASE("a dropped create response still creates the batch, found again by listing",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddControlRule(options, Operation::kCreate, ControlFaultKind::kDropResponse, {1});
  });
  const SimResponse dropped =
      sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(3));
  CHECK_FALSE(dropped.ok);

  const nlohmann::json page = sim.client().Get("/v1/messages/batches").Json();
  REQUIRE(page["data"].size() == 1);
  CHECK(page["data"][0]["request_counts"]["processing"] == 3);
  const nlohmann::json stats = sim.client().Get("/_sim/stats").Json();
  CHECK(stats["anthropic"]["batches_created"] == 1);
  CHECK(stats["anthropic"]["submissions"]["req-0"] == 1);
}

TEST_CASE("a slow control-plane answer arrives after the configured delay",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddControlRule(options, Operation::kList, ControlFaultKind::kSlow, {1});
  });
  const auto start = std::chrono::steady_clock::now();
  const SimResponse slow = sim.client().Get("/v1/messages/batches");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(slow.status == 200);
  CHECK(elapsed >= std::chrono::milliseconds(60));
}

TEST_CASE("a truncated results download is cut short, and the next one is whole",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    AddControlRule(options, Operation::kDownload, ControlFaultKind::kTruncate, {1});
  });
  const std::string id = sim.Create(AnthropicCreateBody(50))["id"];
  sim.AdvanceSeconds(10);
  const SimResponse truncated = sim.client().Get("/v1/messages/batches/" + id + "/results");
  const SimResponse whole = sim.client().Get("/v1/messages/batches/" + id + "/results");
  REQUIRE(whole.status == 200);
  CHECK(ParseJsonLines(whole.body).size() == 50);
  // Either the client notices the short body, or it sees fewer bytes than declared.
  CHECK((!truncated.ok || truncated.body.size() < whole.body.size()));
}

}  // namespace batchlog::sim::testing
