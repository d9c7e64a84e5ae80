// Every response body of the emulator's OpenAI routes validates against the schema the
// official OpenAPI document (../shared/openai-openapi.yaml) declares for that route: files,
// batches in each status a batch can reach, the batch list, file deletion and the error
// envelope. The response schema is looked up by path, method and status in the document
// itself, so the test follows the document rather than a hand-kept mapping.
//
// The document is not part of the repository. Where it is absent (a user's clone) these
// tests print "skipped: the OpenAI OpenAPI document ..." and pass; CTest reports them as
// skipped through SKIP_REGULAR_EXPRESSION (tests/sim/CMakeLists.txt).
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/sim/emulator.h"
#include "src/sim/emulator_options.h"
#include "src/sim/fault_plan.h"
#include "tests/sim/json_schema_validator.h"
#include "tests/sim/openapi_document.h"
#include "tests/sim/sim_test_client.h"

namespace batchlog::sim::testing {
namespace {

using nlohmann::json;

// The build passes ${PROJECT_SOURCE_DIR}/../shared/openai-openapi.yaml; the environment
// variable of the same name overrides it (e.g. to see the skip).
std::filesystem::path OpenApiPath() {
  if (const char* path = std::getenv("BATCHLOG_OPENAI_OPENAPI_YAML")) return path;
  return BATCHLOG_OPENAI_OPENAPI_YAML;
}

// The document, parsed once per process; nullptr (after a visible "skipped:" warning) when
// it is absent. A document that exists but does not parse fails the test.
const OpenApiDocument* DocumentOrSkip() {
  static const std::filesystem::path path = OpenApiPath();
  static const base::Result<OpenApiDocument> document = OpenApiDocument::Load(path);
  if (!document.ok() && document.status().code() == base::StatusCode::kNotFound) {
    WARN("skipped: the OpenAI OpenAPI document was not found at " << path.string()
                                                                  << " (it lives beside the "
                                                                     "repository, in shared/)");
    return nullptr;
  }
  INFO(document.status().ToString());
  REQUIRE(document.ok());
  return &*document;
}

// Route validation is strict where the service is: unknown properties are violations (a
// misspelled field fails), and null is accepted for optional properties, as the service
// and the document's own Batch example send (see SchemaValidatorOptions).
constexpr SchemaValidatorOptions kRouteOptions = {.null_allowed_for_optional_properties = true,
                                                  .reject_unknown_properties = true};

class RouteChecker {
 public:
  explicit RouteChecker(const OpenApiDocument& document)
      : document_(document), validator_(document.component_schemas(), kRouteOptions) {}

  // Checks a 200 answer of `method` `spec_path` (the document's spelling, e.g.
  // "/batches/{batch_id}") and returns its JSON body.
  json CheckOk(const SimResponse& response, std::string_view spec_path, std::string_view method) {
    INFO(method << " " << spec_path << " -> " << response.status << " " << response.body);
    REQUIRE(response.ok);
    REQUIRE(response.status == 200);
    CHECK(response.Header("Content-Type").find("application/json") != std::string::npos);
    CHECK_FALSE(response.Header("x-request-id").empty());
    const json body = response.Json();
    REQUIRE_FALSE(body.is_discarded());
    const auto schema = document_.ResponseSchema(spec_path, method, "200");
    INFO(schema.status().ToString());
    REQUIRE(schema.ok());
    const auto violations = validator_.Validate(body, *schema);
    INFO(FormatViolations(violations));
    CHECK(violations.empty());
    ++checked_;
    return body;
  }

  // Checks an error answer: the ErrorResponse envelope with all four keys.
  json CheckError(const SimResponse& response, int expected_status) {
    INFO("error answer " << response.status << " " << response.body);
    REQUIRE(response.ok);
    CHECK(response.status == expected_status);
    CHECK(response.Header("Content-Type").find("application/json") != std::string::npos);
    CHECK_FALSE(response.Header("x-request-id").empty());
    const json body = response.Json();
    REQUIRE_FALSE(body.is_discarded());
    CheckNamed(body, "ErrorResponse");
    ++checked_;
    return body;
  }

  void CheckNamed(const json& value, std::string_view schema_name) const {
    const auto violations = validator_.ValidateNamed(value, schema_name);
    INFO(schema_name << ": " << value.dump() << "\n" << FormatViolations(violations));
    CHECK(violations.empty());
  }

  int checked() const { return checked_; }

