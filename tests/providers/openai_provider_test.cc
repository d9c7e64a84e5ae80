// OpenAiProvider against the in-process emulator: every call, pagination, reconciliation
// lookups and an OpenAI-compatible base URL with a path prefix.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "src/providers/openai_provider.h"
#include "tests/providers/provider_harness.h"

namespace batchlog::providers {
namespace {

using testing::MakeSpec;
using testing::ProviderHarness;
using testing::CountLines;
using testing::ReadFileText;
using testing::SubmitOrDie;

TEST_CASE("an OpenAI batch goes from upload to downloaded results", "[providers][openai]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kOpenAi);
  CHECK(provider->kind() == ProviderKind::kOpenAi);
  CHECK(provider->name() == "openai-test");
  CHECK(provider->uploads_input_file());

  const SubmitSpec spec = MakeSpec(ProviderKind::kOpenAi, 5, "bk-round-trip");
  const auto spool = harness.dir() / "spool" / "bk-round-trip.jsonl";
  const auto upload = provider->UploadInput(spec, spool);
  REQUIRE(upload.ok());
  REQUIRE_FALSE(upload->rejected.has_value());
  CHECK(upload->file_id.rfind("file-", 0) == 0);
  const std::string input = ReadFileText(spool);
  CHECK(upload->bytes == input.size());
  CHECK(CountLines(input) == 5);
  CHECK(input.rfind(R"({"custom_id":"req-0","method":"POST","url":"/v1/chat/completions","body":)" +
                        spec.requests[0].body_json + "}\n",
                    0) == 0);

  const auto created = provider->CreateBatch(spec, upload->file_id);
  REQUIRE(created.ok());
  REQUIRE(created->batch.has_value());
  const BatchInfo& batch = *created->batch;
  CHECK(batch.state == BatchState::kValidating);
  CHECK(batch.provider_status == "validating");
  CHECK(batch.input_file_id == upload->file_id);
  CHECK(batch.output_file_id.empty());
  CHECK(batch.created_at_unix_us == testing::kStartUnixUs);
  CHECK(batch.metadata.at("batchlog_run") == "run-1");
  CHECK(batch.metadata.at("batchlog_batch_key") == "bk-round-trip");
  CHECK(batch.metadata.at("batchlog_stage") == "math-paraphrase/stage_1");
  CHECK(batch.metadata.at("batchlog_attempt") == "1");

  const auto polled = provider->GetBatch(batch.id);
  REQUIRE(polled.ok());
  CHECK(polled->id == batch.id);

  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCompleted);
  CHECK(ended.counts == RequestCounts{5, 0, 5, 0, 0, 0});
  CHECK_FALSE(ended.output_file_id.empty());
  CHECK(ended.error_file_id.empty());

  const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(downloaded.ok());
  REQUIRE(downloaded->files.size() == 1);
  CHECK(downloaded->files[0] == harness.dir() / "results" / (ended.output_file_id + ".jsonl"));
  const std::string output = ReadFileText(downloaded->files[0]);
  CHECK(downloaded->bytes == output.size());
  CHECK(CountLines(output) == 5);
  CHECK(output.back() == '\n');

  // A second download reuses the complete file instead of fetching it again.
  const auto downloads_before = harness.Stats()["openai"]["control_calls"]["download"];
  const auto again = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(again.ok());
  CHECK(again->bytes == output.size());
  CHECK(harness.Stats()["openai"]["control_calls"]["download"] == downloads_before);

  // Downloading before the end is refused.
  CHECK(provider->DownloadResults(batch, harness.dir() / "early").status().code() ==
        base::StatusCode::kFailedPrecondition);
}

TEST_CASE("a batch with failed requests downloads the output file, then the error file",
          "[providers][openai]") {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  options.fault_plan.mutable_request_faults().always_fail["req-1"] =
      sim::OutcomeKind::kInvalidRequest;
  ProviderHarness harness(options);
  auto provider = harness.Make(ProviderKind::kOpenAi);
  const BatchInfo batch =
      SubmitOrDie(*provider, MakeSpec(ProviderKind::kOpenAi, 3, "bk-fail"), harness.dir() / "in");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.counts.succeeded == 2);
  CHECK(ended.counts.failed == 1);
  const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(downloaded.ok());
  REQUIRE(downloaded->files.size() == 2);
  CHECK(downloaded->files[0].filename() == ended.output_file_id + ".jsonl");
  CHECK(downloaded->files[1].filename() == ended.error_file_id + ".jsonl");
  CHECK(CountLines(ReadFileText(downloaded->files[1])) == 1);
  CHECK(ReadFileText(downloaded->files[1]).find("\"req-1\"") != std::string::npos);
}

TEST_CASE("a cancelled OpenAI batch passes through cancelling to cancelled",
          "[providers][openai]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kOpenAi);
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(ProviderKind::kOpenAi, 50, "bk-cancel"),
                                      harness.dir() / "in");
  const auto cancelling = provider->CancelBatch(batch.id);
  REQUIRE(cancelling.ok());
  CHECK(cancelling->state == BatchState::kCancelling);
  CHECK(cancelling->provider_status == "cancelling");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCancelled);
  CHECK(IsTerminal(ended.state));
}

