// Conformance of the Anthropic results file: JSONL lines, full Message objects, seeded
// arbitrary order, asynchronous params validation (shared/provider-apis.md 2.3, 2.5).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/sim/anthropic_test_support.h"
#include "tests/sim/sim_test_client.h"

namespace batchlog::sim::testing {
namespace {

std::vector<std::string> CustomIdsOf(const std::vector<nlohmann::json>& lines) {
  std::vector<std::string> ids;
  for (const auto& line : lines) ids.push_back(line.at("custom_id").get<std::string>());
  return ids;
}

// Creates a batch from `body`, lets it end, and returns its results.
std::vector<nlohmann::json> RunToResults(AnthropicSim& sim, const nlohmann::json& body) {
  const std::string id = sim.Create(body)["id"];
  sim.AdvanceSeconds(3600);
  REQUIRE(sim.Retrieve(id)["processing_status"] == "ended");
  return sim.Results(id);
}

}  // namespace

TEST_CASE("results are JSONL lines of succeeded full Message objects", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(3))["id"];
  sim.AdvanceSeconds(10);
  REQUIRE(sim.Retrieve(id)["processing_status"] == "ended");

  const SimResponse response = sim.client().Get("/v1/messages/batches/" + id + "/results");
  REQUIRE(response.ok);
  REQUIRE(response.status == 200);
  CHECK(response.Header("Content-Type").rfind("application/x-jsonl", 0) == 0);
  CHECK(response.Header("request-id").rfind("req_", 0) == 0);
  REQUIRE_FALSE(response.body.empty());
  CHECK(response.body.back() == '\n');
  CHECK(std::count(response.body.begin(), response.body.end(), '\n') == 3);

  const std::vector<nlohmann::json> lines = ParseJsonLines(response.body);
  REQUIRE(lines.size() == 3);
  std::set<std::string> message_ids;
  for (const auto& line : lines) {
    INFO(line.dump());
    CHECK(KeysOf(line) == std::set<std::string>{"custom_id", "result"});
    CHECK(KeysOf(line["result"]) == std::set<std::string>{"type", "message"});
    CHECK(line["result"]["type"] == "succeeded");
    const nlohmann::json& message = line["result"]["message"];
    CHECK(KeysOf(message) == std::set<std::string>{"id", "type", "role", "model", "content",
                                                      "stop_reason", "stop_sequence", "usage"});
    CHECK(message["id"].get<std::string>().rfind("msg_", 0) == 0);
    message_ids.insert(message["id"].get<std::string>());
    CHECK(message["type"] == "message");
    CHECK(message["role"] == "assistant");
    CHECK(message["model"] == "claude-sonnet-4-5");
    CHECK(message["stop_reason"] == "end_turn");
    CHECK(message["stop_sequence"].is_null());
    REQUIRE(message["content"].size() == 1);
    CHECK(KeysOf(message["content"][0]) == std::set<std::string>{"type", "text"});
    CHECK(message["content"][0]["type"] == "text");
    CHECK(KeysOf(message["usage"]) == std::set<std::string>{"input_tokens", "output_tokens"});
  }
  CHECK(message_ids.size() == 3);

  // The deterministic model: "Paraphrase: X" -> "In other words, x"; usage estimated at
  // 4 bytes per token plus 3 per message.
  const nlohmann::json* first = FindLine(lines, "req-0");
  REQUIRE(first != nullptr);
  const nlohmann::json& message = (*first)["result"]["message"];
  CHECK(message["content"][0]["text"] == "In other words, sentence 0");
  CHECK(message["usage"]["input_tokens"] == 9);   // ceil(22 / 4) + 3
  CHECK(message["usage"]["output_tokens"] == 7);  // ceil(26 / 4)
}

TEST_CASE("results come back in a seeded arbitrary order, the same for the same seed",
          "[sim][anthropic]") {
  std::vector<std::string> input;
  for (int i = 0; i < 50; ++i) input.push_back("req-" + std::to_string(i));

  const auto order_for_seed = [](std::uint64_t seed) {
    AnthropicSim sim([seed](EmulatorOptions& options) { options.seed = seed; });
    return CustomIdsOf(RunToResults(sim, AnthropicCreateBody(50)));
  };
  const std::vector<std::string> first = order_for_seed(7);
  REQUIRE(first.size() == 50);
  CHECK(first != input);
  std::vector<std::string> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> sorted_input = input;
  std::sort(sorted_input.begin(), sorted_input.end());
  CHECK(sorted == sorted_input);

  CHECK(order_for_seed(7) == first);
  CHECK(order_for_seed(8) != first);
}