 private:
  const OpenApiDocument& document_;
  JsonSchemaValidator validator_;
  int checked_ = 0;
};

base::Timestamp Start() { return base::FromUnixMicros(1767225600LL * 1000 * 1000); }

base::Duration Seconds(double seconds) {
  return base::Duration(static_cast<std::int64_t>(seconds * 1e6));
}

// Two custom_ids fail on every attempt, one per error-file shape (HTTP-level and not), and
// one is content-filtered; the 2nd batch created expires with half its requests done.
FaultPlan SchemaTestPlan() {
  FaultPlan plan;
  plan.mutable_request_faults().always_fail = {{"req-1", OutcomeKind::kServerError},
                                               {"req-2", OutcomeKind::kExpired},
                                               {"req-3", OutcomeKind::kContentFilter}};
  BatchFaultRule expire;
  expire.kind = BatchFaultKind::kExpire;
  expire.api = Api::kOpenAi;
  expire.batches = {2};
  expire.completed_fraction = 0.5;
  plan.AddBatchRule(expire);
  return plan;
}

json CreateBatchBody(const std::string& file_id) {
  return {{"input_file_id", file_id},
          {"endpoint", "/v1/chat/completions"},
          {"completion_window", "24h"},
          {"metadata", {{"batchlog_run", "schema-test"}}}};
}

TEST_CASE("the OpenAI document maps each emulated route to the expected response schema",
          "[sim][schema][openapi]") {
  const OpenApiDocument* document = DocumentOrSkip();
  if (document == nullptr) return;
  const std::vector<std::vector<std::string>> routes = {
      {"/files", "post", "OpenAIFile"},
      {"/files/{file_id}", "get", "OpenAIFile"},
      {"/files/{file_id}", "delete", "DeleteFileResponse"},
      {"/batches", "post", "Batch"},
      {"/batches", "get", "ListBatchesResponse"},
      {"/batches/{batch_id}", "get", "Batch"},
      {"/batches/{batch_id}/cancel", "post", "Batch"}};
  for (const auto& route : routes) {
    const auto schema = document->ResponseSchema(route[0], route[1], "200");
    INFO(route[1] << " " << route[0] << ": " << schema.status().ToString());
    REQUIRE(schema.ok());
    CHECK((*schema)["$ref"] == "#/components/schemas/" + route[2]);
  }
  for (const char* name : {"ErrorResponse", "Error", "CreateChatCompletionResponse"}) {
    CHECK(document->component_schemas().contains(name));
  }
}

TEST_CASE("the document's Batch schema rejects bodies the service would never send",
          "[sim][schema][openapi]") {
  const OpenApiDocument* document = DocumentOrSkip();
  if (document == nullptr) return;
  const JsonSchemaValidator validator(document->component_schemas(), kRouteOptions);
  const json valid = json::parse(R"({
      "id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "errors": null,
      "input_file_id": "file-1", "completion_window": "24h", "status": "cancelled",
      "output_file_id": null, "error_file_id": null, "created_at": 1767225600,
      "in_progress_at": null, "expires_at": 1767312000, "finalizing_at": null,
      "completed_at": null, "failed_at": null, "expired_at": null,
      "cancelling_at": 1767225601, "cancelled_at": 1767225602,
      "request_counts": {"total": 2, "completed": 0, "failed": 0},
      "metadata": {"k": "v"}})");
  CHECK(validator.ValidateNamed(valid, "Batch").empty());

