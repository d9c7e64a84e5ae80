// Conformance of the Anthropic Message Batches lifecycle: the MessageBatch object, status
// transitions, counts, list pagination, cancel and delete (shared/provider-apis.md 2.2-2.7).
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/sim/anthropic_test_support.h"
#include "tests/sim/sim_test_client.h"

namespace batchlog::sim::testing {
namespace {

const std::set<std::string> kBatchKeys = {
    "id",          "type",     "processing_status",   "request_counts", "created_at",
    "expires_at",  "ended_at", "cancel_initiated_at", "archived_at",    "results_url"};

bool IsRfc3339Micros(const nlohmann::json& value) {
  static const std::regex kPattern(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
  return value.is_string() && std::regex_match(value.get<std::string>(), kPattern);
}

void RequireCounts(const nlohmann::json& batch, std::int64_t processing, std::int64_t succeeded,
                   std::int64_t errored, std::int64_t canceled, std::int64_t expired) {
  INFO(batch.dump());
  const nlohmann::json& counts = batch.at("request_counts");
  CHECK(KeysOf(counts) ==
        std::set<std::string>{"processing", "succeeded", "errored", "canceled", "expired"});
  CHECK(counts.at("processing") == processing);
  CHECK(counts.at("succeeded") == succeeded);
  CHECK(counts.at("errored") == errored);
  CHECK(counts.at("canceled") == canceled);
  CHECK(counts.at("expired") == expired);
}

std::vector<std::string> IdsOf(const nlohmann::json& page) {
  std::vector<std::string> ids;
  for (const auto& batch : page.at("data")) ids.push_back(batch.at("id").get<std::string>());
  return ids;
}

}  // namespace

TEST_CASE("a created message batch is in_progress with exactly the MessageBatch fields",
          "[sim][anthropic]") {
  AnthropicSim sim;
  const nlohmann::json batch = sim.Create(AnthropicCreateBody(3));
  INFO(batch.dump());

  CHECK(KeysOf(batch) == kBatchKeys);
  CHECK(batch["id"].get<std::string>().rfind("msgbatch_", 0) == 0);
  CHECK(batch["type"] == "message_batch");
  CHECK(batch["processing_status"] == "in_progress");
  RequireCounts(batch, 3, 0, 0, 0, 0);
  CHECK(batch["created_at"] == "2026-03-01T09:00:00.000000Z");
  CHECK(batch["expires_at"] == "2026-03-02T09:00:00.000000Z");
  CHECK(batch["ended_at"].is_null());
  CHECK(batch["cancel_initiated_at"].is_null());
  CHECK(batch["archived_at"].is_null());
  CHECK(batch["results_url"].is_null());
}

TEST_CASE("create and retrieve answer with a request-id header and a JSON content type",
          "[sim][anthropic]") {
  AnthropicSim sim;
  const SimResponse created =
      sim.client().PostJson("/v1/messages/batches", AnthropicCreateBody(1));
  REQUIRE(created.ok);
  CHECK(created.status == 200);
  CHECK(created.Header("request-id").rfind("req_", 0) == 0);
  CHECK(created.Header("Content-Type").rfind("application/json", 0) == 0);

  const SimResponse retrieved =
      sim.client().Get("/v1/messages/batches/" + created.Json()["id"].get<std::string>());
  REQUIRE(retrieved.ok);
  CHECK(retrieved.status == 200);
  CHECK(retrieved.Header("request-id").rfind("req_", 0) == 0);
  CHECK(retrieved.Header("request-id") != created.Header("request-id"));
}

TEST_CASE("counts other than processing stay 0 until the whole batch has ended",
          "[sim][anthropic]") {
  AnthropicSim sim;
  // 100 requests: the k-th finishes at 1 s + (k + 1) * 0.01 s; all done at 2 s.
  const std::string id = sim.Create(AnthropicCreateBody(100))["id"];

  sim.AdvanceSeconds(1.5);  // about half of the requests are done
  nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "in_progress");
  RequireCounts(batch, 100, 0, 0, 0, 0);
  CHECK(batch["ended_at"].is_null());
  CHECK(batch["results_url"].is_null());

  sim.AdvanceSeconds(0.6);
  batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "ended");
  RequireCounts(batch, 0, 100, 0, 0, 0);
}