TEST_CASE("results are refused with an Anthropic error until the batch has ended",
          "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(10))["id"];
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id + "/results"), 400,
                        "invalid_request_error");

  REQUIRE(sim.client().Post("/v1/messages/batches/" + id + "/cancel", "").status == 200);
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id + "/results"), 400,
                        "invalid_request_error");

  sim.AdvanceSeconds(10);
  const std::vector<nlohmann::json> lines = sim.Results(id);
  CHECK(lines.size() == 10);
}

TEST_CASE("results can be downloaded repeatedly with identical bytes", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(20))["id"];
  sim.AdvanceSeconds(10);
  const SimResponse first = sim.client().Get("/v1/messages/batches/" + id + "/results");
  const SimResponse second = sim.client().Get("/v1/messages/batches/" + id + "/results");
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  CHECK(first.body == second.body);
}

TEST_CASE("bad params are accepted at create and end as errored invalid_request_error results",
          "[sim][anthropic]") {
  nlohmann::json requests = nlohmann::json::array();
  requests.push_back(AnthropicRequest("good", "Paraphrase: fine."));
  auto without = [](const std::string& custom_id, const std::string& key) {
    nlohmann::json request = AnthropicRequest(custom_id, "hello");
    request["params"].erase(key);
    return request;
  };
  requests.push_back(without("no-max-tokens", "max_tokens"));
  requests.push_back(without("no-model", "model"));
  requests.push_back(without("no-messages", "messages"));
  requests.push_back(AnthropicRequest("zero-max-tokens", "hello", 0));
  nlohmann::json empty_messages = AnthropicRequest("empty-messages", "hello");
  empty_messages["params"]["messages"] = nlohmann::json::array();
  requests.push_back(empty_messages);
  nlohmann::json bad_role = AnthropicRequest("bad-role", "hello");
  bad_role["params"]["messages"][0]["role"] = "system";
  requests.push_back(bad_role);
  nlohmann::json streaming = AnthropicRequest("streaming", "hello");
  streaming["params"]["stream"] = true;
  requests.push_back(streaming);

  AnthropicSim sim;
  const nlohmann::json created = sim.Create({{"requests", requests}});
  CHECK(created["request_counts"]["processing"] == 8);
  CHECK(created["request_counts"]["errored"] == 0);
  const std::string id = created["id"];
  sim.AdvanceSeconds(10);
  const nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["request_counts"]["succeeded"] == 1);
  CHECK(batch["request_counts"]["errored"] == 7);

  const std::vector<nlohmann::json> lines = sim.Results(id);
  REQUIRE(lines.size() == 8);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"no-max-tokens", "max_tokens"},  {"no-model", "model"},
      {"no-messages", "messages"},      {"zero-max-tokens", "max_tokens"},
      {"empty-messages", "messages"},   {"bad-role", "messages.0.role"},
      {"streaming", "stream"}};
  for (const auto& [custom_id, field] : expected) {
    CAPTURE(custom_id);
    const nlohmann::json* line = FindLine(lines, custom_id);
    REQUIRE(line != nullptr);
    const nlohmann::json& result = (*line)["result"];
    CHECK(KeysOf(result) == std::set<std::string>{"type", "error"});
    CHECK(result["type"] == "errored");
    CHECK(KeysOf(result["error"]) == std::set<std::string>{"type", "error", "request_id"});
    CHECK(result["error"]["type"] == "error");
    CHECK(result["error"]["error"]["type"] == "invalid_request_error");
    CHECK(result["error"]["error"]["message"].get<std::string>().rfind(field + ":", 0) == 0);
    CHECK(result["error"]["request_id"].get<std::string>().rfind("req_", 0) == 0);
  }
  CHECK((*FindLine(lines, "good"))["result"]["type"] == "succeeded");
}

TEST_CASE("an answer capped by max_tokens stops with max_tokens", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::vector<nlohmann::json> lines = RunToResults(
      sim, {{"requests", {AnthropicRequest("capped", "Paraphrase: " + std::string(400, 'a'), 2)}}});
  REQUIRE(lines.size() == 1);
  const nlohmann::json& message = lines[0]["result"]["message"];
  CHECK(message["stop_reason"] == "max_tokens");
  CHECK(message["usage"]["output_tokens"].get<int>() <= 2);
}