  json american = valid;
  american["status"] = "canceled";
  CHECK_FALSE(validator.ValidateNamed(american, "Batch").empty());
  json missing_count = valid;
  missing_count["request_counts"].erase("total");
  CHECK_FALSE(validator.ValidateNamed(missing_count, "Batch").empty());
  json string_time = valid;
  string_time["created_at"] = "2026-01-01T00:00:00Z";
  CHECK_FALSE(validator.ValidateNamed(string_time, "Batch").empty());
  json misspelled = valid;
  misspelled["canceled_at"] = 1767225602;
  CHECK_FALSE(validator.ValidateNamed(misspelled, "Batch").empty());
  json bad_metadata = valid;
  bad_metadata["metadata"] = {{"k", 1}};
  CHECK_FALSE(validator.ValidateNamed(bad_metadata, "Batch").empty());
  CHECK_FALSE(
      validator.ValidateNamed(json{{"error", {{"message", "m"}, {"type", "t"}}}}, "ErrorResponse")
          .empty());
}

TEST_CASE(
    "file routes answer with bodies that validate against OpenAIFile and "
    "DeleteFileResponse",
    "[sim][schema][openapi]") {
  const OpenApiDocument* document = DocumentOrSkip();
  if (document == nullptr) return;
  base::FakeClock clock(Start());
  auto emulator = StartEmulatorOrDie(FastOptions(&clock));
  SimTestClient client(emulator->port());
  RouteChecker checker(*document);

  const json uploaded = checker.CheckOk(client.UploadFile(ChatLines(3)), "/files", "post");
  const std::string file_id = uploaded.at("id");
  CHECK(uploaded["purpose"] == "batch");
  checker.CheckOk(client.Get("/v1/files/" + file_id), "/files/{file_id}", "get");
  const json deleted =
      checker.CheckOk(client.Delete("/v1/files/" + file_id), "/files/{file_id}", "delete");
  CHECK(deleted["deleted"] == true);
  checker.CheckError(client.Get("/v1/files/" + file_id), 404);
}

TEST_CASE("batch bodies validate against Batch in every status a batch can reach",
          "[sim][schema][openapi]") {
  const OpenApiDocument* document = DocumentOrSkip();
  if (document == nullptr) return;
  base::FakeClock clock(Start());
  EmulatorOptions options = FastOptions(&clock);
  options.fault_plan = SchemaTestPlan();
  auto emulator = StartEmulatorOrDie(options);
  SimTestClient client(emulator->port());
  RouteChecker checker(*document);
  std::set<std::string> statuses;
  std::vector<json> finished;

  const auto check_batch = [&](const SimResponse& response, std::string_view spec_path,
                               std::string_view method) {
    json batch = checker.CheckOk(response, spec_path, method);
    statuses.insert(batch.value("status", ""));
    return batch;
  };
  const auto get = [&](const std::string& id) {
    return check_batch(client.Get("/v1/batches/" + id), "/batches/{batch_id}", "get");
  };

  const json input = checker.CheckOk(client.UploadFile(ChatLines(6)), "/files", "post");
  const std::string input_id = input.at("id");

  // 1: validating -> in_progress -> finalizing -> completed, with both result files.
  const json main_batch =
      check_batch(client.PostJson("/v1/batches", CreateBatchBody(input_id)), "/batches", "post");
  const std::string main_id = main_batch.at("id");
  // 2: expires half done (the plan's batch fault).
  const std::string expiring_id = check_batch(
      client.PostJson("/v1/batches", CreateBatchBody(input_id)), "/batches", "post")["id"];
  // 3: cancelled while running.
  const std::string cancelled_id = check_batch(
      client.PostJson("/v1/batches", CreateBatchBody(input_id)), "/batches", "post")["id"];
  // 4: fails validation (a line that is not JSON).
  const json bad_input = checker.CheckOk(
      client.UploadFile(ChatLine("ok-0", "Paraphrase: fine.") + "\n{not json\n"), "/files", "post");
  const std::string failed_id =
      check_batch(client.PostJson("/v1/batches", CreateBatchBody(bad_input.at("id"))), "/batches",
                  "post")["id"];
  get(main_id);

  clock.Advance(Seconds(1.5));  // past validating: requests run from 1 s + 1 s on
  get(main_id);
  const json cancelling = check_batch(client.Post("/v1/batches/" + cancelled_id + "/cancel", ""),
                                      "/batches/{batch_id}/cancel", "post");
  CHECK(cancelling["status"] == "cancelling");
  finished.push_back(get(failed_id));
  CHECK(finished.back()["status"] == "failed");

  clock.Advance(Seconds(1.0));  // requests done at 2.01 .. 2.06 s; finalizing until 3.06 s
  const json finalizing = get(main_id);
  CHECK(finalizing["status"] == "finalizing");
  get(cancelled_id);

  clock.Advance(Seconds(1.5));
  finished.push_back(get(main_id));
  CHECK(finished.back()["status"] == "completed");
  finished.push_back(get(cancelled_id));
  CHECK(finished.back()["status"] == "cancelled");
  get(expiring_id);

  clock.Advance(Seconds(86400));
  finished.push_back(get(expiring_id));
  CHECK(finished.back()["status"] == "expired");

  CHECK(statuses == std::set<std::string>{"validating", "in_progress", "finalizing", "completed",
                                          "failed", "expired", "cancelling", "cancelled"});

  // The list, page by page (limit 2), validates as ListBatchesResponse.
  std::string after;
  std::set<std::string> listed;
  for (int page = 0; page < 10; ++page) {
    const std::string query = "/v1/batches?limit=2" + (after.empty() ? "" : "&after=" + after);
    const json list = checker.CheckOk(client.Get(query), "/batches", "get");
    for (const json& batch : list["data"]) listed.insert(batch.value("id", ""));
    if (!list.value("has_more", false)) break;
    after = list.value("last_id", "");
  }
  CHECK(listed == std::set<std::string>{main_id, expiring_id, cancelled_id, failed_id});

  // The result files: file objects validate, success bodies are chat completions and
  // HTTP-level failures carry the error envelope.
  int success_lines = 0;
  int http_failure_lines = 0;
  for (const json& batch : finished) {
    for (const char* key : {"output_file_id", "error_file_id"}) {
      if (!batch[key].is_string()) continue;
      const std::string file_id = batch[key];
      checker.CheckOk(client.Get("/v1/files/" + file_id), "/files/{file_id}", "get");
      const SimResponse content = client.Get("/v1/files/" + file_id + "/content");
      REQUIRE(content.status == 200);
      for (const json& line : ParseJsonLines(content.body)) {
        INFO(line.dump());
        if (!line["response"].is_object()) continue;
        const int status = line["response"].value("status_code", 0);
        if (status == 200) {
          checker.CheckNamed(line["response"]["body"], "CreateChatCompletionResponse");
          ++success_lines;
        } else {
          checker.CheckNamed(line["response"]["body"], "ErrorResponse");
          ++http_failure_lines;
        }
      }
    }
  }
  CHECK(success_lines > 0);
  CHECK(http_failure_lines > 0);
}

TEST_CASE("error answers of the OpenAI routes validate against ErrorResponse",
          "[sim][schema][openapi]") {
  const OpenApiDocument* document = DocumentOrSkip();
  if (document == nullptr) return;
  base::FakeClock clock(Start());
  RouteChecker checker(*document);

  SECTION("injected control-plane faults") {
    EmulatorOptions options = FastOptions(&clock);
    for (const auto& [operation, kind] : std::vector<std::pair<Operation, ControlFaultKind>>{
             {Operation::kList, ControlFaultKind::kRateLimit},
             {Operation::kGet, ControlFaultKind::kServerError},
             {Operation::kDownload, ControlFaultKind::kOverloaded}}) {
      ControlFaultRule rule;
      rule.operation = operation;
      rule.kind = kind;
      rule.api = Api::kOpenAi;
      rule.calls = {1};
      rule.retry_after_s = 2;
      options.fault_plan.AddControlRule(rule);
    }
    auto emulator = StartEmulatorOrDie(options);
    SimTestClient client(emulator->port());
    const SimResponse limited = client.Get("/v1/batches");
    checker.CheckError(limited, 429);
    CHECK(limited.Header("Retry-After") == "2");
    checker.CheckError(client.Get("/v1/batches/batch_anything"), 500);
    const json file = checker.CheckOk(client.UploadFile(ChatLines(1)), "/files", "post");
    checker.CheckError(client.Get("/v1/files/" + file.value("id", "") + "/content"), 503);
  }
  SECTION("bad requests") {
    auto emulator = StartEmulatorOrDie(FastOptions(&clock));
    SimTestClient client(emulator->port());
    const json file = checker.CheckOk(client.UploadFile(ChatLines(1)), "/files", "post");
    const std::string file_id = file.at("id");
    checker.CheckError(client.Get("/v1/files/file-unknown"), 404);
    checker.CheckError(client.Delete("/v1/files/file-unknown"), 404);
    checker.CheckError(client.Post("/v1/batches", "{not json"), 400);
    checker.CheckError(client.PostJson("/v1/batches", json::array()), 400);
    json window = CreateBatchBody(file_id);
    window["completion_window"] = "1h";
    checker.CheckError(client.PostJson("/v1/batches", window), 400);
    json endpoint = CreateBatchBody(file_id);
    endpoint["endpoint"] = "/v1/unknown";
    checker.CheckError(client.PostJson("/v1/batches", endpoint), 400);
    json no_file = CreateBatchBody(file_id);
    no_file.erase("input_file_id");
    checker.CheckError(client.PostJson("/v1/batches", no_file), 400);
    // The service answers an unknown input file with a 400 "Cannot find file" (curator#116).
    checker.CheckError(client.PostJson("/v1/batches", CreateBatchBody("file-unknown")), 400);
    checker.CheckError(
        client.Post("/v1/files", "--x\r\ngarbage", "multipart/form-data; boundary=x"), 400);
    checker.CheckError(client.PostMultipart("/v1/files", {{"purpose", "batch", "", ""}}), 400);
    checker.CheckError(client.UploadFile(ChatLines(1), "in.jsonl", "fine-tune-nope"), 400);
    checker.CheckError(client.Get("/v1/batches/batch_unknown"), 404);
    checker.CheckError(client.Post("/v1/batches/batch_unknown/cancel", ""), 404);
    checker.CheckError(client.Get("/v1/batches?limit=0"), 400);
  }
  SECTION("authentication and unknown routes") {
    auto emulator = StartEmulatorOrDie(FastOptions(&clock));
    SimTestClient client(emulator->port());
    client.SetHeaders({});
    checker.CheckError(client.Get("/v1/batches"), 401);
    client.SetHeaders({{"Authorization", "Basic abc"}});
    checker.CheckError(client.Get("/v1/files/file-x"), 401);
    client.SetHeaders({{"Authorization", "Bearer test-key"}});
    checker.CheckError(client.Get("/v1/no-such-route"), 404);
  }
  CHECK(checker.checked() > 0);
}

}  // namespace
}  // namespace batchlog::sim::testing
