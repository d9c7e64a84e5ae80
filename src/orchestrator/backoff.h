// Backoff arithmetic (design.md "Retry rules" 4), pure: the random draw is an input, so the
// executor draws it once and records the result in RetryScheduled, and replay never draws.
#pragma once

#include <cstdint>

#include "src/orchestrator/stage_policy.h"

namespace batchlog::orchestrator {

struct RetryDelay {
  double base_s = 0;         // min(cap, initial * multiplier^(n-1))
  double jitter_factor = 1;  // in [1 - jitter, 1 + jitter]
  double retry_after_s = 0;  // the provider's Retry-After, when it sent one
  double delay_s = 0;        // max(base_s * jitter_factor, retry_after_s)
};

// Delay before retry number `retry` (1 = first retry). `uniform01` is a draw in [0, 1);
// `retry_after_s` (0 = none) wins when larger.
RetryDelay ComputeRetryDelay(const RetrySchedule& schedule, std::uint32_t retry, double uniform01,
                             double retry_after_s = 0);

// The next poll interval: back to `initial_s` after a change, else doubled up to `max_s`.
double NextPollInterval(const PollSchedule& schedule, double previous_s, bool changed);

// Seconds to microseconds, rounded, saturating.
std::int64_t SecondsToMicros(double seconds);

}  // namespace batchlog::orchestrator
