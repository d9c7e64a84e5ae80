#include "replay/snapshot_codec.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "replay/replayer.h"
#include "src/base/random.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using Catch::Matchers::Contains;

Projections FoldedRun(std::uint64_t seed, std::uint32_t requests = 30) {
  testing::GeneratorOptions options;
  options.requests_per_workflow = requests;
  options.max_batch_size = 7;
  options.failure_rate = 0.3;
  const std::vector<v1::Event> events = testing::GenerateRun(options, seed);
  Projections projections;
  Replayer replayer(projections);
  VectorEventSource source(events);
  REQUIRE(replayer.Fold(source).ok());
  return projections;
}

std::string WithBody(const std::string& snapshot, const std::string& body) {
  std::string out = snapshot.substr(0, kSnapshotHeaderBytes);
  const std::uint64_t size = body.size();
  const std::uint64_t checksum = SnapshotChecksum(body);
  for (int i = 0; i < 8; ++i) {
    out[12 + static_cast<std::size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
    out[20 + static_cast<std::size_t>(i)] = static_cast<char>((checksum >> (8 * i)) & 0xff);
  }
  return out + body;
}

TEST_CASE("a snapshot of empty projections round-trips", "[replay][snapshot]") {
  const std::string bytes = EncodeSnapshot(Projections{});
  CHECK(bytes.substr(0, 8) == "BLOGSNAP");
  const base::Result<Projections> decoded = DecodeSnapshot(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == Projections{});
}

TEST_CASE("a snapshot round trip is identity", "[replay][snapshot]") {
  const Projections projections = FoldedRun(11);
  const std::string bytes = EncodeSnapshot(projections);
  const base::Result<Projections> decoded = DecodeSnapshot(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == projections);
  CHECK(EncodeSnapshot(*decoded) == bytes);
  CHECK(RenderManifestJson(*decoded) == RenderManifestJson(projections));
}

TEST_CASE("every truncation of a snapshot is DataLoss", "[replay][snapshot]") {
  const std::string bytes = EncodeSnapshot(FoldedRun(13, 5));
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const base::Result<Projections> decoded = DecodeSnapshot(bytes.substr(0, size));
    CAPTURE(size);
    REQUIRE(decoded.status().code() == base::StatusCode::kDataLoss);
  }
}

TEST_CASE("a damaged snapshot header is DataLoss naming the damage", "[replay][snapshot]") {
  const std::string bytes = EncodeSnapshot(FoldedRun(14, 5));
  struct Case {
    std::size_t offset;
    const char* words;
  };
  const Case c = GENERATE(Case{0, "magic"}, Case{8, "version"}, Case{12, "header says"},
                          Case{20, "checksum"}, Case{kSnapshotHeaderBytes + 3, "checksum"});
  std::string damaged = bytes;
  damaged[c.offset] = static_cast<char>(damaged[c.offset] ^ 0x01);
  const base::Result<Projections> decoded = DecodeSnapshot(damaged);
  REQUIRE(decoded.status().code() == base::StatusCode::kDataLoss);
  CHECK_THAT(decoded.status().message(), Contains(c.words));
}

TEST_CASE("trailing bytes after a snapshot body are DataLoss", "[replay][snapshot]") {
  const std::string bytes = EncodeSnapshot(FoldedRun(15, 5));
  const std::string body = bytes.substr(kSnapshotHeaderBytes) + '\0';
  const base::Result<Projections> decoded = DecodeSnapshot(WithBody(bytes, body));
  REQUIRE(decoded.status().code() == base::StatusCode::kDataLoss);
  CHECK_THAT(decoded.status().message(), Contains("trailing"));
}

TEST_CASE("a damaged body behind a valid checksum is DataLoss or a state that still folds",
          "[replay][snapshot]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(20240611);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed);
  testing::GeneratorOptions options;
  options.requests_per_workflow = 12;
  options.max_batch_size = 5;
  options.failure_rate = 0.3;
  const std::vector<v1::Event> events = testing::GenerateRun(options, seed);
  const std::size_t split = events.size() / 2;
  Projections prefix;
  {
    Replayer replayer(prefix);
    VectorEventSource source(events, 0, split);
    REQUIRE(replayer.Fold(source).ok());
  }
  const std::string bytes = EncodeSnapshot(prefix);
  const std::string body = bytes.substr(kSnapshotHeaderBytes);
  int rejected = 0;
  for (int round = 0; round < 400; ++round) {
    std::string damaged = body;
    for (std::uint64_t flips = 1 + random.Below(3); flips > 0; --flips) {
      const std::size_t at = random.Below(damaged.size());
      damaged[at] = static_cast<char>(random.Below(256));
    }
    const base::Result<Projections> decoded = DecodeSnapshot(WithBody(bytes, damaged));
    if (!decoded.ok()) {
      REQUIRE(decoded.status().code() == base::StatusCode::kDataLoss);
      ++rejected;
      continue;
    }
    // Whatever decoded must fold the tail without crashing (errors are fine).
    Projections projections = *decoded;
    Replayer replayer(projections);
    VectorEventSource tail(events, split, events.size());
    replayer.Fold(tail).IgnoreError();
    RenderManifestJson(projections);
  }
  CHECK(rejected > 0);
}

TEST_CASE("a large request table indexed while the rest decodes round-trips and is searchable",
          "[replay][snapshot]") {
  // Over 65,536 requests the decoder indexes the request table on another thread.
  const Projections projections = FoldedRun(17, 70'000);
  const IdTable& ids = projections.run_state.lifecycle.requests.ids;
  REQUIRE(ids.size() >= 65'536);
  const std::string bytes = EncodeSnapshot(projections);
  const base::Result<Projections> decoded = DecodeSnapshot(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == projections);
  const IdTable& table = decoded->run_state.lifecycle.requests.ids;
  CHECK(table.pending() == 0);
  for (std::uint32_t index = 0; index < table.size(); index += 997) {
    CHECK(table.Find(table.scope(index), table.id(index)) == index);
  }

  SECTION("a repeated id in it is DataLoss") {
    // Overwrite the second id's bytes in the arena with the first one's.
    const std::string first(ids.id(0));
    const std::string second(ids.id(1));
    REQUIRE(first.size() == second.size());
    REQUIRE(ids.scope(0) == ids.scope(1));
    std::string body = bytes.substr(kSnapshotHeaderBytes);
    const std::size_t at = body.find(first + second);
    REQUIRE(at != std::string::npos);
    body.replace(at + first.size(), second.size(), first);
    const base::Result<Projections> damaged = DecodeSnapshot(WithBody(bytes, body));
    REQUIRE(damaged.status().code() == base::StatusCode::kDataLoss);
    CHECK_THAT(damaged.status().message(), Contains("request table"));
  }
}

}  // namespace
}  // namespace batchlog::replay
