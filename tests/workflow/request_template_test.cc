#include "src/workflow/request_template.h"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/workflow/dataset_reader.h"

namespace batchlog::workflow {
namespace {

using nlohmann::json;

TemplateScope StageOneScope(bool has_variants = true) {
  TemplateScope scope;
  scope.stage_name = "stage_1";
  scope.workflow_stages = {"stage_1", "stage_2", "stage_3"};
  scope.has_variants = has_variants;
  return scope;
}

TemplateScope StageTwoScope(AnswerFormat format) {
  TemplateScope scope = StageOneScope();
  scope.stage_name = "stage_2";
  scope.referable = {ReferableStage{"stage_1", format}};
  return scope;
}

RequestTemplate Compile(std::string_view body, const TemplateScope& scope) {
  base::Result<RequestTemplate> compiled = RequestTemplate::FromJson(body, "body", scope);
  INFO(compiled.status().ToString());
  REQUIRE(compiled.ok());
  return std::move(compiled).value();
}

std::string CompileError(std::string_view body, const TemplateScope& scope) {
  const base::Result<RequestTemplate> compiled = RequestTemplate::FromJson(body, "body", scope);
  REQUIRE_FALSE(compiled.ok());
  CHECK(compiled.status().code() == base::StatusCode::kInvalidArgument);
  return compiled.status().message();
}

struct Rendered {
  std::string body;
  std::string model;
};

Rendered Render(const RequestTemplate& compiled, const Dataset& dataset, std::size_t index,
                StageAnswers answers = {}, std::string_view variant = "v1",
                std::uint32_t epoch = 0) {
  RenderInput input;
  input.sample_json = dataset[index].json;
  input.sample_json_padded = true;
  input.id = dataset[index].id;
  input.variant = variant;
  input.epoch = epoch;
  input.custom_id = "cid_1";
  input.answers = answers;
  RenderScratch scratch;
  Rendered rendered;
  const base::Status status = compiled.Render(input, scratch, rendered.body, rendered.model);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return rendered;
}

Dataset MakeDataset(std::string_view jsonl) {
  base::Result<Dataset> dataset = ParseDataset(jsonl, "data.jsonl", "id");
  INFO(dataset.status().ToString());
  REQUIRE(dataset.ok());
  return std::move(dataset).value();
}

TEST_CASE("inserted text is JSON-escaped: quotes, backslashes, newlines, controls, unicode",
          "[workflow][template]") {
  const Dataset dataset =
      MakeDataset(R"({"id": "s1", "text": "He said \"hi\"\\ then\nleft\tnow \u0001 café 😀 \u2028"})"
                  "\n");
  const RequestTemplate compiled =
      Compile(R"({"model": "m", "messages": [{"role": "user", "content": "Q: {{sample.text}}!"}]})",
              StageOneScope());
  const Rendered rendered = Render(compiled, dataset, 0);
  const json body = json::parse(rendered.body);
  CHECK(body["messages"][0]["content"] ==
        "Q: He said \"hi\"\\ then\nleft\tnow \x01 caf\xC3\xA9 \xF0\x9F\x98\x80 \xE2\x80\xA8!");
  CHECK(rendered.body.find("\\u0001") != std::string::npos);
  CHECK(rendered.body.find('\n') == std::string::npos);
  CHECK(rendered.model == "m");
}

TEST_CASE("templates reach nested fields, array items, variant, epoch, id and custom_id",
          "[workflow][template]") {
  const Dataset dataset = MakeDataset(
      R"({"id": 12, "meta": {"topic": "algebra", "level": 3, "ok": true, "tags": ["a", "b"]},)"
      R"( "gone": null, "obj": {"k": [1, 2.50]}})"
      "\n");
  const RequestTemplate compiled = Compile(
      R"({"model": "m-{{variant}}", "max_tokens": 5, "messages": [{"role": "user", "content":)"
      R"( "{{sample.meta.topic}}|{{sample.meta.level}}|{{sample.meta.ok}}|{{sample.meta.tags.1}})"
      R"(|{{ sample.gone }}|{{sample.obj}}|{{variant}}|{{epoch}}|{{id}}|{{custom_id}}"}],)"
      R"( "n": "{{sample.meta.level}}"})",
      StageOneScope());
  const Rendered rendered = Render(compiled, dataset, 0, {}, "formal", 3);
  const json body = json::parse(rendered.body);
  CHECK(body["messages"][0]["content"] == "algebra|3|true|b||{\"k\": [1, 2.50]}|formal|3|12|cid_1");
  // A whole-string placeholder whose value is a number stays a string.
  CHECK(body["n"] == "3");
  CHECK(body["max_tokens"] == 5);
  CHECK(rendered.model == "m-formal");
}

