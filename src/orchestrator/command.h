// Commands: what the pure decider asks the executor to do. Each names run-state indices
// (replay/lifecycle.h) as they were when it was decided; the executor carries them out in
// order with the intent -> effect -> outcome protocol (src/orchestrator/executor.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "batchlog/events/v1/events.pb.h"

namespace batchlog::orchestrator {

// Plan (RequestPlanned) the requests of a stage that are not planned yet. First stage: the
// dataset's requests (`sources` empty). Later stages: one request per upstream request in
// `sources` (request indices of the upstream stage, each a success).
struct PlanRequests {
  std::size_t policy = 0;
  std::vector<std::uint32_t> sources;
};

// Put requests into one new batch (BatchPlanned), each at the given attempt.
struct PlanBatch {
  std::size_t policy = 0;
  std::vector<std::uint32_t> requests;
  std::vector<std::uint16_t> attempts;
};

// Submit a planned batch. `reconcile`: the batch was planned by an earlier process, which
// may have created it at the provider before it stopped: look it up first.
struct SubmitBatch {
  std::uint32_t batch = 0;
  bool reconcile = false;
};

struct PollBatch {
  std::uint32_t batch = 0;
};

// Download and record the results of an ended batch.
struct IngestBatch {
  std::uint32_t batch = 0;
};

// Schedule the retry of failed, retryable requests (RetryScheduled): attempt `attempt`,
// which is retry number `attempt - 1`. The executor draws the jitter.
struct ScheduleRetry {
  std::size_t policy = 0;
  std::vector<std::uint32_t> requests;
  std::uint16_t attempt = 0;
};

struct AbandonRequests {
  std::size_t policy = 0;
  std::vector<std::uint32_t> requests;
  events::v1::AbandonReason reason = events::v1::ABANDON_REASON_UNSPECIFIED;
};

// Record a QuotaWarning for the (provider, model) of `policy`: its enqueued tokens reached
// the warning fraction, or new batches are now held (`holding`), or a hold has ended.
struct WarnQuota {
  std::size_t policy = 0;
  std::uint64_t enqueued_tokens = 0;
  std::uint64_t quota_tokens = 0;
  bool holding = false;
};

struct CompleteStage {
  std::size_t policy = 0;
};

struct CompleteRun {};

using Command = std::variant<PlanRequests, PlanBatch, SubmitBatch, PollBatch, IngestBatch,
                             ScheduleRetry, AbandonRequests, WarnQuota, CompleteStage,
                             CompleteRun>;

}  // namespace batchlog::orchestrator
