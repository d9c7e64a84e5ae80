// MakeProvider's checks, the status mappings and the request builders, without a server.
#include <string>

#include <catch2/catch.hpp>

#include "src/providers/anthropic_provider.h"
#include "src/providers/openai_provider.h"
#include "src/providers/provider_config.h"
#include "src/providers/rfc3339.h"
#include "tests/http/scripted_transport.h"
#include "tests/providers/provider_harness.h"
#include "tests/support/temp_dir.h"

namespace batchlog::providers {
namespace {

ProviderEnvironment EnvWith(http::Transport* transport, std::optional<std::string> key,
                            std::string* asked = nullptr) {
  ProviderEnvironment environment;
  environment.transport = transport;
  environment.lookup_env = [key, asked](const std::string& name) {
    if (asked != nullptr) *asked = name;
    return key;
  };
  return environment;
}

TEST_CASE("a missing or empty key is an error naming the variable", "[providers][config]") {
  http::testing::ScriptedTransport transport;
  for (const ProviderKind kind : {ProviderKind::kOpenAi, ProviderKind::kAnthropic}) {
    ProviderConfig config;
    config.kind = kind;
    std::string asked;
    const auto missing = MakeProvider(config, EnvWith(&transport, std::nullopt, &asked));
    CHECK(missing.status().code() == base::StatusCode::kFailedPrecondition);
    CHECK(asked == DefaultApiKeyEnv(kind));
    CHECK(missing.status().message().find(std::string(DefaultApiKeyEnv(kind))) !=
          std::string::npos);
    config.api_key_env = "MY_GATEWAY_KEY";
    const auto empty = MakeProvider(config, EnvWith(&transport, std::string()));
    CHECK(empty.status().code() == base::StatusCode::kFailedPrecondition);
    CHECK(empty.status().message().find("MY_GATEWAY_KEY") != std::string::npos);
  }
}

TEST_CASE("defaults: base URLs, key variables and names come from the kind",
          "[providers][config]") {
  CHECK(DefaultBaseUrl(ProviderKind::kOpenAi) == "https://api.openai.com/v1");
  CHECK(DefaultBaseUrl(ProviderKind::kAnthropic) == "https://api.anthropic.com/v1");
  CHECK(DefaultApiKeyEnv(ProviderKind::kOpenAi) == "OPENAI_API_KEY");
  CHECK(DefaultApiKeyEnv(ProviderKind::kAnthropic) == "ANTHROPIC_API_KEY");
  CHECK(ProviderKindName(ProviderKind::kOpenAi) == "openai");
  CHECK(ProviderKindName(ProviderKind::kAnthropic) == "anthropic");

  http::testing::ScriptedTransport transport;
  transport.Push(http::testing::MakeResponse(404, "{}"));
  ProviderConfig config;
  config.kind = ProviderKind::kAnthropic;
  auto provider = MakeProvider(config, EnvWith(&transport, std::string("k")));
  REQUIRE(provider.ok());
  CHECK((*provider)->name() == "anthropic");
  CHECK_FALSE((*provider)->uploads_input_file());
  CHECK((*provider)->GetBatch("msgbatch_1").status().code() == base::StatusCode::kNotFound);
  REQUIRE(transport.requests().size() == 1);
  const http::HttpRequest& sent = transport.requests()[0];
  CHECK(sent.url == "https://api.anthropic.com/v1/messages/batches/msgbatch_1");
  CHECK(sent.safe_to_retry);
  REQUIRE(sent.secret_headers.size() == 1);
  CHECK(sent.secret_headers[0].name == "x-api-key");
  bool has_version = false;
  for (const auto& header : sent.headers) {
    has_version =
        has_version || (header.name == "anthropic-version" && header.value == "2023-06-01");
  }
  CHECK(has_version);
}

TEST_CASE("a base_url that is not an http(s) URL is refused", "[providers][config]") {
  http::testing::ScriptedTransport transport;
  for (const char* url : {"ftp://example.com/v1", "api.openai.com/v1", "https://",
                          "http://host/v1?x=1", "http://host/v 1"}) {
    CAPTURE(url);
    ProviderConfig config;
    config.base_url = url;
    CHECK(MakeProvider(config, EnvWith(&transport, std::string("k"))).status().code() ==
          base::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("OpenAI statuses map onto BatchState, anything else names the value",
          "[providers][config]") {
  const std::vector<std::pair<const char*, BatchState>> table = {
      {"validating", BatchState::kValidating}, {"in_progress", BatchState::kInProgress},
      {"finalizing", BatchState::kFinalizing}, {"cancelling", BatchState::kCancelling},
      {"completed", BatchState::kCompleted},   {"failed", BatchState::kFailed},
      {"expired", BatchState::kExpired},       {"cancelled", BatchState::kCancelled},
      {"canceling", BatchState::kCancelling},  {"canceled", BatchState::kCancelled}};
  for (const auto& [status, state] : table) {
    CAPTURE(status);
    const auto mapped = OpenAiBatchState(status);
    REQUIRE(mapped.ok());
    CHECK(*mapped == state);
  }
  const auto unknown = OpenAiBatchState("Completed");
  CHECK(unknown.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(unknown.status().message().find("\"Completed\"") != std::string::npos);
  for (const BatchState terminal : {BatchState::kCompleted, BatchState::kFailed,
                                    BatchState::kExpired, BatchState::kCancelled}) {
    CHECK(IsTerminal(terminal));
  }
  for (const BatchState live :
       {BatchState::kUnspecified, BatchState::kValidating, BatchState::kInProgress,
        BatchState::kFinalizing, BatchState::kCancelling}) {
    CHECK_FALSE(IsTerminal(live));
  }
}

TEST_CASE("Anthropic ended batches are cancelled only when a cancel was initiated",
          "[providers][config]") {
  const auto parse = [](const char* text) {
    return ParseAnthropicBatch("test", Json::parse(text));
  };
  const auto completed = parse(
      R"({"id":"m1","processing_status":"ended","cancel_initiated_at":null,)"
      R"("request_counts":{"processing":0,"succeeded":3,"errored":1,"canceled":0,"expired":2}})");
  REQUIRE(completed.ok());
  CHECK(completed->state == BatchState::kCompleted);
  CHECK(completed->counts == RequestCounts{6, 0, 3, 1, 0, 2});
  const auto cancelled = parse(
      R"({"id":"m1","processing_status":"ended","cancel_initiated_at":"2026-03-01T09:00:00Z",)"
      R"("request_counts":{"processing":0,"succeeded":1,"errored":0,"canceled":5,"expired":0}})");
  REQUIRE(cancelled.ok());
  CHECK(cancelled->state == BatchState::kCancelled);
  CHECK(cancelled->counts.cancelled == 5);
  CHECK(parse(R"({"id":"m1","processing_status":"in_progress"})")->state ==
        BatchState::kInProgress);
  CHECK(parse(R"({"id":"m1","processing_status":"canceling"})")->state == BatchState::kCancelling);
  CHECK(parse(R"({"id":"m1","processing_status":"ended","created_at":"yesterday"})")
            .status()
            .code() == base::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"id":"m1"})").status().code() == base::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"id":7,"processing_status":"ended"})").status().code() ==
        base::StatusCode::kInvalidArgument);
}

TEST_CASE("RFC 3339 times parse to Unix microseconds", "[providers][config]") {
  CHECK(ParseRfc3339Micros("2026-03-01T09:00:00Z") == 1'772'355'600'000'000);
  CHECK(ParseRfc3339Micros("2026-03-01T09:00:00.123456Z") == 1'772'355'600'123'456);
  CHECK(ParseRfc3339Micros("2026-03-01T09:00:00.1234569Z") == 1'772'355'600'123'456);
  CHECK(ParseRfc3339Micros("2026-03-01T10:30:00+01:30") == 1'772'355'600'000'000);
  CHECK(ParseRfc3339Micros("2026-03-01T07:00:00.5-02:00") == 1'772'355'600'500'000);
  for (const char* bad :
       {"", "2026-03-01", "2026-03-01T09:00:00", "2026-02-30T09:00:00Z", "2026-03-01T09:00:00.Z",
        "2026-03-01T09:00:00Zjunk", "2026-03-01T24:00:00Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseRfc3339Micros(bad).has_value());
  }
}

TEST_CASE("the OpenAI input file embeds each body byte for byte, one request per line",
          "[providers][config]") {
  batchlog::testing::TempDir dir("input-file");
  SubmitSpec spec;
  spec.batch_key = "bk";
  spec.endpoint = "/v1/responses";
  spec.requests = {
      {"a-1", R"({"model":"m",  "input":"caf\u00e9 \"x\"", "temperature":1.50})"},
      {"a\"2", "{\"model\":\"m\",\n\"input\":\"y\"}"},
  };
  const auto bytes = WriteOpenAiInputFile(spec, dir / "sub" / "in.jsonl");
  REQUIRE(bytes.ok());
  const std::string text = testing::ReadFileText(dir / "sub" / "in.jsonl");
  CHECK(*bytes == text.size());
  CHECK(text ==
        "{\"custom_id\":\"a-1\",\"method\":\"POST\",\"url\":\"/v1/responses\",\"body\":" +
            spec.requests[0].body_json +
            "}\n"
            "{\"custom_id\":\"a\\\"2\",\"method\":\"POST\",\"url\":\"/v1/responses\",\"body\":"
            "{\"model\":\"m\", \"input\":\"y\"}}\n");

  spec.requests.push_back({"bad-3", "[1,2]"});
  const auto bad = WriteOpenAiInputFile(spec, dir / "bad.jsonl");
  CHECK(bad.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(bad.status().message().find("bad-3") != std::string::npos);
  spec.requests.clear();
  CHECK(WriteOpenAiInputFile(spec, dir / "none.jsonl").status().code() ==
        base::StatusCode::kInvalidArgument);
  CHECK(AnthropicCreateBody(spec).status().code() == base::StatusCode::kInvalidArgument);
}

TEST_CASE("an input file that meets a full disk is ResourceExhausted, not an internal error",
          "[providers][config]") {
  if (!std::filesystem::exists("/dev/full")) {
    WARN("skipped: no /dev/full on this system");
    return;
  }
  SubmitSpec spec;
  spec.batch_key = "bk";
  spec.endpoint = "/v1/chat/completions";
  spec.requests = {{"a-1", R"({"model":"m"})"}};
  const auto full = WriteOpenAiInputFile(spec, "/dev/full");  // every write: ENOSPC
  CHECK(full.status().code() == base::StatusCode::kResourceExhausted);
  CHECK(full.status().message().find("No space left on device") != std::string::npos);
}

TEST_CASE("the OpenAI metadata names run, batch key, stage and attempt", "[providers][config]") {
  SubmitSpec spec;
  spec.run_id = "run \"7\"";
  spec.batch_key = "bk-1";
  spec.workflow = "wf";
  spec.stage = "stage_2";
  spec.attempt = 3;
  CHECK(OpenAiBatchMetadata(spec) == R"({"batchlog_run":"run \"7\"","batchlog_batch_key":"bk-1",)"
                                     R"("batchlog_stage":"wf/stage_2","batchlog_attempt":"3"})");
}

}  // namespace
}  // namespace batchlog::providers
