#include "src/providers/error_classifier.h"

#include <array>
#include <string>

namespace batchlog::providers {
namespace {

// Which field of ErrorFacts a rule keys on. Rules are tried in this order: the strongest
// evidence first (provider-apis reference, section 4).
enum class RuleKey : std::uint8_t { kOutcome, kFinishReason, kCode, kType, kStatus };

// Which providers a rule applies to.
enum class For : std::uint8_t { kAny, kOpenAi, kAnthropic };

struct Rule {
  RuleKey key;
  For provider;
  std::string_view text;  // code, type or finish reason (kOutcome: the outcome's name)
  int status;             // kStatus only
  ErrorClass error_class;
  // For kOutcome, kFinishReason and kStatus: the canonical code. Code and type rules
  // report the provider's own string.
  std::string_view canonical;
};

constexpr ErrorClass kRetry = ErrorClass::kRetryable;
constexpr ErrorClass kPerm = ErrorClass::kPermanent;
constexpr ErrorClass kHold = ErrorClass::kOperatorAction;
constexpr ErrorClass kCancel = ErrorClass::kCancelled;

// The policy. Every row traces to a provider's documented codes, types and statuses, or
// to wire behaviour users reported; the few unconfirmed ones (request_timeout,
// batch_cancelled, the file-validation codes) are kept because being wrong costs at most
// a few bounded retries, and every row can be overridden.
constexpr std::array kRules{
    // Outcomes of a finished batch.
    Rule{RuleKey::kOutcome, For::kAny, "expired", 0, kRetry, "expired"},
    Rule{RuleKey::kOutcome, For::kAny, "canceled", 0, kCancel, "cancelled"},

    // HTTP-200 completions the provider refused to produce.
    Rule{RuleKey::kFinishReason, For::kOpenAi, "content_filter", 0, kPerm,
         "content_policy_violation"},
    Rule{RuleKey::kFinishReason, For::kAnthropic, "refusal", 0, kPerm, "content_policy_violation"},

    // OpenAI error codes (error.code of a line, or response.body.error.code).
    Rule{RuleKey::kCode, For::kOpenAi, "rate_limit_exceeded", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "slow_down", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "insufficient_quota", 0, kHold, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "credit_balance_exhausted", 0, kHold, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "invalid_api_key", 0, kHold, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "server_error", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "server_is_overloaded", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "request_timeout", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "batch_expired", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "batch_cancelled", 0, kCancel, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "context_length_exceeded", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "invalid_prompt", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "content_policy_violation", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "image_content_policy_violation", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "model_not_found", 0, kPerm, {}},
    // Batch-level (batch.errors.data[].code). The enqueued-token limit clears as other
    // batches finish, so waiting fixes it; the file-validation codes need a new file.
    Rule{RuleKey::kCode, For::kOpenAi, "token_limit_exceeded", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "invalid_json_line", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "duplicate_custom_id", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "url_mismatch", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "model_mismatch", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "empty_file", 0, kPerm, {}},
    Rule{RuleKey::kCode, For::kOpenAi, "too_many_tasks", 0, kPerm, {}},
    // Provider-neutral codes a transport or caller may report (connect failure, timeout
    // without a response), and the canonical outcome names.
    Rule{RuleKey::kCode, For::kAny, "timeout", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kAny, "connection_error", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kAny, "expired", 0, kRetry, {}},
    Rule{RuleKey::kCode, For::kAny, "cancelled", 0, kCancel, {}},
    // batchlog's own: a finished batch's files hold no line for the request.
    Rule{RuleKey::kCode, For::kAny, "missing_result", 0, kRetry, {}},

    // OpenAI error types. Not used for 429s: their type varies ("tokens_usage_based",
    // "requests"), so a 429 is classified by code, else by status.
    Rule{RuleKey::kType, For::kOpenAi, "invalid_request_error", 0, kPerm, {}},
    Rule{RuleKey::kType, For::kOpenAi, "server_error", 0, kRetry, {}},
    Rule{RuleKey::kType, For::kOpenAi, "service_unavailable_error", 0, kRetry, {}},
    Rule{RuleKey::kType, For::kOpenAi, "insufficient_quota", 0, kHold, {}},
    // Anthropic error types (result.error.error.type, or a control-plane envelope).
    // Billing trouble inside a batch arrives as invalid_request_error (permanent).
    Rule{RuleKey::kType, For::kAnthropic, "invalid_request_error", 0, kPerm, {}},
    Rule{RuleKey::kType, For::kAnthropic, "authentication_error", 0, kHold, {}},
    Rule{RuleKey::kType, For::kAnthropic, "billing_error", 0, kHold, {}},
    Rule{RuleKey::kType, For::kAnthropic, "permission_error", 0, kHold, {}},
    Rule{RuleKey::kType, For::kAnthropic, "not_found_error", 0, kPerm, {}},
    Rule{RuleKey::kType, For::kAnthropic, "request_too_large", 0, kPerm, {}},
    Rule{RuleKey::kType, For::kAnthropic, "rate_limit_error", 0, kRetry, {}},
    Rule{RuleKey::kType, For::kAnthropic, "api_error", 0, kRetry, {}},
    Rule{RuleKey::kType, For::kAnthropic, "timeout_error", 0, kRetry, {}},
    Rule{RuleKey::kType, For::kAnthropic, "overloaded_error", 0, kRetry, {}},

    // HTTP statuses, when neither code nor type is known. Both SDKs retry 408, 409, 429
    // and every 5xx (kServerErrorRange below).
    Rule{RuleKey::kStatus, For::kAny, {}, 400, kPerm, "invalid_request"},
    Rule{RuleKey::kStatus, For::kAny, {}, 401, kHold, "authentication_error"},
    Rule{RuleKey::kStatus, For::kAny, {}, 402, kHold, "billing_error"},
    Rule{RuleKey::kStatus, For::kAny, {}, 403, kHold, "permission_error"},
    Rule{RuleKey::kStatus, For::kAny, {}, 404, kPerm, "not_found"},
    Rule{RuleKey::kStatus, For::kAny, {}, 408, kRetry, "timeout"},
    Rule{RuleKey::kStatus, For::kAny, {}, 409, kRetry, "conflict"},
    Rule{RuleKey::kStatus, For::kAny, {}, 413, kPerm, "request_too_large"},
    Rule{RuleKey::kStatus, For::kAny, {}, 422, kPerm, "invalid_request"},
    Rule{RuleKey::kStatus, For::kAny, {}, 429, kRetry, "rate_limit_exceeded"},
    Rule{RuleKey::kStatus, For::kAny, {}, 500, kRetry, "server_error"},
    Rule{RuleKey::kStatus, For::kAny, {}, 502, kRetry, "bad_gateway"},
    Rule{RuleKey::kStatus, For::kAny, {}, 503, kRetry, "overloaded"},
    Rule{RuleKey::kStatus, For::kAny, {}, 504, kRetry, "timeout"},
    Rule{RuleKey::kStatus, For::kAny, {}, 529, kRetry, "overloaded"},
};

// Any other 5xx: retryable server error.
constexpr int kServerErrorFirst = 500;
constexpr int kServerErrorLast = 599;

bool Applies(const Rule& rule, ProviderKind provider) {
  switch (rule.provider) {
    case For::kAny:
      return true;
    case For::kOpenAi:
      return provider == ProviderKind::kOpenAi;
    case For::kAnthropic:
      return provider == ProviderKind::kAnthropic;
  }
  return false;
}

const Rule* FindText(RuleKey key, ProviderKind provider, std::string_view text) {
  if (text.empty()) return nullptr;
  for (const Rule& rule : kRules) {
    if (rule.key == key && rule.text == text && Applies(rule, provider)) return &rule;
  }
  return nullptr;
}

const Rule* FindStatus(ProviderKind provider, int status) {
  for (const Rule& rule : kRules) {
    if (rule.key == RuleKey::kStatus && rule.status == status && Applies(rule, provider)) {
      return &rule;
    }
  }
  return nullptr;
}

std::string_view OutcomeKey(ResultOutcome outcome) {
  switch (outcome) {
    case ResultOutcome::kExpired:
      return "expired";
    case ResultOutcome::kCanceled:
      return "canceled";
    case ResultOutcome::kResponded:
    case ResultOutcome::kErrored:
      return {};
  }
  return {};
}

bool IsSuccessStatus(int status) { return status >= 200 && status < 300; }

// The classification before overrides.
Classification ClassifyByRules(const ErrorFacts& facts, ErrorClass unknown_default) {
  // The provider's own words name the failure when it gave any.
  const std::string_view provider_code =
      !facts.error_code.empty() ? facts.error_code : facts.error_type;
  const auto from_rule = [&](const Rule& rule, std::string_view code) {
    return Classification{rule.error_class, std::string(code), /*unknown=*/false};
  };

  if (const Rule* rule = FindText(RuleKey::kOutcome, facts.provider, OutcomeKey(facts.outcome))) {
    return from_rule(*rule, rule->canonical);
  }
  if (facts.outcome == ResultOutcome::kResponded && IsSuccessStatus(facts.http_status)) {
    if (const Rule* rule = FindText(RuleKey::kFinishReason, facts.provider, facts.finish_reason)) {
      return from_rule(*rule, rule->canonical);
    }
  }
  if (const Rule* rule = FindText(RuleKey::kCode, facts.provider, facts.error_code)) {
    return from_rule(*rule, facts.error_code);
  }
  // Refused credentials, billing or permission, a timeout or a conflict: the status names
  // the cause better than the type, which is generic there (OpenAI answers a bad key with
  // 401 invalid_request_error and no code, which the type alone would call permanent; both
  // SDKs retry 408 and 409 whatever the body says).
  if (facts.http_status == 401 || facts.http_status == 402 || facts.http_status == 403 ||
      facts.http_status == 408 || facts.http_status == 409) {
    if (const Rule* rule = FindStatus(facts.provider, facts.http_status)) {
      return from_rule(*rule, facts.error_code.empty() ? rule->canonical : facts.error_code);
    }
  }
  if (const Rule* rule = FindText(RuleKey::kType, facts.provider, facts.error_type)) {
    return from_rule(*rule, provider_code);
  }
  // The status decides; an unrecognised type is no name for it (OpenAI 429 types vary).
  if (const Rule* rule = FindStatus(facts.provider, facts.http_status)) {
    return from_rule(*rule, facts.error_code.empty() ? rule->canonical : facts.error_code);
  }
  if (facts.http_status >= kServerErrorFirst && facts.http_status <= kServerErrorLast) {
    return Classification{
        ErrorClass::kRetryable,
        facts.error_code.empty() ? std::string("server_error") : std::string(facts.error_code),
        /*unknown=*/false};
  }
  std::string code(provider_code);
  if (code.empty()) {
    code = facts.http_status > 0 ? "http_" + std::to_string(facts.http_status) : "unknown";
  }
  return Classification{unknown_default, std::move(code), /*unknown=*/true};
}

}  // namespace

std::string_view ErrorClassName(ErrorClass error_class) {
  switch (error_class) {
    case ErrorClass::kRetryable:
      return "retryable";
    case ErrorClass::kPermanent:
      return "permanent";
    case ErrorClass::kOperatorAction:
      return "operator_action";
    case ErrorClass::kCancelled:
      return "cancelled";
  }
  return "invalid";
}

base::Result<ErrorClass> ParseErrorClass(std::string_view name) {
  for (ErrorClass error_class : {ErrorClass::kRetryable, ErrorClass::kPermanent,
                                 ErrorClass::kOperatorAction, ErrorClass::kCancelled}) {
    if (ErrorClassName(error_class) == name) return error_class;
  }
  return base::InvalidArgumentError(
      "unknown error class '" + std::string(name) +
      "' (expected retryable, permanent, operator_action or cancelled)");
}

Classification ErrorClassifier::Classify(const ErrorFacts& facts) const {
  Classification result = ClassifyByRules(facts, unknown_default_);
  if (!overrides_.empty()) {
    std::optional<ErrorClass> forced = FindOverride(facts.error_code);
    if (!forced) forced = FindOverride(facts.error_type);
    if (!forced) forced = FindOverride(result.code);
    if (forced) {
      result.error_class = *forced;
      result.unknown = false;
    }
  }
  return result;
}

std::optional<Classification> ErrorClassifier::ClassifyResult(ProviderKind provider,
                                                              const ResultLine& line) const {
  const ErrorFacts facts{provider,         line.outcome,    line.http_status,
                         line.error_type,  line.error_code, line.finish_reason};
  if (line.outcome == ResultOutcome::kResponded && IsSuccessStatus(line.http_status) &&
      FindText(RuleKey::kFinishReason, provider, line.finish_reason) == nullptr) {
    return std::nullopt;
  }
  return Classify(facts);
}

base::Status ErrorClassifier::SetOverride(std::string_view code_or_type,
                                          ErrorClass error_class) {
  if (code_or_type.empty()) {
    return base::InvalidArgumentError("an error class override needs a code or type");
  }
  overrides_.insert_or_assign(std::string(code_or_type), error_class);
  return base::Status::Ok();
}

std::optional<ErrorClass> ErrorClassifier::FindOverride(std::string_view key) const {
  if (key.empty()) return std::nullopt;
  const auto it = overrides_.find(key);
  if (it == overrides_.end()) return std::nullopt;
  return it->second;
}

}  // namespace batchlog::providers