TEST_CASE("a literal {{ is written {{\"{{\"}}", "[workflow][template]") {
  const Dataset dataset = MakeDataset("{\"id\": \"a\"}\n");
  const RequestTemplate compiled =
      Compile(R"({"model": "m", "content": "use {{\"{{\"}}x}} here"})", StageOneScope());
  CHECK(json::parse(Render(compiled, dataset, 0).body)["content"] == "use {{x}} here");
}

TEST_CASE("the rendered body is compact JSON in the template's key order", "[workflow][template]") {
  const Dataset dataset = MakeDataset("{\"id\": \"a\", \"q\": \"x\"}\n");
  const RequestTemplate compiled = Compile(
      "{ \"z\": 1,\n \"model\" : \"m\", \"a\": [ true, null, -2.5e3 ], \"c\": \"{{sample.q}}\" }",
      StageOneScope());
  CHECK(Render(compiled, dataset, 0).body ==
        R"({"z":1,"model":"m","a":[true,null,-2500],"c":"x"})");
}

constexpr std::string_view kJudgeBody =
    R"({"model": "judge", "max_tokens": 8, "messages": [{"role": "user", "content":)"
    R"( "Score: {{sample.q}} / {{stage_1.text}}"}]})";

TEST_CASE("stage text comes from OpenAI chat bodies", "[workflow][template]") {
  const Dataset dataset = MakeDataset("{\"id\": \"a\", \"q\": \"1+1\"}\n");
  const RequestTemplate compiled = Compile(kJudgeBody, StageTwoScope(AnswerFormat::kOpenAiChat));
  CHECK(compiled.AnswerStages() == std::vector<std::string>{"stage_1"});
  const std::string openai_body =
      R"({"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0,)"
      R"( "message": {"role": "assistant", "content": "It is \"2\".\nDone"},)"
      R"( "finish_reason": "stop"}], "usage": {"prompt_tokens": 3}})";
  const StageAnswer answer{"stage_1", openai_body};
  const json body = json::parse(Render(compiled, dataset, 0, StageAnswers(&answer, 1)).body);
  CHECK(body["messages"][0]["content"] == "Score: 1+1 / It is \"2\".\nDone");

  const std::string null_content =
      R"({"choices": [{"message": {"role": "assistant", "content": null}}]})";
  const StageAnswer empty{"stage_1", null_content};
  CHECK(json::parse(
            Render(compiled, dataset, 0, StageAnswers(&empty, 1)).body)["messages"][0]["content"] ==
        "Score: 1+1 / ");
}

TEST_CASE("stage text concatenates the text blocks of Anthropic bodies", "[workflow][template]") {
  const Dataset dataset = MakeDataset("{\"id\": \"a\", \"q\": \"1+1\"}\n");
  const RequestTemplate compiled =
      Compile(kJudgeBody, StageTwoScope(AnswerFormat::kAnthropicMessages));
  const std::string anthropic_body =
      R"({"id": "msg_1", "type": "message", "role": "assistant", "content": [)"
      R"({"type": "text", "text": "Two"}, {"type": "tool_use", "id": "t", "name": "f",)"
      R"( "input": {"text": "no"}}, {"text": ", surely.", "type": "text"}],)"
      R"( "stop_reason": "end_turn"})";
  const StageAnswer answer{"stage_1", anthropic_body};
  CHECK(json::parse(Render(compiled, dataset, 0, StageAnswers(&answer, 1))
                        .body)["messages"][0]["content"] == "Score: 1+1 / Two, surely.");
}

TEST_CASE("ExtractAnswerText reads each answer format", "[workflow][template]") {
  CHECK(ExtractAnswerText(AnswerFormat::kOpenAiCompletions, R"({"choices": [{"text": "done"}]})")
            .value() == "done");
  CHECK(
      ExtractAnswerText(AnswerFormat::kOpenAiResponses,
                        R"({"output": [{"type": "reasoning", "content": []}, {"type": "message",)"
                        R"( "content": [{"type": "output_text", "text": "a"}, {"type":)"
                        R"( "refusal", "refusal": "x"}, {"type": "output_text", "text": "b"}]}]})")
          .value() == "ab");
  CHECK(ExtractAnswerText(AnswerFormat::kAnthropicMessages, R"({"content": []})").value().empty());
  const base::Result<std::string> missing =
      ExtractAnswerText(AnswerFormat::kOpenAiChat, R"({"error": {"message": "x"}})");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "the response has no /choices/0/message/content");
  CHECK_FALSE(ExtractAnswerText(AnswerFormat::kOpenAiChat, "{not json").ok());
}

