// RetryingTransport: the transport-level retry policy, as a decorator over any Transport.
//
// Only requests marked safe_to_retry (GET, list, cancel: repeating them has no effect) are
// ever retried. A request that is not safe (an upload, a batch create) is sent exactly once:
// its failures reach the caller as they are (kOutcomeUnknown when it may have taken
// effect, kUnavailable when it surely did not, or the provider's HTTP answer).
//
// A safe request is retried, up to attempts_max attempts in all, when:
//   - the exchange failed with kUnavailable or kDeadlineExceeded (connect error, reset,
//     short body, timeout), or
//   - the answer is HTTP 408, 409, 429 or >= 500 (529 included),
// unless the server said `x-should-retry: false` (`x-should-retry: true` makes any status
// retryable), as the official SDKs do.
// The wait before retry n (0-based) is the server's Retry-After / retry-after-ms when it
// sent one in (0, retry_after_max], else min(delay_initial * delay_multiplier^n, delay_cap)
// * (1 - jitter_fraction * U[0,1)). A Retry-After above retry_after_max is not waited for:
// the response goes back to the caller, which schedules the call itself.
// Waiting is Clock::Sleep (a FakeClock advances instead), the jitter is drawn from Random.
//
// Ownership: `inner`, `clock` and `random` are borrowed and must outlive the transport.
// Thread-safety: as thread-safe as `inner` and `random` (i.e. one thread at a time).
#pragma once

#include <chrono>
#include <cstdint>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/http/transport.h"

namespace batchlog::http {

struct RetryPolicy {
  // Attempts of a safe request in all, the first included (>= 1). Default 4.
  std::uint32_t attempts_max = 4;
  // Backoff before the first retry, before jitter. Default 0.5 s.
  base::Duration delay_initial = std::chrono::milliseconds(500);
  // Growth of the backoff per retry. Default 2.
  double delay_multiplier = 2.0;
  // Ceiling of the backoff, before jitter. Default 8 s.
  base::Duration delay_cap = std::chrono::seconds(8);
  // Each backoff is shortened by up to this fraction, uniformly. Default 0.25.
  double jitter_fraction = 0.25;
  // The longest Retry-After waited for. Default 120 s (the OpenAI SDK's ceiling).
  base::Duration retry_after_max = std::chrono::seconds(120);
};

// 408, 409, 429 and every status >= 500.
bool IsRetryableHttpStatus(int status);

// The backoff before retry `retry_index` (0 = the first retry) for a jitter draw `unit` in
// [0, 1): min(initial * multiplier^retry_index, cap) * (1 - jitter_fraction * unit).
base::Duration BackoffDelay(const RetryPolicy& policy, std::uint32_t retry_index, double unit);

class RetryingTransport final : public Transport {
 public:
  RetryingTransport(Transport& inner, RetryPolicy policy, base::Clock& clock, base::Random& random);

  base::Result<HttpResponse> Send(const HttpRequest& request) override;

  const RetryPolicy& policy() const { return policy_; }

 private:
  Transport& inner_;
  RetryPolicy policy_;
  base::Clock& clock_;
  base::Random& random_;
};

}  // namespace batchlog::http
