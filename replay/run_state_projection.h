// The run-state projection: everything the orchestrator's decide step needs to know about
// a run, folded from its events. Requests, batches, retry schedule, open intents, counters.
//
// RunState is a pure fold: Apply(state, event) is deterministic, does no I/O and reads no
// clock; the same events always give the same state (tests/replay proves a snapshot plus
// the tail gives the same state as a full replay). An impossible event returns kDataLoss
// naming its seq and leaves the state as it was, except a repeated RequestPlanned, which is
// found within the next 64 requests planned, at the next request lookup or when a fold
// ends (replay/lifecycle.h has the rules).
//
// Memory per tracked request (sizeof of the per-request arrays, excluding the custom_id
// characters): lifecycle arrays 12 bytes (status 1, attempt 2, flags 1, last batch 4, last
// error 4) + id table 8 bytes (arena end, scope) + hash slots 11-21 bytes (8-byte slots at
// 3/8..3/4 load) + ordinal 8 + retry group 4 + batch membership 4 per attempt = about 47-57
// bytes, within the design's 64 (tests/replay checks it on a decoded 40k-request state).
// RequestBytes() reports the figure for a live state, growth slack included.
//
// Query helpers may build the request index lazily, so even const calls must not run
// concurrently.
//
// Ownership: a plain value, copyable and movable. Thread-safety: none; fold and query from
// one thread (copy it to hand it to another).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "replay/lifecycle.h"
#include "replay/pod_vector.h"
#include "src/base/status.h"

namespace batchlog::replay {

// Requests of one RetryScheduled event: a group that becomes due at not_before_unix_us.
struct RetryGroup {
  std::uint32_t stage = 0;
  std::uint16_t attempt = 0;  // the attempt the retry will be
  std::int64_t not_before_unix_us = 0;
  std::uint32_t member_begin = 0;  // RunState::retry_members[begin, begin + count)
  std::uint32_t member_count = 0;
  // Members still waiting in this group (derived; recomputed when a snapshot is decoded).
  std::uint32_t pending = 0;
  bool operator==(const RetryGroup&) const = default;
};

struct RunCounters {
  std::uint64_t events = 0;
  std::uint64_t requests_planned = 0;
  std::uint64_t batches_planned = 0;
  std::uint64_t files_uploaded = 0;
  std::uint64_t batches_submitted = 0;
  std::uint64_t batches_adopted = 0;
  std::uint64_t submits_rejected = 0;
  std::uint64_t polls = 0;
  std::uint64_t batches_ended = 0;
  std::uint64_t batches_ended_unsuccessfully = 0;  // failed, expired or cancelled
  std::uint64_t results_succeeded = 0;
  std::uint64_t results_failed = 0;
  std::uint64_t results_duplicate = 0;  // re-ingested results, ignored
  std::uint64_t batches_ingested = 0;
  std::uint64_t retries_scheduled = 0;  // requests, summed over RetryScheduled events
  std::uint64_t requests_abandoned = 0;
  std::uint64_t quota_warnings = 0;
  std::uint64_t stages_completed = 0;
  bool operator==(const RunCounters&) const = default;
};
inline constexpr std::size_t kRunCounterCount = 18;

// One intent whose outcome is not in the log yet (design "Crash resumption").
struct OpenIntent {
  enum class Kind : std::uint8_t {
    kAwaitingSubmit,  // BatchPlanned without BatchSubmitted: look up at the provider or submit
    kAwaitingEnd,     // BatchSubmitted without BatchEnded: poll
    kAwaitingIngest,  // BatchEnded without ResultsIngested: download and ingest
  };
  Kind kind = Kind::kAwaitingSubmit;
  std::uint32_t batch = kNoIndex;
  bool operator==(const OpenIntent&) const = default;
};

struct RunState {
  // Requests, batches, stages, workflows and the run's status (shared lifecycle rules).
  Lifecycle lifecycle;

  // From RunStarted / RunFailed / RunCancelled.
  std::string run_name;
  std::string config_sha256;
  // The seq of the event holding the workflow file text the run goes on with: RunStarted,
  // or the latest WorkflowFileChanged.
  std::uint64_t config_seq = 0;
  std::string batchlog_version;
  std::uint64_t random_seed = 0;
  std::string end_reason;  // RunFailed.reason or RunCancelled.reason
  std::string end_code;    // RunFailed.code
  bool resumable = false;  // RunCancelled.resumable

  // Per request, indexed like lifecycle.requests.
  PodVector<std::uint64_t> request_ordinal;      // dataset order (RequestPlanned.ordinal)
  PodVector<std::uint32_t> request_retry_group;  // group while kRetryScheduled, else kNoIndex

  std::vector<RetryGroup> retry_groups;
  PodVector<std::uint32_t> retry_members;  // request indices, contiguous per group

  RunCounters counters;
  bool quota_holding = false;  // the latest QuotaWarning held new batches back

  // Lookups; kNoIndex when unknown.
  std::uint32_t FindStage(std::string_view workflow, std::string_view stage) const {
    return lifecycle.FindStage(workflow, stage);
  }
  std::uint32_t FindRequest(std::uint32_t stage, std::string_view custom_id) const {
    return lifecycle.FindRequest(stage, custom_id);
  }
  std::uint32_t FindBatch(std::string_view batch_key) const {
    return lifecycle.FindBatch(batch_key);
  }

  // Requests of `stage` in `status`, in planning order. O(requests).
  std::vector<std::uint32_t> RequestsOfStage(std::uint32_t stage, RequestStatus status) const;
  // Batches whose intent awaits its outcome, in planning order.
  std::vector<OpenIntent> OpenIntents() const;
  // The earliest not_before among retry groups with waiting members; nullopt when none.
  std::optional<std::int64_t> NextRetryDueUnixUs() const;
  // Requests waiting for a retry that is due at now_unix_us, grouped by retry group (all
  // members of one group are adjacent), in group order.
  std::vector<std::uint32_t> RetriesDue(std::int64_t now_unix_us) const;
  // True when no request of the stage is planned, in flight, waiting or scheduled.
  bool StageSettled(std::uint32_t stage) const;

  // Bytes per tracked request, as described in the header comment (capacity counted).
  std::size_t RequestBytes() const;

  // Equal state (caches and scratch buffers are not compared).
  bool operator==(const RunState&) const = default;
};

// Folds one event into the state. kDataLoss (naming the seq) for an impossible event; the
// state is then unchanged (a repeated RequestPlanned may be reported later; see above).
base::Status Apply(RunState& state, const events::v1::Event& event);

}  // namespace batchlog::replay
