// Providers against a tiny cpp-httplib server that answers what the emulator never does:
// HTML and empty bodies with 200, truncated JSON, unknown status values, every optional
// field null, gateway errors, an echoed key. Also checks the exact bytes and headers the
// providers send.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <httplib.h>
#include <catch2/catch.hpp>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/providers/provider_config.h"
#include "tests/support/temp_dir.h"

namespace batchlog::providers {
namespace {

constexpr const char* kKey = "sk-odd-test-key-0123456789";

// A cpp-httplib server with canned answers per "METHOD path", recording what it received.
class CannedServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::map<std::string, std::string> headers;
  };
  struct Seen {
    std::string body;
    httplib::Headers headers;
  };

  CannedServer() {
    const auto handle = [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      const std::string key = request.method + " " + request.path;
      seen_[key] = Seen{request.body, request.headers};
      const auto it = answers_.find(key);
      if (it == answers_.end()) {
        response.status = 599;
        response.set_content("no canned answer for " + key, "text/plain");
        return;
      }
      response.status = it->second.status;
      for (const auto& [name, value] : it->second.headers) response.set_header(name, value);
      response.set_content(it->second.body, it->second.content_type);
    };
    server_.Get(".*", handle);
    server_.Post(".*", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server_.is_running());
  }
  ~CannedServer() {
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void Set(const std::string& key, Answer answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    answers_[key] = std::move(answer);
  }
  Seen seen(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_[key];
  }
  bool was_called(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_.count(key) > 0;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::map<std::string, Answer> answers_;
  std::map<std::string, Seen> seen_;
};

struct Fixture {
  CannedServer server;
  base::FakeClock clock{base::FromUnixMicros(1'772'355'600'000'000)};
  base::SeededRandom random{7};

  std::unique_ptr<BatchProvider> Make(ProviderKind kind, const std::string& path = "/v1",
                                      std::vector<http::HttpHeader> extra = {}) {
    ProviderConfig config;
    config.kind = kind;
    config.base_url = server.Url(path);
    config.api_key_env = "ODD_KEY";
    config.extra_headers = std::move(extra);
    config.timeouts.total = std::chrono::milliseconds(5000);
    config.retry.attempts_max = 2;
    ProviderEnvironment environment;
    environment.clock = &clock;
    environment.random = &random;
    environment.lookup_env = [](const std::string&) -> std::optional<std::string> {
      return std::string(kKey);
    };
    auto provider = MakeProvider(config, std::move(environment));
    REQUIRE(provider.ok());
    return std::move(provider).value();
  }
};

SubmitSpec OneRequest(ProviderKind kind) {
  SubmitSpec spec;
  spec.run_id = "run-odd";
  spec.batch_key = "bk-odd";
  spec.workflow = "wf";
  spec.stage = "stage_1";
  spec.attempt = 2;
  spec.requests.push_back(
      {"id-1",
       kind == ProviderKind::kOpenAi
           ? R"({"model":"m","messages":[{"role":"user","content":"hi"}]})"
           : R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})"});
  return spec;
}

TEST_CASE("a 200 answer with an HTML or empty body is InvalidArgument naming the call",
          "[providers][odd]") {
  Fixture f;
  f.server.Set("GET /v1/batches/batch_html",
               {200, "<html><body>Gateway says hello</body></html>", "text/html", {}});
  f.server.Set("GET /v1/batches/batch_empty", {200, "", "application/json", {}});
  f.server.Set("GET /v1/batches/batch_cut", {200, R"({"id":"batch_cut","status":)", "", {}});
  f.server.Set("GET /v1/batches/batch_array", {200, "[1,2]", "application/json", {}});
  f.server.Set("GET /v1/messages/batches/msgbatch_html", {200, "<html>x</html>", "text/html", {}});
  f.server.Set("GET /v1/batches", {200, "<!DOCTYPE html><html></html>", "text/html", {}});
  auto openai = f.Make(ProviderKind::kOpenAi);
  auto anthropic = f.Make(ProviderKind::kAnthropic);

  const auto html = openai->GetBatch("batch_html");
  CHECK(html.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(html.status().message().find("openai GetBatch batch_html") != std::string::npos);
  CHECK(html.status().message().find("not JSON") != std::string::npos);
  CHECK(html.status().message().find("<html><body>Gateway") != std::string::npos);
  const auto empty = openai->GetBatch("batch_empty");
  CHECK(empty.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(empty.status().message().find("empty") != std::string::npos);
  CHECK(openai->GetBatch("batch_cut").status().code() == base::StatusCode::kInvalidArgument);
  CHECK(openai->GetBatch("batch_array").status().code() == base::StatusCode::kInvalidArgument);
  CHECK(openai->ListBatches("", 5).status().code() == base::StatusCode::kInvalidArgument);
  CHECK(anthropic->GetBatch("msgbatch_html").status().code() == base::StatusCode::kInvalidArgument);
}

TEST_CASE("an unexpected status value is InvalidArgument naming the value", "[providers][odd]") {
  Fixture f;
  f.server.Set("GET /v1/batches/batch_1",
               {200,
                R"({"id":"batch_1","object":"batch","status":"paused","created_at":1})",
                "application/json",
                {}});
  f.server.Set(
      "GET /v1/messages/batches/msgbatch_1",
      {200, R"({"id":"msgbatch_1","processing_status":"archived"})", "application/json", {}});
  const auto openai = f.Make(ProviderKind::kOpenAi)->GetBatch("batch_1");
  CHECK(openai.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(openai.status().message().find("\"paused\"") != std::string::npos);
  const auto anthropic = f.Make(ProviderKind::kAnthropic)->GetBatch("msgbatch_1");
  CHECK(anthropic.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(anthropic.status().message().find("\"archived\"") != std::string::npos);
}

TEST_CASE("null and missing optional fields read as empty", "[providers][odd]") {
  Fixture f;
  f.server.Set("GET /v1/batches/batch_nulls",
               {200,
                R"({"id":"batch_nulls","object":"batch","endpoint":"/v1/chat/completions",)"
                R"("errors":null,"input_file_id":"file-in","completion_window":"24h",)"
                R"("status":"validating","output_file_id":null,"error_file_id":null,)"
                R"("created_at":null,"in_progress_at":null,"expires_at":null,)"
                R"("finalizing_at":null,"completed_at":null,"failed_at":null,)"
                R"("request_counts":null,"metadata":null})",
                "application/json",
                {}});
  f.server.Set("GET /v1/batches/batch_failed",
               {200,
                R"({"id":"batch_failed","status":"failed","created_at":1772355600,)"
                R"("errors":{"object":"list","data":[{"code":"invalid_json_line",)"
                R"("message":"bad line","param":null,"line":3},{"code":"empty_file"}]},)"
                R"("request_counts":{"total":0,"completed":0,"failed":0}})",
                "application/json",
                {}});
  f.server.Set("GET /v1/messages/batches/msgbatch_nulls",
               {200,
                R"({"id":"msgbatch_nulls","type":"message_batch","processing_status":"ended",)"
                R"("request_counts":{"processing":0,"succeeded":1,"errored":null},)"
                R"("created_at":"2026-03-01T09:00:00.5Z","ended_at":null,)"
                R"("cancel_initiated_at":null,"archived_at":null,"results_url":null})",
                "application/json",
                {}});
  auto openai = f.Make(ProviderKind::kOpenAi);
  const auto nulls = openai->GetBatch("batch_nulls");
  REQUIRE(nulls.ok());
  CHECK(nulls->state == BatchState::kValidating);
  CHECK(nulls->created_at_unix_us == 0);
  CHECK(nulls->output_file_id.empty());
  CHECK(nulls->error_file_id.empty());
  CHECK(nulls->input_file_id == "file-in");
  CHECK(nulls->counts == RequestCounts{});
  CHECK(nulls->errors.empty());
  CHECK(nulls->metadata.empty());

  const auto failed = openai->GetBatch("batch_failed");
  REQUIRE(failed.ok());
  CHECK(failed->state == BatchState::kFailed);
  REQUIRE(failed->errors.size() == 2);
  CHECK(failed->errors[0].code == "invalid_json_line");
  CHECK(failed->errors[0].line == 3);
  CHECK(failed->errors[0].param.empty());
  CHECK(failed->errors[1].code == "empty_file");
  CHECK(failed->errors[1].message.empty());

  const auto anthropic = f.Make(ProviderKind::kAnthropic)->GetBatch("msgbatch_nulls");
  REQUIRE(anthropic.ok());
  CHECK(anthropic->state == BatchState::kCompleted);
  CHECK(anthropic->counts == RequestCounts{1, 0, 1, 0, 0, 0});
  CHECK(anthropic->created_at_unix_us == 1'772'355'600'500'000);
  CHECK(anthropic->results_url.empty());
}

TEST_CASE("a 2xx error envelope instead of a batch is InvalidArgument, not a loop",
          "[providers][odd]") {
  Fixture f;
  f.server.Set("GET /v1/batches/batch_gone",
               {200,
                R"({"error":{"message":"No batch found","type":"invalid_request_error"}})",
                "application/json",
                {}});
  const auto gone = f.Make(ProviderKind::kOpenAi)->GetBatch("batch_gone");
  CHECK(gone.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(gone.status().message().find("No batch found") != std::string::npos);
}

TEST_CASE("a create answered 2xx with an unreadable body is OutcomeUnknown", "[providers][odd]") {
  Fixture f;
  f.server.Set("POST /v1/batches", {200, "<html>ok</html>", "text/html", {}});
  f.server.Set("POST /v1/messages/batches", {200, "", "application/json", {}});
  const auto openai =
      f.Make(ProviderKind::kOpenAi)->CreateBatch(OneRequest(ProviderKind::kOpenAi), "file-abc");
  CHECK(openai.status().code() == base::StatusCode::kOutcomeUnknown);
  CHECK(openai.status().message().find("may have been created") != std::string::npos);
  const auto anthropic =
      f.Make(ProviderKind::kAnthropic)->CreateBatch(OneRequest(ProviderKind::kAnthropic), "");
  CHECK(anthropic.status().code() == base::StatusCode::kOutcomeUnknown);
}

TEST_CASE("a batch create answered 500, 502 or 504 may have taken effect: OutcomeUnknown",
          "[providers][odd]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(static_cast<int>(kind));
  Fixture f;
  auto provider = f.Make(kind);
  const std::string route =
      kind == ProviderKind::kOpenAi ? "POST /v1/batches" : "POST /v1/messages/batches";
  for (const int status : {500, 502, 504}) {
    CAPTURE(status);
    f.server.Set(route, {status, "<html>Bad Gateway</html>", "text/html", {}});
    const auto created = provider->CreateBatch(OneRequest(kind), "file-abc");
    CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
    CHECK(created.status().message().find("HTTP " + std::to_string(status)) != std::string::npos);
  }
  // An overloaded server refused the work: a rejection, retried later as a new create.
  f.server.Set(route, {503, "<html>Service Unavailable</html>", "text/html", {}});
  const auto refused = provider->CreateBatch(OneRequest(kind), "file-abc");
  REQUIRE(refused.ok());
  REQUIRE(refused->rejected.has_value());
  CHECK(refused->rejected->http_status == 503);
  CHECK(refused->rejected->message.find("Service Unavailable") != std::string::npos);
}

TEST_CASE("HTTP errors of calls other than creates map onto the Status contract",
          "[providers][odd]") {
  Fixture f;
  auto provider = f.Make(ProviderKind::kOpenAi);
  const std::map<int, base::StatusCode> expected = {
      {400, base::StatusCode::kInvalidArgument},    {401, base::StatusCode::kFailedPrecondition},
      {403, base::StatusCode::kFailedPrecondition}, {404, base::StatusCode::kNotFound},
      {409, base::StatusCode::kFailedPrecondition}, {422, base::StatusCode::kInvalidArgument},
      {429, base::StatusCode::kResourceExhausted},  {500, base::StatusCode::kUnavailable},
      {503, base::StatusCode::kUnavailable},        {302, base::StatusCode::kInvalidArgument}};
  for (const auto& [status, code] : expected) {
    CAPTURE(status);
    f.server.Set("GET /v1/batches/batch_x",
                 {status,
                  R"({"error":{"message":"m","type":"t","param":null,"code":"c"}})",
                  "application/json",
                  {{"x-request-id", "req_42"}}});
    const auto result = provider->GetBatch("batch_x");
    CHECK(result.status().code() == code);
    CHECK(result.status().message().find("HTTP " + std::to_string(status) + " t (c): m") !=
          std::string::npos);
    CHECK(result.status().message().find("request id req_42") != std::string::npos);
  }
}

TEST_CASE("a key echoed in an error answer never reaches the Status", "[providers][odd]") {
  Fixture f;
  f.server.Set("GET /v1/batches/batch_x",
               {401,
                std::string(R"({"error":{"message":"Incorrect API key provided: )") + kKey +
                    R"(.","type":"invalid_request_error","code":"invalid_api_key"}})",
                "application/json",
                {}});
  const auto result = f.Make(ProviderKind::kOpenAi)->GetBatch("batch_x");
  CHECK(result.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(result.status().message().find(kKey) == std::string::npos);
  CHECK(result.status().message().find("Incorrect API key provided: [redacted]") !=
        std::string::npos);
}

TEST_CASE("an OpenAI create sends the key, the extra headers and the metadata to the base path",
          "[providers][odd][compatible]") {
  Fixture f;
  f.server.Set("POST /compat/v1/batches",
               {200,
                R"({"id":"batch_c","status":"validating","created_at":1772355600})",
                "application/json",
                {}});
  auto provider = f.Make(ProviderKind::kOpenAi, "/compat/v1", {{"X-Team", "research"}});
  const auto created = provider->CreateBatch(OneRequest(ProviderKind::kOpenAi), "file-abc");
  REQUIRE(created.ok());
  REQUIRE(created->batch.has_value());
  CHECK(created->batch->id == "batch_c");
  const auto seen = f.server.seen("POST /compat/v1/batches");
  const auto header = [&](const char* name) {
    const auto it = seen.headers.find(name);
    return it == seen.headers.end() ? std::string() : it->second;
  };
  CHECK(header("Authorization") == std::string("Bearer ") + kKey);
  CHECK(header("X-Team") == "research");
  CHECK(header("Content-Type") == "application/json");
  CHECK(seen.body ==
        R"({"input_file_id":"file-abc","endpoint":"/v1/chat/completions",)"
        R"("completion_window":"24h","metadata":{"batchlog_run":"run-odd",)"
        R"("batchlog_batch_key":"bk-odd","batchlog_stage":"wf/stage_1","batchlog_attempt":"2"}})");
}

TEST_CASE("an Anthropic create sends x-api-key, anthropic-version and params verbatim",
          "[providers][odd]") {
  Fixture f;
  f.server.Set("POST /v1/messages/batches",
               {200,
                R"({"id":"msgbatch_c","processing_status":"in_progress",)"
                R"("request_counts":{"processing":2},"created_at":"2026-03-01T09:00:00Z"})",
                "application/json",
                {}});
  auto provider = f.Make(ProviderKind::kAnthropic);
  SubmitSpec spec = OneRequest(ProviderKind::kAnthropic);
  // Odd but valid JSON: spacing, escapes, key order and a newline all survive untouched.
  spec.requests.push_back(
      {"id-2",
       "{ \"max_tokens\" :5,\n \"model\":\"m\", \"messages\":[{\"role\":\"user\","
       "\"content\":\"caf\\u00e9 \\\"q\\\" 1.50e2\"}] }"});
  const auto created = provider->CreateBatch(spec, "");
  REQUIRE(created.ok());
  REQUIRE(created->batch.has_value());
  CHECK(created->batch->counts.total == 2);
  const auto seen = f.server.seen("POST /v1/messages/batches");
  CHECK(seen.headers.find("x-api-key")->second == kKey);
  CHECK(seen.headers.find("anthropic-version")->second == "2023-06-01");
  CHECK(seen.body ==
        "{\"requests\":[{\"custom_id\":\"id-1\",\"params\":" + spec.requests[0].body_json +
            "},{\"custom_id\":\"id-2\",\"params\":" + spec.requests[1].body_json + "}]}");
}

TEST_CASE("results on another origin are fetched without the API key", "[providers][odd]") {
  Fixture f;
  CannedServer elsewhere;
  elsewhere.Set("GET /results/msgbatch_1",
                {200, "{\"custom_id\":\"a\"}\n", "application/binary", {}});
  f.server.Set("GET /v1/messages/batches/msgbatch_2/results",
               {200, "{\"custom_id\":\"b\"}\n", "application/binary", {}});
  auto provider = f.Make(ProviderKind::kAnthropic);
  batchlog::testing::TempDir dir("odd-results");

  BatchInfo batch;
  batch.id = "msgbatch_1";
  batch.state = BatchState::kCompleted;
  batch.results_url = elsewhere.Url("/results/msgbatch_1");
  REQUIRE(provider->DownloadResults(batch, dir.path()).ok());
  CHECK(elsewhere.seen("GET /results/msgbatch_1").headers.count("x-api-key") == 0);

  batch.id = "msgbatch_2";
  batch.results_url = f.server.Url("/v1/messages/batches/msgbatch_2/results");
  REQUIRE(provider->DownloadResults(batch, dir.path()).ok());
  CHECK(f.server.seen("GET /v1/messages/batches/msgbatch_2/results")
            .headers.find("x-api-key")
            ->second == kKey);
}

// An OpenAI batch that completed with its output in file-out.
BatchInfo CompletedWithOutputFile() {
  BatchInfo batch;
  batch.id = "batch_1";
  batch.state = BatchState::kCompleted;
  batch.output_file_id = "file-out";
  return batch;
}

TEST_CASE("a results file whose last line is cut short is truncated and not kept",
          "[providers][odd]") {
  Fixture f;
  f.server.Set("GET /v1/files/file-out/content",
               {200, "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\"", "application/binary", {}});
  auto provider = f.Make(ProviderKind::kOpenAi);
  batchlog::testing::TempDir dir("odd-download");
  const BatchInfo batch = CompletedWithOutputFile();
  const auto downloaded = provider->DownloadResults(batch, dir.path());
  CHECK(downloaded.status().code() == base::StatusCode::kUnavailable);
  CHECK(downloaded.status().message().find("truncated") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("a results file whose whole last line lacks a newline is kept", "[providers][odd]") {
  // No provider promises a final newline; a complete JSON line is not a cut one. Also with
  // a last line longer than the reader's 64 KiB chunk.
  const std::string long_text(100'000, 'x');
  for (const std::string& last : {std::string(R"({"custom_id":"b"})"),
                                  R"({"custom_id":"b","text":")" + long_text + R"("})"}) {
    CAPTURE(last.size());
    Fixture f;
    f.server.Set("GET /v1/files/file-out/content",
                 {200, "{\"custom_id\":\"a\"}\n" + last, "application/binary", {}});
    auto provider = f.Make(ProviderKind::kOpenAi);
    batchlog::testing::TempDir dir("odd-download");
    const BatchInfo batch = CompletedWithOutputFile();
    const auto downloaded = provider->DownloadResults(batch, dir.path());
    REQUIRE(downloaded.ok());
    REQUIRE(downloaded->files.size() == 1);
    CHECK(std::filesystem::file_size(downloaded->files[0]) == last.size() + 18);
    // The same line cut one byte short is refused.
    f.server.Set("GET /v1/files/file-out/content",
                 {200, "{\"custom_id\":\"a\"}\n" + last.substr(0, last.size() - 1),
                  "application/binary", {}});
    batchlog::testing::TempDir other("odd-download");
    CHECK(provider->DownloadResults(batch, other.path()).status().code() ==
          base::StatusCode::kUnavailable);
  }
}

TEST_CASE("FindBatch stops at batches older than the plan only while the list is newest first",
          "[providers][odd]") {
  // One canned page, served for every cursor: two batches of 2026-03-01, none of them ours,
  // and more pages said to follow. The plan is a day later.
  const auto page = [](std::int64_t first, std::int64_t second) {
    return R"({"object":"list","data":[)"
           R"({"id":"batch_a","object":"batch","status":"completed","created_at":)" +
           std::to_string(first) +
           R"(},{"id":"batch_b","object":"batch","status":"completed","created_at":)" +
           std::to_string(second) + R"(}],"first_id":"batch_a","last_id":"batch_b",)"
           R"("has_more":true})";
  };
  FindBatchQuery query;
  query.batch_key = "bk-mine";
  query.max_pages = 4;
  query.planned_at_unix_us = (1772355600LL + 86400) * 1'000'000;
  Fixture f;
  auto provider = f.Make(ProviderKind::kOpenAi);
  // Newest first: everything further down is older still, so the batch is not there.
  f.server.Set("GET /v1/batches", {200, page(1772355700, 1772355600), "application/json", {}});
  const auto absent = provider->FindBatch(query);
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());
  // Oldest first: a later page may hold it; never "absent" (a duplicate batch) on that basis.
  f.server.Set("GET /v1/batches", {200, page(1772355600, 1772355700), "application/json", {}});
  const auto unsure = provider->FindBatch(query);
  CHECK(unsure.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(unsure.status().message().find("raise max_pages") != std::string::npos);
}

}  // namespace
}  // namespace batchlog::providers
