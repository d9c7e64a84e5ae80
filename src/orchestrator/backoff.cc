#include "src/orchestrator/backoff.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace batchlog::orchestrator {

RetryDelay ComputeRetryDelay(const RetrySchedule& schedule, std::uint32_t retry, double uniform01,
                             double retry_after_s) {
  RetryDelay delay;
  const double exponent = retry == 0 ? 0.0 : static_cast<double>(retry - 1);
  // pow can overflow to inf for large exponents; min() with the cap keeps it finite.
  delay.base_s = std::min(schedule.max_delay_s,
                          schedule.initial_delay_s * std::pow(schedule.multiplier, exponent));
  const double u = std::clamp(uniform01, 0.0, 1.0);
  delay.jitter_factor = 1.0 - schedule.jitter + 2.0 * schedule.jitter * u;
  delay.retry_after_s = std::max(0.0, retry_after_s);
  delay.delay_s = std::max(delay.base_s * delay.jitter_factor, delay.retry_after_s);
  return delay;
}

double NextPollInterval(const PollSchedule& schedule, double previous_s, bool changed) {
  if (changed || previous_s <= 0) return schedule.initial_s;
  return std::min(schedule.max_s, std::max(schedule.initial_s, previous_s * 2));
}

std::int64_t SecondsToMicros(double seconds) {
  const double micros = std::round(seconds * 1e6);
  if (!(micros < static_cast<double>(std::numeric_limits<std::int64_t>::max()))) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (micros < 0) return 0;
  return static_cast<std::int64_t>(micros);
}

}  // namespace batchlog::orchestrator
