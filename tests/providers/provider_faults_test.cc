// Control-plane faults of the emulator's fault plan as they reach each provider: what is
// retried (and how long it waits), what becomes a rejection, what is kOutcomeUnknown, and
// how FindBatch recovers a create whose answer was lost. The slow-answer cases wait on
// wall time (bounded: a 300 ms timeout against a 1.2 s delay).
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/providers/provider_harness.h"

namespace batchlog::providers {
namespace {

using sim::ControlFaultKind;
using sim::Operation;
using testing::MakeSpec;
using testing::ProviderHarness;
using testing::SubmitOrDie;

sim::EmulatorOptions WithFault(Operation operation, ControlFaultKind kind,
                               std::vector<std::int64_t> calls, std::int32_t retry_after_s = 1,
                               std::int32_t delay_ms = 200) {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  sim::ControlFaultRule rule;
  rule.operation = operation;
  rule.kind = kind;
  rule.calls = std::move(calls);
  rule.retry_after_s = retry_after_s;
  rule.delay_ms = delay_ms;
  options.fault_plan.AddControlRule(rule);
  return options;
}

std::string ApiName(ProviderKind kind) {
  return kind == ProviderKind::kOpenAi ? "openai" : "anthropic";
}

std::int64_t Calls(ProviderHarness& harness, ProviderKind kind, const char* operation) {
  return harness.Stats()[ApiName(kind)]["control_calls"][operation].get<std::int64_t>();
}

std::int64_t BatchesCreated(ProviderHarness& harness, ProviderKind kind) {
  return harness.Stats()[ApiName(kind)]["batches_created"].get<std::int64_t>();
}

// Uploads when the provider needs it; returns the file id ("" for Anthropic).
std::string UploadIfNeeded(BatchProvider& provider, const SubmitSpec& spec,
                           const std::filesystem::path& spool) {
  if (!provider.uploads_input_file()) return {};
  const auto upload = provider.UploadInput(spec, spool);
  REQUIRE(upload.ok());
  REQUIRE_FALSE(upload->rejected.has_value());
  return upload->file_id;
}

TEST_CASE("a 429 with Retry-After on a poll is retried after exactly that wait",
          "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  ProviderHarness harness(WithFault(Operation::kGet, ControlFaultKind::kRateLimit, {1}, 3));
  auto provider = harness.Make(kind);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(kind, 2, "bk-429"), harness.dir() / "in");
  const base::Timestamp before = harness.clock().Now();
  const auto polled = provider->GetBatch(batch.id);
  REQUIRE(polled.ok());
  CHECK(polled->id == batch.id);
  CHECK(harness.clock().Now() - before == std::chrono::seconds(3));
  CHECK(Calls(harness, kind, "get") == 2);
}

TEST_CASE("a Retry-After above the ceiling comes back as ResourceExhausted with the wait",
          "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  ProviderHarness harness(WithFault(Operation::kGet, ControlFaultKind::kRateLimit, {1}, 60));
  auto provider = harness.Make(kind);  // retry_after_max is 30 s
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(kind, 2, "bk-429"), harness.dir() / "in");
  const base::Timestamp before = harness.clock().Now();
  const auto polled = provider->GetBatch(batch.id);
  REQUIRE_FALSE(polled.ok());
  CHECK(polled.status().code() == base::StatusCode::kResourceExhausted);
  CHECK(polled.status().message().find("HTTP 429") != std::string::npos);
  CHECK(polled.status().message().find("retry after 60 s") != std::string::npos);
  // The wait itself travels with the status, so the engine can schedule the next poll.
  REQUIRE(polled.status().retry_after().has_value());
  CHECK(*polled.status().retry_after() == std::chrono::seconds(60));
  CHECK(harness.clock().Now() == before);
  CHECK(Calls(harness, kind, "get") == 1);
}

TEST_CASE("server errors on create are never retried: 500 is OutcomeUnknown, 503/529 a rejection",
          "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  const ControlFaultKind fault =
      GENERATE(ControlFaultKind::kServerError, ControlFaultKind::kOverloaded);
  CAPTURE(ApiName(kind), static_cast<int>(fault));
  ProviderHarness harness(WithFault(Operation::kCreate, fault, {1}));
  auto provider = harness.Make(kind);
  const SubmitSpec spec = MakeSpec(kind, 2, "bk-5xx");
  const std::string file_id = UploadIfNeeded(*provider, spec, harness.dir() / "in");
  const auto created = provider->CreateBatch(spec, file_id);
  if (fault == ControlFaultKind::kServerError) {
    // The batch may exist: the caller reconciles before it creates again.
    REQUIRE_FALSE(created.ok());
    CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
    CHECK(created.status().message().find("HTTP 500") != std::string::npos);
    CHECK(created.status().message().find(kind == ProviderKind::kOpenAi ? "server_error"
                                                                         : "api_error") !=
          std::string::npos);
  } else {
    REQUIRE(created.ok());
    CHECK_FALSE(created->batch.has_value());
    REQUIRE(created->rejected.has_value());
    const ApiError& error = *created->rejected;
    CHECK(error.http_status == (kind == ProviderKind::kOpenAi ? 503 : 529));
    CHECK(error.type ==
          (kind == ProviderKind::kOpenAi ? "service_unavailable_error" : "overloaded_error"));
    CHECK_FALSE(error.message.empty());
    CHECK(error.request_id.rfind("req_", 0) == 0);
  }
  CHECK(Calls(harness, kind, "create") == 1);
  CHECK(BatchesCreated(harness, kind) == 0);
  // The next attempt, made by the caller, goes through.
  const auto second = provider->CreateBatch(spec, file_id);
  REQUIRE(second.ok());
  CHECK(second->batch.has_value());
}

