// Tests of the results-file parser (src/providers/results_parser.h): both providers' line
// shapes from the wire reference, raw body bytes, field order, usage, missing fields,
// truncation and malformed lines with their line numbers, chunk and window boundaries,
// and the callback's control of the parse.
#include "src/providers/results_parser.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/base/random.h"
#include "src/base/status.h"
#include "src/providers/result_line.h"
#include "tests/providers/parsing/owned_line.h"
#include "tests/support/event_sequence_generator.h"
#include "tests/support/temp_dir.h"
#include "tests/support/files.h"

namespace batchlog::providers {
namespace {

using batchlog::testing::WriteFileText;

struct Parsed {
  base::Status status;
  ParseSummary summary;
  std::vector<OwnedLine> lines;
};

ResultCallback Collect(std::vector<OwnedLine>& into) {
  return [&into](const ResultLine& line) {
    into.push_back(Own(line));
    return base::Status::Ok();
  };
}

Parsed ParseText(ProviderKind kind, std::string_view text) {
  Parsed parsed;
  base::Result<ParseSummary> result = ParseResults(kind, text, Collect(parsed.lines));
  parsed.status = result.status();
  if (result.ok()) parsed.summary = *result;
  return parsed;
}

Parsed ParseFileText(ProviderKind kind, std::string_view text,
                     const ResultsParserOptions& options) {
  testing::TempDir dir("results-parser-test");
  const std::filesystem::path path = dir / "results.jsonl";
  WriteFileText(path, text);
  Parsed parsed;
  base::Result<ParseSummary> result = ParseResultsFile(kind, path, Collect(parsed.lines), options);
  parsed.status = result.status();
  if (result.ok()) parsed.summary = *result;
  return parsed;
}

// Small pieces so that every test also crosses chunk and window edges.
ResultsParserOptions TinyOptions(bool memory_map = true, bool line_scanner = true) {
  ResultsParserOptions options;
  options.chunk_bytes = 256;
  options.batch_bytes = 1024;
  options.line_bytes_max = 1 << 20;
  options.memory_map = memory_map;
  options.line_scanner = line_scanner;
  return options;
}

// The summary's counts apart from which path read the lines.
ParseSummary Counts(ParseSummary summary) {
  summary.simdjson_lines = 0;
  return summary;
}

// Parses `text` five ways — in memory; from a file with default options; from a file in
// tiny pieces, memory-mapped and through read(2); from a file by simdjson alone (no line
// scanner) — checks they agree, and returns the in-memory result.
Parsed ParseAllWays(ProviderKind kind, std::string_view text) {
  Parsed memory = ParseText(kind, text);
  ResultsParserOptions simdjson_only;
  simdjson_only.line_scanner = false;
  for (const ResultsParserOptions& options :
       {ResultsParserOptions{}, TinyOptions(/*memory_map=*/true),
        TinyOptions(/*memory_map=*/false), simdjson_only}) {
    CAPTURE(options.chunk_bytes, options.memory_map, options.line_scanner);
    const Parsed file = ParseFileText(kind, text, options);
    CHECK(file.status.code() == memory.status.code());
    CHECK(file.status.message().substr(file.status.message().find(": line") + 1) ==
          memory.status.message().substr(memory.status.message().find(": line") + 1));
    CHECK(file.lines == memory.lines);
    if (memory.status.ok()) CHECK(Counts(file.summary) == Counts(memory.summary));
  }
  return memory;
}

// Wire examples from the provider reference (docs/providers.md).
constexpr std::string_view kOpenAiSuccess =
    R"({"id": "batch_req_5a1", "custom_id": "math-paraphrase_s0042_orig_e0", "response": {"status_)"
        R"(code": 200, "request_id": "req_7d0e", "body": {"id": "chatcmpl-91", "object": "chat.com)"
        R"(pletion", "created": 1767228000, "model": "gpt-4o-mini-2024-07-18", "choices": [{"index)"
        R"(": 0, "message": {"role": "assistant", "content": "Two plus two equals four."}, "finish)"
        R"(_reason": "stop"}], "usage": {"prompt_tokens": 19, "completion_tokens": 7, "total_token)"
        R"(s": 26}}}, "error": null})";
constexpr std::string_view kOpenAiSuccessBody =
    R"({"id": "chatcmpl-91", "object": "chat.completion", "created": 1767228000, "model": "gpt-4o-)"
        R"(mini-2024-07-18", "choices": [{"index": 0, "message": {"role": "assistant", "content": )"
        R"("Two plus two equals four."}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 19,)"
        R"( "completion_tokens": 7, "total_tokens": 26}})";
constexpr std::string_view kOpenAiHttpFailure =
    R"({"id": "batch_req_5a2", "custom_id": "math-paraphrase_s0043_orig_e0", "response": {"status_)"
        R"(code": 400, "request_id": "req_7d0f", "body": {"error": {"message": "This model's maxim)"
        R"(um context length is exceeded.", "type": "invalid_request_error", "param": "messages", )"
        R"("code": "context_length_exceeded"}}}, "error": null})";
constexpr std::string_view kOpenAiExpired =
    R"({"id": "batch_req_5a3", "custom_id": "math-paraphrase_s0044_orig_e0", "response": null, "er)"
        R"(ror": {"code": "batch_expired", "message": "This request could not be executed before t)"
        R"(he completion window expired."}})";

constexpr std::string_view kAnthropicSucceeded =
    R"({"custom_id": "math-paraphrase_s0042_orig_e0", "result": {"type": "succeeded", "message": {)"
        R"("id": "msg_01Ab", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",)"
        R"( "content": [{"type": "text", "text": "Two plus two equals four."}], "stop_reason": "en)"
        R"(d_turn", "stop_sequence": null, "usage": {"input_tokens": 18, "output_tokens": 8}}}})";
