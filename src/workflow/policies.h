// The per-stage policies a workflow file configures (docs/workflow-file.md): retry backoff,
// polling, batch limits, error-class overrides, the enqueued-token quota and model prices.
// Each is resolved per stage when the file is parsed (stage over workflow over `defaults`
// over the built-in values below), so a consumer reads Stage::retry etc. and never merges.
//
// Plain values; thread-safe to read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace batchlog::workflow {

// The wire dialect of a provider entry. kOpenAiCompatible speaks OpenAI's Batch API at
// another base URL (and has OpenAI's limits unless configured lower).
enum class ProviderKind : std::uint8_t { kOpenAi, kAnthropic, kOpenAiCompatible };

// "openai", "anthropic", "openai_compatible": the spelling used in the workflow file.
std::string_view ProviderKindName(ProviderKind kind);

// Request-level retries. delay(n) = min(max_delay_s, initial_delay_s * multiplier^(n-1))
// * U(1 - jitter, 1 + jitter); a larger provider Retry-After wins (docs/design, "Retry
// rules"). Durations are seconds and may be fractional.
struct RetryPolicy {
  std::uint32_t max_retries = 2;  // retries after the first attempt; 0..100
  double initial_delay_s = 30;    // >= 0
  double multiplier = 2;          // >= 1
  double max_delay_s = 300;       // >= initial_delay_s
  double jitter = 0.2;            // in [0, 1)
  bool operator==(const RetryPolicy&) const = default;
};

// Poll interval: starts at initial_s and backs off to max_s while nothing changes.
struct PollPolicy {
  double initial_s = 15;  // > 0
  double max_s = 300;     // >= initial_s
  bool operator==(const PollPolicy&) const = default;
};

// The most one batch may hold. Defaults to the provider's limits (ProviderBatchLimits);
// the file may set lower values, never higher.
struct BatchLimits {
  std::uint64_t max_requests = 0;
  std::uint64_t max_bytes = 0;  // bytes of the upload (OpenAI JSONL file, Anthropic body)
  bool operator==(const BatchLimits&) const = default;
};

// OpenAI (and compatible): 50,000 requests / 200,000,000 bytes ("200 MB", read as decimal
// megabytes to stay under either reading). Anthropic: 100,000 / 256,000,000.
BatchLimits ProviderBatchLimits(ProviderKind kind);

enum class ErrorClass : std::uint8_t { kRetryable, kPermanent };

// "retryable" / "permanent".
std::string_view ErrorClassName(ErrorClass error_class);

// Overrides of the built-in request-error classification. A code listed here takes the
// given class; codes the classifier does not know take unknown_default.
struct ErrorClassPolicy {
  // Exact, case-sensitive error codes (RequestFailed.code, e.g. "rate_limit_exceeded") to
  // their class. Merged across levels: a more specific level wins per code.
  std::map<std::string, ErrorClass, std::less<>> overrides;
  ErrorClass unknown_default = ErrorClass::kRetryable;

  // The override for `code`, if the file gave one.
  std::optional<ErrorClass> Override(std::string_view code) const;
  bool operator==(const ErrorClassPolicy&) const = default;
};

// Estimated enqueued input tokens allowed per model (OpenAI's "enqueued token limit").
// No value means no limit. warn_fraction of the limit triggers a QuotaWarning; new batches
// that would exceed the limit are held.
struct QuotaPolicy {
  // One limit applied to every model separately, when the file gives a single number.
  std::optional<std::uint64_t> enqueued_tokens;
  // Per-model limits, when the file gives a mapping; models not listed are unlimited.
  std::map<std::string, std::uint64_t, std::less<>> enqueued_tokens_per_model;
  double warn_fraction = 0.8;  // in (0, 1]

  // The limit for `model`, or nullopt when unlimited.
  std::optional<std::uint64_t> EnqueuedTokenLimit(std::string_view model) const;
  bool operator==(const QuotaPolicy&) const = default;
};

// List prices of one model, in currency units per million tokens, and the batch discount:
// a batch request costs price * (1 - batch_discount).
struct ModelPrice {
  double input_per_million = 0;   // >= 0
  double output_per_million = 0;  // >= 0
  double batch_discount = 0.5;    // in [0, 1]
  // Cached input tokens (prompt-cache reads), >= 0; unset: see events.proto, ModelPrice.
  std::optional<double> cached_input_per_million;
  // Prompt-cache writes (Anthropic), >= 0; unset: priced at input_per_million.
  std::optional<double> cache_write_input_per_million;
  bool operator==(const ModelPrice&) const = default;
};

// Model name -> price. Merged across levels: a more specific level wins per model.
using PriceTable = std::map<std::string, ModelPrice, std::less<>>;

}  // namespace batchlog::workflow
