// The deterministic model: the emulator's stand-in for an LLM. The answer to a chat
// completion / message is a pure function of the request body, so a stage built from a
// previous stage's answers is meaningful and testable (docs/emulator.md, "The model"):
//
//   - the prompt is the text of the last message with role "user" (a string, or the
//     "text" blocks of a content array joined by "\n"), or `prompt` for /v1/completions;
//   - if the prompt contains "score" (any case), the answer is "score: N" with
//     N = ScoreOf(prompt) in 0..10;
//   - else if it starts with "Paraphrase:" (any case), the answer is "In other words, "
//     followed by the rest of the prompt, trimmed, with its first letter lowercased;
//   - otherwise the answer is "Answer: " followed by the prompt, trimmed.
//   - max_tokens / max_completion_tokens / max_output_tokens cap the answer at 4 bytes per
//     token (then `truncated` is true: finish_reason "length" / stop_reason "max_tokens").
//
// Token counts are realistic estimates: input = EstimateTokens over every message text
// (and `system`) plus 3 per message; output = EstimateTokens(answer).
//
// Prompt caching (Anthropic params only): the prefix of `system` blocks and message content
// blocks up to and including the last block that carries `cache_control` is the request's
// cacheable prefix (CachePrefixOf). Which requests write it and which read it is decided
// by the batch (docs/emulator.md, "Prompt caching").
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace batchlog::sim {

struct ModelAnswer {
  std::string text;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  bool truncated = false;  // the answer was cut at the max-tokens cap
};

// ceil(bytes / 4); 0 for empty text.
std::int64_t EstimateTokens(std::string_view text);

// FNV-1a of the prompt modulo 11.
std::int64_t ScoreOf(std::string_view prompt);

// The answer text for a prompt, before any max-tokens cap.
std::string AnswerText(std::string_view prompt);

// The prompt of a request body: last user message of `messages`, else `prompt` (string
// or first element of an array), else `input` (string, Responses API); "" if none.
std::string PromptOf(const nlohmann::json& body);

// The full answer to a request body (OpenAI chat/completions/responses body or Anthropic
// params). Never throws; malformed parts count as empty.
ModelAnswer AnswerRequest(const nlohmann::json& body);

// An Anthropic request's cacheable prefix: its tokens (EstimateTokens of each block's text
// up to and including the last block with `cache_control`, plus 3 per message reached; at
// most `input_tokens`) and a hash of the model and those blocks, which names the cache
// entry. tokens == 0 when no block carries `cache_control`.
struct CachePrefix {
  std::int64_t tokens = 0;
  std::uint64_t hash = 0;
};
CachePrefix CachePrefixOf(const nlohmann::json& body, std::int64_t input_tokens);

}  // namespace batchlog::sim