TEST_CASE("a JSON pointer reads a value from an earlier stage's response", "[workflow][template]") {
  const Dataset dataset = MakeDataset("{\"id\": \"a\"}\n");
  const RequestTemplate compiled =
      Compile(R"({"model": "m", "messages": [{"role": "user", "content":)"
              R"( "{{stage_1.json:/usage/prompt_tokens}} {{stage_1.json:/choices/0/message}})"
              R"( {{stage_1.json:/a~1b}}"}], "raw": "{{stage_1.json:}}"})",
              StageTwoScope(AnswerFormat::kOpenAiChat));
  const std::string response =
      R"({"choices": [{"message": {"role": "assistant", "content": "x"}}],)"
      R"( "usage": {"prompt_tokens": 17}, "a/b": "slash"})";
  const StageAnswer answer{"stage_1", response};
  const json body = json::parse(Render(compiled, dataset, 0, StageAnswers(&answer, 1)).body);
  CHECK(body["messages"][0]["content"] == "17 {\"role\": \"assistant\", \"content\": \"x\"} slash");
  CHECK(body["raw"] == response);
}

TEST_CASE("a missing answer or pointer fails the rendering, naming the custom_id",
          "[workflow][template]") {
  const Dataset dataset = MakeDataset("{\"id\": \"a\"}\n");
  const RequestTemplate compiled =
      Compile(R"({"model": "m", "c": "{{stage_1.json:/usage/total}}"})",
              StageTwoScope(AnswerFormat::kOpenAiChat));
  RenderInput input;
  input.sample_json = dataset[0].json;
  input.sample_json_padded = true;
  input.custom_id = "a_e0_123456";
  RenderScratch scratch;
  std::string body;
  std::string model;
  const base::Status no_answer = compiled.Render(input, scratch, body, model);
  CHECK(no_answer.message() ==
        "custom_id a_e0_123456: stage 'stage_1' answer: not given to the request builder");

  const std::string response = R"({"usage": {"prompt_tokens": 1}})";
  const StageAnswer answer{"stage_1", response};
  input.answers = StageAnswers(&answer, 1);
  const base::Status no_pointer = compiled.Render(input, scratch, body, model);
  CHECK(no_pointer.message() ==
        "custom_id a_e0_123456: stage 'stage_1' answer: {{stage_1.json:/usage/total}} (body.c): "
        "pointer '/usage/total' is not in the response");
}

