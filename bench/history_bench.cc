// History and manifest on a large run (issue 7's acceptance: "answer in under a second for
// one custom_id"). Writes a synthetic run of N requests (default 1M; BATCHLOG_BENCH_REQUESTS
// overrides) to a temp store as the engine would — RequestPlanned, batches of 50,000 with
// submit, polls, end and results, 5 % retryable failures retried in one more batch, stage
// and run completion, and a snapshot at the end as the run loop writes at a stage's end —
// then times, each from a fresh reader (cold process state, warm OS cache):
//   - history of one custom_id through the audit index (what `batchlog history` does),
//   - history of a request that failed and was retried,
//   - the manifest at the latest seq (`batchlog manifest`),
//   - the same history by a full scan of the log, for comparison.
// Plain main; prints a Markdown table (bench/README.md, "History").
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "replay/replayer.h"
#include "replay/snapshot_codec.h"
#include "src/orchestrator/history.h"
#include "src/orchestrator/run_reader.h"
#include "src/store/store.h"
#include "tests/support/temp_dir.h"

namespace batchlog::bench {
namespace {

namespace v1 = events::v1;

constexpr std::uint32_t kBatchRequests = 50'000;
constexpr std::uint32_t kFailEvery = 20;  // 5 %
constexpr std::size_t kStepEvents = 10'000;

std::string Id(std::uint32_t i) {
  char id[16];
  std::snprintf(id, sizeof(id), "r%07u", i);
  return id;
}

class Writer {
 public:
  Writer(store::EventLog& log, replay::Projections& projections)
      : log_(log), projections_(projections), replayer_(projections) {}

  v1::Event& Add() {
    step_.events.emplace_back();
    v1::Event& event = step_.events.back().event;
    event.set_recorded_at_unix_us(now_us_);
    now_us_ += 10;
    return event;
  }
  void MaybeFlush() {
    if (step_.events.size() >= kStepEvents) Flush();
  }
  void Flush() {
    if (step_.events.empty()) return;
    auto appended = log_.Append(step_);
    if (!appended.ok()) Die(appended.status());
    for (const store::PendingEvent& pending : step_.events) {
      const base::Status status = replayer_.Apply(pending.event);
      if (!status.ok()) Die(status);
    }
    step_.events.clear();
  }
  void Snapshot() {
    Flush();
    store::StepBatch step;
    step.snapshot = replay::EncodeSnapshot(projections_);
    auto appended = log_.Append(step);
    if (!appended.ok()) Die(appended.status());
  }
  static void Die(const base::Status& status) {
    std::fprintf(stderr, "history_bench: %s\n", status.message().c_str());
    std::exit(1);
  }

