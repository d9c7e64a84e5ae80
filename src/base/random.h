// Random: the one source of randomness (retry jitter, randomized tests). Only the executor
// draws; what it drew is recorded (RetryScheduled.jitter_factor), so replay never draws.
//
// SeededRandom is a deterministic generator (splitmix64) for tests and reproducible runs;
// SystemRandom seeds one from the OS entropy source.
//
// Thread-safety: not thread-safe; one instance per thread.
#pragma once

#include <cstdint>

namespace batchlog::base {

class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t NextU64() = 0;

  // Uniform in [0, 1).
  double NextUnit() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform in [low, high).
  double Uniform(double low, double high) { return low + (high - low) * NextUnit(); }
  // Uniform integer in [0, bound); bound > 0.
  std::uint64_t Below(std::uint64_t bound);
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t NextU64() override;

 private:
  std::uint64_t state_;
};

class SystemRandom final : public Random {
 public:
  SystemRandom();
  std::uint64_t NextU64() override { return inner_.NextU64(); }

 private:
  SeededRandom inner_;
};

}  // namespace batchlog::base