TEST_CASE("an ended batch has ended_at and an absolute results_url", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(10))["id"];
  sim.AdvanceSeconds(5);

  const nlohmann::json batch = sim.Retrieve(id);
  INFO(batch.dump());
  CHECK(KeysOf(batch) == kBatchKeys);
  CHECK(batch["processing_status"] == "ended");
  // Anthropic has no finalizing phase: the batch ends when its last request is done.
  CHECK(batch["ended_at"] == "2026-03-01T09:00:01.100000Z");
  CHECK(IsRfc3339Micros(batch["ended_at"]));
  CHECK(batch["cancel_initiated_at"].is_null());
  CHECK(batch["archived_at"].is_null());
  CHECK(batch["results_url"] ==
        sim.emulator().base_url() + "/v1/messages/batches/" + id + "/results");
  CHECK(batch["results_url"].get<std::string>().rfind("http://127.0.0.1:", 0) == 0);
  RequireCounts(batch, 0, 10, 0, 0, 0);
}

TEST_CASE("listing returns batches newest first and pages forwards with after_id",
          "[sim][anthropic]") {
  AnthropicSim sim;
  std::vector<std::string> created;  // oldest first
  for (int i = 0; i < 5; ++i) {
    created.push_back(sim.Create(AnthropicCreateBody(1, "b" + std::to_string(i) + "-"))["id"]);
    sim.AdvanceSeconds(1);
  }

  SimResponse response = sim.client().Get("/v1/messages/batches?limit=2");
  REQUIRE(response.status == 200);
  nlohmann::json page = response.Json();
  CHECK(KeysOf(page) == std::set<std::string>{"data", "has_more", "first_id", "last_id"});
  CHECK(IdsOf(page) == std::vector<std::string>{created[4], created[3]});
  CHECK(page["has_more"] == true);
  CHECK(page["first_id"] == created[4]);
  CHECK(page["last_id"] == created[3]);
  CHECK(KeysOf(page["data"][0]) == kBatchKeys);

  response = sim.client().Get("/v1/messages/batches?limit=2&after_id=" + created[3]);
  page = response.Json();
  CHECK(IdsOf(page) == std::vector<std::string>{created[2], created[1]});
  CHECK(page["has_more"] == true);

  response = sim.client().Get("/v1/messages/batches?limit=2&after_id=" + created[1]);
  page = response.Json();
  CHECK(IdsOf(page) == std::vector<std::string>{created[0]});
  CHECK(page["has_more"] == false);
  CHECK(page["first_id"] == created[0]);
  CHECK(page["last_id"] == created[0]);
}

TEST_CASE("listing pages backwards with before_id towards newer batches", "[sim][anthropic]") {
  AnthropicSim sim;
  std::vector<std::string> created;  // oldest first
  for (int i = 0; i < 5; ++i) {
    created.push_back(sim.Create(AnthropicCreateBody(1, "b" + std::to_string(i) + "-"))["id"]);
  }

  nlohmann::json page =
      sim.client().Get("/v1/messages/batches?limit=2&before_id=" + created[0]).Json();
  CHECK(IdsOf(page) == std::vector<std::string>{created[2], created[1]});
  CHECK(page["has_more"] == true);
  CHECK(page["first_id"] == created[2]);
  CHECK(page["last_id"] == created[1]);

  page = sim.client().Get("/v1/messages/batches?limit=2&before_id=" + created[2]).Json();
  CHECK(IdsOf(page) == std::vector<std::string>{created[4], created[3]});
  CHECK(page["has_more"] == false);
}

TEST_CASE("listing defaults to 20 per page and an empty list has null cursors",
          "[sim][anthropic]") {
  AnthropicSim sim;
  nlohmann::json page = sim.client().Get("/v1/messages/batches").Json();
  CHECK(page["data"].empty());
  CHECK(page["has_more"] == false);
  CHECK(page["first_id"].is_null());
  CHECK(page["last_id"].is_null());

  nlohmann::json requests = nlohmann::json::array();
  for (int i = 0; i < 21; ++i) sim.Create(AnthropicCreateBody(1, "b" + std::to_string(i) + "-"));
  page = sim.client().Get("/v1/messages/batches").Json();
  CHECK(page["data"].size() == 20);
  CHECK(page["has_more"] == true);
  page = sim.client().Get("/v1/messages/batches?limit=1000").Json();
  CHECK(page["data"].size() == 21);
  CHECK(page["has_more"] == false);
}

