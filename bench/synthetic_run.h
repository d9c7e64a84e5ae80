// A synthetic run written to a real store as the engine would write it: RequestPlanned for
// every request, batches of up to 50,000 with upload, submit, polls, end and one result per
// member (optionally 5 % retryable failures), snapshots on request. Shared by the history
// and resume benchmarks, which need a large log but not the providers that made it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <functional>
#include <string>
#include <vector>

#include "replay/projections.h"
#include "replay/replayer.h"
#include "src/base/status.h"
#include "src/store/event_log.h"

namespace batchlog::bench {

inline constexpr std::uint32_t kSyntheticBatchRequests = 50'000;
inline constexpr std::uint32_t kSyntheticFailEvery = 20;  // 5 %: members with i % 20 == 7

// The custom_id of request i: "r0000042".
std::string SyntheticId(std::uint32_t i);

// The run size: BATCHLOG_BENCH_REQUESTS, else 1,000,000.
std::uint32_t BenchRequests();

// Creates the store at `root` and in it an empty run `run_id` (dies on an error).
std::unique_ptr<store::EventLog> CreateBenchRun(const std::filesystem::path& root,
                                               const std::string& run_id);

// Wall seconds `work` takes.
double SecondsOf(const std::function<void()>& work);

// Appends events in steps of 10,000 and folds them into `projections` as it goes.
class SyntheticRunWriter {
 public:
  SyntheticRunWriter(store::EventLog& log, replay::Projections& projections)
      : log_(log), projections_(projections), replayer_(projections) {}

  events::v1::Event& Add();
  void MaybeFlush();
  void Flush();
  // A snapshot of the projections at the last seq (flushes first).
  void Snapshot();

  // RunStarted (workflow "bench", stage "stage_1", gpt-4o-mini prices) and `requests`
  // RequestPlanned events with `body_bytes`-byte blobs (0 = none).
  void StartWithRequests(std::uint32_t requests, std::uint32_t body_bytes = 0);
  // BatchPlanned for `members` at `attempt`; then, unless `in_flight`, everything up to
  // ResultsIngested. With `fail_some`, members with i % 20 == 7 fail (retryable) and are
  // appended to `failed`.
  void Batch(const std::string& key, const std::vector<std::uint32_t>& members,
             std::uint32_t attempt, bool fail_some, bool in_flight,
             std::vector<std::uint32_t>& failed);

  // Reports the status on stderr and exits: a benchmark has nobody to return it to.
  [[noreturn]] static void Die(const base::Status& status);

 private:
  store::EventLog& log_;
  replay::Projections& projections_;
  replay::Replayer replayer_;
  store::StepBatch step_;
  std::int64_t now_us_ = 1'800'000'000'000'000;
};

}  // namespace batchlog::bench