constexpr std::string_view kAnthropicMessage =
    R"({"id": "msg_01Ab", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "c)"
        R"(ontent": [{"type": "text", "text": "Two plus two equals four."}], "stop_reason": "end_t)"
        R"(urn", "stop_sequence": null, "usage": {"input_tokens": 18, "output_tokens": 8}})";
constexpr std::string_view kAnthropicInvalid =
    R"({"custom_id": "math-paraphrase_s0043_orig_e0", "result": {"type": "errored", "error": {"typ)"
        R"(e": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: must be)"
        R"( greater than or equal to 1"}, "request_id": "req_01Zz"}}})";
constexpr std::string_view kAnthropicApiError =
    R"({"custom_id": "math-paraphrase_s0044_orig_e0", "result": {"type": "errored", "error": {"typ)"
        R"(e": "error", "error": {"type": "api_error", "message": "Internal server error"}}}})";
constexpr std::string_view kAnthropicExpired =
    R"({"custom_id": "math-paraphrase_s0045_orig_e0", "result": {"type": "expired"}})";
constexpr std::string_view kAnthropicCanceled =
    R"({"custom_id": "math-paraphrase_s0046_orig_e0", "result": {"type": "canceled"}})";

std::string Lines(std::initializer_list<std::string_view> lines) {
  std::string text;
  for (std::string_view line : lines) {
    text += line;
    text += '\n';
  }
  return text;
}

TEST_CASE("an OpenAI success line yields its id, status, raw body, finish reason and usage",
          "[providers][results_parser]") {
  const Parsed parsed = ParseAllWays(ProviderKind::kOpenAi, Lines({kOpenAiSuccess}));
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 1);
  const OwnedLine& line = parsed.lines[0];
  CHECK(line.custom_id == "math-paraphrase_s0042_orig_e0");
  CHECK(line.outcome == ResultOutcome::kResponded);
  CHECK(line.http_status == 200);
  CHECK(line.body == kOpenAiSuccessBody);
  CHECK(line.finish_reason == "stop");
  CHECK(line.usage == TokenUsage{19, 7, 0});
  CHECK(line.error_type.empty());
  CHECK(line.error_code.empty());
  CHECK(line.line_number == 1);
  CHECK(parsed.summary.lines == 1);
  CHECK(parsed.summary.responded == 1);
  CHECK(parsed.summary.bytes == kOpenAiSuccess.size() + 1);
}

TEST_CASE("an OpenAI HTTP-level failure keeps the status and the body's error fields",
          "[providers][results_parser]") {
  const Parsed parsed = ParseAllWays(ProviderKind::kOpenAi, Lines({kOpenAiHttpFailure}));
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 1);
  const OwnedLine& line = parsed.lines[0];
  CHECK(line.custom_id == "math-paraphrase_s0043_orig_e0");
  CHECK(line.outcome == ResultOutcome::kResponded);
  CHECK(line.http_status == 400);
  CHECK(line.error_type == "invalid_request_error");
  CHECK(line.error_code == "context_length_exceeded");
  CHECK(line.error_message == "This model's maximum context length is exceeded.");
  CHECK(line.body ==
        R"({"error": {"message": "This model's maximum context length is exceeded.", "type": "inva)"
            R"(lid_request_error", "param": "messages", "code": "context_length_exceeded"}})");
}

TEST_CASE("an OpenAI failure without a response is errored with the line's error code",
          "[providers][results_parser]") {
  const std::string cancelled =
      R"({"id":"batch_req_9","custom_id":"c-2","response":null,"error":{"code":"batch_cancelled",")"
          R"(message":"cancelled"}})";
  const Parsed parsed =
      ParseAllWays(ProviderKind::kOpenAi, Lines({kOpenAiExpired, cancelled}));
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 2);
  CHECK(parsed.lines[0].outcome == ResultOutcome::kErrored);
  CHECK(parsed.lines[0].http_status == 0);
  CHECK(parsed.lines[0].body.empty());
  CHECK(parsed.lines[0].error_code == "batch_expired");
  CHECK(parsed.lines[0].error_message ==
        "This request could not be executed before the completion window expired.");
  CHECK(parsed.lines[1].error_code == "batch_cancelled");
  CHECK(parsed.summary.errored == 2);
}

TEST_CASE("Anthropic succeeded, errored, canceled and expired results map to outcomes",
          "[providers][results_parser]") {
  const Parsed parsed =
      ParseAllWays(ProviderKind::kAnthropic,
                   Lines({kAnthropicSucceeded, kAnthropicInvalid, kAnthropicApiError,
                          kAnthropicExpired, kAnthropicCanceled}));
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 5);

  const OwnedLine& succeeded = parsed.lines[0];
  CHECK(succeeded.outcome == ResultOutcome::kResponded);
  CHECK(succeeded.http_status == 200);
  CHECK(succeeded.body == kAnthropicMessage);
  CHECK(succeeded.finish_reason == "end_turn");
  CHECK(succeeded.usage == TokenUsage{18, 8, 0});

  const OwnedLine& invalid = parsed.lines[1];
  CHECK(invalid.outcome == ResultOutcome::kErrored);
  CHECK(invalid.http_status == 400);
  CHECK(invalid.error_type == "invalid_request_error");
  CHECK(invalid.error_code.empty());
  CHECK(invalid.error_message == "max_tokens: must be greater than or equal to 1");
  CHECK(invalid.body.empty());

  CHECK(parsed.lines[2].error_type == "api_error");
  CHECK(parsed.lines[2].http_status == 500);
  CHECK(parsed.lines[3].outcome == ResultOutcome::kExpired);
  CHECK(parsed.lines[3].custom_id == "math-paraphrase_s0045_orig_e0");
  CHECK(parsed.lines[4].outcome == ResultOutcome::kCanceled);
  CHECK(parsed.summary == ParseSummary{5, parsed.summary.bytes, 1, 2, 1, 1});
}

