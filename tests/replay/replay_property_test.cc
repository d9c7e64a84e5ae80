// Randomized properties of replay over generated runs (tests/support/
// event_sequence_generator.h). The seed comes from BATCHLOG_SEED (default fixed) and is
// printed, so any failure can be replayed exactly.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "replay/replayer.h"
#include "replay/snapshot_codec.h"
#include "src/base/random.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;

constexpr std::uint64_t kDefaultSeed = 20240607;

// Random, small-to-medium runs that exercise every path of the generator.
testing::GeneratorOptions RandomOptions(base::Random& random) {
  testing::GeneratorOptions options;
  options.run_id = "run-" + std::to_string(random.Below(1000));
  options.workflows = 1 + static_cast<std::uint32_t>(random.Below(3));
  options.requests_per_workflow = static_cast<std::uint32_t>(random.Below(60));
  options.max_batch_size = 1 + static_cast<std::uint32_t>(random.Below(20));
  options.failure_rate = random.Uniform(0.0, 0.5);
  options.permanent_share = random.Uniform(0.0, 1.0);
  options.batch_failure_rate = random.Uniform(0.0, 0.2);
  options.batch_expiry_rate = random.Uniform(0.0, 0.2);
  options.submit_reject_rate = random.Uniform(0.0, 0.1);
  options.max_retries = static_cast<std::uint32_t>(random.Below(4));
  options.stop_at_random_point = random.Below(4) == 0;
  return options;
}

std::string Describe(const testing::GeneratorOptions& options, std::uint64_t run_seed) {
  return "run_seed=" + std::to_string(run_seed) +
         " workflows=" + std::to_string(options.workflows) +
         " requests=" + std::to_string(options.requests_per_workflow) +
         " batch=" + std::to_string(options.max_batch_size) +
         " max_retries=" + std::to_string(options.max_retries) +
         " cut=" + std::to_string(options.stop_at_random_point);
}

Projections FoldRange(Projections projections, const std::vector<v1::Event>& events,
                      std::size_t begin, std::size_t end) {
  Replayer replayer(projections);
  VectorEventSource source(events, begin, end);
  const base::Status status = replayer.Fold(source);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return projections;
}

TEST_CASE("a snapshot plus the tail replays to the same bytes as a full replay",
          "[replay][property]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(kDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed);
  for (int run = 0; run < 120; ++run) {
    const testing::GeneratorOptions options = RandomOptions(random);
    const std::uint64_t run_seed = random.NextU64();
    INFO(Describe(options, run_seed));
    const std::vector<v1::Event> events = testing::GenerateRun(options, run_seed);
    const Projections full = FoldRange(Projections{}, events, 0, events.size());
    const std::string full_snapshot = EncodeSnapshot(full);
    const std::string full_manifest = RenderManifestJson(full);
    for (int split = 0; split < 4; ++split) {
      const std::size_t k = random.Below(events.size() + 1);
      INFO("k=" << k << " of " << events.size());
      const Projections prefix = FoldRange(Projections{}, events, 0, k);
      base::Result<Projections> resumed = DecodeSnapshot(EncodeSnapshot(prefix));
      REQUIRE(resumed.ok());
      const Projections finished = FoldRange(std::move(resumed).value(), events, k, events.size());
      REQUIRE(finished == full);
      REQUIRE(EncodeSnapshot(finished) == full_snapshot);
      REQUIRE(RenderManifestJson(finished) == full_manifest);
    }
  }
}

TEST_CASE("replaying a log twice yields identical manifests", "[replay][property]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(kDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed ^ 0x5eed);
  for (int run = 0; run < 40; ++run) {
    const testing::GeneratorOptions options = RandomOptions(random);
    const std::uint64_t run_seed = random.NextU64();
    INFO(Describe(options, run_seed));
    const std::vector<v1::Event> events = testing::GenerateRun(options, run_seed);
    const Projections first = FoldRange(Projections{}, events, 0, events.size());
    const Projections second = FoldRange(Projections{}, events, 0, events.size());
    REQUIRE(RenderManifestJson(first) == RenderManifestJson(second));
    REQUIRE(first == second);
  }
}

