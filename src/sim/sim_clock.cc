#include "src/sim/sim_clock.h"

#include <cmath>

#include "src/base/check.h"

namespace batchlog::sim {

SimClock::SimClock(const base::Clock& real, double time_scale)
    : real_(real), time_scale_(time_scale), origin_(real.Now()) {
  BATCHLOG_CHECK(time_scale > 0);
}

base::Timestamp SimClock::Now() const {
  const auto elapsed = real_.Now() - origin_;
  const double scaled = static_cast<double>(elapsed.count()) * time_scale_;
  return origin_ + base::Duration(static_cast<std::int64_t>(scaled));
}

base::Duration SimClock::ToReal(base::Duration simulated) const {
  if (simulated.count() <= 0) return base::Duration(0);
  const double real = std::ceil(static_cast<double>(simulated.count()) / time_scale_);
  return base::Duration(static_cast<std::int64_t>(real));
}

base::Duration SecondsToDuration(double seconds) {
  if (!(seconds > 0)) return base::Duration(0);
  return base::Duration(static_cast<std::int64_t>(std::llround(seconds * 1e6)));
}

}  // namespace batchlog::sim
