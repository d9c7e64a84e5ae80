// CPU time of the calling thread, in seconds: what the benchmarks report beside wall time,
// far less sensitive than wall time to other load on a two-core machine.
#pragma once

#include <ctime>

namespace batchlog::bench {

inline double ThreadCpuSeconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace batchlog::bench
