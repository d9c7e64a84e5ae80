// Builds event logs for tests and benchmarks, in memory.
//
// EventSequenceBuilder appends hand-built events with dense seqs (from 1), the run id and
// strictly increasing recorded times; tests use it to write a scenario event by event.
//
// GenerateRun produces a *valid* random run, a pure function of (options, seed):
// RunStarted; for each workflow, RequestPlanned for every request of stage_1, batches
// planned (split by max_batch_size), files uploaded, submitted (or rejected), polled,
// ended (sometimes failed or expired at batch level), per-request successes and failures
// with random error classes and codes, retries scheduled with jitter, requests abandoned
// as permanent or exhausted; then stage_2 planned from stage_1's successes and run the
// same way; StageCompleted per stage; workflows interleaved; RunCompleted. Seqs are dense
// from 1 and recorded times increase. With stop_at_random_point the log is cut after a
// random event (a prefix of a valid log is a valid log).
//
// Not thread-safe; fast enough to build 1M-event logs for bench/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "batchlog/events/v1/events.pb.h"

namespace batchlog::testing {

class EventSequenceBuilder {
 public:
  static constexpr std::int64_t kDefaultStartUnixUs = 1'700'000'000'000'000;

  explicit EventSequenceBuilder(std::string run_id = "run-1",
                                std::int64_t start_unix_us = kDefaultStartUnixUs);

  // Appends an event with the next seq, the run id and a recorded time 1 ms after the
  // previous one, and returns it for the caller to fill. The reference is valid until the
  // next append.
  events::v1::Event& Append();

  events::v1::Event& RunStarted();
  events::v1::Event& RequestPlanned(std::string_view workflow, std::string_view stage,
                                    std::string_view custom_id, std::uint64_t ordinal = 0);
  // Every custom_id at the same attempt.
  events::v1::Event& BatchPlanned(std::string_view batch_key, std::string_view workflow,
                                  std::string_view stage,
                                  const std::vector<std::string>& custom_ids,
                                  std::uint32_t attempt);
  events::v1::Event& BatchSubmitted(std::string_view batch_key, std::string_view provider_batch_id);
  events::v1::Event& BatchEnded(std::string_view batch_key, events::v1::BatchStatus status =
                                                                events::v1::BATCH_STATUS_COMPLETED);
  events::v1::Event& RequestSucceeded(std::string_view batch_key, std::string_view custom_id,
                                      std::uint32_t attempt, std::uint64_t input_tokens = 0,
                                      std::uint64_t output_tokens = 0);
  events::v1::Event& RequestFailed(std::string_view batch_key, std::string_view custom_id,
                                   std::uint32_t attempt, std::string_view code,
                                   events::v1::ErrorClass error_class,
                                   std::uint64_t input_tokens = 0, std::uint64_t output_tokens = 0);
  events::v1::Event& ResultsIngested(std::string_view batch_key);
  events::v1::Event& RetryScheduled(std::string_view workflow, std::string_view stage,
                                    const std::vector<std::string>& custom_ids,
                                    std::uint32_t attempt, std::int64_t not_before_unix_us);
  events::v1::Event& RequestsAbandoned(std::string_view workflow, std::string_view stage,
                                       const std::vector<std::string>& custom_ids,
                                       events::v1::AbandonReason reason);
  events::v1::Event& StageCompleted(std::string_view workflow, std::string_view stage);
  events::v1::Event& RunCompleted();

  std::int64_t now_unix_us() const { return now_unix_us_; }
  std::uint64_t last_seq() const { return events_.size(); }
  const std::vector<events::v1::Event>& events() const { return events_; }
  std::vector<events::v1::Event> Take() { return std::move(events_); }

 private:
  std::string run_id_;
  std::int64_t now_unix_us_;
  std::vector<events::v1::Event> events_;
};

struct GeneratorOptions {
  std::string run_id = "run-generated";
  std::uint32_t workflows = 2;
  // Requests of stage_1 per workflow; stage_2 gets one per stage_1 success.
  std::uint32_t requests_per_workflow = 40;
  std::uint32_t stages = 2;
  std::uint32_t max_batch_size = 16;
  // Chance that a processed request fails, and the share of failures that are permanent.
  double failure_rate = 0.1;
  double permanent_share = 0.3;
  // Batch-level trouble, per batch: failed validation (no results, re-planned at the same
  // attempt), expired (unfinished requests fail as retryable "expired"), create refused.
  double batch_failure_rate = 0.03;
  double batch_expiry_rate = 0.03;
  double submit_reject_rate = 0.02;
  std::uint32_t max_retries = 2;
  // Cut the log after a random event.
  bool stop_at_random_point = false;
};

std::vector<events::v1::Event> GenerateRun(const GeneratorOptions& options, std::uint64_t seed);

// The seed of a randomized test: BATCHLOG_SEED from the environment when set (decimal),
// else `default_seed`. Tests print it so a failure can be replayed.
std::uint64_t SeedFromEnvironment(std::uint64_t default_seed);

}  // namespace batchlog::testing