TEST_CASE("Anthropic error types restore their HTTP status, an unknown result type is errored",
          "[providers][results_parser]") {
  const auto errored = [](std::string_view type) {
    return R"({"custom_id":"a","result":{"type":"errored","error":{"type":"error","error":{"type":)"
        R"(")" +
           std::string(type) + R"(","message":"m"}}}})";
  };
  const std::vector<std::pair<std::string, int>> cases = {
      {"overloaded_error", 529}, {"rate_limit_error", 429}, {"timeout_error", 504},
      {"authentication_error", 401}, {"permission_error", 403}, {"not_found_error", 404},
      {"billing_error", 402}, {"request_too_large", 413}, {"something_new", 0}};
  for (const auto& [type, status] : cases) {
    CAPTURE(type);
    const Parsed parsed = ParseText(ProviderKind::kAnthropic, errored(type) + "\n");
    REQUIRE(parsed.status.ok());
    REQUIRE(parsed.lines.size() == 1);
    CHECK(parsed.lines[0].http_status == status);
    CHECK(parsed.lines[0].error_type == type);
  }
  const Parsed future =
      ParseText(ProviderKind::kAnthropic, R"({"custom_id":"a","result":{"type":"paused"}})"
                                          "\n");
  REQUIRE(future.status.ok());
  CHECK(future.lines[0].outcome == ResultOutcome::kErrored);
  CHECK(future.lines[0].error_code == "paused");
}

TEST_CASE("the raw body is byte-identical to the input, whitespace and escapes included",
          "[providers][results_parser]") {
  const std::string body =
      "{ \"choices\" : [ {\"finish_reason\":\"length\", \"message\":{\"content\":"
      "\"caf\\u00e9 \\\"quoted\\\" \\n tab\\t \xC3\xA9 \\\\\"}} ],\t\"usage\":{ } ,"
      "\"nested\":{\"a\":[1,2,{\"b\":null}]} }";
  const std::string line = R"({"custom_id":"x","response":{"body":)" + body +
                           "   \t ,\"status_code\":200},\"error\":null}";
  const Parsed parsed = ParseAllWays(ProviderKind::kOpenAi, line + "\n");
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 1);
  CHECK(parsed.lines[0].body == body);
  CHECK(parsed.lines[0].finish_reason == "length");

  const std::string message = "{\"content\":[{\"text\":\"\\u2603 snow\"}] ,\"stop_reason\":"
                              "\"refusal\" }";
  const std::string anthropic =
      R"({"result":{"message":)" + message + R"(,"type":"succeeded"},"custom_id":"y"})";
  const Parsed parsed_anthropic = ParseAllWays(ProviderKind::kAnthropic, anthropic + "\n");
  REQUIRE(parsed_anthropic.status.ok());
  CHECK(parsed_anthropic.lines[0].body == message);
  CHECK(parsed_anthropic.lines[0].finish_reason == "refusal");
}

TEST_CASE("custom_id and error strings are unescaped", "[providers][results_parser]") {
  const Parsed parsed = ParseText(
      ProviderKind::kOpenAi,
      R"({"custom_id":"a\u005fb","response":null,"error":{"code":"x","message":"line\nbreak \"q\"")"
          R"(}})"
      "\n");
  REQUIRE(parsed.status.ok());
  CHECK(parsed.lines[0].custom_id == "a_b");
  CHECK(parsed.lines[0].error_message == "line\nbreak \"q\"");
}

TEST_CASE("field order within a line does not matter", "[providers][results_parser]") {
  const std::string permuted =
      R"({"error": null, "response": {"body": {"usage": {"completion_tokens": 7, "prompt_tokens_de)"
          R"(tails": {"cached_tokens": 3}, "prompt_tokens": 19}, "choices": [{"finish_reason": "st)"
          R"(op", "index": 0}], "id": "c"}, "request_id": "r", "status_code": 200}, "custom_id": ")"
          R"(p-1", "id": "batch_req_1"})";
  const std::string anthropic_permuted =
      R"({"result": {"error": {"request_id": "r", "error": {"message": "Overloaded", "type": "over)"
          R"(loaded_error"}, "type": "error"}, "type": "errored"}, "custom_id": "q-1"})";
  const Parsed openai = ParseAllWays(ProviderKind::kOpenAi, permuted + "\n");
  REQUIRE(openai.status.ok());
  CHECK(openai.lines[0].custom_id == "p-1");
  CHECK(openai.lines[0].http_status == 200);
  CHECK(openai.lines[0].finish_reason == "stop");
  CHECK(openai.lines[0].usage == TokenUsage{19, 7, 3});
  const Parsed anthropic = ParseAllWays(ProviderKind::kAnthropic, anthropic_permuted + "\n");
  REQUIRE(anthropic.status.ok());
  CHECK(anthropic.lines[0].custom_id == "q-1");
  CHECK(anthropic.lines[0].outcome == ResultOutcome::kErrored);
  CHECK(anthropic.lines[0].error_type == "overloaded_error");
  CHECK(anthropic.lines[0].error_message == "Overloaded");
  CHECK(anthropic.lines[0].http_status == 529);
}

