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
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/synthetic_run.h"
#include "src/orchestrator/history.h"
#include "src/orchestrator/run_reader.h"
#include "src/store/store.h"
#include "tests/support/temp_dir.h"

int main() {
  using namespace batchlog;
  using namespace batchlog::bench;
  const std::uint32_t requests = BenchRequests();
  testing::TempDir dir("batchlog-history-bench");
  std::unique_ptr<store::EventLog> log = CreateBenchRun(dir.path() / "store", "history-bench");

  replay::Projections projections;
  const double write_s = SecondsOf([&] {
    SyntheticRunWriter writer(*log, projections);
    writer.StartWithRequests(requests);
    std::vector<std::uint32_t> failed;
    for (std::uint32_t begin = 0, batch = 0; begin < requests;
         begin += kSyntheticBatchRequests, ++batch) {
      std::vector<std::uint32_t> members;
      for (std::uint32_t i = begin; i < std::min(requests, begin + kSyntheticBatchRequests); ++i) {
        members.push_back(i);
      }
      writer.Batch("bench:stage_1:a1:b" + std::to_string(batch), members, 1, true, false, failed);
    }
    events::v1::RetryScheduled* retry = writer.Add().mutable_retry_scheduled();
    retry->set_workflow("bench");
    retry->set_stage("stage_1");
    for (const std::uint32_t member : failed) retry->add_custom_ids(SyntheticId(member));
    retry->set_attempt(2);
    retry->set_delay_s(30);
    retry->set_jitter_factor(1);
    writer.Flush();
    std::vector<std::uint32_t> none;
    for (std::size_t begin = 0, batch = 0; begin < failed.size();
         begin += kSyntheticBatchRequests, ++batch) {
      const std::size_t end = std::min<std::size_t>(failed.size(), begin + kSyntheticBatchRequests);
      const std::vector<std::uint32_t> members(failed.begin() + static_cast<std::ptrdiff_t>(begin),
                                               failed.begin() + static_cast<std::ptrdiff_t>(end));
      writer.Batch("bench:stage_1:a2:b" + std::to_string(batch), members, 2, false, false, none);
    }
    events::v1::StageCompleted* completed = writer.Add().mutable_stage_completed();
    completed->set_workflow("bench");
    completed->set_stage("stage_1");
    writer.Add().mutable_run_completed()->set_workflows(1);
    writer.Snapshot();
  });
  const std::uint64_t events = log->last_seq();
  log.reset();

  const auto history = [&](const std::string& id, bool full_scan,
                           orchestrator::HistoryStats& stats) {
    auto reader = orchestrator::RunReader::Open(dir.path() / "store", "history-bench");
    if (!reader.ok()) SyntheticRunWriter::Die(reader.status());
    auto state = orchestrator::History(*reader, replay::AuditSelection{.custom_ids = {id}},
                                       orchestrator::HistoryOptions{.force_full_scan = full_scan},
                                       &stats);
    if (!state.ok()) SyntheticRunWriter::Die(state.status());
  };
  orchestrator::HistoryStats plain;
  orchestrator::HistoryStats retried;
  orchestrator::HistoryStats scanned;
  const double plain_s = SecondsOf([&] { history(SyntheticId(requests / 2), false, plain); });
  const double retried_s =
      SecondsOf([&] { history(SyntheticId(requests / 2 + 7), false, retried); });
  std::size_t manifest_bytes = 0;
  const double manifest_s = SecondsOf([&] {
    auto reader = orchestrator::RunReader::Open(dir.path() / "store", "history-bench");
    if (!reader.ok()) SyntheticRunWriter::Die(reader.status());
    auto manifest = reader->Manifest(orchestrator::kLatestSeq);
    if (!manifest.ok()) SyntheticRunWriter::Die(manifest.status());
    manifest_bytes = manifest->size();
  });
  const double scan_s = SecondsOf([&] { history(SyntheticId(requests / 2), true, scanned); });

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
