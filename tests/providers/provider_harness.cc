#include "tests/providers/provider_harness.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include <httplib.h>
#include <catch2/catch.hpp>

namespace batchlog::providers::testing {

std::uint64_t TestSeed() {
  static const std::uint64_t seed = [] {
    const char* text = std::getenv("BATCHLOG_SEED");
    const std::uint64_t value = text != nullptr ? std::strtoull(text, nullptr, 10) : 20261128;
    std::cout << "BATCHLOG_SEED=" << value << "\n";
    return value;
  }();
  return seed;
}

sim::EmulatorOptions FastEmulatorOptions() {
  sim::EmulatorOptions options;
  options.port = 0;
  options.seed = 42;
  options.time_scale = 1.0;
  options.threads = 4;
  options.lifecycle.validating_s = 1;
  options.lifecycle.processing_s_base = 1;
  options.lifecycle.processing_s_per_request = 0.01;
  options.lifecycle.finalizing_s = 1;
  options.lifecycle.cancelling_s = 1;
  options.lifecycle.window_s = 86400;
  return options;
}

ProviderHarness::ProviderHarness(sim::EmulatorOptions options, std::string key)
    : dir_("providers-test"),
      clock_(base::FromUnixMicros(kStartUnixUs)),
      random_(TestSeed()),
      key_(std::move(key)) {
  options.clock = &clock_;
  options.spool_dir = dir_ / "sim";
  std::filesystem::create_directories(options.spool_dir);
  auto emulator = sim::Emulator::Start(options);
  INFO(emulator.status().ToString());
  REQUIRE(emulator.ok());
  emulator_ = std::move(emulator).value();
}

ProviderConfig ProviderHarness::Config(ProviderKind kind) const {
  ProviderConfig config;
  config.name = kind == ProviderKind::kOpenAi ? "openai-test" : "claude-test";
  config.kind = kind;
  config.base_url = emulator_->base_url() + "/v1";
  config.api_key_env = kTestKeyEnv;
  config.timeouts.connect = std::chrono::milliseconds(2000);
  config.timeouts.total = std::chrono::milliseconds(10'000);
  config.download_timeouts.connect = std::chrono::milliseconds(2000);
  config.retry.attempts_max = 4;
  config.retry.delay_initial = std::chrono::milliseconds(200);
  config.retry.delay_cap = std::chrono::seconds(2);
  config.retry.retry_after_max = std::chrono::seconds(30);
  return config;
}

std::unique_ptr<BatchProvider> ProviderHarness::Make(const ProviderConfig& config) {
  ProviderEnvironment environment;
  environment.clock = &clock_;
  environment.random = &random_;
  environment.lookup_env = [key = key_](const std::string& name) -> std::optional<std::string> {
    if (name == kTestKeyEnv) return key;
    return std::nullopt;
  };
  auto provider = MakeProvider(config, std::move(environment));
  INFO(provider.status().ToString());
  REQUIRE(provider.ok());
  return std::move(provider).value();
}

BatchInfo ProviderHarness::RunToEnd(BatchProvider& provider, const std::string& batch_id) {
  constexpr int kPollsMax = 2000;
  for (int poll = 0; poll < kPollsMax; ++poll) {
    auto batch = provider.GetBatch(batch_id);
    INFO(batch.status().ToString());
    REQUIRE(batch.ok());
    if (IsTerminal(batch->state)) return *std::move(batch);
    clock_.Advance(std::chrono::seconds(30));
  }
  FAIL("batch " << batch_id << " did not end");
  return {};
}

nlohmann::json ProviderHarness::Stats() const {
  httplib::Client client("127.0.0.1", emulator_->port());
  const auto response = client.Get("/_sim/stats");
  REQUIRE(response);
  return nlohmann::json::parse(response->body);
}

SubmitSpec MakeSpec(ProviderKind kind, int count, const std::string& batch_key,
                    const std::string& prefix) {
  SubmitSpec spec;
  spec.run_id = "run-1";
  spec.batch_key = batch_key;
  spec.workflow = "math-paraphrase";
  spec.stage = "stage_1";
  spec.attempt = 1;
  for (int i = 0; i < count; ++i) {
    const std::string prompt = "Paraphrase: sentence " + std::to_string(i);
    RequestEntry entry;
    entry.custom_id = prefix + std::to_string(i);
    if (kind == ProviderKind::kOpenAi) {
      entry.body_json = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":")" +
                        prompt + R"("}],"max_tokens":64})";
    } else {
      entry.body_json = R"({"model":"claude-sonnet-4-5","max_tokens":64,"messages":)"
                        R"([{"role":"user","content":")" +
                        prompt + R"("}]})";
    }
    spec.requests.push_back(std::move(entry));
  }
  return spec;
}

BatchInfo SubmitOrDie(BatchProvider& provider, const SubmitSpec& spec,
                      const std::filesystem::path& spool_file) {
  std::string file_id;
  if (provider.uploads_input_file()) {
    auto upload = provider.UploadInput(spec, spool_file);
    INFO(upload.status().ToString());
    REQUIRE(upload.ok());
    REQUIRE_FALSE(upload->rejected.has_value());
    file_id = upload->file_id;
  }
  auto created = provider.CreateBatch(spec, file_id);
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  if (created->rejected) FAIL("create rejected: " << created->rejected->message);
  REQUIRE(created->batch.has_value());
  return *created->batch;
}

std::size_t CountLines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace batchlog::providers::testing
