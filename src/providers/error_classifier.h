// ErrorClassifier: decides what a provider failure means for the retry policy (shared
// design, "Retry rules" 3): retry it, give up on it, or hold the run for the operator.
//
// It classifies from structured fields only — the provider's error code, then its error
// type, then the HTTP status, plus the result outcome and finish/stop reason — never from
// message text. The rules are a table (error_classifier.cc, kRules, each row traced to
// the providers' documented error codes and statuses), so the policy reads as data:
//
//   strongest key first  | example                                   | class
//   outcome              | Anthropic result expired / canceled       | retryable / cancelled
//   finish/stop reason   | OpenAI content_filter, Anthropic refusal  | permanent
//   error code           | rate_limit_exceeded, insufficient_quota   | retryable / operator
//   HTTP 401-403 408 409 | the status, over a generic error type     | operator / retryable
//   error type           | overloaded_error, invalid_request_error   | retryable / permanent
//   HTTP status          | 408 409 429 5xx / 400 413 422 404         | retryable / permanent
//                        | 401 402 403                               | operator action
//
// (An OpenAI 401 for a missing key says only invalid_request_error, and both SDKs retry 408
// and 409 whatever the body: for those statuses the status speaks before the type.)
//
// Overrides (from the workflow file) replace the class of one code, type or canonical
// code. A failure no rule knows takes the configurable default class and is flagged
// `unknown`, so the manifest can say so even when the default retries it.
//
// Canonical codes (Classification::code): the provider's own error code when it sent one,
// else its error type, else a name for the status or outcome ("rate_limit_exceeded",
// "server_error", "overloaded", "timeout", "expired", "cancelled", "invalid_request",
// "authentication_error", "permission_error", "not_found", "content_policy_violation", ...);
// "http_<status>" or "unknown" when nothing matched.
//
// Cancellation has its own class: whether a cancelled request is retried depends on who
// cancelled the batch (the orchestrator knows; the classifier does not).
//
// Thread-safety: const methods may be called concurrently; SetOverride and
// set_unknown_default must not race with anything.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/providers/result_line.h"

namespace batchlog::providers {

enum class ErrorClass : std::uint8_t {
  kRetryable,       // transient: resubmit in a retry batch (rate limit, 5xx, timeout, expired)
  kPermanent,       // the request itself is at fault: report, never retry
  kOperatorAction,  // quota, billing, authentication, permission: hold until someone acts
  kCancelled,       // the batch was cancelled before this request ran
};

// "retryable", "permanent", "operator_action", "cancelled".
std::string_view ErrorClassName(ErrorClass error_class);
// The inverse of ErrorClassName, for the workflow file; kInvalidArgument otherwise.
base::Result<ErrorClass> ParseErrorClass(std::string_view name);

// What is known about one failure. Views only; nothing is kept after the call.
struct ErrorFacts {
  ProviderKind provider = ProviderKind::kOpenAi;
  ResultOutcome outcome = ResultOutcome::kResponded;
  int http_status = 0;  // 0 when there was no HTTP response
  std::string_view error_type;
  std::string_view error_code;
  std::string_view finish_reason;  // only meaningful on a 2xx response
};

struct Classification {
  ErrorClass error_class = ErrorClass::kRetryable;
  std::string code;      // canonical code for the manifest and the RequestFailed event
  bool unknown = false;  // no rule or override matched: error_class is the default
  bool operator==(const Classification&) const = default;
};

class ErrorClassifier {
 public:
  // The default class for failures no rule knows: retryable (retries are bounded by
  // max_retries, and a lost transient failure costs more than two extra attempts).
  static constexpr ErrorClass kDefaultUnknownClass = ErrorClass::kRetryable;

  ErrorClassifier() = default;

  // Classifies a failure of a control-plane call (create rejected, upload refused) or of a
  // request. Meant for failures: facts of a plain 2xx success classify as unknown.
  Classification Classify(const ErrorFacts& facts) const;

  // nullopt for a real success (responded, 2xx, no content-policy finish reason); a
  // classification for every failure, including errored, canceled and expired outcomes.
  std::optional<Classification> ClassifyResult(ProviderKind provider,
                                                const ResultLine& line) const;

  // Sets the class of `code_or_type`, matched against the error code, then the error
  // type, then the canonical code (so "expired" or "content_policy_violation" work too).
  // An overridden failure is not unknown. Empty key: kInvalidArgument.
  base::Status SetOverride(std::string_view code_or_type, ErrorClass error_class);

  void set_unknown_default(ErrorClass error_class) { unknown_default_ = error_class; }
  ErrorClass unknown_default() const { return unknown_default_; }

 private:
  std::optional<ErrorClass> FindOverride(std::string_view key) const;

  std::map<std::string, ErrorClass, std::less<>> overrides_;
  ErrorClass unknown_default_ = kDefaultUnknownClass;
};

}  // namespace batchlog::providers
