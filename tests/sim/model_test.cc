// The deterministic model: answers and token counts as pure functions of the request.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/sim/deterministic_model.h"

namespace batchlog::sim {
namespace {

using nlohmann::json;

json Chat(const std::string& prompt) {
  return {{"model", "gpt-4o-mini"},
          {"messages", json::array({{{"role", "system"}, {"content", "Be brief."}},
                                    {{"role", "user"}, {"content", prompt}}})}};
}

TEST_CASE("a paraphrase prompt gets a fixed rewording", "[sim][model]") {
  CHECK(AnswerText("Paraphrase: The sum of two and two is four.") ==
        "In other words, the sum of two and two is four.");
  CHECK(AnswerText("  paraphrase:   Seven is prime ") == "In other words, seven is prime");
}

TEST_CASE("a prompt asking for a score gets score N with N in 0..10", "[sim][model]") {
  const std::string prompt = "Score the following answer from 0 to 10: In other words, x.";
  const std::string answer = AnswerText(prompt);
  CHECK(answer == "score: " + std::to_string(ScoreOf(prompt)));
  for (int i = 0; i < 100; ++i) {
    const auto score = ScoreOf("score this " + std::to_string(i));
    CHECK(score >= 0);
    CHECK(score <= 10);
  }
}

TEST_CASE("other prompts are answered by echo", "[sim][model]") {
  CHECK(AnswerText("What is 2+2?") == "Answer: What is 2+2?");
}

TEST_CASE("the answer depends only on the request body", "[sim][model]") {
  const ModelAnswer a = AnswerRequest(Chat("Paraphrase: hello world"));
  const ModelAnswer b = AnswerRequest(Chat("Paraphrase: hello world"));
  CHECK(a.text == b.text);
  CHECK(a.input_tokens == b.input_tokens);
  CHECK(a.output_tokens == b.output_tokens);
  CHECK(AnswerRequest(Chat("Paraphrase: other")).text != a.text);
}

TEST_CASE("token counts are about a quarter of the characters", "[sim][model]") {
  CHECK(EstimateTokens("") == 0);
  CHECK(EstimateTokens("abcd") == 1);
  CHECK(EstimateTokens("abcde") == 2);
  const ModelAnswer answer = AnswerRequest(Chat("Paraphrase: " + std::string(400, 'x')));
  // 2 messages x 3 overhead + "Be brief." (3) + the prompt (103).
  CHECK(answer.input_tokens == 6 + 3 + 103);
  CHECK(answer.output_tokens == EstimateTokens(answer.text));
}

TEST_CASE("max_tokens caps the answer and marks it truncated", "[sim][model]") {
  json body = Chat("Paraphrase: " + std::string(200, 'y'));
  body["max_tokens"] = 5;
  const ModelAnswer answer = AnswerRequest(body);
  CHECK(answer.truncated);
  CHECK(answer.text.size() == 20);
  CHECK(answer.output_tokens == 5);
}

TEST_CASE("truncation never splits a UTF-8 sequence", "[sim][model]") {
  json body = Chat("Paraphrase: \xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
  body["max_tokens"] = 5;  // 20 bytes: "In other words, " is 16, then 2 x 2-byte chars
  const ModelAnswer answer = AnswerRequest(body);
  CHECK(answer.text == "In other words, \xC3\xA9\xC3\xA9");
  body["max_tokens"] = 4;  // 16 bytes exactly
  CHECK(AnswerRequest(body).text == "In other words, ");
}

TEST_CASE("prompts are read from content blocks, Anthropic system and completions",
          "[sim][model]") {
  const json anthropic = {
      {"model", "claude"},
      {"system", "Be concise."},
      {"messages",
       json::array({{{"role", "user"},
                     {"content", json::array({{{"type", "text"}, {"text", "Paraphrase: A"}},
                                              {{"type", "text"}, {"text", "B"}}})}}})}};
  CHECK(PromptOf(anthropic) == "Paraphrase: A\nB");
  CHECK(AnswerRequest(anthropic).text == "In other words, a\nB");
  CHECK(PromptOf(json{{"prompt", "hello"}}) == "hello");
  CHECK(PromptOf(json{{"input", "hi"}}) == "hi");
  CHECK(PromptOf(json::array()) == "");
  CHECK(AnswerRequest(json("not an object")).input_tokens >= 1);
}

}  // namespace
}  // namespace batchlog::sim