TEST_CASE("a filtered choice among several makes the finish reason content_filter",
          "[providers][results_parser]") {
  const auto line = [](const char* first, const char* second) {
    return std::string(R"({"custom_id":"a","response":{"status_code":200,"body":{"choices":[)") +
           R"({"index":0,"finish_reason":")" + first + R"("},{"index":1,"finish_reason":")" +
           second + R"("}]}},"error":null})" + "\n";
  };
  const Parsed filtered = ParseText(ProviderKind::kOpenAi, line("stop", "content_filter"));
  REQUIRE(filtered.status.ok());
  CHECK(filtered.lines[0].finish_reason == "content_filter");
  const Parsed both_fine = ParseText(ProviderKind::kOpenAi, line("length", "stop"));
  REQUIRE(both_fine.status.ok());
  CHECK(both_fine.lines[0].finish_reason == "length");  // the first choice's
}

TEST_CASE("usage is read from both providers and from the Responses API, cached tokens included",
          "[providers][results_parser]") {
  const Parsed chat = ParseText(
      ProviderKind::kOpenAi,
      R"({"custom_id":"a","response":{"status_code":200,"body":{"usage":{"prompt_tokens":1200,"com)"
          R"(pletion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1024)"
          R"(,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":64}}}},"error":nul)"
          R"(l})"
      "\n");
  REQUIRE(chat.status.ok());
  CHECK(chat.lines[0].usage == TokenUsage{1200, 300, 1024});

  const Parsed responses = ParseText(
      ProviderKind::kOpenAi,
      R"({"custom_id":"b","response":{"status_code":200,"body":{"object":"response","status":"inco)"
          R"(mplete","incomplete_details":{"reason":"content_filter"},"usage":{"input_tokens":50,")"
          R"(input_tokens_details":{"cached_tokens":10},"output_tokens":5}}},"error":null})"
      "\n");
  REQUIRE(responses.status.ok());
  CHECK(responses.lines[0].usage == TokenUsage{50, 5, 10});
  CHECK(responses.lines[0].finish_reason == "content_filter");

  const Parsed anthropic = ParseText(
      ProviderKind::kAnthropic,
      R"({"custom_id":"c","result":{"type":"succeeded","message":{"stop_reason":"max_tokens","usag)"
          R"(e":{"input_tokens":900,"cache_creation_input_tokens":20,"cache_read_input_tokens":800)"
          R"(,"output_tokens":12}}}})"
      "\n");
  REQUIRE(anthropic.status.ok());
  CHECK(anthropic.lines[0].usage == TokenUsage{900, 12, 800, 20});
  CHECK(anthropic.lines[0].finish_reason == "max_tokens");
}

TEST_CASE("missing or null optional fields leave their defaults", "[providers][results_parser]") {
  const Parsed parsed = ParseAllWays(
      ProviderKind::kOpenAi,
      Lines({R"({"custom_id":"a","response":{"status_code":200}})",
             R"({"custom_id":"b","response":{"status_code":200,"body":null},"error":null})",
             R"({"custom_id":"c","response":{"status_code":200,"body":{"choices":[],"usage":null}})"
                 R"(})",
             R"({"custom_id":"d","response":{"status_code":200,"body":{"choices":[{"finish_reason")"
                 R"(:null}],"usage":{"prompt_tokens":null}}}})",
             R"({"custom_id":"e","response":{"status_code":500,"body":{"error":{"message":"boom",")"
                 R"(type":null,"code":null,"param":null}}}})",
             R"({"custom_id":"f","error":{"message":"no code"}})"}));
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 6);
  CHECK(parsed.lines[0].body.empty());
  CHECK(parsed.lines[0].finish_reason.empty());
  CHECK(parsed.lines[1].body.empty());
  CHECK(parsed.lines[2].body == R"({"choices":[],"usage":null})");
  CHECK(parsed.lines[2].usage == TokenUsage{});
  CHECK(parsed.lines[3].finish_reason.empty());
  CHECK(parsed.lines[4].error_message == "boom");
  CHECK(parsed.lines[4].error_type.empty());
  CHECK(parsed.lines[4].error_code.empty());
  CHECK(parsed.lines[5].outcome == ResultOutcome::kErrored);
  CHECK(parsed.lines[5].error_code.empty());

  const Parsed anthropic = ParseAllWays(
      ProviderKind::kAnthropic,
      Lines({R"({"custom_id":"g","result":{"type":"succeeded","message":{"content":[]}}})",
             R"({"custom_id":"h","result":{"type":"errored"}})"}));
  REQUIRE(anthropic.status.ok());
  CHECK(anthropic.lines[0].finish_reason.empty());
  CHECK(anthropic.lines[0].usage == TokenUsage{});
  CHECK(anthropic.lines[1].error_type.empty());
  CHECK(anthropic.lines[1].http_status == 0);
}

TEST_CASE("a body that is not an object is kept raw", "[providers][results_parser]") {
  const Parsed parsed = ParseText(
      ProviderKind::kOpenAi,
      Lines({R"({"custom_id":"a","response":{"status_code":504,"body":"Timed out generating respon)"
          R"(se" }})",
             R"({"custom_id":"b","response":{"status_code":200,"body":[1, {"x":2}] }})"}));
  REQUIRE(parsed.status.ok());
  CHECK(parsed.lines[0].body == R"("Timed out generating response")");
  CHECK(parsed.lines[1].body == R"([1, {"x":2}])");
}