TEST_CASE("requests may mix models, system prompts and content blocks", "[sim][anthropic]") {
  nlohmann::json blocks = AnthropicRequest("blocks", "ignored", 64, "claude-haiku-4-5");
  blocks["params"]["system"] = "Be concise.";
  blocks["params"]["messages"] = {
      {{"role", "user"}, {"content", "first"}},
      {{"role", "assistant"}, {"content", "ok"}},
      {{"role", "user"},
       {"content", {{{"type", "text"}, {"text", "What is the score of this?"}}}}}};
  AnthropicSim sim;
  const std::vector<nlohmann::json> lines = RunToResults(
      sim, {{"requests", {blocks, AnthropicRequest("plain", "Paraphrase: Hi there.")}}});
  REQUIRE(lines.size() == 2);
  const nlohmann::json& message = (*FindLine(lines, "blocks"))["result"]["message"];
  CHECK(message["model"] == "claude-haiku-4-5");
  CHECK(message["content"][0]["text"].get<std::string>().rfind("score: ", 0) == 0);
  CHECK((*FindLine(lines, "plain"))["result"]["message"]["model"] == "claude-sonnet-4-5");
}

TEST_CASE("a cache_control prefix is written by a batch's first request and read by the rest",
          "[sim][anthropic]") {
  // A 40-byte system block marked for caching (10 tokens), then a 12-byte question (3 tokens
  // + 3 for the message): 16 input tokens, of which the first 10 are the cacheable prefix.
  const auto cached = [](const std::string& id, const std::string& system_text) {
    nlohmann::json request = AnthropicRequest(id, "Question 001", 64);
    request["params"]["system"] = {{{"type", "text"},
                                    {"text", system_text},
                                    {"cache_control", {{"type", "ephemeral"}}}}};
    return request;
  };
  const std::string shared(40, 's');
  AnthropicSim sim;
  const std::vector<nlohmann::json> lines = RunToResults(
      sim, {{"requests",
             {cached("w", shared), cached("r1", shared), cached("r2", shared),
              cached("other", std::string(40, 't')), AnthropicRequest("plain", "Question 001")}}});
  REQUIRE(lines.size() == 5);
  const auto usage_of = [&](const std::string& id) {
    const nlohmann::json* line = FindLine(lines, id);
    REQUIRE(line != nullptr);
    return (*line)["result"]["message"]["usage"];
  };
  // Input order decides: the first request with a prefix writes it, later ones read it.
  CHECK(KeysOf(usage_of("w")) ==
        std::set<std::string>{"input_tokens", "cache_creation_input_tokens",
                              "cache_read_input_tokens", "output_tokens"});
  CHECK(usage_of("w")["input_tokens"] == 6);
  CHECK(usage_of("w")["cache_creation_input_tokens"] == 10);
  CHECK(usage_of("w")["cache_read_input_tokens"] == 0);
  for (const std::string id : {"r1", "r2"}) {
    CAPTURE(id);
    CHECK(usage_of(id)["input_tokens"] == 6);
    CHECK(usage_of(id)["cache_creation_input_tokens"] == 0);
    CHECK(usage_of(id)["cache_read_input_tokens"] == 10);
  }
  // Another prefix is another cache entry; a request without cache_control reports neither.
  CHECK(usage_of("other")["cache_creation_input_tokens"] == 10);
  CHECK(KeysOf(usage_of("plain")) == std::set<std::string>{"input_tokens", "output_tokens"});
  CHECK(usage_of("plain")["input_tokens"] == 6);

  // The cache lives for one batch: a later batch writes the same prefix again.
  const std::vector<nlohmann::json> again =
      RunToResults(sim, {{"requests", {cached("w", shared)}}});
  REQUIRE(again.size() == 1);
  CHECK(again[0]["result"]["message"]["usage"]["cache_creation_input_tokens"] == 10);
}

TEST_CASE("a 20,000-request batch ends with one result line per request", "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    options.lifecycle.processing_s_per_request = 0.0001;
  });
  constexpr int kRequests = 20'000;
  const std::string id = sim.Create(AnthropicCreateBody(kRequests))["id"];
  sim.AdvanceSeconds(10);
  const nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["request_counts"]["succeeded"] == kRequests);
  const std::vector<nlohmann::json> lines = sim.Results(id);
  REQUIRE(lines.size() == kRequests);
  std::set<std::string> ids;
  for (const auto& line : lines) ids.insert(line["custom_id"].get<std::string>());
  CHECK(ids.size() == kRequests);
}

TEST_CASE("a batch of the maximum 100,000 requests is accepted and fully answered",
          "[sim][anthropic][.slow]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    options.lifecycle.processing_s_per_request = 0.0001;
  });
  constexpr int kRequests = 100'000;
  const std::string id = sim.Create(AnthropicCreateBody(kRequests))["id"];
  sim.AdvanceSeconds(60);
  CHECK(sim.Retrieve(id)["request_counts"]["succeeded"] == kRequests);
  CHECK(sim.Results(id).size() == kRequests);
  RequireAnthropicError(
      sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(kRequests + 1)), 400,
      "invalid_request_error");
}

}  // namespace batchlog::sim::testing
