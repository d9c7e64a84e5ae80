// Provider-neutral view of one line of a batch results file, and the enums shared by the
// results parser, the error classifier and the providers.
//
// A ResultLine only views bytes owned by the parser's buffer: its string_views are valid
// for the duration of the callback that receives it, never after. Copy what you keep.
#pragma once

#include <cstdint>
#include <string_view>

namespace batchlog::providers {

// Wire dialect. An OpenAI-compatible service speaks kOpenAi at another base URL.
enum class ProviderKind : std::uint8_t { kOpenAi, kAnthropic };
std::string_view ProviderKindName(ProviderKind kind);  // "openai" / "anthropic"

// What the provider reported for one request of a finished batch.
//   OpenAI: a line with `response` (any status_code) and `error: null` is kResponded; a
//   line with `response: null` and an `error` object is kErrored (e.g. batch_expired).
//   Anthropic: result.type succeeded -> kResponded (http_status 200), errored -> kErrored,
//   canceled -> kCanceled, expired -> kExpired.
enum class ResultOutcome : std::uint8_t { kResponded, kErrored, kCanceled, kExpired };

struct TokenUsage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cached_input_tokens = 0;       // prompt-cache reads
  std::uint64_t cache_write_input_tokens = 0;  // prompt-cache writes (Anthropic only)
  bool operator==(const TokenUsage&) const = default;
};

struct ResultLine {
  std::string_view custom_id;
  ResultOutcome outcome = ResultOutcome::kResponded;
  // HTTP status of the request inside the batch: OpenAI response.status_code; Anthropic
  // 200 for succeeded, the status implied by error.type for errored (e.g. 529 for
  // overloaded_error, 0 when none applies).
  int http_status = 0;
  // Raw JSON bytes of the model's response body, unparsed and unre-serialized: OpenAI
  // response.body, Anthropic result.message. Empty when there is none.
  std::string_view body;
  // OpenAI: response.body.error.{type,code,message} for a non-2xx response, or
  // error.{code,message} of a non-HTTP failure. Anthropic: result.error.error.{type,message}
  // (code empty). Empty when absent.
  std::string_view error_type;
  std::string_view error_code;
  std::string_view error_message;
  // OpenAI choices[0].finish_reason (Responses API: incomplete_details.reason); Anthropic
  // message.stop_reason. Empty when absent.
  std::string_view finish_reason;
  TokenUsage usage;
  std::uint64_t line_number = 0;  // 1-based line in the results file
};

}  // namespace batchlog::providers