TEST_CASE("blank lines are skipped but still numbered", "[providers][results_parser]") {
  const std::string text = "\n" + std::string(kAnthropicExpired) + "\n  \r\n\n" +
                           std::string(kAnthropicCanceled) + "\r\n\t\n";
  const Parsed parsed = ParseAllWays(ProviderKind::kAnthropic, text);
  REQUIRE(parsed.status.ok());
  REQUIRE(parsed.lines.size() == 2);
  CHECK(parsed.lines[0].line_number == 2);
  CHECK(parsed.lines[1].line_number == 5);
  CHECK(parsed.summary.lines == 2);
  CHECK(parsed.summary.bytes == text.size());
}

TEST_CASE("an empty file and a file of blank lines yield no lines", "[providers][results_parser]") {
  for (const std::string& text : {std::string(), std::string("\n\n  \n"), std::string("   ")}) {
    CAPTURE(text);
    const Parsed parsed = ParseAllWays(ProviderKind::kOpenAi, text);
    REQUIRE(parsed.status.ok());
    CHECK(parsed.lines.empty());
    CHECK(parsed.summary.lines == 0);
  }
}

TEST_CASE("a file without its final newline is truncated, found before any line is delivered",
          "[providers][results_parser]") {
  std::string text = Lines({kOpenAiSuccess, kOpenAiHttpFailure});
  text += kOpenAiExpired;  // complete JSON, but the newline never arrived
  for (const Parsed& parsed :
       {ParseText(ProviderKind::kOpenAi, text),
        ParseFileText(ProviderKind::kOpenAi, text, ResultsParserOptions{}),
        ParseFileText(ProviderKind::kOpenAi, text, TinyOptions(/*memory_map=*/false))}) {
    CHECK(parsed.status.code() == base::StatusCode::kUnavailable);
    CHECK_THAT(parsed.status.message(), Catch::Contains("is incomplete: line 3 is truncated"));
    CHECK(parsed.lines.empty());
  }
  const Parsed cut = ParseFileText(ProviderKind::kOpenAi,
                                   text.substr(0, text.size() - 40), ResultsParserOptions{});
  CHECK(cut.status.code() == base::StatusCode::kUnavailable);
  CHECK_THAT(cut.status.message(), Catch::Contains("results.jsonl is incomplete: line 3"));
}

TEST_CASE("an incomplete last line is truncated even when it ends with a newline",
          "[providers][results_parser]") {
  const std::string cut(kAnthropicSucceeded.substr(0, 120));
  for (const std::string& last :
       {cut, std::string(R"({"custom_id":"z","result":{"type":"expired")"),
        std::string(R"({"custom_id":"z","res)")}) {
    CAPTURE(last);
    const std::string text = Lines({kAnthropicExpired, kAnthropicCanceled}) + last + "\n\n";
    const Parsed parsed = ParseAllWays(ProviderKind::kAnthropic, text);
    CHECK(parsed.status.code() == base::StatusCode::kUnavailable);
    CHECK_THAT(parsed.status.message(), Catch::Contains("line 3 is truncated (re-download)"));
  }
}

TEST_CASE("a malformed line in the middle is InvalidArgument naming its line",
          "[providers][results_parser]") {
  const std::string bad = GENERATE(as<std::string>{},
                                   R"({"custom_id":"z","result":{"type":"expired")",  // cut
                                   R"({"custom_id":"z","res)",                         // cut string
                                   R"({"custom_id":"z" "result":{"type":"expired"}})",  // no comma
                                   R"(not json at all)",
                                   R"([1,2,3])",
                                   "{\"custom_id\":\"z\",\"result\":{\"type\":\"\xFF\"}}");
  CAPTURE(bad);
  const std::string text =
      Lines({kAnthropicExpired, kAnthropicCanceled, "", kAnthropicExpired, bad,
             kAnthropicCanceled, kAnthropicExpired});
  const Parsed parsed = ParseAllWays(ProviderKind::kAnthropic, text);
  CHECK(parsed.status.code() == base::StatusCode::kInvalidArgument);
  CHECK_THAT(parsed.status.message(), Catch::Contains("line 5:"));
  CHECK(parsed.lines.size() <= 3);
}

