// OpenAI input validation: file problems become a failed batch with errors.data[], request
// problems at create are 400s; bad bodies always get the OpenAI error envelope.
#include <catch2/catch.hpp>

#include "tests/sim/sim_test_client.h"

namespace batchlog::sim {
namespace {

using nlohmann::json;
using testing::SimHarness;
using testing::SimResponse;

// Runs `input` as a batch and returns the failed batch's errors.data.
json FailedErrors(SimHarness& harness, const std::string& input) {
  const std::string id = harness.CreateBatchOrDie(harness.UploadOrDie(input))["id"];
  harness.Advance(1.0);
  const json batch = harness.GetBatchOrDie(id);
  INFO(batch.dump());
  REQUIRE(batch["status"] == "failed");
  CHECK(batch["failed_at"].is_number_integer());
  CHECK(batch["in_progress_at"].is_null());
  CHECK(batch["output_file_id"].is_null());
  CHECK(batch["error_file_id"].is_null());
  REQUIRE(batch["errors"]["object"] == "list");
  return batch["errors"]["data"];
}

json With(json base, const json& patch) {
  base.update(patch);
  return base;
}

void CheckEnvelope(const SimResponse& response, int status) {
  INFO(response.body);
  CHECK(response.status == status);
  const json body = response.Json();
  REQUIRE(body.is_object());
  REQUIRE(body.contains("error"));
  for (const char* key : {"message", "type", "param", "code"}) {
    INFO(key);
    CHECK(body["error"].contains(key));
  }
  CHECK(body["error"]["message"].is_string());
  CHECK_FALSE(response.Header("x-request-id").empty());
}

TEST_CASE("a line that is not JSON fails the batch naming the line", "[sim][openai]") {
  SimHarness harness;
  const std::string input =
      testing::ChatLine("a", "x") + "\n{not json\n" + testing::ChatLine("b", "y") + "\n";
  const json errors = FailedErrors(harness, input);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["code"] == "invalid_json_line");
  CHECK(errors[0]["line"] == 2);
  CHECK(errors[0]["message"].is_string());
  CHECK(errors[0].contains("param"));
  CHECK(harness.client().Get("/_sim/stats").Json()["openai"]["requests_submitted"] == 0);
}

TEST_CASE("a duplicate custom_id fails the batch", "[sim][openai]") {
  SimHarness harness;
  const json errors = FailedErrors(
      harness, testing::ChatLine("same", "x") + "\n" + testing::ChatLine("same", "y") + "\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["code"] == "duplicate_custom_id");
  CHECK(errors[0]["line"] == 2);
}

TEST_CASE("a line whose url differs from the endpoint fails the batch", "[sim][openai]") {
  SimHarness harness;
  const json errors = FailedErrors(
      harness, testing::ChatLine("a", "x") + "\n" +
                   testing::ChatLine("b", "y", "gpt-4o-mini", "/v1/embeddings") + "\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["code"] == "url_mismatch");
  CHECK(errors[0]["line"] == 2);
}

TEST_CASE("a file mixing models fails the batch", "[sim][openai]") {
  SimHarness harness;
  const json errors = FailedErrors(harness, testing::ChatLine("a", "x", "gpt-4o-mini") + "\n" +
                                                testing::ChatLine("b", "y", "gpt-4o") + "\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["code"] == "model_mismatch");
  CHECK(errors[0]["line"] == 2);
}

TEST_CASE("an empty input file fails the batch", "[sim][openai]") {
  SimHarness harness;
  const json errors = FailedErrors(harness, "");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["code"] == "empty_file");
}

TEST_CASE("more than 50,000 requests fail the batch with too_many_tasks", "[sim][openai]") {
  SimHarness harness;
  std::string input;
  for (int i = 0; i <= 50'000; ++i) {
    input += R"({"custom_id":"c)" + std::to_string(i) +
             R"(","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}})"
             "\n";
  }
  const json errors = FailedErrors(harness, input);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["code"] == "too_many_tasks");
}

TEST_CASE("an input file over the byte limit is refused at create", "[sim][openai]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.openai_input_bytes_max = 1000;  // stands in for 200 MB
  SimHarness harness(options);
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(20));
  const SimResponse response =
      harness.client().PostJson("/v1/batches", {{"input_file_id", file_id},
                                                {"endpoint", "/v1/chat/completions"},
                                                {"completion_window", "24h"}});
  CheckEnvelope(response, 400);
  CHECK(response.Json()["error"]["message"].get<std::string>().find("too large") !=
        std::string::npos);
  CHECK(harness.client().Get("/v1/batches").Json()["data"].empty());
}

