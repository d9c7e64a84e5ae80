// Tests of the error classifier (src/providers/error_classifier.h): one table row per row
// of the provider reference's transient-vs-permanent tables (control plane and request
// level, both providers), the HTTP-200 content-policy outcomes, overrides, and the
// default for unknown failures.
#include "src/providers/error_classifier.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "src/base/status.h"
#include "src/providers/result_line.h"

namespace batchlog::providers {
namespace {

constexpr ProviderKind kOpenAi = ProviderKind::kOpenAi;
constexpr ProviderKind kAnthropic = ProviderKind::kAnthropic;
constexpr ErrorClass kRetry = ErrorClass::kRetryable;
constexpr ErrorClass kPerm = ErrorClass::kPermanent;
constexpr ErrorClass kHold = ErrorClass::kOperatorAction;
constexpr ErrorClass kCancel = ErrorClass::kCancelled;

struct Row {
  std::string name;  // the reference table row this covers
  ErrorFacts facts;
  ErrorClass expected_class;
  std::string expected_code;
  bool expected_unknown = false;
};

ErrorFacts Http(ProviderKind provider, int status, std::string_view type = {},
                std::string_view code = {}) {
  ErrorFacts facts;
  facts.provider = provider;
  facts.http_status = status;
  facts.error_type = type;
  facts.error_code = code;
  return facts;
}

ErrorFacts Errored(ProviderKind provider, std::string_view type, std::string_view code = {}) {
  ErrorFacts facts;
  facts.provider = provider;
  facts.outcome = ResultOutcome::kErrored;
  facts.error_type = type;
  facts.error_code = code;
  return facts;
}

ErrorFacts Outcome(ProviderKind provider, ResultOutcome outcome) {
  ErrorFacts facts;
  facts.provider = provider;
  facts.outcome = outcome;
  return facts;
}

ErrorFacts Finished(ProviderKind provider, std::string_view finish_reason) {
  ErrorFacts facts;
  facts.provider = provider;
  facts.http_status = 200;
  facts.finish_reason = finish_reason;
  return facts;
}

void CheckRows(const ErrorClassifier& classifier, const std::vector<Row>& rows) {
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const Classification got = classifier.Classify(row.facts);
    CHECK(ErrorClassName(got.error_class) == ErrorClassName(row.expected_class));
    CHECK(got.code == row.expected_code);
    CHECK(got.unknown == row.expected_unknown);
  }
}

// Section 4.1 of the provider reference: create / poll / upload / download calls.
TEST_CASE("control-plane failures are classified as the reference table says",
          "[providers][error_classifier]") {
  const std::vector<Row> rows = {
      {"408 openai", Http(kOpenAi, 408), kRetry, "timeout"},
      {"408 anthropic", Http(kAnthropic, 408), kRetry, "timeout"},
      {"409 openai", Http(kOpenAi, 409), kRetry, "conflict"},
      {"409 anthropic", Http(kAnthropic, 409), kRetry, "conflict"},
      {"429 rate_limit_exceeded",
       Http(kOpenAi, 429, "tokens_usage_based", "rate_limit_exceeded"), kRetry,
       "rate_limit_exceeded"},
      {"429 slow_down", Http(kOpenAi, 429, "requests", "slow_down"), kRetry, "slow_down"},
      {"429 without a code (type varies)", Http(kOpenAi, 429, "tokens"), kRetry,
       "rate_limit_exceeded"},
      {"429 rate_limit_error", Http(kAnthropic, 429, "rate_limit_error"), kRetry,
       "rate_limit_error"},
      {"429 insufficient_quota",
       Http(kOpenAi, 429, "insufficient_quota", "insufficient_quota"), kHold,
       "insufficient_quota"},
      {"429 credit_balance_exhausted (type insufficient_quota)",
       Http(kOpenAi, 429, "insufficient_quota", "credit_balance_exhausted"), kHold,
       "credit_balance_exhausted"},
      {"402 billing_error (anthropic spend/billing)", Http(kAnthropic, 402, "billing_error"),
       kHold, "billing_error"},
      {"500 server_error", Http(kOpenAi, 500, "server_error"), kRetry, "server_error"},
      {"502 openai", Http(kOpenAi, 502), kRetry, "bad_gateway"},
      {"503 server_is_overloaded",
       Http(kOpenAi, 503, "service_unavailable_error", "server_is_overloaded"), kRetry,
       "server_is_overloaded"},
      {"500 api_error", Http(kAnthropic, 500, "api_error"), kRetry, "api_error"},
      {"504 timeout_error", Http(kAnthropic, 504, "timeout_error"), kRetry, "timeout_error"},
      {"529 overloaded_error", Http(kAnthropic, 529, "overloaded_error"), kRetry,
       "overloaded_error"},
      {"529 without a body", Http(kAnthropic, 529), kRetry, "overloaded"},
      {"other 5xx", Http(kOpenAi, 507), kRetry, "server_error"},
      {"connect error", Http(kOpenAi, 0, {}, "connection_error"), kRetry, "connection_error"},
      {"timeout without a response", Http(kAnthropic, 0, {}, "timeout"), kRetry, "timeout"},
      {"400 invalid request", Http(kOpenAi, 400, "invalid_request_error"), kPerm,
       "invalid_request_error"},
      {"400 file too large", Http(kOpenAi, 400, "invalid_request_error"), kPerm,
       "invalid_request_error"},
      {"413 openai", Http(kOpenAi, 413), kPerm, "request_too_large"},
      {"422 openai", Http(kOpenAi, 422), kPerm, "invalid_request"},
      {"400 invalid_request_error", Http(kAnthropic, 400, "invalid_request_error"), kPerm,
       "invalid_request_error"},
      {"413 request_too_large", Http(kAnthropic, 413, "request_too_large"), kPerm,
       "request_too_large"},
      {"422 anthropic", Http(kAnthropic, 422), kPerm, "invalid_request"},
      {"401 openai", Http(kOpenAi, 401, "invalid_request_error", "invalid_api_key"), kHold,
       "invalid_api_key"},
      {"401 openai, status only", Http(kOpenAi, 401), kHold, "authentication_error"},
      // A missing key: the type is generic and there is no code; the status decides.
      {"401 openai, invalid_request_error without a code",
       Http(kOpenAi, 401, "invalid_request_error"), kHold, "authentication_error"},
      {"403 openai, invalid_request_error without a code",
       Http(kOpenAi, 403, "invalid_request_error"), kHold, "permission_error"},
      {"408 with a generic type", Http(kOpenAi, 408, "invalid_request_error"), kRetry,
       "timeout"},
      {"409 with a generic type", Http(kAnthropic, 409, "invalid_request_error"), kRetry,
       "conflict"},
      {"403 openai", Http(kOpenAi, 403), kHold, "permission_error"},
      {"404 openai", Http(kOpenAi, 404), kPerm, "not_found"},
      {"401 authentication_error", Http(kAnthropic, 401, "authentication_error"), kHold,
       "authentication_error"},
      {"403 permission_error", Http(kAnthropic, 403, "permission_error"), kHold,
       "permission_error"},
      {"404 not_found_error", Http(kAnthropic, 404, "not_found_error"), kPerm,
       "not_found_error"},
      // Batch-level errors (batch.errors.data[].code, section 1.9).
      {"token_limit_exceeded", Errored(kOpenAi, {}, "token_limit_exceeded"), kRetry,
       "token_limit_exceeded"},
      {"invalid_json_line", Errored(kOpenAi, {}, "invalid_json_line"), kPerm,
       "invalid_json_line"},
      {"duplicate_custom_id", Errored(kOpenAi, {}, "duplicate_custom_id"), kPerm,
       "duplicate_custom_id"},
      {"url_mismatch", Errored(kOpenAi, {}, "url_mismatch"), kPerm, "url_mismatch"},
      {"model_mismatch", Errored(kOpenAi, {}, "model_mismatch"), kPerm, "model_mismatch"},
      {"empty_file", Errored(kOpenAi, {}, "empty_file"), kPerm, "empty_file"},
      {"too_many_tasks", Errored(kOpenAi, {}, "too_many_tasks"), kPerm, "too_many_tasks"},
      // batchlog's own, for a request a finished batch's files leave out.
      {"missing_result", Errored(kAnthropic, {}, "missing_result"), kRetry, "missing_result"},
  };
  CheckRows(ErrorClassifier(), rows);
}

// Section 4.2: request-level outcomes inside a finished batch.
TEST_CASE("request-level failures are classified as the reference table says",
          "[providers][error_classifier]") {
  const std::vector<Row> rows = {
      {"expired openai", Errored(kOpenAi, {}, "batch_expired"), kRetry, "batch_expired"},
      {"expired anthropic", Outcome(kAnthropic, ResultOutcome::kExpired), kRetry, "expired"},
      {"cancelled openai", Errored(kOpenAi, {}, "batch_cancelled"), kCancel,
       "batch_cancelled"},
      {"canceled anthropic", Outcome(kAnthropic, ResultOutcome::kCanceled), kCancel,
       "cancelled"},
      {"rate limit inside batch openai",
       Http(kOpenAi, 429, "requests", "rate_limit_exceeded"), kRetry, "rate_limit_exceeded"},
      {"rate limit inside batch anthropic", Errored(kAnthropic, "rate_limit_error"), kRetry,
       "rate_limit_error"},
      {"server error openai", Http(kOpenAi, 500, "server_error"), kRetry, "server_error"},
      {"server error openai, no body", Http(kOpenAi, 503), kRetry, "overloaded"},
      {"request_timeout openai", Errored(kOpenAi, {}, "request_timeout"), kRetry,
       "request_timeout"},
      {"504 timed out generating openai", Http(kOpenAi, 504), kRetry, "timeout"},
      {"api_error anthropic", Errored(kAnthropic, "api_error"), kRetry, "api_error"},
      {"overloaded_error anthropic", Errored(kAnthropic, "overloaded_error"), kRetry,
       "overloaded_error"},
      {"timeout_error anthropic", Errored(kAnthropic, "timeout_error"), kRetry,
       "timeout_error"},
      {"invalid request openai",
       Http(kOpenAi, 400, "invalid_request_error", "context_length_exceeded"), kPerm,
       "context_length_exceeded"},
      {"invalid request anthropic", Errored(kAnthropic, "invalid_request_error"), kPerm,
       "invalid_request_error"},
      {"content_filter openai", Finished(kOpenAi, "content_filter"), kPerm,
       "content_policy_violation"},
      {"invalid_prompt openai (Responses)", Http(kOpenAi, 400, "invalid_request_error",
                                                 "invalid_prompt"),
       kPerm, "invalid_prompt"},
      {"image_content_policy_violation openai",
       Http(kOpenAi, 400, "invalid_request_error", "image_content_policy_violation"), kPerm,
       "image_content_policy_violation"},
      {"refusal anthropic", Finished(kAnthropic, "refusal"), kPerm, "content_policy_violation"},
      {"billing inside batch anthropic (invalid_request_error)",
       Errored(kAnthropic, "invalid_request_error"), kPerm, "invalid_request_error"},
      {"401 openai", Http(kOpenAi, 401), kHold, "authentication_error"},
      {"403 openai", Http(kOpenAi, 403), kHold, "permission_error"},
      {"404 openai", Http(kOpenAi, 404), kPerm, "not_found"},
      {"authentication_error anthropic", Errored(kAnthropic, "authentication_error"), kHold,
       "authentication_error"},
      {"permission_error anthropic", Errored(kAnthropic, "permission_error"), kHold,
       "permission_error"},
      {"not_found_error anthropic", Errored(kAnthropic, "not_found_error"), kPerm,
       "not_found_error"},
  };
  CheckRows(ErrorClassifier(), rows);
}

TEST_CASE("a rule for one provider does not apply to the other",
          "[providers][error_classifier]") {
  const ErrorClassifier classifier;
  // "refusal" is Anthropic's stop reason; OpenAI has no such finish reason.
  ResultLine refused;
  refused.http_status = 200;
  refused.finish_reason = "refusal";
  CHECK_FALSE(classifier.ClassifyResult(kOpenAi, refused));
  const Classification overloaded = classifier.Classify(Errored(kOpenAi, "overloaded_error"));
  CHECK(overloaded.unknown);
}

ResultLine Line(ResultOutcome outcome, int status) {
  ResultLine line;
  line.custom_id = "id";
  line.outcome = outcome;
  line.http_status = status;
  return line;
}

TEST_CASE("ClassifyResult returns nothing for a real success and a class for every failure",
          "[providers][error_classifier]") {
  const ErrorClassifier classifier;
  ResultLine success = Line(ResultOutcome::kResponded, 200);
  success.finish_reason = "stop";
  CHECK_FALSE(classifier.ClassifyResult(kOpenAi, success).has_value());
  success.finish_reason = "length";  // truncated output is still the user's answer
  CHECK_FALSE(classifier.ClassifyResult(kOpenAi, success).has_value());
  ResultLine anthropic_success = Line(ResultOutcome::kResponded, 200);
  anthropic_success.finish_reason = "end_turn";
  CHECK_FALSE(classifier.ClassifyResult(kAnthropic, anthropic_success).has_value());

  ResultLine filtered = Line(ResultOutcome::kResponded, 200);
  filtered.finish_reason = "content_filter";
  std::optional<Classification> got = classifier.ClassifyResult(kOpenAi, filtered);
  REQUIRE(got);
  CHECK(got->error_class == kPerm);
  CHECK(got->code == "content_policy_violation");

  ResultLine refused = Line(ResultOutcome::kResponded, 200);
  refused.finish_reason = "refusal";
  got = classifier.ClassifyResult(kAnthropic, refused);
  REQUIRE(got);
  CHECK(got->error_class == kPerm);
  CHECK(got->code == "content_policy_violation");

  ResultLine http_failure = Line(ResultOutcome::kResponded, 429);
  http_failure.error_code = "rate_limit_exceeded";
  got = classifier.ClassifyResult(kOpenAi, http_failure);
  REQUIRE(got);
  CHECK(got->error_class == kRetry);

  got = classifier.ClassifyResult(kAnthropic, Line(ResultOutcome::kExpired, 0));
  REQUIRE(got);
  CHECK(*got == Classification{kRetry, "expired", false});
  got = classifier.ClassifyResult(kAnthropic, Line(ResultOutcome::kCanceled, 0));
  REQUIRE(got);
  CHECK(*got == Classification{kCancel, "cancelled", false});

  ResultLine errored = Line(ResultOutcome::kErrored, 529);
  errored.error_type = "overloaded_error";
  got = classifier.ClassifyResult(kAnthropic, errored);
  REQUIRE(got);
  CHECK(*got == Classification{kRetry, "overloaded_error", false});

  // An errored line with nothing structured is still a failure: unknown.
  got = classifier.ClassifyResult(kOpenAi, Line(ResultOutcome::kErrored, 0));
  REQUIRE(got);
  CHECK(got->unknown);
  CHECK(got->code == "unknown");
}

TEST_CASE("unknown failures take the configurable default and are flagged unknown",
          "[providers][error_classifier]") {
  ErrorClassifier classifier;
  CHECK(classifier.unknown_default() == ErrorClassifier::kDefaultUnknownClass);
  const ErrorFacts novel = Http(kOpenAi, 418, "teapot_error", "short_and_stout");
  Classification got = classifier.Classify(novel);
  CHECK(got == Classification{kRetry, "short_and_stout", true});

  classifier.set_unknown_default(kPerm);
  got = classifier.Classify(novel);
  CHECK(got == Classification{kPerm, "short_and_stout", true});

  // With neither code nor type, the status names it; with nothing at all, "unknown".
  CHECK(classifier.Classify(Http(kAnthropic, 418)) == Classification{kPerm, "http_418", true});
  CHECK(classifier.Classify(Errored(kAnthropic, {})) == Classification{kPerm, "unknown", true});

  // An unknown code with a known type or status is classified by those, not unknown.
  got = classifier.Classify(Http(kOpenAi, 400, "invalid_request_error", "brand_new_code"));
  CHECK(got == Classification{kPerm, "brand_new_code", false});
  got = classifier.Classify(Http(kOpenAi, 500, "mystery", "brand_new_code"));
  CHECK(got == Classification{kRetry, "brand_new_code", false});
}

TEST_CASE("overrides replace the class of a code, a type or a canonical code",
          "[providers][error_classifier]") {
  ErrorClassifier classifier;
  REQUIRE(classifier.SetOverride("context_length_exceeded", kRetry).ok());
  REQUIRE(classifier.SetOverride("overloaded_error", kHold).ok());
  REQUIRE(classifier.SetOverride("content_policy_violation", kRetry).ok());
  REQUIRE(classifier.SetOverride("short_and_stout", kPerm).ok());
  REQUIRE(classifier.SetOverride("expired", kPerm).ok());

  CHECK(classifier.Classify(Http(kOpenAi, 400, "invalid_request_error",
                                 "context_length_exceeded")) ==
        Classification{kRetry, "context_length_exceeded", false});
  CHECK(classifier.Classify(Errored(kAnthropic, "overloaded_error")) ==
        Classification{kHold, "overloaded_error", false});
  CHECK(classifier.Classify(Finished(kAnthropic, "refusal")) ==
        Classification{kRetry, "content_policy_violation", false});
  // An overridden unknown code is no longer unknown.
  CHECK(classifier.Classify(Http(kOpenAi, 418, {}, "short_and_stout")) ==
        Classification{kPerm, "short_and_stout", false});
  CHECK(classifier.Classify(Outcome(kAnthropic, ResultOutcome::kExpired)) ==
        Classification{kPerm, "expired", false});
  // Others are untouched.
  CHECK(classifier.Classify(Errored(kAnthropic, "api_error")).error_class == kRetry);

  // The latest override of a key wins; an empty key is refused.
  REQUIRE(classifier.SetOverride("overloaded_error", kRetry).ok());
  CHECK(classifier.Classify(Errored(kAnthropic, "overloaded_error")).error_class == kRetry);
  CHECK(classifier.SetOverride("", kRetry).code() == base::StatusCode::kInvalidArgument);
}

TEST_CASE("classification never reads the message text", "[providers][error_classifier]") {
  const ErrorClassifier classifier;
  ResultLine a = Line(ResultOutcome::kErrored, 400);
  a.error_type = "invalid_request_error";
  a.error_message = "Your credit balance is too low to access the API.";
  ResultLine b = a;
  b.error_message = "rate limit overloaded timeout server_error";
  CHECK(classifier.ClassifyResult(kAnthropic, a) == classifier.ClassifyResult(kAnthropic, b));
}

TEST_CASE("error class names round-trip", "[providers][error_classifier]") {
  for (ErrorClass error_class : {kRetry, kPerm, kHold, kCancel}) {
    base::Result<ErrorClass> parsed = ParseErrorClass(ErrorClassName(error_class));
    REQUIRE(parsed.ok());
    CHECK(*parsed == error_class);
  }
  CHECK(ParseErrorClass("sometimes").status().code() == base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace batchlog::providers
