// Hash64: a fast, portable 64-bit hash of a byte string, used to intern ids (IdTable) and
// to checksum snapshots (snapshot_codec.h). The value depends only on the bytes and the
// seed, never on the platform's endianness or the build, so a snapshot checksum written on
// one machine verifies on another. Not cryptographic.
//
// Thread-safety: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace batchlog::replay {
namespace hash_internal {

inline std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

// Little-endian loads written byte by byte: GCC folds them into one load on x86.
inline std::uint64_t Load64(const unsigned char* p) {
  return static_cast<std::uint64_t>(p[0]) | static_cast<std::uint64_t>(p[1]) << 8 |
         static_cast<std::uint64_t>(p[2]) << 16 | static_cast<std::uint64_t>(p[3]) << 24 |
         static_cast<std::uint64_t>(p[4]) << 32 | static_cast<std::uint64_t>(p[5]) << 40 |
         static_cast<std::uint64_t>(p[6]) << 48 | static_cast<std::uint64_t>(p[7]) << 56;
}

inline std::uint64_t LoadTail(const unsigned char* p, std::size_t n) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < n; ++i) value |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return value;
}

inline constexpr std::uint64_t kK0 = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t kK1 = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t kK2 = 0x8ebc6af09c88c6e3ULL;

}  // namespace hash_internal

inline std::uint64_t Hash64(std::string_view bytes, std::uint64_t seed) {
  using namespace hash_internal;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  std::uint64_t h = Mix(seed ^ kK0, static_cast<std::uint64_t>(n) ^ kK1);
  while (n >= 16) {
    h = Mix(Load64(p) ^ h ^ kK1, Load64(p + 8) ^ kK2);
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    h = Mix(Load64(p) ^ h ^ kK1, LoadTail(p + 8, n - 8) ^ kK2);
  } else {
    h = Mix(LoadTail(p, n) ^ h ^ kK1, kK2);
  }
  return Mix(h ^ kK0, kK1 ^ static_cast<std::uint64_t>(bytes.size()));
}

}  // namespace batchlog::replay
