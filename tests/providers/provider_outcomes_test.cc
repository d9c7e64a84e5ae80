// Request-level and batch-level faults of the emulator's fault plan as each provider
// reports them: request counts, which results files exist, and the batch's final state.
#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

#include "tests/providers/provider_harness.h"

namespace batchlog::providers {
namespace {

using sim::OutcomeKind;
using testing::MakeSpec;
using testing::ProviderHarness;
using testing::CountLines;
using testing::ReadFileText;
using testing::SubmitOrDie;

// req-0 succeeds; req-1..req-7 get each failing kind in OutcomeKind order.
sim::EmulatorOptions EveryRequestKind() {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  auto& always = options.fault_plan.mutable_request_faults().always_fail;
  int index = 1;
  for (const OutcomeKind kind :
       {OutcomeKind::kRateLimit, OutcomeKind::kServerError, OutcomeKind::kOverloaded,
        OutcomeKind::kTimeout, OutcomeKind::kExpired, OutcomeKind::kContentFilter,
        OutcomeKind::kInvalidRequest}) {
    always["req-" + std::to_string(index++)] = kind;
  }
  return options;
}

TEST_CASE("every request-level outcome reaches OpenAI's counts and files",
          "[providers][outcomes][openai]") {
  ProviderHarness harness(EveryRequestKind());
  auto provider = harness.Make(ProviderKind::kOpenAi);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(ProviderKind::kOpenAi, 8, "bk-kinds"),
                                      harness.dir() / "in.jsonl");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCompleted);
  // Content-filtered answers are HTTP successes.
  CHECK(ended.counts == RequestCounts{8, 0, 2, 6, 0, 0});
  const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(downloaded.ok());
  REQUIRE(downloaded->files.size() == 2);
  CHECK(CountLines(ReadFileText(downloaded->files[0])) == 2);
  const std::string errors = ReadFileText(downloaded->files[1]);
  CHECK(CountLines(errors) == 6);
  CHECK(errors.find("batch_expired") != std::string::npos);
  CHECK(errors.find("context_length_exceeded") != std::string::npos);
}

TEST_CASE("every request-level outcome reaches Anthropic's counts and results",
          "[providers][outcomes][anthropic]") {
  ProviderHarness harness(EveryRequestKind());
  auto provider = harness.Make(ProviderKind::kAnthropic);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(ProviderKind::kAnthropic, 8, "bk-kinds"),
                                      harness.dir() / "unused");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCompleted);
  CHECK(ended.counts == RequestCounts{8, 0, 2, 5, 0, 1});
  const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(downloaded.ok());
  const std::string results = ReadFileText(downloaded->files.at(0));
  CHECK(CountLines(results) == 8);
  CHECK(results.find("overloaded_error") != std::string::npos);
  CHECK(results.find("\"refusal\"") != std::string::npos);
}

sim::EmulatorOptions WithBatchFault(sim::BatchFaultKind kind) {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  options.lifecycle.window_s = 600;  // so that an expiring batch ends within a few polls
  sim::BatchFaultRule rule;
  rule.kind = kind;
  rule.batches = {1};
  rule.completed_fraction = 0.5;
  options.fault_plan.AddBatchRule(rule);
  return options;
}

TEST_CASE("OpenAI batch-level faults end in failed, expired or cancelled",
          "[providers][outcomes][openai]") {
  struct Case {
    sim::BatchFaultKind fault;
    BatchState state;
    const char* error_code;
  };
  const Case test_case = GENERATE(
      Case{sim::BatchFaultKind::kValidationFailure, BatchState::kFailed, "invalid_request"},
      Case{sim::BatchFaultKind::kTokenLimitExceeded, BatchState::kFailed, "token_limit_exceeded"},
      Case{sim::BatchFaultKind::kExpire, BatchState::kExpired, nullptr},
      Case{sim::BatchFaultKind::kCancelByOther, BatchState::kCancelled, nullptr});
  CAPTURE(static_cast<int>(test_case.fault));
  ProviderHarness harness(WithBatchFault(test_case.fault));
  auto provider = harness.Make(ProviderKind::kOpenAi);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(ProviderKind::kOpenAi, 20, "bk-fault"),
                                      harness.dir() / "in.jsonl");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == test_case.state);
  if (test_case.error_code != nullptr) {
    REQUIRE_FALSE(ended.errors.empty());
    CHECK(ended.errors[0].code == test_case.error_code);
    CHECK_FALSE(ended.errors[0].message.empty());
  } else {
    CHECK(ended.counts.succeeded > 0);
    CHECK(ended.counts.failed > 0);
    CHECK(provider->DownloadResults(ended, harness.dir() / "results").ok());
  }
}

TEST_CASE("Anthropic batch-level faults: refused creates and batches that end early",
          "[providers][outcomes][anthropic]") {
  {
    ProviderHarness harness(WithBatchFault(sim::BatchFaultKind::kValidationFailure));
    auto provider = harness.Make(ProviderKind::kAnthropic);
    const auto created =
        provider->CreateBatch(MakeSpec(ProviderKind::kAnthropic, 3, "bk-refused"), "");
    REQUIRE(created.ok());
    REQUIRE(created->rejected.has_value());
    CHECK(created->rejected->http_status == 400);
    CHECK(created->rejected->type == "invalid_request_error");
  }
  for (const auto fault : {sim::BatchFaultKind::kExpire, sim::BatchFaultKind::kCancelByOther}) {
    CAPTURE(static_cast<int>(fault));
    ProviderHarness harness(WithBatchFault(fault));
    auto provider = harness.Make(ProviderKind::kAnthropic);
    const BatchInfo batch = SubmitOrDie(
        *provider, MakeSpec(ProviderKind::kAnthropic, 20, "bk-fault"), harness.dir() / "unused");
    const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
    CHECK(ended.provider_status == "ended");
    if (fault == sim::BatchFaultKind::kExpire) {
      CHECK(ended.state == BatchState::kCompleted);
      CHECK(ended.counts.expired > 0);
    } else {
      CHECK(ended.state == BatchState::kCancelled);
      CHECK(ended.counts.cancelled > 0);
    }
    CHECK(ended.counts.total == 20);
  }
}

}  // namespace
}  // namespace batchlog::providers