TEST_CASE("listing rejects a limit outside 1..1000 and an unknown cursor", "[sim][anthropic]") {
  AnthropicSim sim;
  for (const std::string limit : {"0", "1001", "-3", "abc", "2.5", ""}) {
    CAPTURE(limit);
    RequireAnthropicError(sim.client().Get("/v1/messages/batches?limit=" + limit), 400,
                          "invalid_request_error");
  }
  RequireAnthropicError(sim.client().Get("/v1/messages/batches?after_id=msgbatch_nope"), 404,
                        "not_found_error");
  RequireAnthropicError(sim.client().Get("/v1/messages/batches?before_id=msgbatch_nope"), 404,
                        "not_found_error");
}

TEST_CASE("OpenAI batches never appear in the Anthropic list", "[sim][anthropic]") {
  AnthropicSim sim;
  SimTestClient openai(sim.emulator().port());
  const SimResponse file = openai.UploadFile(ChatLines(2));
  REQUIRE(file.status == 200);
  const SimResponse openai_batch = openai.PostJson(
      "/v1/batches", {{"input_file_id", file.Json()["id"]},
                      {"endpoint", "/v1/chat/completions"},
                      {"completion_window", "24h"}});
  REQUIRE(openai_batch.status == 200);
  const std::string anthropic_id = sim.Create(AnthropicCreateBody(1))["id"];

  const nlohmann::json page = sim.client().Get("/v1/messages/batches").Json();
  CHECK(IdsOf(page) == std::vector<std::string>{anthropic_id});
  RequireAnthropicError(
      sim.client().Get("/v1/messages/batches/" + openai_batch.Json()["id"].get<std::string>()),
      404, "not_found_error");
}

TEST_CASE("cancel moves a batch to canceling and then to ended with canceled requests",
          "[sim][anthropic]") {
  AnthropicSim sim;
  // 100 requests, done one per 0.01 s after a 1 s start; cancelling takes 1 s.
  const std::string id = sim.Create(AnthropicCreateBody(100))["id"];
  sim.AdvanceSeconds(1.305);  // 30 requests are done

  const SimResponse cancel = sim.client().Post("/v1/messages/batches/" + id + "/cancel", "");
  REQUIRE(cancel.status == 200);
  nlohmann::json batch = cancel.Json();
  INFO(batch.dump());
  CHECK(KeysOf(batch) == kBatchKeys);
  CHECK(batch["processing_status"] == "canceling");
  CHECK(batch["cancel_initiated_at"] == "2026-03-01T09:00:01.305000Z");
  CHECK(batch["ended_at"].is_null());
  CHECK(batch["results_url"].is_null());
  RequireCounts(batch, 100, 0, 0, 0, 0);

  // Cancelling twice is harmless.
  const SimResponse again = sim.client().Post("/v1/messages/batches/" + id + "/cancel", "");
  CHECK(again.status == 200);
  CHECK(again.Json()["processing_status"] == "canceling");

  sim.AdvanceSeconds(1.0);
  batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "ended");
  CHECK(batch["ended_at"] == "2026-03-01T09:00:02.305000Z");
  CHECK(batch["cancel_initiated_at"] == "2026-03-01T09:00:01.305000Z");
  RequireCounts(batch, 0, 30, 0, 70, 0);

  const std::vector<nlohmann::json> lines = sim.Results(id);
  REQUIRE(lines.size() == 100);
  int canceled = 0;
  int succeeded = 0;
  for (const auto& line : lines) {
    const std::string type = line["result"]["type"];
    if (type == "canceled") {
      ++canceled;
      CHECK(line["result"].size() == 1);
    }
    if (type == "succeeded") ++succeeded;
  }
  CHECK(canceled == 70);
  CHECK(succeeded == 30);
}

TEST_CASE("cancelling an ended batch is an invalid_request_error", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(2))["id"];
  sim.AdvanceSeconds(10);
  RequireAnthropicError(sim.client().Post("/v1/messages/batches/" + id + "/cancel", ""), 400,
                        "invalid_request_error");
  CHECK(sim.Retrieve(id)["request_counts"]["succeeded"] == 2);
}

TEST_CASE("delete is refused until the batch has ended, then removes it", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(5))["id"];
  RequireAnthropicError(sim.client().Delete("/v1/messages/batches/" + id), 400,
                        "invalid_request_error");

  REQUIRE(sim.client().Post("/v1/messages/batches/" + id + "/cancel", "").status == 200);
  RequireAnthropicError(sim.client().Delete("/v1/messages/batches/" + id), 400,
                        "invalid_request_error");

  sim.AdvanceSeconds(5);
  const SimResponse deleted = sim.client().Delete("/v1/messages/batches/" + id);
  REQUIRE(deleted.status == 200);
  CHECK(deleted.Json() == nlohmann::json({{"id", id}, {"type", "message_batch_deleted"}}));
  CHECK(deleted.Header("request-id").rfind("req_", 0) == 0);

  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id), 404, "not_found_error");
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id + "/results"), 404,
                        "not_found_error");
  RequireAnthropicError(sim.client().Delete("/v1/messages/batches/" + id), 404,
                        "not_found_error");
  CHECK(sim.client().Get("/v1/messages/batches").Json()["data"].empty());
}

