#include "src/workflow/policies.h"

namespace batchlog::workflow {

std::string_view ProviderKindName(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kOpenAi:
      return "openai";
    case ProviderKind::kAnthropic:
      return "anthropic";
    case ProviderKind::kOpenAiCompatible:
      return "openai_compatible";
  }
  return "unknown";
}

BatchLimits ProviderBatchLimits(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kOpenAi:
    case ProviderKind::kOpenAiCompatible:
      return BatchLimits{50'000, 200'000'000};
    case ProviderKind::kAnthropic:
      return BatchLimits{100'000, 256'000'000};
  }
  return BatchLimits{50'000, 200'000'000};
}

std::string_view ErrorClassName(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kRetryable:
      return "retryable";
    case ErrorClass::kPermanent:
      return "permanent";
  }
  return "unknown";
}

std::optional<ErrorClass> ErrorClassPolicy::Override(std::string_view code) const {
  const auto it = overrides.find(code);
  if (it == overrides.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint64_t> QuotaPolicy::EnqueuedTokenLimit(std::string_view model) const {
  const auto it = enqueued_tokens_per_model.find(model);
  if (it != enqueued_tokens_per_model.end()) return it->second;
  return enqueued_tokens;
}

}  // namespace batchlog::workflow
