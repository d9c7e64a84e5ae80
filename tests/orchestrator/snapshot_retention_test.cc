// Snapshot retention (snapshot_retention.h): what a long run keeps of its snapshots.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "src/orchestrator/snapshot_retention.h"

namespace batchlog::orchestrator {
namespace {

// Snapshots every `interval` events (+- a step's worth of jitter) up to `events`, applying
// SnapshotsToDrop as the executor does; returns what is kept.
std::vector<std::uint64_t> Simulate(std::uint64_t interval, std::uint64_t events,
                                    std::mt19937_64& random) {
  std::vector<std::uint64_t> kept;
  std::uint64_t seq = 0;
  while (true) {
    seq += interval + random() % (interval / 10 + 1);
    if (seq > events) break;
    const std::vector<std::uint64_t> drop = SnapshotsToDrop(kept);
    for (const std::uint64_t dropped : drop) {
      REQUIRE(std::find(kept.begin(), kept.end(), dropped) != kept.end());
      REQUIRE((kept.empty() || dropped != kept.back()));  // the newest before this one stays
    }
    std::erase_if(kept, [&](std::uint64_t s) {
      return std::find(drop.begin(), drop.end(), s) != drop.end();
    });
    kept.push_back(seq);
    // At most the two newest plus one per power-of-two range.
    REQUIRE(kept.size() <= 2 + static_cast<std::size_t>(std::bit_width(seq)));
  }
  return kept;
}

TEST_CASE("a long run keeps a logarithmic number of snapshots, the newest two always",
          "[orchestrator][snapshot]") {
  const std::uint64_t seed = Catch::rngSeed();
  CAPTURE(seed);
  std::mt19937_64 random(seed);
  // A 10M-request run's log: 17M events, a snapshot every ~200,000: 85 written.
  const std::vector<std::uint64_t> kept = Simulate(200'000, 17'000'000, random);
  CHECK(kept.size() <= 10);
  REQUIRE(std::is_sorted(kept.begin(), kept.end()));
  // For every seq after the first snapshot, one is kept at or after about half of it: an
  // as-of fold replays at most about half the log.
  for (std::uint64_t seq = kept.front(); seq <= kept.back(); seq += 9973) {
    const auto at = std::upper_bound(kept.begin(), kept.end(), seq) - 1;
    CAPTURE(seq, *at);
    CHECK(*at + 2 * 220'000 >= seq / 2);
  }
}

TEST_CASE("the newest two snapshots are never dropped", "[orchestrator][snapshot]") {
  CHECK(SnapshotsToDrop({}).empty());
  CHECK(SnapshotsToDrop(std::vector<std::uint64_t>{10}).empty());
  // (A new snapshot, say 12, is being written in each case.) 10 and 11 share the range
  // [8, 16); 11 is the newest listed, so 10 goes.
  CHECK(SnapshotsToDrop(std::vector<std::uint64_t>{10, 11}) == std::vector<std::uint64_t>{10});
  // 7 is the newest of [4, 8): kept beside 9 and the new 12.
  CHECK(SnapshotsToDrop(std::vector<std::uint64_t>{7, 9}).empty());
}

}  // namespace
}  // namespace batchlog::orchestrator