TEST_CASE("requests still unprocessed when the 24 h window closes end as expired",
          "[sim][anthropic]") {
  AnthropicSim sim([](EmulatorOptions& options) {
    options.lifecycle.processing_s_per_request = 3600;  // 30 requests would take 30 h
  });
  const std::string id = sim.Create(AnthropicCreateBody(30))["id"];

  sim.AdvanceSeconds(86399);
  nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "in_progress");
  RequireCounts(batch, 30, 0, 0, 0, 0);

  sim.AdvanceSeconds(1);
  batch = sim.Retrieve(id);
  CHECK(batch["processing_status"] == "ended");
  CHECK(batch["ended_at"] == batch["expires_at"]);
  // Request k finishes at 1 s + (k + 1) h: 23 are done within 24 h.
  RequireCounts(batch, 0, 23, 0, 0, 7);

  int expired = 0;
  for (const auto& line : sim.Results(id)) {
    if (line["result"]["type"] == "expired") {
      ++expired;
      CHECK(line["result"].size() == 1);
    }
  }
  CHECK(expired == 7);
}

TEST_CASE("results are archived 29 days after creation", "[sim][anthropic]") {
  AnthropicSim sim;
  const std::string id = sim.Create(AnthropicCreateBody(2))["id"];
  sim.AdvanceSeconds(28 * 86400);
  CHECK(sim.Retrieve(id)["archived_at"].is_null());
  CHECK(sim.Results(id).size() == 2);

  sim.AdvanceSeconds(86400);
  const nlohmann::json batch = sim.Retrieve(id);
  CHECK(batch["archived_at"] == "2026-03-30T09:00:00.000000Z");
  CHECK(batch["processing_status"] == "ended");
  RequireAnthropicError(sim.client().Get("/v1/messages/batches/" + id + "/results"), 404,
                        "not_found_error");
}

TEST_CASE("concurrent clients create and poll batches without interference",
          "[sim][anthropic]") {
  AnthropicSim sim;
  constexpr int kThreads = 4;
  constexpr int kBatchesPerThread = 5;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SimTestClient client = sim.NewClient();
      for (int i = 0; i < kBatchesPerThread; ++i) {
        const SimResponse created = client.PostJson(
            "/v1/messages/batches",
            AnthropicCreateBody(20, "t" + std::to_string(t) + "-" + std::to_string(i) + "-"));
        if (created.status != 200) {
          ++failures[static_cast<std::size_t>(t)];
          continue;
        }
        const std::string id = created.Json()["id"];
        if (client.Get("/v1/messages/batches/" + id).status != 200) {
          ++failures[static_cast<std::size_t>(t)];
        }
        ids[static_cast<std::size_t>(t)].push_back(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::string> unique;
  for (int t = 0; t < kThreads; ++t) {
    CHECK(failures[static_cast<std::size_t>(t)] == 0);
    unique.insert(ids[static_cast<std::size_t>(t)].begin(), ids[static_cast<std::size_t>(t)].end());
  }
  CHECK(unique.size() == kThreads * kBatchesPerThread);
  const nlohmann::json page = sim.client().Get("/v1/messages/batches?limit=100").Json();
  CHECK(page["data"].size() == kThreads * kBatchesPerThread);
}

TEST_CASE("stats count Anthropic batches and per-custom_id submissions", "[sim][anthropic]") {
  AnthropicSim sim;
  sim.Create(AnthropicCreateBody(3));
  sim.Create({{"requests", {AnthropicRequest("req-1", "Paraphrase: again")}}});

  const nlohmann::json stats = sim.client().Get("/_sim/stats").Json();
  INFO(stats.dump());
  CHECK(stats["anthropic"]["batches_created"] == 2);
  CHECK(stats["anthropic"]["submissions"]["req-0"] == 1);
  CHECK(stats["anthropic"]["submissions"]["req-1"] == 2);
  CHECK(stats["openai"]["batches_created"] == 0);
}

}  // namespace batchlog::sim::testing