TEST_CASE("templates that cannot resolve are refused when compiled", "[workflow][template]") {
  const TemplateScope scope = StageTwoScope(AnswerFormat::kOpenAiChat);
  CHECK(CompileError(R"({"model": "m", "c": "{{sampel.q}}"})", scope) ==
        "body.c: unknown placeholder {{sampel.q}} (did you mean 'sample'?) (allowed: "
        "sample.FIELD, sample, variant, epoch, id, custom_id, STAGE.text, STAGE.json:/pointer)");
  CHECK(CompileError(R"({"model": "m", "c": "{{stage_3.text}}"})", scope) ==
        "body.c: {{stage_3.text}}: stage 'stage_3' is not earlier than 'stage_2'");
  CHECK(CompileError(R"({"model": "m", "c": "{{stage_2.text}}"})", scope) ==
        "body.c: {{stage_2.text}}: a stage cannot read its own answer");
  CHECK(CompileError(R"({"model": "m", "c": "{{stage_1.txt}}"})", scope) ==
        "body.c: {{stage_1.txt}}: a stage placeholder is {{stage_1.text}} or "
        "{{stage_1.json:/pointer}}");
  CHECK(CompileError(R"({"model": "m", "c": "{{stage_1.json:usage}}"})", scope)
            .rfind("body.c: {{stage_1.json:usage}}: 'usage' is not a JSON pointer", 0) == 0);
  CHECK(CompileError(R"({"model": "m", "c": "{{sample.q"})", scope) ==
        "body.c: '{{' at offset 0 is not closed by '}}' (write {{\"{{\"}} for a literal '{{')");
  CHECK(CompileError(R"({"model": "m", "c": "{{sample..q}}"})", scope) ==
        "body.c: {{sample..q}}: empty field name in the sample path");
  CHECK(CompileError(R"({"model": "m", "{{id}}": 1})", scope) ==
        "body.{{id}}: placeholders may appear only in string values, not in keys ('{{id}}')");
  CHECK(CompileError(R"({"model": 4})", scope) == "body.model: the model must be a string");
  CHECK(CompileError(R"(["model"])", scope) == "body: the body must be a JSON object");
  CHECK(CompileError(R"({"model": "m", "c": "{{variant}}"})", StageOneScope(false)) ==
        "body.c: {{variant}}: the workflow has no variants");
  CHECK(CompileError(R"({"model": "m", "c": "{{stage_1.text}}"})",
                     StageTwoScope(AnswerFormat::kNone)) ==
        "body.c: {{stage_1.text}}: stage 'stage_1' uses an endpoint whose responses have no "
        "answer text; use {{stage_1.json:/pointer}}");
  TemplateScope third = StageOneScope();
  third.stage_name = "stage_3";
  third.referable = {ReferableStage{"stage_1", AnswerFormat::kOpenAiChat}};
  CHECK(CompileError(R"({"model": "m", "c": "{{stage_2.text}}"})", third) ==
        "body.c: {{stage_2.text}}: stage 'stage_2' is not an ancestor of 'stage_3' through "
        "`from`, so its result may not exist for this request");
}

TEST_CASE("a template field that no sample has is refused, one some samples have is not",
          "[workflow][template]") {
  const Dataset dataset = MakeDataset(
      "{\"id\": \"a\", \"problem\": \"p\"}\n"
      "{\"id\": \"b\", \"problem\": \"q\", \"hint\": null, \"meta\": {\"x\": 1}}\n");
  const RequestTemplate missing =
      Compile(R"({"model": "m", "messages": [{"role": "user", "content": "{{sample.problme}}"}]})",
              StageOneScope());
  const base::Status status = missing.CheckSampleFields(dataset);
  CHECK(status.code() == base::StatusCode::kInvalidArgument);
  CHECK(status.message() ==
        "body.messages[0].content: template field {{sample.problme}} is in no sample of "
        "data.jsonl (2 samples) (did you mean 'problem'?)");

  const RequestTemplate nested =
      Compile(R"({"model": "m", "c": "{{sample.meta.y}}"})", StageOneScope());
  CHECK_FALSE(nested.CheckSampleFields(dataset).ok());

  const RequestTemplate partial =
      Compile(R"({"model": "m", "c": "[{{sample.hint}}][{{sample.meta.x}}]"})", StageOneScope());
  CHECK(partial.CheckSampleFields(dataset).ok());
  CHECK(json::parse(Render(partial, dataset, 0).body)["c"] == "[][]");
  CHECK(json::parse(Render(partial, dataset, 1).body)["c"] == "[][1]");
}

TEST_CASE("one scratch renders many samples and variants without mixing them",
          "[workflow][template]") {
  const Dataset dataset =
      MakeDataset("{\"id\": \"a\", \"q\": \"x\"}\n{\"id\": \"b\", \"q\": \"y\"}\n");
  const RequestTemplate compiled =
      Compile(R"({"model": "m", "c": "{{sample.q}}-{{variant}}"})", StageOneScope());
  RenderScratch scratch;
  std::string body;
  std::string model;
  const std::pair<std::size_t, std::string_view> order[] = {
      {0, "v1"}, {0, "v2"}, {1, "v1"}, {0, "v1"}};
  std::vector<std::string> seen;
  for (const auto& [index, variant] : order) {
    RenderInput input;
    input.sample_json = dataset[index].json;
    input.sample_json_padded = true;
    input.variant = variant;
    REQUIRE(compiled.Render(input, scratch, body, model).ok());
    seen.push_back(json::parse(body)["c"]);
  }
  CHECK(seen == std::vector<std::string>{"x-v1", "x-v2", "y-v1", "x-v1"});
}

TEST_CASE("an unpadded sample is copied before parsing", "[workflow][template]") {
  const RequestTemplate compiled =
      Compile(R"({"model": "m", "c": "{{sample.q}}"})", StageOneScope());
  const std::string sample = R"({"id": "a", "q": "free-standing"})";
  RenderInput input;
  input.sample_json = sample;
  RenderScratch scratch;
  std::string body;
  std::string model;
  REQUIRE(compiled.Render(input, scratch, body, model).ok());
  CHECK(body == R"({"model":"m","c":"free-standing"})");
}

}  // namespace
}  // namespace batchlog::workflow
