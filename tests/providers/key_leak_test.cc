// The API key never lands on disk: full round trips on both providers with a recognizable
// fake key, debug logging to a file in the test's temp directory, a few failures on the way,
// then every byte under that directory (input spool, results, emulator spool, the log, the
// error messages written out) is searched for the key.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include "tests/providers/provider_harness.h"

namespace batchlog::providers {
namespace {

constexpr const char* kLeakKey = "sk-LEAKCHECK-7f3a9c2e4b1d8f6a0c5e9b3d7f1a2c4e6b8d0f2a";

class FileLogScope {
 public:
  explicit FileLogScope(const std::filesystem::path& path) : previous_(spdlog::default_logger()) {
    auto logger = spdlog::basic_logger_mt("leak-check", path.string(), /*truncate=*/true);
    logger->set_level(spdlog::level::debug);
    logger->flush_on(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~FileLogScope() {
    spdlog::default_logger()->flush();
    spdlog::set_default_logger(previous_);
    spdlog::drop("leak-check");
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_CASE("a full round trip on both providers writes the API key nowhere",
          "[providers][secrets]") {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  sim::ControlFaultRule rate_limit;  // a retried poll, so warn lines are written too
  rate_limit.operation = sim::Operation::kGet;
  rate_limit.kind = sim::ControlFaultKind::kRateLimit;
  rate_limit.calls = {2};
  options.fault_plan.AddControlRule(rate_limit);
  options.fault_plan.mutable_request_faults().always_fail["req-1"] =
      sim::OutcomeKind::kInvalidRequest;
  testing::ProviderHarness harness(options, kLeakKey);
  const std::filesystem::path log_path = harness.dir() / "batchlog.log";
  std::vector<std::string> messages;
  {
    FileLogScope log(log_path);
    for (const ProviderKind kind : {ProviderKind::kOpenAi, ProviderKind::kAnthropic}) {
      auto provider = harness.Make(kind);
      const std::string tag(ProviderKindName(kind));
      const SubmitSpec spec = testing::MakeSpec(kind, 4, "bk-leak-" + tag);
      const BatchInfo batch =
          testing::SubmitOrDie(*provider, spec, harness.dir() / "spool" / (tag + ".jsonl"));
      const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
      const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results" / tag);
      REQUIRE(downloaded.ok());
      CHECK_FALSE(downloaded->files.empty());
      REQUIRE(provider->ListBatches("", 10).ok());
      FindBatchQuery query;
      query.batch_key = spec.batch_key;
      query.planned_at_unix_us = testing::kStartUnixUs;
      query.request_count = 4;
      REQUIRE(provider->FindBatch(query).ok());
      // Failures produce messages; they are written out below and searched too.
      messages.push_back(provider->GetBatch("batch_missing_1").status().ToString());
      messages.push_back(provider->CancelBatch(batch.id).status().ToString());
      messages.push_back(provider->GetBatch("bad/id").status().ToString());
    }
  }
  {
    std::ofstream out(harness.dir() / "messages.txt");
    for (const std::string& message : messages) out << message << "\n";
  }

  const std::string log_text = testing::ReadFileText(log_path);
  // The log really holds the exchanges, with the credential headers redacted.
  CHECK(log_text.find("Authorization: [redacted]") != std::string::npos);
  CHECK(log_text.find("x-api-key: [redacted]") != std::string::npos);
  CHECK(log_text.find("retrying in") != std::string::npos);

  std::size_t files = 0;
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(harness.dir())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string content = testing::ReadFileText(entry.path());
    bytes += content.size();
    INFO(entry.path().string());
    CHECK(content.find(kLeakKey) == std::string::npos);
    // Not even a long piece of it.
    CHECK(content.find(std::string(kLeakKey).substr(13, 24)) == std::string::npos);
  }
  CHECK(files >= 6);  // 1 input spool, 3 results files, the log, the messages, sim spool
  CHECK(bytes > 0);
}

}  // namespace
}  // namespace batchlog::providers
