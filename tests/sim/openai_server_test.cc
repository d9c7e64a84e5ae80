// The emulator as a server: introspection routes, error pages in the provider envelope,
// request ids, concurrent clients, and the real clock with a time scale.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/sim/sim_test_client.h"

namespace batchlog::sim {
namespace {

using nlohmann::json;
using testing::SimHarness;
using testing::SimResponse;
using testing::SimTestClient;

TEST_CASE("/_sim/stats counts batches, files and submissions per custom_id", "[sim][server]") {
  SimHarness harness;
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(2));
  harness.CreateBatchOrDie(file_id);
  harness.CreateBatchOrDie(file_id);
  const SimResponse response = harness.client().Get("/_sim/stats");
  REQUIRE(response.status == 200);
  const json stats = response.Json();
  CHECK(stats["openai"]["batches_created"] == 2);
  CHECK(stats["openai"]["files_created"] == 1);
  CHECK(stats["openai"]["requests_submitted"] == 4);
  CHECK(stats["openai"]["submissions"] == json({{"req-0", 2}, {"req-1", 2}}));
  CHECK(stats["openai"]["control_calls"]["create"] == 2);
  CHECK(stats["anthropic"]["batches_created"] == 0);
}

TEST_CASE("/_sim/reset forgets files, batches and counts", "[sim][server]") {
  SimHarness harness;
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(2));
  const std::string batch_id = harness.CreateBatchOrDie(file_id)["id"];
  REQUIRE(harness.client().Post("/_sim/reset", "").status == 200);
  const json stats = harness.client().Get("/_sim/stats").Json();
  CHECK(stats["openai"]["batches_created"] == 0);
  CHECK(stats["openai"]["submissions"].empty());
  CHECK(harness.client().Get("/v1/files/" + file_id).status == 404);
  CHECK(harness.client().Get("/v1/batches/" + batch_id).status == 404);
  CHECK(harness.client().Get("/v1/batches").Json()["data"].empty());
}

TEST_CASE("unknown routes answer the provider's envelope, never HTML", "[sim][server]") {
  SimHarness harness;
  const SimResponse openai = harness.client().Get("/v1/nothing-here");
  CHECK(openai.status == 404);
  CHECK(openai.Json()["error"]["type"] == "invalid_request_error");
  CHECK(openai.Header("Content-Type").find("application/json") != std::string::npos);
  CHECK_FALSE(openai.Header("x-request-id").empty());

  const SimResponse wrong_method = harness.client().Delete("/v1/batches");
  CHECK(wrong_method.status >= 400);
  CHECK(wrong_method.Json()["error"].is_object());

  harness.client().UseAnthropicHeaders();
  const SimResponse anthropic = harness.client().Get("/v1/messages/nothing-here");
  CHECK(anthropic.status == 404);
  CHECK(anthropic.Json()["type"] == "error");
  CHECK(anthropic.Json()["error"]["type"] == "not_found_error");
  CHECK_FALSE(anthropic.Header("request-id").empty());
}

TEST_CASE("every answer carries a distinct x-request-id", "[sim][server]") {
  SimHarness harness;
  const std::string a = harness.client().Get("/v1/batches").Header("x-request-id");
  const std::string b = harness.client().Get("/v1/batches").Header("x-request-id");
  CHECK(a.rfind("req_", 0) == 0);
  CHECK(a != b);
}

TEST_CASE("concurrent clients polling at once all get consistent answers", "[sim][server]") {
  SimHarness harness;
  const std::string id =
      harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(200)))["id"];
  harness.Advance(10);  // completed: the first readers race to write the results
  constexpr int kThreads = 6;
  constexpr int kPolls = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, port = harness.port()] {
      SimTestClient client(port);
      for (int i = 0; i < kPolls; ++i) {
        const SimResponse response = client.Get("/v1/batches/" + id);
        const json batch = response.Json();
        if (response.status != 200 || batch["status"] != "completed" ||
            !batch["output_file_id"].is_string()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  const json batch = harness.GetBatchOrDie(id);
  CHECK(testing::ParseJsonLines(harness.DownloadOrDie(batch["output_file_id"])).size() == 200);
  // Exactly one output file was registered however many readers raced.
  CHECK(harness.GetBatchOrDie(id)["output_file_id"] == batch["output_file_id"]);
}

TEST_CASE("with the system clock a high time scale runs a lifecycle in real milliseconds",
          "[sim][server]") {
  EmulatorOptions options;
  options.time_scale = 10'000;  // 1 real ms = 10 simulated s
  options.lifecycle.validating_s = 5;
  options.lifecycle.processing_s_base = 5;
  options.lifecycle.processing_s_per_request = 1;
  options.lifecycle.finalizing_s = 5;
  auto emulator = testing::StartEmulatorOrDie(options);
  CHECK(emulator->base_url() == "http://127.0.0.1:" + std::to_string(emulator->port()));
  SimTestClient client(emulator->port());
  const SimResponse upload = client.UploadFile(testing::ChatLines(3));
  REQUIRE(upload.status == 200);
  const SimResponse created =
      client.PostJson("/v1/batches", {{"input_file_id", upload.Json()["id"]},
                                      {"endpoint", "/v1/chat/completions"},
                                      {"completion_window", "24h"}});
  REQUIRE(created.status == 200);
  const std::string id = created.Json()["id"];
  json batch;
  // Bounded poll: the lifecycle is 18 simulated s = 1.8 real ms; allow 2 s.
  for (int i = 0; i < 400; ++i) {
    batch = client.Get("/v1/batches/" + id).Json();
    if (batch["status"] == "completed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(batch["status"] == "completed");
  emulator->Stop();
  CHECK_FALSE(client.Get("/v1/batches").ok);
}

TEST_CASE("bad emulator options are refused", "[sim][server]") {
  EmulatorOptions options;
  options.time_scale = 0;
  CHECK(Emulator::Start(options).status().code() == base::StatusCode::kInvalidArgument);
  options = EmulatorOptions();
  options.threads = 0;
  CHECK(Emulator::Start(options).status().code() == base::StatusCode::kInvalidArgument);
  options = EmulatorOptions();
  options.spool_dir = "/nonexistent/spool";
  CHECK(Emulator::Start(options).status().code() == base::StatusCode::kInvalidArgument);
}

TEST_CASE("a taken port is reported as Unavailable", "[sim][server]") {
  auto first = testing::StartEmulatorOrDie(EmulatorOptions());
  EmulatorOptions options;
  options.port = first->port();
  CHECK(Emulator::Start(options).status().code() == base::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace batchlog::sim
