// Bad input on the Anthropic path: missing headers, malformed bodies, bad custom_ids,
// unknown ids and routes all answer in the Anthropic envelope with the right status, never
// an HTML page or a crash (shared/provider-apis.md 2.1, 2.3, 2.6).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/base/random.h"
#include "tests/sim/anthropic_test_support.h"
#include "tests/sim/sim_test_client.h"

namespace batchlog::sim::testing {

TEST_CASE("a request without x-api-key is an authentication_error on every route",
          "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(1))["id"];
  SimTestClient client(sim.emulator().port());
  client.SetHeaders({{"anthropic-version", "2023-06-01"}});
  RequireAnthropicError(client.PostJson("/v1/messages/batches", AnthropicCreateBody(1)), 401,
                        "authentication_error");
  RequireAnthropicError(client.Get("/v1/messages/batches"), 401, "authentication_error");
  RequireAnthropicError(client.Get("/v1/messages/batches/" + id), 401, "authentication_error");
  RequireAnthropicError(client.Get("/v1/messages/batches/" + id + "/results"), 401,
                        "authentication_error");
  RequireAnthropicError(client.Post("/v1/messages/batches/" + id + "/cancel", ""), 401,
                        "authentication_error");
  RequireAnthropicError(client.Delete("/v1/messages/batches/" + id), 401,
                        "authentication_error");

  client.SetHeaders({{"x-api-key", ""}, {"anthropic-version", "2023-06-01"}});
  RequireAnthropicError(client.Get("/v1/messages/batches"), 401, "authentication_error");

  // The rejected create created nothing.
  CHECK(sim.client().Get("/v1/messages/batches").Json()["data"].size() == 1);
}

TEST_CASE("a request without anthropic-version is an invalid_request_error naming the header",
          "[sim][anthropic]") {
  AnthropicSim sim;
  SimTestClient client(sim.emulator().port());
  client.SetHeaders({{"x-api-key", "test-key"}});
  for (const SimResponse& response :
       {client.PostJson("/v1/messages/batches", AnthropicCreateBody(1)),
        client.Get("/v1/messages/batches"), client.Get("/v1/messages/batches/msgbatch_x")}) {
    RequireAnthropicError(response, 400, "invalid_request_error");
    CHECK(response.Json()["error"]["message"].get<std::string>().find("anthropic-version") !=
          std::string::npos);
  }
}

TEST_CASE("an invalid JSON create body is an invalid_request_error", "[sim][anthropic]") {
  AnthropicSim sim;
  for (const std::string body :
       {"", "{", "not json", "{\"requests\": [}", "{\"requests\": []} trailing",
        "{\"requests\": [{\"custom_id\": \"a\", \"params\": {}}]", "\xff\xfe"}) {
    CAPTURE(body);
    RequireAnthropicError(sim.client().Post("/v1/messages/batches", body), 400,
                          "invalid_request_error");
  }
}

TEST_CASE("a create body of the wrong shape names the offending field", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {nlohmann::json::array(), "body"},
      {nlohmann::json::object(), "requests"},
      {{{"requests", "nope"}}, "requests"},
      {{{"requests", nlohmann::json::array()}}, "requests"},
      {{{"requests", {42}}}, "requests.0"},
      {{{"requests", {{{"params", AnthropicRequest("a", "x")["params"]}}}}},
       "requests.0.custom_id"},
      {{{"requests", {{{"custom_id", "a"}}}}}, "requests.0.params"},
      {{{"requests", {{{"custom_id", "a"}, {"params", "text"}}}}}, "requests.0.params"},
  };
  for (const auto& [body, field] : cases) {
    CAPTURE(body.dump());
    const SimResponse response = sim.client().PostJson("/v1/messages/batches", body);
    RequireAnthropicError(response, 400, "invalid_request_error");
    CHECK(response.Json()["error"]["message"].get<std::string>().rfind(field + ":", 0) == 0);
  }
  CHECK(sim.client().Get("/v1/messages/batches").Json()["data"].empty());
}

TEST_CASE("custom_ids must match ^[a-zA-Z0-9_-]{1,64}$", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::vector<nlohmann::json> bad = {"",  std::string(65, 'a'), "has space", "dot.id",
                                           "slash/id", "ünï", 17, nullptr};
  for (const auto& custom_id : bad) {
    CAPTURE(custom_id.dump());
    nlohmann::json request = AnthropicRequest("placeholder", "x");
    request["custom_id"] = custom_id;
    const SimResponse response = sim.client().PostJson(
        "/v1/messages/batches", {{"requests", {AnthropicRequest("fine", "x"), request}}});
    RequireAnthropicError(response, 400, "invalid_request_error");
    CHECK(response.Json()["error"]["message"].get<std::string>().rfind(
              "requests.1.custom_id:", 0) == 0);
  }
  const nlohmann::json good = sim.Create(
      {{"requests",
        {AnthropicRequest(std::string(64, 'Z'), "x"), AnthropicRequest("a", "x"),
         AnthropicRequest("A-b_9", "x")}}});
  CHECK(good["request_counts"]["processing"] == 3);
}

TEST_CASE("a duplicate custom_id rejects the whole create", "[sim][anthropic]") {
  AnthropicSim sim;
  const SimResponse response = sim.client().PostJson(
      "/v1/messages/batches",
      {{"requests",
        {AnthropicRequest("a", "x"), AnthropicRequest("b", "x"), AnthropicRequest("a", "y")}}});
  RequireAnthropicError(response, 400, "invalid_request_error");
  const std::string message = response.Json()["error"]["message"];
  CHECK(message.rfind("requests.2.custom_id:", 0) == 0);
  CHECK(message.find("'a'") != std::string::npos);
  const nlohmann::json stats = sim.client().Get("/_sim/stats").Json();
  CHECK(stats["anthropic"]["batches_created"] == 0);
  CHECK(stats["anthropic"]["submissions"].empty());
}