 private:
  store::EventLog& log_;
  replay::Projections& projections_;
  replay::Replayer replayer_;
  store::StepBatch step_;
  std::int64_t now_us_ = 1'800'000'000'000'000;
};

void WriteBatch(Writer& writer, const std::string& key, const std::vector<std::uint32_t>& members,
                std::uint32_t attempt, bool fail_some, std::vector<std::uint32_t>& failed) {
  v1::BatchPlanned* planned = writer.Add().mutable_batch_planned();
  planned->set_batch_key(key);
  planned->set_workflow("bench");
  planned->set_stage("stage_1");
  planned->set_provider("openai");
  for (const std::uint32_t member : members) {
    planned->add_custom_ids(Id(member));
    planned->add_attempts(attempt);
  }
  writer.Flush();
  const std::uint64_t planned_seq = 0;  // outcomes may leave planned_seq unset (0)
  v1::FileUploaded* uploaded = writer.Add().mutable_file_uploaded();
  uploaded->set_batch_key(key);
  uploaded->set_planned_seq(planned_seq);
  uploaded->set_file_id("file-" + key);
  v1::BatchSubmitted* submitted = writer.Add().mutable_batch_submitted();
  submitted->set_batch_key(key);
  submitted->set_provider_batch_id("batch-" + key);
  for (const v1::BatchStatus status :
       {v1::BATCH_STATUS_VALIDATING, v1::BATCH_STATUS_IN_PROGRESS, v1::BATCH_STATUS_FINALIZING}) {
    v1::BatchPolled* polled = writer.Add().mutable_batch_polled();
    polled->set_batch_key(key);
    polled->set_status(status);
  }
  v1::BatchEnded* ended = writer.Add().mutable_batch_ended();
  ended->set_batch_key(key);
  ended->set_status(v1::BATCH_STATUS_COMPLETED);
  for (const std::uint32_t member : members) {
    v1::Event& event = writer.Add();
    if (fail_some && member % kFailEvery == 7) {
      v1::RequestFailed* bad = event.mutable_request_failed();
      bad->set_batch_key(key);
      bad->set_custom_id(Id(member));
      bad->set_attempt(attempt);
      bad->set_code("server_error");
      bad->set_http_status(500);
      bad->set_error_class(v1::ERROR_CLASS_RETRYABLE);
      failed.push_back(member);
    } else {
      v1::RequestSucceeded* ok = event.mutable_request_succeeded();
      ok->set_batch_key(key);
      ok->set_custom_id(Id(member));
      ok->set_attempt(attempt);
      ok->mutable_usage()->set_input_tokens(40);
      ok->mutable_usage()->set_output_tokens(20);
    }
    writer.MaybeFlush();
  }
  v1::ResultsIngested* ingested = writer.Add().mutable_results_ingested();
  ingested->set_batch_key(key);
  writer.Flush();
}

double Seconds(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace
}  // namespace batchlog::bench

int main() {
  using namespace batchlog;
  using namespace batchlog::bench;
  std::uint32_t requests = 1'000'000;
  if (const char* text = std::getenv("BATCHLOG_BENCH_REQUESTS"); text != nullptr) {
    requests = static_cast<std::uint32_t>(std::strtoul(text, nullptr, 10));
  }
  testing::TempDir dir("batchlog-history-bench");
  auto store = store::Store::Open(dir.path() / "store", true);
  if (!store.ok()) Writer::Die(store.status());
  store::RunMetadata metadata;
  metadata.run_id = "history-bench";
  metadata.run_name = "history-bench";
  auto log = store->CreateRun(metadata);
  if (!log.ok()) Writer::Die(log.status());

  replay::Projections projections;
  const double write_s = Seconds([&] {
    Writer writer(**log, projections);
    v1::RunStarted* started = writer.Add().mutable_run_started();
    started->set_run_name("history-bench");
    v1::ModelPrice* price = started->add_prices();
    price->set_workflow("bench");
    price->set_stage("stage_1");
    price->set_model("gpt-4o-mini");
    price->set_input_per_million(0.15);
    price->set_output_per_million(0.6);
    price->set_batch_discount(0.5);
    for (std::uint32_t i = 0; i < requests; ++i) {
      v1::RequestPlanned* planned = writer.Add().mutable_request_planned();
      planned->set_workflow("bench");
      planned->set_stage("stage_1");
      planned->set_custom_id(Id(i));
      planned->set_ordinal(i);
      planned->set_model("gpt-4o-mini");
      writer.MaybeFlush();
    }
    std::vector<std::uint32_t> failed;
    for (std::uint32_t begin = 0, batch = 0; begin < requests; begin += kBatchRequests, ++batch) {
      std::vector<std::uint32_t> members;
      for (std::uint32_t i = begin; i < std::min(requests, begin + kBatchRequests); ++i) {
        members.push_back(i);
      }
      WriteBatch(writer, "bench:stage_1:a1:b" + std::to_string(batch), members, 1, true, failed);
    }
    v1::RetryScheduled* retry = writer.Add().mutable_retry_scheduled();
    retry->set_workflow("bench");
    retry->set_stage("stage_1");
    for (const std::uint32_t member : failed) retry->add_custom_ids(Id(member));
    retry->set_attempt(2);
    retry->set_delay_s(30);
    retry->set_jitter_factor(1);
    writer.Flush();
    std::vector<std::uint32_t> none;
    for (std::size_t begin = 0, batch = 0; begin < failed.size();
         begin += kBatchRequests, ++batch) {
      const std::vector<std::uint32_t> members(
          failed.begin() + static_cast<std::ptrdiff_t>(begin),
          failed.begin() + static_cast<std::ptrdiff_t>(std::min(failed.size(),
                                                                begin + kBatchRequests)));
      WriteBatch(writer, "bench:stage_1:a2:b" + std::to_string(batch), members, 2, false, none);
    }
    v1::StageCompleted* completed = writer.Add().mutable_stage_completed();
    completed->set_workflow("bench");
    completed->set_stage("stage_1");
    writer.Add().mutable_run_completed()->set_workflows(1);
    writer.Snapshot();
  });
  const std::uint64_t events = (*log)->last_seq();
  log->reset();

  const auto history = [&](const std::string& id, bool full_scan,
                           orchestrator::HistoryStats& stats) {
    auto reader = orchestrator::RunReader::Open(dir.path() / "store", "history-bench");
    if (!reader.ok()) Writer::Die(reader.status());
    auto state = orchestrator::History(*reader, replay::AuditSelection{.custom_ids = {id}},
                                       orchestrator::HistoryOptions{.force_full_scan = full_scan},
                                       &stats);
    if (!state.ok()) Writer::Die(state.status());
  };
  orchestrator::HistoryStats plain;
  orchestrator::HistoryStats retried;
  orchestrator::HistoryStats scanned;
  const double plain_s = Seconds([&] { history(Id(requests / 2), false, plain); });
  const double retried_s = Seconds([&] { history(Id(requests / 2 + 7), false, retried); });
  std::size_t manifest_bytes = 0;
  const double manifest_s = Seconds([&] {
    auto reader = orchestrator::RunReader::Open(dir.path() / "store", "history-bench");
    if (!reader.ok()) Writer::Die(reader.status());
    auto manifest = reader->Manifest(orchestrator::kLatestSeq);
    if (!manifest.ok()) Writer::Die(manifest.status());
    manifest_bytes = manifest->size();
  });
  const double scan_s = Seconds([&] { history(Id(requests / 2), true, scanned); });

  std::printf("| %u requests, %llu events (written and folded in %.1f s) | seconds | "
              "events read |\n",
              requests, static_cast<unsigned long long>(events), write_s);
  std::printf("| --- | --- | --- |\n");
  std::printf("| history of one custom_id (indexed) | %.3f | %llu in %llu ranges |\n", plain_s,
              static_cast<unsigned long long>(plain.events_read),
              static_cast<unsigned long long>(plain.ranges));
  std::printf("| history of a retried custom_id (indexed) | %.3f | %llu in %llu ranges |\n",
              retried_s, static_cast<unsigned long long>(retried.events_read),
              static_cast<unsigned long long>(retried.ranges));
  std::printf("| manifest at the latest seq (%zu bytes) | %.3f | snapshot + tail |\n",
              manifest_bytes, manifest_s);
  std::printf("| history of one custom_id (full scan, for comparison) | %.3f | %llu |\n", scan_s,
              static_cast<unsigned long long>(scanned.events_read));
  return 0;
}
