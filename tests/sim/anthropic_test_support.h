// Shared helpers of the Anthropic conformance tests (tests/sim/anthropic_*_test.cc): an
// emulator on a fake clock with an Anthropic client, request builders and envelope checks.
//
// Thread-safety: an AnthropicSim is used from the test's thread; make one client per
// thread (NewClient) for concurrent tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/sim/emulator.h"
#include "src/sim/emulator_options.h"
#include "tests/sim/sim_test_client.h"

namespace batchlog::sim::testing {

// 2026-03-01T09:00:00Z: the instant every Anthropic test starts at (fake clock).
inline constexpr std::int64_t kAnthropicTestStartUs = 1'772'355'600'000'000;

// JSON objects are unordered: keys compare as sets.
inline std::set<std::string> KeysOf(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.insert(key);
  return keys;
}

// The results line of `custom_id`, or nullptr.
inline const nlohmann::json* FindLine(const std::vector<nlohmann::json>& lines,
                                      const std::string& custom_id) {
  for (const auto& line : lines) {
    if (line.value("custom_id", "") == custom_id) return &line;
  }
  return nullptr;
}

// One Message Batches request: {"custom_id", "params": {model, max_tokens, messages}}.
inline nlohmann::json AnthropicRequest(const std::string& custom_id, const std::string& prompt,
                                       int max_tokens = 256,
                                       const std::string& model = "claude-sonnet-4-5") {
  return {{"custom_id", custom_id},
          {"params",
           {{"model", model},
            {"max_tokens", max_tokens},
            {"messages", nlohmann::json::array({{{"role", "user"}, {"content", prompt}}})}}}};
}

// {"requests": [...]} with `count` requests "<prefix>0".., prompts "Paraphrase: sentence i".
inline nlohmann::json AnthropicCreateBody(int count, const std::string& prefix = "req-") {
  nlohmann::json requests = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    requests.push_back(
        AnthropicRequest(prefix + std::to_string(i), "Paraphrase: Sentence " + std::to_string(i)));
  }
  return {{"requests", std::move(requests)}};
}

// An emulator on a fake clock (FastOptions: 1 s base + 0.01 s per request, simulated =
// real), with a client that sends the Anthropic headers.
class AnthropicSim {
 public:
  explicit AnthropicSim(const std::function<void(EmulatorOptions&)>& configure = {})
      : clock_(base::FromUnixMicros(kAnthropicTestStartUs)) {
    EmulatorOptions options = FastOptions(&clock_);
    if (configure) configure(options);
    emulator_ = StartEmulatorOrDie(options);
    client_ = std::make_unique<SimTestClient>(NewClient());
  }

  // A new client with the Anthropic headers (one per thread).
  SimTestClient NewClient() const {
    SimTestClient client(emulator_->port());
    client.UseAnthropicHeaders();
    return client;
  }
  SimTestClient& client() { return *client_; }
  const Emulator& emulator() const { return *emulator_; }
  void AdvanceSeconds(double seconds) {
    clock_.Advance(std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6)));
  }

  // POST /v1/messages/batches; REQUIREs a 200 and returns the MessageBatch.
  nlohmann::json Create(const nlohmann::json& body) {
    const SimResponse response = client_->PostJson("/v1/messages/batches", body);
    INFO(response.body);
    REQUIRE(response.ok);
    REQUIRE(response.status == 200);
    return response.Json();
  }
  // GET /v1/messages/batches/{id}; REQUIREs a 200.
  nlohmann::json Retrieve(const std::string& id) {
    const SimResponse response = client_->Get("/v1/messages/batches/" + id);
    INFO(response.body);
    REQUIRE(response.ok);
    REQUIRE(response.status == 200);
    return response.Json();
  }
  // GET .../results; REQUIREs a 200 and returns the parsed lines.
  std::vector<nlohmann::json> Results(const std::string& id) {
    const SimResponse response = client_->Get("/v1/messages/batches/" + id + "/results");
    INFO(response.body);
    REQUIRE(response.ok);
    REQUIRE(response.status == 200);
    return ParseJsonLines(response.body);
  }

 private:
  base::FakeClock clock_;
  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<SimTestClient> client_;
};

// REQUIREs the Anthropic error envelope {"type":"error","error":{"type","message"},
// "request_id"} with `status` and `type`, a JSON content type, and a request-id header that
// matches the body.
inline void RequireAnthropicError(const SimResponse& response, int status,
                                  const std::string& type) {
  INFO(response.body);
  REQUIRE(response.ok);
  CHECK(response.status == status);
  CHECK(response.Header("Content-Type").rfind("application/json", 0) == 0);
  const nlohmann::json body = response.Json();
  REQUIRE(body.is_object());
  CHECK(body.size() == 3);
  CHECK(body.value("type", "") == "error");
  REQUIRE(body.contains("error"));
  REQUIRE(body["error"].is_object());
  CHECK(body["error"].size() == 2);
  CHECK(body["error"].value("type", "") == type);
  REQUIRE(body["error"].contains("message"));
  CHECK(body["error"]["message"].is_string());
  CHECK_FALSE(body["error"]["message"].get<std::string>().empty());
  REQUIRE(body.contains("request_id"));
  REQUIRE(body["request_id"].is_string());
  CHECK(body["request_id"].get<std::string>().rfind("req_", 0) == 0);
  CHECK(response.Header("request-id") == body["request_id"].get<std::string>());
}

}  // namespace batchlog::sim::testing
