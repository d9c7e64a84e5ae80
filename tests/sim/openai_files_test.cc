// OpenAI Files endpoints: upload (multipart, streamed to disk), retrieve, content, delete,
// and the bad-input answers around them.
#include <catch2/catch.hpp>

#include "tests/sim/sim_test_client.h"

namespace batchlog::sim {
namespace {

using testing::SimHarness;
using testing::SimResponse;

TEST_CASE("an uploaded file is returned as a File object and its bytes round-trip",
          "[sim][openai]") {
  SimHarness harness;
  const std::string content = testing::ChatLines(3);
  const SimResponse upload = harness.client().UploadFile(content, "in.jsonl");
  REQUIRE(upload.status == 200);
  const auto file = upload.Json();
  CHECK(file["object"] == "file");
  CHECK(file["purpose"] == "batch");
  CHECK(file["filename"] == "in.jsonl");
  CHECK(file["bytes"] == content.size());
  CHECK(file["status"] == "processed");
  CHECK(file["created_at"].is_number_integer());
  CHECK(file["id"].get<std::string>().rfind("file-", 0) == 0);
  CHECK_FALSE(upload.Header("x-request-id").empty());

  const SimResponse get = harness.client().Get("/v1/files/" + file["id"].get<std::string>());
  REQUIRE(get.status == 200);
  CHECK(get.Json() == file);
  CHECK(harness.DownloadOrDie(file["id"]) == content);
}

TEST_CASE("a deleted file answers deleted:true and is gone afterwards", "[sim][openai]") {
  SimHarness harness;
  const std::string id = harness.UploadOrDie(testing::ChatLines(1));
  const SimResponse deleted = harness.client().Delete("/v1/files/" + id);
  REQUIRE(deleted.status == 200);
  CHECK(deleted.Json() == nlohmann::json({{"id", id}, {"object", "file"}, {"deleted", true}}));
  const SimResponse again = harness.client().Get("/v1/files/" + id);
  CHECK(again.status == 404);
  CHECK(again.Json()["error"]["type"] == "invalid_request_error");
  CHECK(harness.client().Delete("/v1/files/" + id).status == 404);
  CHECK(harness.client().Get("/v1/files/" + id + "/content").status == 404);
}

// Node 18's fetch (undici) ends the body right after the closing "--boundary--".
TEST_CASE("an upload whose closing boundary has no CRLF is accepted", "[sim][openai]") {
  SimHarness harness;
  const std::string content = testing::ChatLines(2);
  const std::string body =
      "--b0undary\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
      "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.jsonl\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      content + "\r\n--b0undary--";
  const SimResponse upload =
      harness.client().Post("/v1/files", body, "multipart/form-data; boundary=b0undary");
  REQUIRE(upload.status == 200);
  CHECK(upload.Json()["filename"] == "n.jsonl");
  CHECK(harness.DownloadOrDie(upload.Json()["id"]) == content);

  const SimResponse truncated = harness.client().Post(
      "/v1/files", body.substr(0, body.size() - 12), "multipart/form-data; boundary=b0undary");
  CHECK(truncated.status == 400);
  CHECK(truncated.Json()["error"]["type"] == "invalid_request_error");
}

}  // namespace
}  // namespace batchlog::sim