TEST_CASE("an unknown OpenAI batch id is NotFound and a malformed one is refused locally",
          "[providers][openai]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kOpenAi);
  const auto missing = provider->GetBatch("batch_doesnotexist");
  CHECK(missing.status().code() == base::StatusCode::kNotFound);
  CHECK(missing.status().message().find("openai-test GetBatch batch_doesnotexist: HTTP 404") !=
        std::string::npos);
  CHECK(provider->GetBatch("../files").status().code() == base::StatusCode::kInvalidArgument);
  CHECK(provider->GetBatch("").status().code() == base::StatusCode::kInvalidArgument);
  CHECK(provider->CancelBatch("a/b").status().code() == base::StatusCode::kInvalidArgument);
}

TEST_CASE("OpenAI listing pages through 120 batches 7 at a time, and FindBatch searches them",
          "[providers][openai][pagination]") {
  ProviderHarness harness;
  ProviderConfig config = harness.Config(ProviderKind::kOpenAi);
  config.find_page_size = 7;
  auto provider = harness.Make(config);
  SubmitSpec spec = MakeSpec(ProviderKind::kOpenAi, 2, "bk-0");
  const auto upload = provider->UploadInput(spec, harness.dir() / "in.jsonl");
  REQUIRE(upload.ok());
  std::vector<std::string> created_ids;
  for (int i = 0; i < 120; ++i) {
    spec.batch_key = "bk-" + std::to_string(i);
    const auto created = provider->CreateBatch(spec, upload->file_id);
    REQUIRE(created.ok());
    REQUIRE(created->batch.has_value());
    created_ids.push_back(created->batch->id);
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
  REQUIRE(listed.size() == 120);
  CHECK(std::set<std::string>(listed.begin(), listed.end()).size() == 120);
  // Newest first.
  std::vector<std::string> newest_first(created_ids.rbegin(), created_ids.rend());
  CHECK(listed == newest_first);

  FindBatchQuery query;
  query.batch_key = "bk-2";  // the third created: on the last page
  query.max_pages = 20;
  const auto found = provider->FindBatch(query);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->id == created_ids[2]);
  CHECK((*found)->metadata.at("batchlog_batch_key") == "bk-2");

  query.batch_key = "bk-none";
  const auto absent = provider->FindBatch(query);
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());

  // Too few pages to see everything: not "absent", which would invite a duplicate.
  query.batch_key = "bk-2";
  query.max_pages = 3;
  const auto bounded = provider->FindBatch(query);
  CHECK(bounded.status().code() == base::StatusCode::kFailedPrecondition);
  CHECK(bounded.status().message().find("raise max_pages") != std::string::npos);

  // A batch planned long after every listed batch was created: the search stops early.
  query.batch_key = "bk-none";
  query.max_pages = 3;
  query.planned_at_unix_us = testing::kStartUnixUs + 3600LL * 1'000'000;
  const auto early = provider->FindBatch(query);
  REQUIRE(early.ok());
  CHECK_FALSE(early->has_value());
}

TEST_CASE("OpenAI FindBatch adopts only this run's batch, never one created before the plan",
          "[providers][openai][reconcile]") {
  ProviderHarness harness;
  auto provider = harness.Make(ProviderKind::kOpenAi);
  // Two runs of one workflow give their batches the same key; the other run's is newer.
  SubmitSpec ours = MakeSpec(ProviderKind::kOpenAi, 2, "wf:stage_1:a1:b000000");
  SubmitSpec theirs = ours;
  theirs.run_id = "run-2";
  const BatchInfo our_batch = SubmitOrDie(*provider, ours, harness.dir() / "ours");
  const BatchInfo their_batch = SubmitOrDie(*provider, theirs, harness.dir() / "theirs");
  REQUIRE(our_batch.id != their_batch.id);

  FindBatchQuery query;
  query.batch_key = ours.batch_key;
  query.run_id = "run-1";
  auto found = provider->FindBatch(query);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->id == our_batch.id);

  query.run_id = "run-3";  // a run that created nothing: nothing to adopt
  found = provider->FindBatch(query);
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());

  // Planned an hour after both were created: neither can be its create.
  query.run_id = "run-1";
  query.planned_at_unix_us = testing::kStartUnixUs + 3600LL * 1'000'000;
  found = provider->FindBatch(query);
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());
}

TEST_CASE("an OpenAI-compatible service at a base URL with a path prefix works end to end",
          "[providers][openai][compatible]") {
  sim::EmulatorOptions options = testing::FastEmulatorOptions();
  options.path_prefix = "/compat";
  ProviderHarness harness(options);
  ProviderConfig config = harness.Config(ProviderKind::kOpenAi);
  config.name = "local-vllm";
  config.base_url = harness.emulator().base_url() + "/compat/v1/";
  config.extra_headers = {{"X-Team", "research"}};
  auto provider = harness.Make(config);
  CHECK(provider->name() == "local-vllm");
  const BatchInfo batch = SubmitOrDie(*provider, MakeSpec(ProviderKind::kOpenAi, 3, "bk-compat"),
                                      harness.dir() / "in.jsonl");
  const BatchInfo ended = harness.RunToEnd(*provider, batch.id);
  CHECK(ended.state == BatchState::kCompleted);
  const auto downloaded = provider->DownloadResults(ended, harness.dir() / "results");
  REQUIRE(downloaded.ok());
  CHECK(CountLines(ReadFileText(downloaded->files.at(0))) == 3);
  const auto page = provider->ListBatches("", 10);
  REQUIRE(page.ok());
  CHECK(page->batches.size() == 1);
}

}  // namespace
}  // namespace batchlog::providers