TEST_CASE("a 429 on create is a rejection carrying its Retry-After", "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  ProviderHarness harness(WithFault(Operation::kCreate, ControlFaultKind::kRateLimit, {1}, 5));
  auto provider = harness.Make(kind);
  const SubmitSpec spec = MakeSpec(kind, 2, "bk-429");
  const std::string file_id = UploadIfNeeded(*provider, spec, harness.dir() / "in");
  const auto created = provider->CreateBatch(spec, file_id);
  REQUIRE(created.ok());
  REQUIRE(created->rejected.has_value());
  CHECK(created->rejected->http_status == 429);
  CHECK(created->rejected->retry_after_s == Approx(5.0));
  CHECK(Calls(harness, kind, "create") == 1);
}

TEST_CASE("server errors on polls and lists are retried until they pass", "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  sim::EmulatorOptions options = WithFault(Operation::kGet, ControlFaultKind::kServerError, {1, 2});
  sim::ControlFaultRule list_rule;
  list_rule.operation = Operation::kList;
  list_rule.kind = ControlFaultKind::kOverloaded;
  list_rule.calls = {1};
  options.fault_plan.AddControlRule(list_rule);
  ProviderHarness harness(options);
  auto provider = harness.Make(kind);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(kind, 2, "bk-5xx"), harness.dir() / "in");
  REQUIRE(provider->GetBatch(batch.id).ok());
  CHECK(Calls(harness, kind, "get") == 3);
  const auto page = provider->ListBatches("", 10);
  REQUIRE(page.ok());
  CHECK(page->batches.size() == 1);
  CHECK(Calls(harness, kind, "list") == 2);
}

TEST_CASE("a cancel whose connection is reset is retried: cancelling twice is harmless",
          "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  ProviderHarness harness(WithFault(Operation::kCancel, ControlFaultKind::kConnectionReset, {1}));
  auto provider = harness.Make(kind);
  const BatchInfo batch =
      SubmitOrDie(*provider, MakeSpec(kind, 100, "bk-cancel"), harness.dir() / "in");
  const auto cancelled = provider->CancelBatch(batch.id);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->state == BatchState::kCancelling);
  CHECK(Calls(harness, kind, "cancel") == 2);
}

TEST_CASE("a reset poll is retried, a reset create is OutcomeUnknown and created nothing",
          "[providers][faults]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  sim::EmulatorOptions options =
      WithFault(Operation::kCreate, ControlFaultKind::kConnectionReset, {1});
  sim::ControlFaultRule get_rule;
  get_rule.operation = Operation::kGet;
  get_rule.kind = ControlFaultKind::kConnectionReset;
  get_rule.calls = {1};
  options.fault_plan.AddControlRule(get_rule);
  ProviderHarness harness(options);
  auto provider = harness.Make(kind);
  const SubmitSpec spec = MakeSpec(kind, 3, "bk-reset");
  const std::string file_id = UploadIfNeeded(*provider, spec, harness.dir() / "in");
  const std::int64_t planned_at = base::ToUnixMicros(harness.clock().Now());
  const auto created = provider->CreateBatch(spec, file_id);
  REQUIRE_FALSE(created.ok());
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
  CHECK(created.status().message().find("CreateBatch bk-reset") != std::string::npos);
  CHECK(Calls(harness, kind, "create") == 1);

  // Reconciliation finds nothing, so submitting again is safe.
  FindBatchQuery query;
  query.batch_key = "bk-reset";
  query.planned_at_unix_us = planned_at;
  query.request_count = 3;
  const auto found = provider->FindBatch(query);
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());
  const BatchInfo batch = SubmitOrDie(*provider, spec, harness.dir() / "in");
  REQUIRE(provider->GetBatch(batch.id).ok());
  CHECK(Calls(harness, kind, "get") == 2);
  CHECK(BatchesCreated(harness, kind) == 1);
}

TEST_CASE("a reset upload is OutcomeUnknown", "[providers][faults][openai]") {
  ProviderHarness harness(WithFault(Operation::kUpload, ControlFaultKind::kConnectionReset, {1}));
  auto provider = harness.Make(ProviderKind::kOpenAi);
  const auto upload = provider->UploadInput(MakeSpec(ProviderKind::kOpenAi, 2, "bk-up"),
                                            harness.dir() / "in.jsonl");
  CHECK(upload.status().code() == base::StatusCode::kOutcomeUnknown);
  CHECK(Calls(harness, ProviderKind::kOpenAi, "upload") == 1);
}

