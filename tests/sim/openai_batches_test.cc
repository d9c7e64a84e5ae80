// OpenAI Batch endpoints over HTTP: lifecycle, timestamps, counts, result files, cancel,
// list pagination, metadata, determinism, and a 50,000-request batch.
#include <set>

#include <catch2/catch.hpp>

#include "tests/sim/sim_test_client.h"

namespace batchlog::sim {
namespace {

using nlohmann::json;
using testing::SimHarness;
using testing::SimResponse;

constexpr std::int64_t kStartS = 1'772'355'600;  // the harness's fake clock start

std::map<std::string, json> ByCustomId(const std::vector<json>& lines) {
  std::map<std::string, json> out;
  for (const auto& line : lines) out[line["custom_id"].get<std::string>()] = line;
  return out;
}

TEST_CASE("an OpenAI batch moves validating -> in_progress -> finalizing -> completed",
          "[sim][openai]") {
  SimHarness harness;  // validating 1 s, base 1 s, 0.01 s per request, finalizing 1 s
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(100));
  json batch = harness.CreateBatchOrDie(file_id);
  const std::string id = batch["id"];
  CHECK(id.rfind("batch_", 0) == 0);
  CHECK(batch["object"] == "batch");
  CHECK(batch["status"] == "validating");
  CHECK(batch["endpoint"] == "/v1/chat/completions");
  CHECK(batch["completion_window"] == "24h");
  CHECK(batch["input_file_id"] == file_id);
  CHECK(batch["created_at"] == kStartS);
  CHECK(batch["expires_at"] == kStartS + 86400);
  CHECK(batch["model"] == "gpt-4o-mini");
  for (const char* key :
       {"in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
        "cancelling_at", "cancelled_at", "output_file_id", "error_file_id", "errors", "metadata"}) {
    INFO(key);
    CHECK(batch.contains(key));
    CHECK(batch[key].is_null());
  }
  CHECK(batch["request_counts"] == json({{"total", 0}, {"completed", 0}, {"failed", 0}}));

  harness.Advance(1.0);
  batch = harness.GetBatchOrDie(id);
  CHECK(batch["status"] == "in_progress");
  CHECK(batch["in_progress_at"] == kStartS + 1);
  CHECK(batch["request_counts"] == json({{"total", 100}, {"completed", 0}, {"failed", 0}}));

  harness.Advance(1.5);  // base 1 s, then 0.5 s at 0.01 s per request
  batch = harness.GetBatchOrDie(id);
  CHECK(batch["status"] == "in_progress");
  CHECK(batch["request_counts"]["completed"] == 50);

  harness.Advance(0.6);
  batch = harness.GetBatchOrDie(id);
  CHECK(batch["status"] == "finalizing");
  CHECK(batch["finalizing_at"] == kStartS + 3);
  CHECK(batch["output_file_id"].is_null());

  harness.Advance(1.0);
  batch = harness.GetBatchOrDie(id);
  CHECK(batch["status"] == "completed");
  CHECK(batch["completed_at"] == kStartS + 4);
  CHECK(batch["request_counts"] == json({{"total", 100}, {"completed", 100}, {"failed", 0}}));
  CHECK(batch["error_file_id"].is_null());
  REQUIRE(batch["output_file_id"].is_string());

