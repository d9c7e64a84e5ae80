// SimClock: the emulator's notion of time. Simulated time runs `time_scale` times faster
// than the real clock it reads: sim_now = origin + (real_now - origin) * time_scale, where
// origin is the real instant the SimClock was built. Timestamps therefore look like real
// wall-clock times near the start and every lifecycle duration (validation, processing, the
// 24 h window) is compressed by time_scale. All lifecycle timing reads this clock.
//
// Tests may pass a base::FakeClock as the real clock and advance it instead of waiting.
//
// Ownership: `real` is not owned and must outlive the SimClock.
// Thread-safety: immutable after construction; Now() is as thread-safe as `real.Now()`
// (both base clocks are).
#pragma once

#include "src/base/clock.h"

namespace batchlog::sim {

class SimClock {
 public:
  // `time_scale` > 0 (checked); 1 = real time.
  SimClock(const base::Clock& real, double time_scale);

  // The simulated instant now.
  base::Timestamp Now() const;
  double time_scale() const { return time_scale_; }

  // The real duration during which `simulated` passes in simulated time (rounded up, >= 0).
  base::Duration ToReal(base::Duration simulated) const;

 private:
  const base::Clock& real_;
  double time_scale_;
  base::Timestamp origin_;
};

// Seconds (possibly fractional) as a Duration; negative values clamp to zero.
base::Duration SecondsToDuration(double seconds);

}  // namespace batchlog::sim
