// Retry-After parsing (seconds, milliseconds, HTTP-dates) and redaction of secrets.
#include <chrono>

#include <catch2/catch.hpp>

#include "src/base/clock.h"
#include "src/base/secret.h"
#include "src/http/redaction.h"
#include "src/http/retry_after.h"

namespace batchlog::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const base::Timestamp kNow = base::FromUnixMicros(1'772'355'600'000'000);  // 2026-03-01 09:00

HttpHeaders Headers(std::vector<HttpHeader> entries) {
  HttpHeaders headers;
  for (HttpHeader& entry : entries) headers.Add(std::move(entry.name), std::move(entry.value));
  return headers;
}

TEST_CASE("Retry-After reads seconds, fractions, milliseconds and HTTP-dates", "[http]") {
  CHECK(ParseRetryAfterValue("2", kNow) == seconds(2));
  CHECK(ParseRetryAfterValue(" 1.5 ", kNow) == milliseconds(1500));
  CHECK(ParseRetryAfterValue("0", kNow) == seconds(0));
  CHECK(ParseRetryAfterValue("Sun, 01 Mar 2026 09:01:30 GMT", kNow) == seconds(90));
  // A date in the past means "now".
  CHECK(ParseRetryAfterValue("Sun, 01 Mar 2026 08:00:00 GMT", kNow) == seconds(0));
  CHECK(ParseRetryAfter(Headers({{"Retry-After-Ms", "250.5"}}), kNow) ==
        std::chrono::microseconds(250'500));
  CHECK(ParseRetryAfter(Headers({{"retry-after", "3"}, {"retry-after-ms", "20"}}), kNow) ==
        milliseconds(20));
  CHECK(ParseRetryAfter(Headers({{"RETRY-AFTER", "4"}}), kNow) == seconds(4));
}

TEST_CASE("an unreadable Retry-After is absent, not zero", "[http]") {
  for (const char* value : {"", "soon", "-1", "1e400", "nan", "3 s",
                            "Sunday, 01-Mar-26 09:00:00 GMT", "Sun Mar  1 09:00:00 2026",
                            "Sun, 31 Feb 2026 09:00:00 GMT", "Sun, 01 Mar 2026 25:00:00 GMT"}) {
    CAPTURE(value);
    CHECK_FALSE(ParseRetryAfterValue(value, kNow).has_value());
  }
  CHECK_FALSE(ParseRetryAfter(Headers({{"x-other", "1"}}), kNow).has_value());
  // An unreadable retry-after-ms falls back to Retry-After.
  CHECK(ParseRetryAfter(Headers({{"retry-after-ms", "x"}, {"retry-after", "2"}}), kNow) ==
        seconds(2));
}

TEST_CASE("HTTP-dates are parsed exactly", "[http]") {
  const auto date = ParseHttpDate("Wed, 21 Oct 2015 07:28:00 GMT");
  REQUIRE(date.has_value());
  CHECK(base::ToUnixMicros(*date) == 1'445'412'480'000'000);
}

TEST_CASE("credential headers and listed headers are logged as [redacted]", "[http][redaction]") {
  const std::vector<HttpHeader> headers = {{"Authorization", "Bearer sk-visible"},
                                           {"X-API-KEY", "k"},
                                           {"X-Custom-Token", "t0k"},
                                           {"Content-Type", "application/json"}};
  const std::vector<SecretHeader> secrets = {{"x-goog-api-key", "", base::Secret("g-key")}};
  const std::string text = DescribeHeaders(headers, secrets, {"x-custom-token"});
  CHECK(text ==
        "Authorization: [redacted], X-API-KEY: [redacted], X-Custom-Token: [redacted], "
        "Content-Type: application/json, x-goog-api-key: [redacted]");
  CHECK(text.find("sk-visible") == std::string::npos);
  CHECK(text.find("g-key") == std::string::npos);
}

TEST_CASE("a secret echoed back in a body is scrubbed", "[http][redaction]") {
  std::string body = R"({"error":{"message":"Incorrect API key provided: sk-ABC. sk-ABC!"}})";
  ScrubSecret(body, base::Secret("sk-ABC"));
  CHECK(body == R"({"error":{"message":"Incorrect API key provided: [redacted]. [redacted]!"}})");
  std::string untouched = "nothing here";
  ScrubSecret(untouched, base::Secret());
  CHECK(untouched == "nothing here");
}

TEST_CASE("a masked echo of a secret is scrubbed, other asterisks are not", "[http][redaction]") {
  // OpenAI's 401 shows the key's first characters and its last four around asterisks.
  const base::Secret secret("Bearer sk-proj-abcdefghijklmnopWXYZ");
  std::string body =
      R"({"error":{"message":"Incorrect API key provided: sk-proj-****************WXYZ. )"
      R"(See ***bold*** and sk-other-*****ABCD."}})";
  ScrubSecret(body, secret);
  CHECK(body ==
        R"({"error":{"message":"Incorrect API key provided: [redacted]. )"
        R"(See ***bold*** and sk-other-*****ABCD."}})");
}

}  // namespace
}  // namespace batchlog::http