  const SimResponse file =
      harness.client().Get("/v1/files/" + batch["output_file_id"].get<std::string>());
  REQUIRE(file.status == 200);
  CHECK(file.Json()["purpose"] == "batch_output");
}

TEST_CASE("output lines carry batch_req ids, the response body and the model's answer",
          "[sim][openai]") {
  SimHarness harness;
  const std::string input =
      testing::ChatLine("para-1", "Paraphrase: The cat sat on the mat.") + "\n" +
      testing::ChatLine("score-1", "Score this answer: In other words, x.") + "\n";
  const json batch = harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(input))["id"]);
  REQUIRE(batch["status"] == "completed");
  const auto lines =
      ByCustomId(testing::ParseJsonLines(harness.DownloadOrDie(batch["output_file_id"])));
  REQUIRE(lines.size() == 2);
  const json& para = lines.at("para-1");
  CHECK(para["id"].get<std::string>().rfind("batch_req_", 0) == 0);
  CHECK(para["error"].is_null());
  CHECK(para["response"]["status_code"] == 200);
  CHECK(para["response"]["request_id"].get<std::string>().rfind("req_", 0) == 0);
  const json& body = para["response"]["body"];
  CHECK(body["object"] == "chat.completion");
  CHECK(body["model"] == "gpt-4o-mini");
  CHECK(body["choices"][0]["message"]["role"] == "assistant");
  CHECK(body["choices"][0]["message"]["content"] == "In other words, the cat sat on the mat.");
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"]["prompt_tokens"].get<int>() > 0);
  CHECK(body["usage"]["total_tokens"] ==
        body["usage"]["prompt_tokens"].get<int>() + body["usage"]["completion_tokens"].get<int>());
  const std::string score =
      lines.at("score-1")["response"]["body"]["choices"][0]["message"]["content"];
  CHECK(score.rfind("score: ", 0) == 0);
}

TEST_CASE("result lines come in a seeded shuffled order, not input order", "[sim][openai]") {
  SimHarness harness;
  const json batch =
      harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(50)))["id"]);
  const auto lines = testing::ParseJsonLines(harness.DownloadOrDie(batch["output_file_id"]));
  REQUIRE(lines.size() == 50);
  std::vector<std::string> order;
  std::set<std::string> unique;
  for (const auto& line : lines) {
    order.push_back(line["custom_id"]);
    unique.insert(line["custom_id"].get<std::string>());
  }
  CHECK(unique.size() == 50);
  std::vector<std::string> sorted_order = order;
  std::sort(sorted_order.begin(), sorted_order.end(),
            [](const std::string& a, const std::string& b) {
              return std::stoi(a.substr(4)) < std::stoi(b.substr(4));
            });
  CHECK(order != sorted_order);
}

TEST_CASE("the same seed gives byte-identical results, another seed another order",
          "[sim][openai]") {
  const auto run = [](std::uint64_t seed) {
    EmulatorOptions options = testing::FastOptions(nullptr);
    options.seed = seed;
    options.fault_plan.mutable_request_faults()
        .rates[static_cast<std::size_t>(OutcomeKind::kServerError)] = 0.3;
    SimHarness harness(options);
    const json batch = harness.RunToEnd(
        harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(40)))["id"]);
    return harness.DownloadOrDie(batch["output_file_id"]) + "|" +
           harness.DownloadOrDie(batch["error_file_id"]);
  };
  const std::string first = run(11);
  CHECK(run(11) == first);
  CHECK(run(12) != first);
}

TEST_CASE("metadata is echoed on create, retrieve, list and cancel", "[sim][openai]") {
  SimHarness harness;
  const json metadata = {{"batchlog_run", "run-1"}, {"batchlog_batch_key", "bk-7f3a19"}};
  const json created = harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(5)),
                                                {{"metadata", metadata}});
  CHECK(created["metadata"] == metadata);
  CHECK(harness.GetBatchOrDie(created["id"])["metadata"] == metadata);
  const SimResponse list = harness.client().Get("/v1/batches");
  REQUIRE(list.status == 200);
  CHECK(list.Json()["data"][0]["metadata"] == metadata);
  const SimResponse cancelled =
      harness.client().Post("/v1/batches/" + created["id"].get<std::string>() + "/cancel", "");
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.Json()["metadata"] == metadata);
}

