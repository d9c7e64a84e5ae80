#include "src/base/random.h"

#include <random>

#include "src/base/check.h"

namespace batchlog::base {

std::uint64_t Random::Below(std::uint64_t bound) {
  BATCHLOG_CHECK(bound > 0);
  // Rejection sampling keeps the draw unbiased.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t x = NextU64();
  while (x >= limit) x = NextU64();
  return x % bound;
}

std::uint64_t SeededRandom::NextU64() {
  // splitmix64: tiny, fast, and good enough for jitter and test generation.
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {
std::uint64_t EntropySeed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}
}  // namespace

SystemRandom::SystemRandom() : inner_(EntropySeed()) {}

}  // namespace batchlog::base