TEST_CASE("the request count limit is enforced at create", "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) { options.anthropic_requests_max = 5; });
  sim.Create(AnthropicCreateBody(5));
  const SimResponse response =
      sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(7));
  RequireAnthropicError(response, 400, "invalid_request_error");
  const std::string message = response.Json()["error"]["message"];
  CHECK(message.rfind("requests:", 0) == 0);
  CHECK(message.find("not 7") != std::string::npos);
}

TEST_CASE("a create body over the byte limit is 413 request_too_large and the server stays up",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) { options.anthropic_body_bytes_max = 2000; });
  const nlohmann::json big = AnthropicCreateBody(40);
  REQUIRE(big.dump().size() > 2000);
  RequireAnthropicError(sim.client().PostJson("/v1/messages/batches", big), 413,
                        "request_too_large");

  // Without Content-Length (chunked) the limit holds as well.
  httplib::Client chunked("127.0.0.1", sim.emulator().port());
  const std::string text = big.dump();
  const auto result = chunked.Post(
      "/v1/messages/batches", {{"x-api-key", "k"}, {"anthropic-version", "2023-06-01"}},
      [&text](std::size_t offset, httplib::DataSink& sink) {
        const std::size_t size = std::min<std::size_t>(500, text.size() - offset);
        sink.write(text.data() + offset, size);
        if (offset + size == text.size()) sink.done();
        return true;
      },
      "application/json");
  REQUIRE(result);
  CHECK(result->status == 413);
  CHECK(nlohmann::json::parse(result->body, nullptr, false)["error"]["type"] ==
        "request_too_large");

  // The same connection-less client still works for a body under the limit.
  const nlohmann::json created = sim.Create(AnthropicCreateBody(2));
  CHECK(created["processing_status"] == "in_progress");
}

TEST_CASE("unknown batch ids are not_found_error on every batch route", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = "msgbatch_doesnotexist";
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id), 404, "not_found_error");
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id + "/results"), 404,
                        "not_found_error");
  RequireAnthropicError(sim.client().Post("/v1/messages/batches/" + id + "/cancel", ""), 404,
                        "not_found_error");
  RequireAnthropicError(sim.client().Delete("/v1/messages/batches/" + id), 404,
                        "not_found_error");
}

TEST_CASE("unknown routes and methods under /v1/messages answer in the Anthropic envelope",
          "[sim][anthropic]") {
  AnthropicSim sim;
  for (const SimResponse& response :
       {sim.client().Get("/v1/messages/batches/x/unknown"),
        sim.client().Post("/v1/messages/batches/x", "{}"),
        sim.client().Get("/v1/messages/nothing"),
        sim.client().Delete("/v1/messages/batches")}) {
    INFO(response.body);
    REQUIRE(response.ok);
    CHECK(response.status >= 400);
    CHECK(response.status < 500);
    CHECK(response.body.find("<html") == std::string::npos);
    const nlohmann::json body = response.Json();
    CHECK(body.value("type", "") == "error");
    CHECK(body["error"].is_object());
    CHECK(body["request_id"] == response.Header("request-id"));
  }
}

TEST_CASE("randomly corrupted create bodies answer 200 or an Anthropic 400, never a crash",
          "[sim][anthropic]") {
  const char* seed_text = std::getenv("BATCHLOG_SEED");
  const std::uint64_t seed = seed_text != nullptr ? std::strtoull(seed_text, nullptr, 10) : 7;
  std::cout << "BATCHLOG_SEED=" << seed << "\n";
  base::SeededRandom random(seed);

  nlohmann::json body = AnthropicCreateBody(3);
  body["requests"][1]["params"]["system"] = "Quote \" and \\ and \u00e9.";
  const std::string valid = body.dump();
  static constexpr std::string_view kAlphabet = "{}[]\",:\\ aZ-_0\t\n";
  AnthropicSim sim;
  int accepted = 0;
  for (int round = 0; round < 150; ++round) {
    std::string text = valid;
    const std::uint64_t edits = 1 + random.Below(3);
    for (std::uint64_t e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = static_cast<std::size_t>(random.Below(text.size()));
      const char c = kAlphabet[static_cast<std::size_t>(random.Below(kAlphabet.size()))];
      switch (random.Below(3)) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        default:
          text.erase(at, 1);
          break;
      }
    }
    CAPTURE(round, text);
    const SimResponse response = sim.client().Post("/v1/messages/batches", text);
    REQUIRE(response.ok);
    if (response.status == 200) {
      ++accepted;
      CHECK(response.Json()["type"] == "message_batch");
    } else {
      RequireAnthropicError(response, 400, "invalid_request_error");
    }
  }
  // Every accepted batch still ends and serves well-formed results.
  sim.AdvanceSeconds(60);
  const nlohmann::json page = sim.client().Get("/v1/messages/batches?limit=1000").Json();
  CHECK(static_cast<int>(page["data"].size()) == accepted);
  for (const auto& batch : page["data"]) {
    CHECK(batch["processing_status"] == "ended");
    for (const auto& line : sim.Results(batch["id"])) CHECK(line.contains("result"));
  }
}

}  // namespace batchlog::sim::testing