TEST_CASE("the batch list pages with after and limit, newest first", "[sim][openai]") {
  SimHarness harness;
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(1));
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(harness.CreateBatchOrDie(file_id)["id"]);

  SimResponse page = harness.client().Get("/v1/batches?limit=2");
  REQUIRE(page.status == 200);
  json body = page.Json();
  CHECK(body["object"] == "list");
  REQUIRE(body["data"].size() == 2);
  CHECK(body["data"][0]["id"] == ids[4]);
  CHECK(body["first_id"] == ids[4]);
  CHECK(body["last_id"] == ids[3]);
  CHECK(body["has_more"] == true);

  std::vector<std::string> seen;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    page = harness.client().Get("/v1/batches?limit=2" + (after.empty() ? "" : "&after=" + after));
    REQUIRE(page.status == 200);
    body = page.Json();
    for (const auto& batch : body["data"]) seen.push_back(batch["id"]);
    if (!body["has_more"].get<bool>()) break;
    after = body["last_id"];
  }
  CHECK(seen == std::vector<std::string>(ids.rbegin(), ids.rend()));

  page = harness.client().Get("/v1/batches");
  CHECK(page.Json()["data"].size() == 5);
  CHECK(page.Json()["has_more"] == false);
  for (const char* bad : {"0", "101", "x", "-1"}) {
    const SimResponse invalid = harness.client().Get(std::string("/v1/batches?limit=") + bad);
    CHECK(invalid.status == 400);
    CHECK(invalid.Json()["error"]["param"] == "limit");
  }
}

TEST_CASE("an empty batch list has null first_id and last_id", "[sim][openai]") {
  SimHarness harness;
  const SimResponse page = harness.client().Get("/v1/batches");
  REQUIRE(page.status == 200);
  CHECK(page.Json() == json({{"object", "list"},
                             {"data", json::array()},
                             {"first_id", nullptr},
                             {"last_id", nullptr},
                             {"has_more", false}}));
}

TEST_CASE("cancel moves to cancelling then cancelled, keeping the requests already done",
          "[sim][openai]") {
  SimHarness harness;
  const json created = harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(100)));
  const std::string id = created["id"];
  harness.Advance(2.3);  // in progress, 30 done
  SimResponse response = harness.client().Post("/v1/batches/" + id + "/cancel", "");
  REQUIRE(response.status == 200);
  json batch = response.Json();
  CHECK(batch["status"] == "cancelling");
  CHECK(batch["cancelling_at"] == kStartS + 2);
  CHECK(batch["cancelled_at"].is_null());

  // Cancelling again is harmless.
  CHECK(harness.client().Post("/v1/batches/" + id + "/cancel", "").Json()["status"] ==
        "cancelling");

  harness.Advance(1.0);
  batch = harness.GetBatchOrDie(id);
  CHECK(batch["status"] == "cancelled");
  CHECK(batch["cancelled_at"] == kStartS + 3);
  CHECK(batch["request_counts"] == json({{"total", 100}, {"completed", 30}, {"failed", 70}}));
  REQUIRE(batch["output_file_id"].is_string());
  REQUIRE(batch["error_file_id"].is_string());
  CHECK(testing::ParseJsonLines(harness.DownloadOrDie(batch["output_file_id"])).size() == 30);
  const auto errors = testing::ParseJsonLines(harness.DownloadOrDie(batch["error_file_id"]));
  REQUIRE(errors.size() == 70);
  CHECK(errors[0]["response"].is_null());
  CHECK(errors[0]["error"]["code"] == "batch_cancelled");

  response = harness.client().Post("/v1/batches/" + id + "/cancel", "");
  CHECK(response.status == 409);
  CHECK(response.Json()["error"]["type"] == "invalid_request_error");
}

TEST_CASE("a validating batch can be cancelled before any request runs", "[sim][openai]") {
  SimHarness harness;
  const std::string id = harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(3)))["id"];
  REQUIRE(harness.client().Post("/v1/batches/" + id + "/cancel", "").status == 200);
  const json batch = harness.RunToEnd(id, 1);
  CHECK(batch["status"] == "cancelled");
  CHECK(batch["in_progress_at"].is_null());
  CHECK(batch["output_file_id"].is_null());
  CHECK(batch["request_counts"]["completed"] == 0);
}