TEST_CASE("a well-formed line that is not a result line is InvalidArgument",
          "[providers][results_parser]") {
  struct Case {
    ProviderKind kind;
    std::string line;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {ProviderKind::kOpenAi, R"({"response":null,"error":{"code":"x"}})", "no custom_id"},
      {ProviderKind::kOpenAi, R"({"custom_id":7,"response":null,"error":{"code":"x"}})",
       "custom_id is not a string"},
      {ProviderKind::kOpenAi, R"({"custom_id":"a","response":null,"error":null})",
       "neither response nor error"},
      {ProviderKind::kOpenAi, R"({"custom_id":"a","response":{"body":{}}})",
       "response has no status_code"},
      {ProviderKind::kOpenAi, R"({"custom_id":"a","response":{"status_code":"200"}})",
       "response.status_code is not an integer"},
      {ProviderKind::kAnthropic, R"({"custom_id":"a","result":{}})", "no result.type"},
      {ProviderKind::kAnthropic, R"({"custom_id":"a"})", "no result.type"},
      {ProviderKind::kAnthropic, R"({"custom_id":"a","result":"succeeded"})",
       "result is not an object"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    // Last line or not, a complete line of the wrong shape is malformed, not truncated.
    for (const std::string& text : {Lines({c.line}), Lines({c.line, kAnthropicExpired})}) {
      const Parsed parsed = ParseText(c.kind, text);
      CHECK(parsed.status.code() == base::StatusCode::kInvalidArgument);
      CHECK_THAT(parsed.status.message(), Catch::Contains("line 1: " + c.expected));
    }
  }
}

TEST_CASE("two JSON values on one line are malformed", "[providers][results_parser]") {
  const std::string text = Lines({kAnthropicExpired, std::string(kAnthropicExpired) + " " +
                                                         std::string(kAnthropicCanceled),
                                  kAnthropicCanceled});
  const Parsed parsed = ParseAllWays(ProviderKind::kAnthropic, text);
  CHECK(parsed.status.code() == base::StatusCode::kInvalidArgument);
  CHECK_THAT(parsed.status.message(), Catch::Contains("line 2: more than one JSON value"));
}

TEST_CASE("a callback error stops parsing and is returned", "[providers][results_parser]") {
  const std::string text = Lines({kAnthropicExpired, kAnthropicCanceled, kAnthropicExpired});
  int calls = 0;
  const ResultCallback stop_at_second = [&calls](const ResultLine& line) {
    ++calls;
    if (line.line_number == 2) return base::AbortedError("enough");
    return base::Status::Ok();
  };
  base::Result<ParseSummary> result =
      ParseResults(ProviderKind::kAnthropic, text, stop_at_second);
  CHECK(result.status() == base::AbortedError("enough"));
  CHECK(calls == 2);

  testing::TempDir dir("results-parser-test");
  WriteFileText(dir / "r.jsonl", text);
  calls = 0;
  result = ParseResultsFile(ProviderKind::kAnthropic, dir / "r.jsonl", stop_at_second);
  CHECK(result.status() == base::AbortedError("enough"));
  CHECK(calls == 2);
}

TEST_CASE("a missing results file is NotFound", "[providers][results_parser]") {
  testing::TempDir dir("results-parser-test");
  base::Result<ParseSummary> result = ParseResultsFile(
      ProviderKind::kOpenAi, dir / "absent.jsonl",
      [](const ResultLine&) { return base::Status::Ok(); });
  CHECK(result.status().code() == base::StatusCode::kNotFound);
  CHECK_THAT(result.status().message(), Catch::Contains("absent.jsonl"));
}

// ---- Chunk and window boundaries ----

std::string RandomText(base::Random& random, std::size_t max_length) {
  static constexpr std::string_view kAlphabet = "abcdefghij KLMNOP 0123456789 \\\"\n\t";
  const std::size_t length = random.Below(max_length + 1);
  std::string text;
  for (std::size_t i = 0; i < length; ++i) {
    const char c = kAlphabet[random.Below(kAlphabet.size())];
    if (c == '\\') {
      text += "\\\\";
    } else if (c == '"') {
      text += "\\\"";
    } else if (c == '\n') {
      text += "\\n";
    } else if (c == '\t') {
      text += "\\t";
    } else {
      text += c;
    }
  }
  return text;
}

// A random OpenAI results file: successes with bodies of varied size, HTTP failures,
// expired lines, blank lines, shuffled key order. Returns the expected lines as well.
std::string RandomOpenAiFile(base::Random& random, int lines, std::size_t body_text_max,
                             std::vector<OwnedLine>& expected) {
  std::string text;
  std::uint64_t line_number = 0;
  for (int i = 0; i < lines; ++i) {
    while (random.Below(8) == 0) {
      text += "\n";
      ++line_number;
    }
    ++line_number;
    OwnedLine want;
    want.custom_id = "req-" + std::to_string(i);
    want.line_number = line_number;
    std::vector<std::string> fields = {R"("id":"batch_req_)" + std::to_string(i) + "\"",
                                       R"("custom_id":")" + want.custom_id + "\""};
    switch (random.Below(3)) {
      case 0: {
        want.http_status = 200;
        want.finish_reason = random.Below(2) == 0 ? "stop" : "length";
        want.usage = TokenUsage{random.Below(5000), random.Below(5000), random.Below(100)};
        want.body = R"({"id":"chatcmpl-)" + std::to_string(i) +
                    R"(","choices":[{"index":0,"message":{"role":"assistant","content":")" +
                    RandomText(random, body_text_max) + R"("},"finish_reason":")" +
                    want.finish_reason + R"("}],"usage":{"prompt_tokens":)" +
                    std::to_string(want.usage.input_tokens) + R"(,"completion_tokens":)" +
                    std::to_string(want.usage.output_tokens) +
                    R"(,"prompt_tokens_details":{"cached_tokens":)" +
                    std::to_string(want.usage.cached_input_tokens) + "}}}";
        fields.push_back(R"("response":{"status_code":200,"request_id":"r","body":)" +
                         want.body + "}");
        fields.push_back(R"("error":null)");
        break;
      }
      case 1:
        want.http_status = 429;
        want.error_type = "requests";
        want.error_code = "rate_limit_exceeded";
        want.error_message = "Rate limit reached.";
        want.body = R"({"error":{"message":"Rate limit reached.","type":"requests","param":null,"c)"
            R"(ode":"rate_limit_exceeded"}})";
        fields.push_back(R"("response":{"status_code":429,"body":)" + want.body + "}");
        fields.push_back(R"("error":null)");
        break;
      default:
        want.outcome = ResultOutcome::kErrored;
        want.error_code = "batch_expired";
        want.error_message = "expired";
        fields.push_back(R"("response":null)");
        fields.push_back(R"("error":{"code":"batch_expired","message":"expired"})");
        break;
    }
    for (std::size_t k = fields.size(); k > 1; --k) {
      std::swap(fields[k - 1], fields[random.Below(k)]);
    }
    text += "{";
    for (std::size_t k = 0; k < fields.size(); ++k) {
      if (k > 0) text += random.Below(4) == 0 ? " , " : ",";
      text += fields[k];
    }
    text += "}\n";
    expected.push_back(std::move(want));
  }
  return text;
}