TEST_CASE("a snapshot round trip of any prefix is identity", "[replay][property]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(kDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed ^ 0xface);
  for (int run = 0; run < 40; ++run) {
    const testing::GeneratorOptions options = RandomOptions(random);
    const std::uint64_t run_seed = random.NextU64();
    INFO(Describe(options, run_seed));
    const std::vector<v1::Event> events = testing::GenerateRun(options, run_seed);
    const std::size_t k = random.Below(events.size() + 1);
    const Projections prefix = FoldRange(Projections{}, events, 0, k);
    const std::string bytes = EncodeSnapshot(prefix);
    const base::Result<Projections> decoded = DecodeSnapshot(bytes);
    REQUIRE(decoded.ok());
    REQUIRE(*decoded == prefix);
    REQUIRE(EncodeSnapshot(*decoded) == bytes);
  }
}

TEST_CASE("the run state folded with its followers equals the run state folded on its own",
          "[replay][property]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(kDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed ^ 0xf011);
  for (int run = 0; run < 40; ++run) {
    const testing::GeneratorOptions options = RandomOptions(random);
    const std::uint64_t run_seed = random.NextU64();
    INFO(Describe(options, run_seed));
    const std::vector<v1::Event> events = testing::GenerateRun(options, run_seed);
    const Projections together = FoldRange(Projections{}, events, 0, events.size());
    RunState run_state_alone;
    for (const v1::Event& event : events) REQUIRE(Apply(run_state_alone, event).ok());
    REQUIRE(run_state_alone == together.run_state);
  }
}

TEST_CASE("a generated run's manifest agrees with a recount of its events", "[replay][property]") {
  const std::uint64_t seed = testing::SeedFromEnvironment(kDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed ^ 0xc0de);
  for (int run = 0; run < 40; ++run) {
    testing::GeneratorOptions options = RandomOptions(random);
    options.stop_at_random_point = false;
    const std::uint64_t run_seed = random.NextU64();
    INFO(Describe(options, run_seed));
    const std::vector<v1::Event> events = testing::GenerateRun(options, run_seed);

    // An independent recount: per (workflow, stage), the planned requests, the latest
    // outcome of each request and the billed tokens.
    using StageKey = std::pair<std::string, std::string>;
    std::map<StageKey, std::uint64_t> planned;
    std::map<StageKey, std::uint64_t> input_tokens;
    std::map<std::string, StageKey> stage_of_batch;
    std::map<std::tuple<std::string, std::string, std::string>, bool> succeeded;
    for (const v1::Event& event : events) {
      switch (event.payload_case()) {
        case v1::Event::kRequestPlanned: {
          const v1::RequestPlanned& p = event.request_planned();
          ++planned[{p.workflow(), p.stage()}];
          break;
        }
        case v1::Event::kBatchPlanned: {
          const v1::BatchPlanned& p = event.batch_planned();
          stage_of_batch[p.batch_key()] = {p.workflow(), p.stage()};
          break;
        }
        case v1::Event::kRequestSucceeded: {
          const v1::RequestSucceeded& r = event.request_succeeded();
          const StageKey& stage = stage_of_batch[r.batch_key()];
          input_tokens[stage] += r.usage().input_tokens();
          succeeded[{stage.first, stage.second, r.custom_id()}] = true;
          break;
        }
        case v1::Event::kRequestFailed: {
          const v1::RequestFailed& r = event.request_failed();
          const StageKey& stage = stage_of_batch[r.batch_key()];
          input_tokens[stage] += r.usage().input_tokens();
          succeeded[{stage.first, stage.second, r.custom_id()}] = false;
          break;
        }
        default:
          break;
      }
    }
    const Projections projections = FoldRange(Projections{}, events, 0, events.size());
    const nlohmann::json manifest = nlohmann::json::parse(RenderManifestJson(projections));
    CHECK(manifest["status"] == "completed");
    for (const auto& [stage, count] : planned) {
      INFO(stage.first << "/" << stage.second);
      const nlohmann::json& rendered = manifest["workflows"][stage.first][stage.second];
      std::uint64_t ok = 0;
      for (const auto& [request, success] : succeeded) {
        if (std::get<0>(request) == stage.first && std::get<1>(request) == stage.second) {
          ok += success ? 1 : 0;
        }
      }
      CHECK(rendered["total_requests"] == count);
      CHECK(rendered["succeeded"] == ok);
      // A completed run settled every request: each succeeded or failed finally.
      CHECK(rendered["final_failed_ids"].size() + ok == count);
      CHECK(rendered["usage"]["input_tokens"] == input_tokens[stage]);
      CHECK(rendered["in_flight"] == 0);
      CHECK(rendered["waiting_retry"] == 0);
      CHECK(rendered["retry_status"] != "in_progress");
    }
  }
}

}  // namespace
}  // namespace batchlog::replay
