// Backoff arithmetic (design.md "Retry rules" 4).
#include "src/orchestrator/backoff.h"

#include <catch2/catch.hpp>

namespace batchlog::orchestrator {
namespace {

TEST_CASE("retry delays follow min(cap, initial * multiplier^(n-1)) * U(1-j, 1+j)",
          "[orchestrator][backoff]") {
  RetrySchedule schedule;  // 30 s, x2, cap 300 s, jitter 0.2
  CHECK(ComputeRetryDelay(schedule, 1, 0.5).delay_s == Approx(30));
  CHECK(ComputeRetryDelay(schedule, 2, 0.5).delay_s == Approx(60));
  CHECK(ComputeRetryDelay(schedule, 4, 0.5).delay_s == Approx(240));
  CHECK(ComputeRetryDelay(schedule, 5, 0.5).delay_s == Approx(300));   // capped
  CHECK(ComputeRetryDelay(schedule, 60, 0.5).delay_s == Approx(300));  // no overflow
  CHECK(ComputeRetryDelay(schedule, 1, 0.0).delay_s == Approx(24));    // 1 - jitter
  CHECK(ComputeRetryDelay(schedule, 1, 0.0).jitter_factor == Approx(0.8));
  CHECK(ComputeRetryDelay(schedule, 1, 0.999999).delay_s == Approx(36).epsilon(1e-5));
}

TEST_CASE("a larger Retry-After wins over the computed delay", "[orchestrator][backoff]") {
  RetrySchedule schedule;
  const RetryDelay small = ComputeRetryDelay(schedule, 1, 0.5, 10);
  CHECK(small.delay_s == Approx(30));
  const RetryDelay large = ComputeRetryDelay(schedule, 1, 0.5, 90);
  CHECK(large.delay_s == Approx(90));
  CHECK(large.retry_after_s == Approx(90));
  CHECK(large.base_s == Approx(30));
}

TEST_CASE("polls back off while nothing changes and reset on a change", "[orchestrator][backoff]") {
  PollSchedule schedule{.initial_s = 1, .max_s = 5};
  double interval = NextPollInterval(schedule, 0, false);
  CHECK(interval == 1);
  interval = NextPollInterval(schedule, interval, false);
  CHECK(interval == 2);
  interval = NextPollInterval(schedule, interval, false);
  interval = NextPollInterval(schedule, interval, false);
  CHECK(interval == 5);
  CHECK(NextPollInterval(schedule, interval, true) == 1);
}

}  // namespace
}  // namespace batchlog::orchestrator
