// Retry-After: how long a server asked us to wait, from the response headers.
//
// Order, as the official OpenAI and Anthropic SDKs read it (provider-apis.md section 5):
// `retry-after-ms` (milliseconds, may be fractional), then `retry-after` as seconds (may be
// fractional), then `retry-after` as an IMF-fixdate HTTP-date ("Sun, 06 Nov 1994 08:49:37
// GMT") measured from `now` (a date in the past gives zero). Absent, unparsable, negative
// or non-finite values give nullopt. The obsolete RFC 850 and asctime date forms are not
// accepted (nullopt), so the caller falls back to its own backoff.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "src/base/clock.h"
#include "src/http/transport.h"

namespace batchlog::http {

std::optional<base::Duration> ParseRetryAfter(const HttpHeaders& headers, base::Timestamp now);

// One `retry-after` value: seconds or an HTTP-date.
std::optional<base::Duration> ParseRetryAfterValue(std::string_view value, base::Timestamp now);

// An IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
std::optional<base::Timestamp> ParseHttpDate(std::string_view text);

}  // namespace batchlog::http