TEST_CASE("a batch still running at the end of the window expires with partial results",
          "[sim][openai]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.lifecycle.processing_s_per_request = 1;  // 100 requests need 101 s
  options.lifecycle.window_s = 51;                 // T1 = 1: 49 done at expiry
  SimHarness harness(options);
  const std::string id =
      harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(100)))["id"];
  harness.Advance(30);
  CHECK(harness.GetBatchOrDie(id)["status"] == "in_progress");
  harness.Advance(21);
  const json batch = harness.GetBatchOrDie(id);
  CHECK(batch["status"] == "expired");
  CHECK(batch["expired_at"] == kStartS + 51);
  CHECK(batch["finalizing_at"].is_null());
  CHECK(batch["request_counts"] == json({{"total", 100}, {"completed", 49}, {"failed", 51}}));
  CHECK(testing::ParseJsonLines(harness.DownloadOrDie(batch["output_file_id"])).size() == 49);
  const auto errors = testing::ParseJsonLines(harness.DownloadOrDie(batch["error_file_id"]));
  REQUIRE(errors.size() == 51);
  for (const auto& line : errors) {
    CHECK(line["response"].is_null());
    CHECK(line["error"]["code"] == "batch_expired");
    CHECK(line["error"]["message"] ==
          "This request could not be executed before the completion window expired.");
  }
}

TEST_CASE("when every request fails the batch completes with output_file_id null",
          "[sim][openai]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.fault_plan.mutable_request_faults()
      .rates[static_cast<std::size_t>(OutcomeKind::kServerError)] = 1.0;
  SimHarness harness(options);
  const json batch =
      harness.RunToEnd(harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(4)))["id"]);
  CHECK(batch["status"] == "completed");
  CHECK(batch["output_file_id"].is_null());
  CHECK(batch["error_file_id"].is_string());
  CHECK(batch["request_counts"] == json({{"total", 4}, {"completed", 0}, {"failed", 4}}));
}

TEST_CASE("unknown batch ids answer 404 in the OpenAI envelope", "[sim][openai]") {
  SimHarness harness;
  for (const auto& response : {harness.client().Get("/v1/batches/batch_nope"),
                               harness.client().Post("/v1/batches/batch_nope/cancel", "")}) {
    CHECK(response.status == 404);
    const json error = response.Json()["error"];
    CHECK(error["type"] == "invalid_request_error");
    CHECK(error["message"] == "No batch found with id 'batch_nope'.");
    CHECK(error.contains("param"));
    CHECK(error.contains("code"));
  }
}

TEST_CASE("a 50,000-request batch completes with every custom_id answered once",
          "[sim][openai][large]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.lifecycle.processing_s_per_request = 0.001;
  SimHarness harness(options);
  constexpr int kRequests = 50'000;
  const std::string id =
      harness.CreateBatchOrDie(harness.UploadOrDie(testing::ChatLines(kRequests)))["id"];
  const json batch = harness.RunToEnd(id, 100);
  CHECK(batch["status"] == "completed");
  CHECK(batch["request_counts"] ==
        json({{"total", kRequests}, {"completed", kRequests}, {"failed", 0}}));
  const std::string output = harness.DownloadOrDie(batch["output_file_id"]);
  // Scans for custom_ids instead of parsing 50,000 lines: the line shape is covered above.
  std::set<std::string> ids;
  constexpr std::string_view kKey = R"("custom_id":")";
  std::size_t lines = 0;
  for (std::size_t at = output.find(kKey); at != std::string::npos; at = output.find(kKey, at)) {
    at += kKey.size();
    ids.insert(output.substr(at, output.find('"', at) - at));
    ++lines;
  }
  CHECK(lines == kRequests);
  CHECK(ids.size() == kRequests);
  CHECK(std::count(output.begin(), output.end(), '\n') == kRequests);
  CHECK_FALSE(
      nlohmann::json::parse(output.substr(0, output.find('\n')), nullptr, false).is_discarded());
}

}  // namespace
}  // namespace batchlog::sim
