#include "src/http/retrying_transport.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "src/http/http_log.h"
#include "src/http/retry_after.h"

namespace batchlog::http {
namespace {

enum class Verdict : std::uint8_t { kReturn, kRetry };

std::optional<bool> ShouldRetryHeader(const HttpHeaders& headers) {
  const auto value = headers.Find("x-should-retry");
  if (!value) return std::nullopt;
  if (EqualsIgnoreCase(*value, "true")) return true;
  if (EqualsIgnoreCase(*value, "false")) return false;
  return std::nullopt;
}

double Seconds(base::Duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

bool IsRetryableHttpStatus(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

base::Duration BackoffDelay(const RetryPolicy& policy, std::uint32_t retry_index, double unit) {
  const double initial_us = static_cast<double>(policy.delay_initial.count());
  const double cap_us = static_cast<double>(policy.delay_cap.count());
  // pow overflows to inf for a large index, which min() then caps.
  const double grown_us = initial_us * std::pow(policy.delay_multiplier, retry_index);
  const double capped_us = std::min(grown_us, cap_us);
  const double jittered_us = capped_us * (1.0 - policy.jitter_fraction * unit);
  return base::Duration(static_cast<std::int64_t>(std::max(jittered_us, 0.0)));
}

RetryingTransport::RetryingTransport(Transport& inner, RetryPolicy policy, base::Clock& clock,
                                     base::Random& random)
    : inner_(inner), policy_(std::move(policy)), clock_(clock), random_(random) {}

base::Result<HttpResponse> RetryingTransport::Send(const HttpRequest& request) {
  const std::uint32_t attempts_max = std::max<std::uint32_t>(policy_.attempts_max, 1);
  for (std::uint32_t attempt = 1;; ++attempt) {
    base::Result<HttpResponse> result = inner_.Send(request);
    if (!request.safe_to_retry || attempt >= attempts_max) return result;

    std::optional<base::Duration> retry_after;
    std::string why;
    if (!result.ok()) {
      const base::StatusCode code = result.status().code();
      if (code != base::StatusCode::kUnavailable && code != base::StatusCode::kDeadlineExceeded) {
        return result;
      }
      why = result.status().ToString();
    } else {
      const std::optional<bool> header = ShouldRetryHeader(result->headers);
      if (header.has_value() ? !*header : !IsRetryableHttpStatus(result->status)) return result;
      retry_after = ParseRetryAfter(result->headers, clock_.Now());
      if (retry_after && *retry_after > policy_.retry_after_max) {
        HttpLogger().warn(
            "http: {}: HTTP {} asks to retry after {:.1f} s, above the {:.1f} s "
            "ceiling; not waiting",
            request.call_name, result->status, Seconds(*retry_after),
            Seconds(policy_.retry_after_max));
        return result;
      }
      why = "HTTP " + std::to_string(result->status);
    }
    const base::Duration delay = retry_after && retry_after->count() > 0
                                     ? *retry_after
                                     : BackoffDelay(policy_, attempt - 1, random_.NextUnit());
    HttpLogger().warn("http: {}: attempt {} of {} failed ({}); retrying in {:.3f} s{}",
                      request.call_name, attempt, attempts_max, why, Seconds(delay),
                      retry_after ? " (Retry-After)" : "");
    clock_.Sleep(delay);
  }
}

}  // namespace batchlog::http
