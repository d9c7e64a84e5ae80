// Hashing for the emulator's pure decisions: every outcome, id and shuffle the emulator
// produces is a function of the seed and stable inputs (custom_id, attempt, counters), so
// a run is reproducible. FNV-1a folds strings, splitmix64 finalizes.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace batchlog::sim {

inline constexpr std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a over `text`, continuing from `state`.
inline constexpr std::uint64_t Fnv1a(std::string_view text,
                                     std::uint64_t state = 0xcbf29ce484222325ULL) {
  for (const char c : text) {
    state ^= static_cast<unsigned char>(c);
    state *= 0x100000001b3ULL;
  }
  return state;
}

// Hash of (seed, text, n): the key of every per-request and per-call decision.
inline constexpr std::uint64_t MixHash(std::uint64_t seed, std::string_view text, std::uint64_t n) {
  return SplitMix64(SplitMix64(seed ^ Fnv1a(text)) ^ SplitMix64(n + 0x632be59bd9b4e019ULL));
}

// Maps a hash to a uniform double in [0, 1).
inline constexpr double HashToUnit(std::uint64_t hash) {
  return static_cast<double>(hash >> 11) * 0x1.0p-53;
}

}  // namespace batchlog::sim
