// AnthropicProvider against the in-process emulator: every call, pagination and the
// window-and-count reconciliation lookup.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "src/providers/anthropic_provider.h"
#include "tests/providers/provider_harness.h"

namespace batchlog::providers {
namespace {

using testing::MakeSpec;
using testing::ProviderHarness;
using testing::CountLines;
using testing::ReadFileText;
using testing::SubmitOrDie;

TEST_CASE("an Anthropic batch goes from inline create to downloaded results",
          "[providers][anthropic]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kAnthropic);
  CHECK(provider->kind() == ProviderKind::kAnthropic);
  CHECK(provider->name() == "claude-test");
  CHECK_FALSE(provider->uploads_input_file());

  const SubmitSpec spec = MakeSpec(ProviderKind::kAnthropic, 3, "bk-round-trip");
  // UploadInput is a no-op that touches no file.
  const auto upload = provider->UploadInput(spec, harness.dir() / "never.jsonl");
  REQUIRE(upload.ok());
  CHECK(upload->file_id.empty());
  CHECK_FALSE(upload->rejected.has_value());
  CHECK_FALSE(std::filesystem::exists(harness.dir() / "never.jsonl"));

  const auto created = provider->CreateBatch(spec, "");
  REQUIRE(created.ok());
  REQUIRE(created->batch.has_value());
  const BatchInfo& batch = *created->batch;
  CHECK(batch.id.rfind("msgbatch_", 0) == 0);
  CHECK(batch.state == BatchState::kInProgress);
  CHECK(batch.provider_status == "in_progress");
  CHECK(batch.counts == RequestCounts{3, 3, 0, 0, 0, 0});
  CHECK(batch.created_at_unix_us == testing::kStartUnixUs);
  CHECK(batch.results_url.empty());
  CHECK(batch.metadata.empty());

  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCompleted);
  CHECK(ended.provider_status == "ended");
  CHECK(ended.counts == RequestCounts{3, 0, 3, 0, 0, 0});
  CHECK_FALSE(ended.results_url.empty());

  const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(downloaded.ok());
  REQUIRE(downloaded->files.size() == 1);
  CHECK(downloaded->files[0] == harness.dir() / "results" / (batch.id + ".jsonl"));
  const std::string results = ReadFileText(downloaded->files[0]);
  CHECK(downloaded->bytes == results.size());
  CHECK(CountLines(results) == 3);
  for (const auto& request : spec.requests) {
    CHECK(results.find("\"" + request.custom_id + "\"") != std::string::npos);
  }
  CHECK(provider->DownloadResults(batch, harness.dir() / "early").status().code() ==
        base::StatusCode::kFailedPrecondition);
}

TEST_CASE("request counts map errored, expired and succeeded results", "[providers][anthropic]") {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  auto& always = options.fault_plan.mutable_request_faults().always_fail;
  always["req-0"] = sim::OutcomeKind::kServerError;
  always["req-1"] = sim::OutcomeKind::kExpired;
  ProviderHarness harness(options);
  auto provider = harness.Make(ProviderKind::kAnthropic);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(ProviderKind::kAnthropic, 4, "bk-mix"),
                                      harness.dir() / "unused");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCompleted);
  CHECK(ended.counts == RequestCounts{4, 0, 2, 1, 0, 1});
}

TEST_CASE("a cancelled Anthropic batch ends as kCancelled", "[providers][anthropic]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kAnthropic);
  const BatchInfo batch = SubmitOrDie(
      *provider, MakeSpec(ProviderKind::kAnthropic, 200, "bk-cancel"), harness.dir() / "unused");
  const auto cancelling = provider->CancelBatch(batch.id);
  REQUIRE(cancelling.ok());
  CHECK(cancelling->state == BatchState::kCancelling);
  CHECK(cancelling->provider_status == "canceling");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.provider_status == "ended");
  CHECK(ended.state == BatchState::kCancelled);
  CHECK(ended.counts.cancelled > 0);
  CHECK(ended.counts.total == 200);
}

TEST_CASE("an unknown Anthropic batch id is NotFound", "[providers][anthropic]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kAnthropic);
  const auto missing = provider->GetBatch("msgbatch_doesnotexist");
  CHECK(missing.status().code() == base::StatusCode::kNotFound);
  CHECK(missing.status().message().find("not_found_error") != std::string::npos);
}

TEST_CASE("Anthropic listing pages through 120 batches 7 at a time",
          "[providers][anthropic][pagination]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kAnthropic);
  std::vector<std::string> created_ids;
  for (int i = 0; i < 120; ++i) {
    created_ids.push_back(
        SubmitOrDie(*provider, MakeSpec(ProviderKind::kAnthropic, 1, "bk-" + std::to_string(i)),
                    harness.dir() / "unused")
            .id);
  }
  std::vector<std::string> listed;
  std::string after;
  int pages = 0;
  for (; pages < 100; ++pages) {
    const auto page = provider->ListBatches(after, 7);
    REQUIRE(page.ok());
    CHECK(page->batches.size() <= 7);
    for (const BatchInfo& batch : page->batches) listed.push_back(batch.id);
    if (!page->has_more) break;
    after = page->last_id;
  }
  CHECK(pages + 1 == 18);
  CHECK(listed == std::vector<std::string>(created_ids.rbegin(), created_ids.rend()));
}

TEST_CASE("Anthropic FindBatch picks the batch created in the window with the request count",
          "[providers][anthropic][reconcile]") {
  ProviderHarness harness;
  ProviderConfig config = harness.Config(ProviderKind::kAnthropic);
  config.find_page_size = 2;
  auto provider = harness.Make(config);
  const auto submit = [&](int count, const std::string& key) {
    return SubmitOrDie(*provider, MakeSpec(ProviderKind::kAnthropic, count, key),
                       harness.dir() / "unused");
  };
  // Same size, but two hours before the plan.
  const BatchInfo old_same_size = submit(4, "bk-old");
  harness.clock().Advance(std::chrono::hours(2));
  const std::int64_t planned_at = base::ToUnixMicros(harness.clock().Now());
  harness.clock().Advance(std::chrono::seconds(5));
  const BatchInfo target = submit(4, "bk-target");
  harness.clock().Advance(std::chrono::seconds(5));
  const BatchInfo other_size = submit(3, "bk-other");
  const BatchInfo newer_other_size = submit(5, "bk-newer");

  FindBatchQuery query;
  query.batch_key = "bk-target";
  query.planned_at_unix_us = planned_at;
  query.request_count = 4;
  query.window_us = 15LL * 60 * 1'000'000;
  query.max_pages = 10;
  const auto found = provider->FindBatch(query);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->id == target.id);
  CHECK((*found)->id != old_same_size.id);

  query.request_count = 7;
  const auto absent = provider->FindBatch(query);
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());

  // Pages that never reach the window's start are not proof of absence.
  query.max_pages = 1;
  CHECK(provider->FindBatch(query).status().code() == base::StatusCode::kFailedPrecondition);
  (void)other_size;
  (void)newer_other_size;
}

}  // namespace
}  // namespace batchlog::providers