TEST_CASE("create rejects bad parameters with 400 and names the param", "[sim][openai]") {
  SimHarness harness;
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(1));
  const json good = {{"input_file_id", file_id},
                     {"endpoint", "/v1/chat/completions"},
                     {"completion_window", "24h"}};
  const auto check = [&](json body, const std::string& param) {
    const SimResponse response = harness.client().PostJson("/v1/batches", body);
    CheckEnvelope(response, 400);
    CHECK(response.Json()["error"]["param"] == param);
  };
  check(With(good, {{"completion_window", "48h"}}), "completion_window");
  check(With(good, {{"endpoint", "/v1/unknown"}}), "endpoint");
  json missing = good;
  missing.erase("input_file_id");
  check(missing, "input_file_id");
  check(With(good, {{"input_file_id", "file-nope"}}), "input_file_id");
  json too_many = json::object();
  for (int i = 0; i < 17; ++i) too_many["k" + std::to_string(i)] = "v";
  check(With(good, {{"metadata", too_many}}), "metadata");
  check(With(good, {{"metadata", {{"k", std::string(513, 'v')}}}}), "metadata");
  check(With(good, {{"metadata", {{"k", 1}}}}), "metadata");
  CHECK(harness.client().Get("/v1/batches").Json()["data"].empty());
}

TEST_CASE("an invalid JSON body answers 400 in the envelope", "[sim][openai]") {
  SimHarness harness;
  CheckEnvelope(harness.client().Post("/v1/batches", "{not json", "application/json"), 400);
  CheckEnvelope(harness.client().Post("/v1/batches", "[1,2]", "application/json"), 400);
  CheckEnvelope(harness.client().Post("/v1/batches", "", "application/json"), 400);
}

TEST_CASE("a malformed multipart upload answers 400 in the envelope", "[sim][openai]") {
  SimHarness harness;
  CheckEnvelope(
      harness.client().Post("/v1/files", "--xyz\r\ngarbage", "multipart/form-data; boundary=xyz"),
      400);
  CheckEnvelope(harness.client().Post("/v1/files", "abc", "multipart/form-data"), 400);
  CheckEnvelope(harness.client().Post("/v1/files", "{}", "application/json"), 400);
}

TEST_CASE("an upload needs a file part and a valid purpose", "[sim][openai]") {
  SimHarness harness;
  SimResponse response =
      harness.client().PostMultipart("/v1/files", {{"purpose", "batch", "", ""}});
  CheckEnvelope(response, 400);
  CHECK(response.Json()["error"]["param"] == "file");
  response = harness.client().PostMultipart("/v1/files", {{"file", "x", "a.jsonl", ""}});
  CheckEnvelope(response, 400);
  CHECK(response.Json()["error"]["param"] == "purpose");
  response = harness.client().UploadFile("x", "a.jsonl", "nonsense");
  CheckEnvelope(response, 400);
  CHECK(response.Json()["error"]["param"] == "purpose");
}

TEST_CASE("an upload over the file size limit answers 413", "[sim][openai]") {
  EmulatorOptions options = testing::FastOptions(nullptr);
  options.openai_upload_bytes_max = 100;
  SimHarness harness(options);
  CheckEnvelope(harness.client().UploadFile(std::string(1000, 'x')), 413);
  CHECK(harness.client().Get("/_sim/stats").Json()["openai"]["files_created"] == 0);
}

TEST_CASE("a batch over a purpose other than batch is refused", "[sim][openai]") {
  SimHarness harness;
  const SimResponse upload = harness.client().UploadFile("x", "a.jsonl", "user_data");
  REQUIRE(upload.status == 200);
  const SimResponse response =
      harness.client().PostJson("/v1/batches", {{"input_file_id", upload.Json()["id"]},
                                                {"endpoint", "/v1/chat/completions"},
                                                {"completion_window", "24h"}});
  CheckEnvelope(response, 400);
}

TEST_CASE("every OpenAI route needs a Bearer key", "[sim][openai]") {
  SimHarness harness;
  const std::string file_id = harness.UploadOrDie(testing::ChatLines(1));
  const std::string batch_id = harness.CreateBatchOrDie(file_id)["id"];
  for (const auto& headers : {httplib::Headers{}, httplib::Headers{{"Authorization", "Basic abc"}},
                              httplib::Headers{{"Authorization", "Bearer "}}}) {
    harness.client().SetHeaders(headers);
    CheckEnvelope(harness.client().UploadFile("x"), 401);
    CheckEnvelope(harness.client().Get("/v1/files/" + file_id), 401);
    CheckEnvelope(harness.client().Get("/v1/files/" + file_id + "/content"), 401);
    CheckEnvelope(harness.client().Delete("/v1/files/" + file_id), 401);
    CheckEnvelope(harness.client().PostJson("/v1/batches", json::object()), 401);
    CheckEnvelope(harness.client().Get("/v1/batches/" + batch_id), 401);
    CheckEnvelope(harness.client().Get("/v1/batches"), 401);
    CheckEnvelope(harness.client().Post("/v1/batches/" + batch_id + "/cancel", ""), 401);
  }
}

}  // namespace
}  // namespace batchlog::sim
