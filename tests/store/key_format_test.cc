// The key layout of key_format.h, beyond its static_asserts: random seqs round-trip and
// sort bytewise exactly as they sort numerically.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <random>
#include <limits>
#include <string>

#include "src/store/key_format.h"

namespace batchlog::store {
namespace {

namespace kf = key_format;

std::uint64_t SeedFromEnv() {
  const char* seed = std::getenv("BATCHLOG_SEED");
  return seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20240501;
}

TEST_CASE("seq keys are 8 big-endian bytes whose byte order is numeric order", "[store]") {
  const std::uint64_t seed = SeedFromEnv();
  std::printf("key_format_test: BATCHLOG_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);
  for (int i = 0; i < 10000; ++i) {
    // Mix full-range values with small ones, where most real seqs live.
    const std::uint64_t a = (i % 2 == 0) ? random() : random() % 100000;
    const std::uint64_t b = (i % 3 == 0) ? random() : random() % 100000;
    CAPTURE(a, b);
    const kf::SeqKey ka = kf::EncodeSeqKey(a);
    const kf::SeqKey kb = kf::EncodeSeqKey(b);
    std::uint64_t decoded = 0;
    REQUIRE(kf::DecodeSeqKey(kf::SeqKeyView(ka), &decoded));
    CHECK(decoded == a);
    const int order = std::memcmp(ka.data(), kb.data(), kf::kSeqKeyBytes);
    CHECK((order < 0) == (a < b));
    CHECK((order == 0) == (a == b));
  }
  CHECK(kf::SeqKeyView(kf::EncodeSeqKey(0x0102030405060708ULL)) ==
        std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
}

TEST_CASE("a key of the wrong length does not decode as a seq", "[store]") {
  std::uint64_t seq = 99;
  CHECK_FALSE(kf::DecodeSeqKey(std::string(7, '\0'), &seq));
  CHECK_FALSE(kf::DecodeSeqKey(std::string(9, '\0'), &seq));
  CHECK_FALSE(kf::DecodeSeqKey("", &seq));
  CHECK(seq == 99);
}

TEST_CASE("meta snapshot keys are the prefix and 20 digits, in numeric order", "[store]") {
  for (const std::uint64_t seq :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1600097},
        std::numeric_limits<std::uint64_t>::max()}) {
    const kf::MetaSnapshotKey key = kf::EncodeMetaSnapshotKey(seq);
    const std::string_view view = kf::MetaSnapshotKeyView(key);
    CHECK(view.substr(0, 12) == "snapshot_at/");
    CHECK(view.size() == 32);
    std::uint64_t decoded = 0;
    REQUIRE(kf::DecodeMetaSnapshotKey(view, &decoded));
    CHECK(decoded == seq);
  }
  CHECK(kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(1600097)) ==
        "snapshot_at/00000000000001600097");
  CHECK(kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(999)) <
        kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(1000)));
  std::uint64_t seq = 5;
  CHECK_FALSE(kf::DecodeMetaSnapshotKey("schema_version", &seq));
  CHECK_FALSE(kf::DecodeMetaSnapshotKey("snapshot_at/0000000000000000000x", &seq));
  CHECK_FALSE(kf::DecodeMetaSnapshotKey("snapshot_at/99999999999999999999", &seq));  // > 2^64
  CHECK_FALSE(kf::DecodeMetaSnapshotKey("snapshot_at/123", &seq));
  CHECK(seq == 5);
}

}  // namespace
}  // namespace batchlog::store