TEST_CASE("lines crossing chunk and window edges parse as they do in one piece",
          "[providers][results_parser]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(20261128);
  std::fprintf(stderr, "results_parser_test: BATCHLOG_SEED=%llu\n",
               static_cast<unsigned long long>(seed));
  base::SeededRandom random(seed);
  std::vector<OwnedLine> expected;
  const std::string text = RandomOpenAiFile(random, 400, 3000, expected);

  const Parsed memory = ParseText(ProviderKind::kOpenAi, text);
  REQUIRE(memory.status.ok());
  CHECK(memory.lines == expected);

  // Windows matter to the simdjson path (line_scanner off), chunks to both.
  struct Config {
    std::size_t chunk;
    std::size_t batch;
    bool memory_map;
    bool line_scanner;
    bool stage1_thread;
  };
  for (const Config& config : std::vector<Config>{{64, 1024, true, true, false},
                                                  {64, 1024, false, true, false},
                                                  {777, 1024, true, true, false},
                                                  {777, 1024, false, false, false},
                                                  {4096, 1500, true, false, true},
                                                  {4096, 1500, false, false, true},
                                                  {1 << 16, 4096, true, false, false},
                                                  {1 << 20, 1 << 20, false, true, false},
                                                  {1 << 20, 1 << 18, true, false, true}}) {
    CAPTURE(config.chunk, config.batch, config.memory_map, config.line_scanner,
            config.stage1_thread);
    ResultsParserOptions options;
    options.chunk_bytes = config.chunk;
    options.batch_bytes = config.batch;
    options.memory_map = config.memory_map;
    options.line_scanner = config.line_scanner;
    options.stage1_thread = config.stage1_thread;
    const Parsed file = ParseFileText(ProviderKind::kOpenAi, text, options);
    REQUIRE(file.status.ok());
    CHECK(file.lines == expected);
    CHECK(Counts(file.summary) == Counts(memory.summary));
    CHECK(file.summary.bytes == text.size());
  }
}

TEST_CASE("an error deep in a chunked file is reported at its line number",
          "[providers][results_parser]") {
  base::SeededRandom random(testing::SeedFromEnvironment(20261128) + 1);
  std::vector<OwnedLine> expected;
  std::string text = RandomOpenAiFile(random, 300, 2000, expected);
  ResultsParserOptions options;
  options.chunk_bytes = 5000;
  options.batch_bytes = 2048;

  // Break the line of request 211 by cutting it in half.
  const OwnedLine& victim = expected[211];
  const std::size_t start = text.find(R"("custom_id":")" + victim.custom_id + "\"");
  const std::size_t line_start = text.rfind('\n', start) + 1;
  const std::size_t line_end = text.find('\n', start);
  std::string broken = text;
  broken.erase(line_start + (line_end - line_start) / 2, (line_end - line_start) / 2);
  const std::string head = text.substr(0, line_start);
  const std::string last_cut = head + text.substr(line_start, (line_end - line_start) / 2) + "\n";
  for (const auto& [memory_map, line_scanner] :
       {std::pair{true, true}, std::pair{false, true}, std::pair{true, false}}) {
    CAPTURE(memory_map, line_scanner);
    options.memory_map = memory_map;
    options.line_scanner = line_scanner;
    const Parsed parsed = ParseFileText(ProviderKind::kOpenAi, broken, options);
    CHECK(parsed.status.code() == base::StatusCode::kInvalidArgument);
    CHECK_THAT(parsed.status.message(),
               Catch::Contains("line " + std::to_string(victim.line_number) + ":"));
    CHECK(parsed.lines.size() == 211);

    // The same cut on the last line is a truncation.
    const Parsed truncated = ParseFileText(ProviderKind::kOpenAi, last_cut, options);
    CHECK(truncated.status.code() == base::StatusCode::kUnavailable);
    CHECK_THAT(truncated.status.message(),
               Catch::Contains("line " + std::to_string(victim.line_number) + " is truncated"));
  }
}

TEST_CASE("a file cut at any byte is either complete lines or reported truncated at the cut",
          "[providers][results_parser]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(20261128) + 2;
  base::SeededRandom random(seed);
  std::vector<OwnedLine> expected;
  const std::string text = RandomOpenAiFile(random, 60, 600, expected);
  ResultsParserOptions options;
  options.chunk_bytes = 700;
  options.batch_bytes = 1024;
  for (int i = 0; i < 100; ++i) {
    const std::size_t cut = 1 + random.Below(text.size() - 1);
    const std::string prefix = text.substr(0, cut);
    CAPTURE(seed, cut);
    const std::uint64_t cut_line = static_cast<std::uint64_t>(
                                       std::count(prefix.begin(), prefix.end(), '\n')) + 1;
    const bool at_line_end = text[cut - 1] == '\n';
    // As downloaded, and with a newline added after the cut (the incomplete-JSON case).
    for (const std::string& cut_text : {prefix, prefix + "\n"}) {
      for (const bool memory_map : {true, false}) {
        CAPTURE(cut_text.size(), memory_map);
        options.memory_map = memory_map;
        const Parsed parsed = ParseFileText(ProviderKind::kOpenAi, cut_text, options);
        const bool complete =
            at_line_end || (cut_text.back() == '\n' && text[cut] == '\n');
        if (complete) {
          REQUIRE(parsed.status.ok());
          CHECK(parsed.lines.size() == static_cast<std::size_t>(std::count_if(
                                           expected.begin(), expected.end(),
                                           [&](const OwnedLine& line) {
                                             return line.line_number < cut_line +
                                                                           (at_line_end ? 0 : 1);
                                           })));
        } else {
          CHECK(parsed.status.code() == base::StatusCode::kUnavailable);
          CHECK_THAT(parsed.status.message(),
                     Catch::Contains("line " + std::to_string(cut_line) + " is truncated"));
        }
      }
    }
  }
}