TEST_CASE("a dropped create answer is OutcomeUnknown, and FindBatch finds the batch",
          "[providers][faults][reconcile]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  // Create calls 1-2 are decoys; the third, the one under test, loses its answer.
  ProviderHarness harness(WithFault(Operation::kCreate, ControlFaultKind::kDropResponse, {3}));
  ProviderConfig config = harness.Config(kind);
  config.find_page_size = 1;
  auto provider = harness.Make(config);
  const BatchInfo decoy_old =
      SubmitOrDie(*provider, MakeSpec(kind, 3, "bk-decoy-old"), harness.dir() / "d1");
  harness.clock().Advance(std::chrono::hours(1));
  const BatchInfo decoy_small =
      SubmitOrDie(*provider, MakeSpec(kind, 2, "bk-decoy-small"), harness.dir() / "d2");
  const SubmitSpec spec = MakeSpec(kind, 3, "bk-lost");
  const std::string file_id = UploadIfNeeded(*provider, spec, harness.dir() / "in");
  const std::int64_t planned_at = base::ToUnixMicros(harness.clock().Now());
  harness.clock().Advance(std::chrono::seconds(2));

  const auto created = provider->CreateBatch(spec, file_id);
  REQUIRE_FALSE(created.ok());
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
  CHECK(BatchesCreated(harness, kind) == 3);

  FindBatchQuery query;
  query.batch_key = "bk-lost";
  query.planned_at_unix_us = planned_at;
  query.request_count = 3;
  query.max_pages = 10;
  const auto found = provider->FindBatch(query);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  const BatchInfo& batch = **found;
  CHECK(batch.id != decoy_old.id);
  CHECK(batch.id != decoy_small.id);
  CHECK(batch.counts.total == (kind == ProviderKind::kOpenAi ? 0u : 3u));
  if (kind == ProviderKind::kOpenAi) CHECK(batch.metadata.at("batchlog_batch_key") == "bk-lost");
  // The adopted batch runs to the end like any other.
  CHECK(harness.RunToEnd(*provider, batch.id).state == BatchState::kCompleted);
  CHECK(BatchesCreated(harness, kind) == 3);
}

TEST_CASE("a slow poll past the timeout is retried, a slow create is OutcomeUnknown",
          "[providers][faults][slow]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  CAPTURE(ApiName(kind));
  sim::EmulatorOptions options =
      WithFault(Operation::kGet, ControlFaultKind::kSlow, {1}, 1, /*delay_ms=*/1200);
  sim::ControlFaultRule create_rule;
  create_rule.operation = Operation::kCreate;
  create_rule.kind = ControlFaultKind::kSlow;
  create_rule.calls = {2};
  create_rule.delay_ms = 1200;
  options.fault_plan.AddControlRule(create_rule);
  ProviderHarness harness(options);
  ProviderConfig config = harness.Config(kind);
  config.timeouts.total = std::chrono::milliseconds(300);
  auto provider = harness.Make(config);
  const SubmitSpec spec = MakeSpec(kind, 2, "bk-slow");
  const BatchInfo batch = SubmitOrDie(*provider, spec, harness.dir() / "in");
  const auto polled = provider->GetBatch(batch.id);
  REQUIRE(polled.ok());
  CHECK(Calls(harness, kind, "get") == 2);

  const std::string file_id = UploadIfNeeded(*provider, spec, harness.dir() / "in2");
  const auto created = provider->CreateBatch(spec, file_id);
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
}

TEST_CASE(
    "a truncated download is retried, and when every attempt is cut short no file is "
    "left",
    "[providers][faults][download]") {
  const ProviderKind kind = GENERATE(ProviderKind::kOpenAi, ProviderKind::kAnthropic);
  const bool always = GENERATE(false, true);
  CAPTURE(ApiName(kind), always);
  std::vector<std::int64_t> calls = {1};
  if (always) calls = {1, 2, 3, 4};  // attempts_max is 4
  ProviderHarness harness(WithFault(Operation::kDownload, ControlFaultKind::kTruncate, calls));
  auto provider = harness.Make(kind);
  const BatchInfo batch =
      SubmitOrDie(*provider, MakeSpec(kind, 40, "bk-cut"), harness.dir() / "in");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  const std::filesystem::path spool = harness.dir() / "results";
  const auto downloaded = provider->DownloadResults(ended, spool);
  CHECK(Calls(harness, kind, "download") == (always ? 4 : 2));
  if (!always) {
    REQUIRE(downloaded.ok());
    REQUIRE(downloaded->files.size() == 1);
    const std::string text = testing::ReadFileText(downloaded->files[0]);
    CHECK(std::count(text.begin(), text.end(), '\n') == 40);
    return;
  }
  REQUIRE_FALSE(downloaded.ok());
  CHECK(downloaded.status().code() == base::StatusCode::kUnavailable);
  CHECK(downloaded.status().message().find("DownloadResults") != std::string::npos);
  std::vector<std::filesystem::path> left;
  for (const auto& entry : std::filesystem::directory_iterator(spool)) left.push_back(entry.path());
  CHECK(left.empty());
}

}  // namespace
}  // namespace batchlog::providers
