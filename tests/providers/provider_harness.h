// ProviderHarness: an in-process emulator and providers built against it, sharing one
// FakeClock. The emulator reads its time from that clock and the providers' transports
// sleep on it, so a Retry-After wait moves simulated time instead of wall time, and tests
// move batches along with Advance().
//
// Not thread-safe; one per test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/providers/batch_provider.h"
#include "src/providers/provider_config.h"
#include "src/sim/emulator.h"
#include "src/sim/emulator_options.h"
#include "tests/support/temp_dir.h"
#include "tests/support/files.h"

namespace batchlog::providers::testing {

inline constexpr std::int64_t kStartUnixUs = 1'772'355'600'000'000;  // 2026-03-01T09:00:00Z
inline constexpr const char* kTestKeyEnv = "BATCHLOG_TEST_PROVIDER_KEY";

// The seed of this binary's randomized parts: BATCHLOG_SEED or a fixed default; printed once.
std::uint64_t TestSeed();

// Emulator options for fast tests: ephemeral port, tiny lifecycle durations (validating,
// processing base, finalizing, cancelling 1 s; 0.01 s per request), time scale 1.
sim::EmulatorOptions FastEmulatorOptions();

class ProviderHarness {
 public:
  explicit ProviderHarness(sim::EmulatorOptions options = FastEmulatorOptions(),
                           std::string key = "sk-test-harness-key");

  base::FakeClock& clock() { return clock_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  sim::Emulator& emulator() { return *emulator_; }

  // A config for `kind` pointing at the emulator ("<base>/v1"), key from kTestKeyEnv,
  // short timeouts, a fast retry policy.
  ProviderConfig Config(ProviderKind kind) const;
  // Builds a provider from `config` with the harness's clock, random and key; REQUIREs
  // success.
  std::unique_ptr<BatchProvider> Make(const ProviderConfig& config);
  std::unique_ptr<BatchProvider> Make(ProviderKind kind) { return Make(Config(kind)); }

  // Polls GetBatch, advancing the clock 30 s between polls, until the batch is terminal
  // (at most 2,000 polls); REQUIREs success.
  BatchInfo RunToEnd(BatchProvider& provider, const std::string& batch_id);

  // GET /_sim/stats.
  nlohmann::json Stats() const;

 private:
  batchlog::testing::TempDir dir_;
  base::FakeClock clock_;
  base::SeededRandom random_;
  std::string key_;
  std::unique_ptr<sim::Emulator> emulator_;
};

// A SubmitSpec of `count` requests "<prefix>0".."<prefix><count-1>" whose bodies suit
// `kind` (chat completions / messages params), prompt "Paraphrase: sentence <i>".
SubmitSpec MakeSpec(ProviderKind kind, int count, const std::string& batch_key,
                    const std::string& prefix = "req-");

// Submits `spec` (upload when the provider needs it, then create); REQUIREs a created batch.
BatchInfo SubmitOrDie(BatchProvider& provider, const SubmitSpec& spec,
                      const std::filesystem::path& spool_file);

using batchlog::testing::ReadFileText;

// Lines ('\n'-terminated) in `text`.
std::size_t CountLines(const std::string& text);

}  // namespace batchlog::providers::testing