TEST_CASE("a corrupted byte in a middle line is accepted or reported at that line",
          "[providers][results_parser]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(20261128) + 3;
  base::SeededRandom random(seed);
  std::vector<OwnedLine> expected;
  const std::string text = RandomOpenAiFile(random, 60, 600, expected);
  static constexpr std::string_view kNoise = "\"{}[],:\\x\n \xff" "0";
  for (int i = 0; i < 100; ++i) {
    // Any byte of any line but the last (whose damage reads as truncation).
    const std::size_t last_line_start = text.rfind('\n', text.size() - 2) + 1;
    const std::size_t at = random.Below(last_line_start - 1);
    if (text[at] == '\n') continue;
    std::string broken = text;
    broken[at] = kNoise[random.Below(kNoise.size())];
    const std::uint64_t line = static_cast<std::uint64_t>(
                                   std::count(text.begin(), text.begin() + at, '\n')) + 1;
    CAPTURE(seed, at, line, broken[at]);
    for (const ResultsParserOptions& options :
         {TinyOptions(/*memory_map=*/true), TinyOptions(/*memory_map=*/false),
          TinyOptions(/*memory_map=*/true, /*line_scanner=*/false)}) {
      const Parsed parsed = ParseFileText(ProviderKind::kOpenAi, broken, options);
      if (!parsed.status.ok()) {
        CHECK(parsed.status.code() == base::StatusCode::kInvalidArgument);
        // A newline written over the line's first byte leaves a blank line before it.
        const bool split = broken[at] == '\n';
        CHECK_THAT(parsed.status.message(),
                   Catch::Contains("line " + std::to_string(line) + ":") ||
                       Catch::Contains(split ? "line " + std::to_string(line + 1) + ":"
                                             : std::string("\x01")));
      }
    }
  }
}

TEST_CASE("a line longer than the simdjson window or the chunk is parsed alone",
          "[providers][results_parser]") {
  const std::string big_content(300'000, 'x');
  const std::string big_line = R"({"custom_id":"big","response":{"status_code":200,"body":{"c":")" +
                               big_content + R"("}}})";
  const std::string text = Lines({kOpenAiSuccess, big_line, kOpenAiExpired, big_line});
  ResultsParserOptions options;
  options.chunk_bytes = 50'000;
  options.batch_bytes = 10'000;
  ResultsParserOptions read_options = options;
  read_options.memory_map = false;
  for (const Parsed& parsed :
       {ParseText(ProviderKind::kOpenAi, text), ParseFileText(ProviderKind::kOpenAi, text, options),
        ParseFileText(ProviderKind::kOpenAi, text, read_options)}) {
    REQUIRE(parsed.status.ok());
    REQUIRE(parsed.lines.size() == 4);
    CHECK(parsed.lines[1].custom_id == "big");
    CHECK(parsed.lines[1].body.size() == big_content.size() + 8);
    CHECK(parsed.lines[2].error_code == "batch_expired");
    CHECK(parsed.lines[3].line_number == 4);
  }
}

TEST_CASE("a line longer than line_bytes_max is InvalidArgument", "[providers][results_parser]") {
  const std::string big_line = R"({"custom_id":"big","response":{"status_code":200,"body":{"c":")" +
                               std::string(10'000, 'x') + R"("}}})";
  ResultsParserOptions options;
  options.chunk_bytes = 1000;
  options.batch_bytes = 1024;
  options.line_bytes_max = 4000;
  for (const bool memory_map : {true, false}) {
    CAPTURE(memory_map);
    options.memory_map = memory_map;
    // In the middle of the file, and as its last line.
    for (const std::string& text : {Lines({kOpenAiExpired, big_line, kOpenAiExpired}),
                                    Lines({kOpenAiExpired, big_line})}) {
      const Parsed parsed = ParseFileText(ProviderKind::kOpenAi, text, options);
      CHECK(parsed.status.code() == base::StatusCode::kInvalidArgument);
      CHECK_THAT(parsed.status.message(),
                 Catch::Contains("line 2: line is longer than 4000 bytes"));
    }
  }
}

TEST_CASE("one parser parses several files in turn", "[providers][results_parser]") {
  testing::TempDir dir("results-parser-test");
  WriteFileText(dir / "a.jsonl", Lines({kAnthropicExpired}));
  WriteFileText(dir / "b.jsonl", Lines({kAnthropicCanceled, kAnthropicSucceeded}));
  ResultsParser parser(ProviderKind::kAnthropic, TinyOptions());
  std::vector<OwnedLine> lines;
  base::Result<ParseSummary> a = parser.ParseFile(dir / "a.jsonl", Collect(lines));
  REQUIRE(a.ok());
  CHECK(a->lines == 1);
  base::Result<ParseSummary> b = parser.ParseFile(dir / "b.jsonl", Collect(lines));
  REQUIRE(b.ok());
  CHECK(b->lines == 2);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].line_number == 2);
  CHECK(lines[2].body == kAnthropicMessage);
}

}  // namespace
}  // namespace batchlog::providers
