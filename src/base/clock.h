// Clock: the one way batchlog reads time. The executor owns a Clock; projections and the
// decider never read one (time is an input to them, and what it produced is recorded in
// events), which is what makes replay deterministic.
//
// SystemClock reads the real wall clock and sleeps for real. FakeClock starts at a given
// instant and moves only when told (Advance, or Sleep, which advances instead of waiting),
// so tests never wait on wall time.
//
// Thread-safety: SystemClock is thread-safe. FakeClock is thread-safe (atomic instant).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace batchlog::base {

// Microseconds since the Unix epoch; the resolution recorded in every event envelope.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;
using Duration = std::chrono::microseconds;

inline std::int64_t ToUnixMicros(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromUnixMicros(std::int64_t us) { return Timestamp(Duration(us)); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
  // Blocks for `duration` (real clock) or advances by it (fake clock).
  virtual void Sleep(Duration duration) = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
  void Sleep(Duration duration) override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Timestamp start) : now_us_(ToUnixMicros(start)) {}

  Timestamp Now() const override { return FromUnixMicros(now_us_.load()); }
  void Sleep(Duration duration) override { Advance(duration); }
  void Advance(Duration duration) { now_us_ += duration.count(); }
  void Set(Timestamp t) { now_us_ = ToUnixMicros(t); }

 private:
  std::atomic<std::int64_t> now_us_;
};

}  // namespace batchlog::base
