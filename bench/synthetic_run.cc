#include "bench/synthetic_run.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "replay/snapshot_codec.h"
#include "src/orchestrator/snapshot_retention.h"
#include "src/store/store.h"

namespace batchlog::bench {

namespace v1 = events::v1;

namespace {
constexpr std::size_t kStepEvents = 10'000;
}  // namespace

std::string SyntheticId(std::uint32_t i) {
  char id[16];
  std::snprintf(id, sizeof(id), "r%07u", i);
  return id;
}

std::uint32_t BenchRequests() {
  if (const char* text = std::getenv("BATCHLOG_BENCH_REQUESTS"); text != nullptr) {
    return static_cast<std::uint32_t>(std::strtoul(text, nullptr, 10));
  }
  return 1'000'000;
}

std::unique_ptr<store::EventLog> CreateBenchRun(const std::filesystem::path& root,
                                               const std::string& run_id) {
  auto store = store::Store::Open(root, true);
  if (!store.ok()) SyntheticRunWriter::Die(store.status());
  store::RunMetadata metadata;
  metadata.run_id = run_id;
  metadata.run_name = run_id;
  auto log = store->CreateRun(metadata);
  if (!log.ok()) SyntheticRunWriter::Die(log.status());
  return std::move(log).value();
}

double SecondsOf(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

v1::Event& SyntheticRunWriter::Add() {
  step_.events.emplace_back();
  v1::Event& event = step_.events.back().event;
  event.set_recorded_at_unix_us(now_us_);
  now_us_ += 10;
  return event;
}

void SyntheticRunWriter::MaybeFlush() {
  if (step_.events.size() >= kStepEvents) Flush();
}

void SyntheticRunWriter::Flush() {
  if (step_.events.empty()) return;
  auto appended = log_.Append(step_);
  if (!appended.ok()) Die(appended.status());
  for (const store::PendingEvent& pending : step_.events) {
    const base::Status status = replayer_.Apply(pending.event);
    if (!status.ok()) Die(status);
  }
  step_.events.clear();
}

void SyntheticRunWriter::Snapshot() {
  Flush();
  store::StepBatch step;
  step.snapshot = replay::EncodeSnapshot(projections_);
  // Older snapshots pruned as the run loop prunes them (snapshot_retention.h).
  auto listed = log_.SnapshotSeqs();
  if (!listed.ok()) Die(listed.status());
  step.drop_snapshots = orchestrator::SnapshotsToDrop(*listed);
  auto appended = log_.Append(step);
  if (!appended.ok()) Die(appended.status());
}

void SyntheticRunWriter::StartWithRequests(std::uint32_t requests, std::uint32_t body_bytes) {
  v1::RunStarted* started = Add().mutable_run_started();
  started->set_run_name("bench");
  v1::ModelPrice* price = started->add_prices();
  price->set_workflow("bench");
  price->set_stage("stage_1");
  price->set_model("gpt-4o-mini");
  price->set_input_per_million(0.15);
  price->set_output_per_million(0.6);
  price->set_batch_discount(0.5);
  const std::string body(body_bytes, 'x');
  for (std::uint32_t i = 0; i < requests; ++i) {
    v1::RequestPlanned* planned = Add().mutable_request_planned();
    planned->set_workflow("bench");
    planned->set_stage("stage_1");
    planned->set_custom_id(SyntheticId(i));
    planned->set_ordinal(i);
    planned->set_model("gpt-4o-mini");
    if (body_bytes > 0) step_.events.back().blob = body;
    MaybeFlush();
  }
  Flush();
}

void SyntheticRunWriter::Batch(const std::string& key, const std::vector<std::uint32_t>& members,
                               std::uint32_t attempt, bool fail_some, bool in_flight,
                               std::vector<std::uint32_t>& failed) {
  v1::BatchPlanned* planned = Add().mutable_batch_planned();
  planned->set_batch_key(key);
  planned->set_workflow("bench");
  planned->set_stage("stage_1");
  planned->set_provider("openai");
  planned->set_model("gpt-4o-mini");
  for (const std::uint32_t member : members) {
    planned->add_custom_ids(SyntheticId(member));
    planned->add_attempts(attempt);
  }
  Flush();
  const std::uint64_t planned_seq = log_.last_seq();
  v1::FileUploaded* uploaded = Add().mutable_file_uploaded();
  uploaded->set_batch_key(key);
  uploaded->set_planned_seq(planned_seq);
  uploaded->set_file_id("file-" + key);
  v1::BatchSubmitted* submitted = Add().mutable_batch_submitted();
  submitted->set_batch_key(key);
  submitted->set_planned_seq(planned_seq);
  submitted->set_provider_batch_id("batch-" + key);
  for (const v1::BatchStatus status : {v1::BATCH_STATUS_VALIDATING, v1::BATCH_STATUS_IN_PROGRESS}) {
    v1::BatchPolled* polled = Add().mutable_batch_polled();
    polled->set_batch_key(key);
    polled->set_status(status);
  }
  if (in_flight) {
    Flush();
    return;
  }
  v1::BatchPolled* finalizing = Add().mutable_batch_polled();
  finalizing->set_batch_key(key);
  finalizing->set_status(v1::BATCH_STATUS_FINALIZING);
  v1::BatchEnded* ended = Add().mutable_batch_ended();
  ended->set_batch_key(key);
  ended->set_planned_seq(planned_seq);
  ended->set_status(v1::BATCH_STATUS_COMPLETED);
  for (const std::uint32_t member : members) {
    v1::Event& event = Add();
    if (fail_some && member % kSyntheticFailEvery == 7) {
      v1::RequestFailed* bad = event.mutable_request_failed();
      bad->set_batch_key(key);
      bad->set_custom_id(SyntheticId(member));
      bad->set_attempt(attempt);
      bad->set_code("server_error");
      bad->set_http_status(500);
      bad->set_error_class(v1::ERROR_CLASS_RETRYABLE);
      failed.push_back(member);
    } else {
      v1::RequestSucceeded* ok = event.mutable_request_succeeded();
      ok->set_batch_key(key);
      ok->set_custom_id(SyntheticId(member));
      ok->set_attempt(attempt);
      ok->mutable_usage()->set_input_tokens(40);
      ok->mutable_usage()->set_output_tokens(20);
    }
    MaybeFlush();
  }
  v1::ResultsIngested* ingested = Add().mutable_results_ingested();
  ingested->set_batch_key(key);
  ingested->set_planned_seq(planned_seq);
  Flush();
}

void SyntheticRunWriter::Die(const base::Status& status) {
  std::fprintf(stderr, "bench: %s\n", status.message().c_str());
  std::exit(1);
}

}  // namespace batchlog::bench
