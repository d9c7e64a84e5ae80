// Lifecycle: where each request and each batch of a run stands, and the transition rules
// every projection shares. Both the run-state and the manifest projections hold their own
// Lifecycle and drive it with the Track* functions below, so the two always agree on
// which event sequences are possible: an impossible one (a result for an unknown batch or
// custom_id, an attempt going backwards, a BatchSubmitted for an unplanned batch_key, ...)
// is reported as kDataLoss naming the event's seq, and leaves the Lifecycle unchanged
// (each Track* validates the whole event before it changes anything; the one exception,
// a repeated RequestPlanned, is described below). The first event must be RunStarted, and
// every event must carry the run_id of the first.
//
// Request lifecycle (RequestStatus):
//   RequestPlanned            -> kPlanned (attempt 0: not yet in any batch)
//   BatchPlanned              -> kInFlight at the batch's attempt
//   RequestSucceeded          -> kSucceeded
//   RequestFailed, permanent  -> kFailedFinal
//   RequestFailed, otherwise  -> kFailedRetryableWaiting (failed; retry not yet decided)
//   RetryScheduled            -> kRetryScheduled
//   RequestsAbandoned         -> kFailedFinal (with the reason)
//   SubmitRejected / ResultsIngested with no result for an in-flight member
//                             -> kPlanned at the same attempt (never processed; may be
//                                planned again at that attempt)
//   RunResumed, for kFailedFinal with reason cancelled in a stage not completed
//                             -> kPlanned at the same attempt (never processed)
// A request's final state is its latest attempt: a result matching the request's current
// batch and attempt is applied even after the request was abandoned (a cancelled batch
// can still deliver results).
//
// Batch lifecycle (BatchPhase), the intent/outcome pairs of the design:
//   BatchPlanned -> kPlanned -> BatchSubmitted -> kSubmitted -> BatchEnded -> kEnded
//   -> ResultsIngested -> kIngested;  kPlanned -> SubmitRejected -> kRejected (closed:
//   a resubmission is a new BatchPlanned with a new batch_key).
// FileUploaded only in kPlanned; BatchPolled only in kSubmitted; results in kSubmitted or
// kEnded. A repeated result for the same (batch, custom_id, attempt) of the same kind is a
// re-ingestion and is ignored (TrackRequestSucceeded/Failed report it as a duplicate); of
// the other kind it is impossible.
//
// Repeated RequestPlanned: checking a new custom_id against the index costs a random
// memory access, which on a large run costs more than the rest of the event. So
// RequestPlanned appends the id unchecked and the ids are checked in batches, with their
// cache misses overlapped: before any request lookup, before planning more than
// kPlannedCheckWindow unchecked requests, and by CheckPlannedRequests() (the Replayer calls
// it when a fold ends). A repeated custom_id is still kDataLoss naming the seq of its
// RequestPlanned, but it may be returned by a later event's Track* (before that event
// changes anything), after the RequestPlanned and the events since were applied; as with
// any error, the Lifecycle must then be discarded.
//
// Leader and follower: one Lifecycle per fold, the run state's (the leader). The Replayer
// lets the run state track each event, then the followers (manifest, stage inputs, audit
// index) apply it reading the leader's lifecycle as it stands after the event, including
// what the last tracked result resolved to (last_result_*). They hold no copy of it.
//
// Ownership: a plain value; copyable. Thread-safety: none (a projection is folded by one
// thread, and even const lookups may build an id index). Memory per request: RequestTable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "replay/id_table.h"
#include "replay/pod_vector.h"
#include "src/base/result.h"
#include "src/base/status.h"

namespace batchlog::replay {

inline constexpr std::uint32_t kNoIndex = IdTable::kNone;
inline constexpr std::size_t kPlannedCheckWindow = 64;

enum class RunStatus : std::uint8_t { kNotStarted, kRunning, kCompleted, kFailed, kCancelled };
inline constexpr std::uint8_t kRunStatusCount = 5;
// "not_started", "running", "completed", "failed", "cancelled".
std::string_view RunStatusName(RunStatus status);

enum class RequestStatus : std::uint8_t {
  kPlanned,
  kInFlight,
  kSucceeded,
  kFailedRetryableWaiting,
  kRetryScheduled,
  kFailedFinal,
};
inline constexpr std::size_t kRequestStatusCount = 6;
// "planned", "in_flight", "succeeded", "failed_retryable_waiting", "retry_scheduled",
// "failed_final".
std::string_view RequestStatusName(RequestStatus status);

enum class BatchPhase : std::uint8_t { kPlanned, kRejected, kSubmitted, kEnded, kIngested };
inline constexpr std::uint8_t kBatchPhaseCount = 5;
std::string_view BatchPhaseName(BatchPhase phase);

// Bits of RequestTable::flags.
inline constexpr std::uint8_t kFailedEver = 1;          // failed on at least one attempt
inline constexpr std::uint8_t kHasResult = 2;           // a result exists for the current attempt
inline constexpr std::uint8_t kResultSucceeded = 4;     // ... and it was a success
inline constexpr std::uint8_t kMarked = 8;              // transient, while one event is validated
inline constexpr std::uint8_t kAbandonReasonShift = 4;  // bits 4-7: events::v1::AbandonReason
inline constexpr std::uint8_t kKnownFlagBits = 0xf7;    // all but kMarked

// A stage of a workflow. Counters are derived from the requests (a snapshot does not
// store them; decoding recomputes them).
struct StageRecord {
  std::uint32_t workflow = 0;
  std::uint32_t requests = 0;
  std::array<std::uint32_t, kRequestStatusCount> by_status{};
  // Highest attempt any request of the stage was planned at (0 = none yet).
  std::uint16_t max_attempt = 0;
  bool completed = false;  // StageCompleted seen
};

// Requests as a struct of arrays, indexed by the request index from `ids`.
// Per request: ids ~11-21 bytes (excluding the custom_id characters) + status 1 +
// attempt 2 + flags 1 + last_batch 4 + last_error 4 = ~23-33 bytes.
struct RequestTable {
  IdTable ids;  // scope = stage index
  PodVector<RequestStatus> status;
  PodVector<std::uint16_t> attempt;     // current attempt; 0 before the first batch
  PodVector<std::uint8_t> flags;        // kFailedEver | kHasResult | ...
  PodVector<std::uint32_t> last_batch;  // batch index of the current attempt, or kNoIndex
  PodVector<std::uint32_t> last_error;  // Lifecycle::error_codes index, or kNoIndex

  std::uint32_t size() const { return ids.size(); }
  std::uint32_t stage(std::uint32_t request) const { return ids.scope(request); }
  std::string_view custom_id(std::uint32_t request) const { return ids.id(request); }
  events::v1::AbandonReason abandon_reason(std::uint32_t request) const {
    return static_cast<events::v1::AbandonReason>(flags[request] >> kAbandonReasonShift);
  }
  bool operator==(const RequestTable&) const = default;
};

struct BatchRecord {
  std::uint32_t stage = 0;
  std::uint32_t provider = kNoIndex;  // Lifecycle::providers index
  std::uint64_t planned_seq = 0;
  std::uint32_t member_begin = 0;  // members are BatchTable::members[begin, begin + count)
  std::uint32_t member_count = 0;
  std::uint16_t min_attempt = 0;
  std::uint16_t max_attempt = 0;
  BatchPhase phase = BatchPhase::kPlanned;
  events::v1::BatchStatus status = events::v1::BATCH_STATUS_UNSPECIFIED;  // last known
  bool adopted = false;
  std::uint32_t results = 0;  // results recorded (duplicates not counted)
  std::string provider_batch_id;
  std::string file_id;
  bool operator==(const BatchRecord&) const = default;
};

struct BatchTable {
  IdTable keys;  // scope 0
  std::vector<BatchRecord> records;
  PodVector<std::uint32_t> members;  // request indices, contiguous per batch
  std::uint32_t size() const { return keys.size(); }
  bool operator==(const BatchTable&) const = default;
};

struct Lifecycle {
  std::string run_id;  // from the first event's envelope
  RunStatus run_status = RunStatus::kNotStarted;

  IdTable workflows;  // scope 0, in order of first appearance
  IdTable stages;     // scope = workflow index, in order of first appearance
  std::vector<StageRecord> stage_records;
  IdTable providers;    // scope 0
  IdTable error_codes;  // scope 0
  RequestTable requests;
  BatchTable batches;

  // Not state: reused buffers so an event applies without allocating. After a successful
  // TrackRetryScheduled / TrackRequestsAbandoned, `scratch` holds the event's request
  // indices in event order.
  std::vector<std::uint32_t> scratch;
  std::vector<std::uint32_t> hash_scratch;
  std::uint32_t cached_batch = kNoIndex;  // the batch of the last batch event, to skip a lookup
  std::uint32_t cached_stage = kNoIndex;  // the stage of the last RequestPlanned
  // Per batch, the member position the next result most likely names: results usually
  // arrive in member order, so most resolve their request without a hash lookup.
  std::vector<std::uint32_t> result_cursors;
  // Seqs of the RequestPlanned events whose custom_ids are not checked yet; the first is
  // that of request `unchecked_base`.
  std::vector<std::uint64_t> unchecked_seqs;
  std::uint32_t unchecked_base = 0;
  // What the last tracked result resolved to, for the followers.
  std::uint32_t last_result_request = kNoIndex;
  std::uint32_t last_result_batch = kNoIndex;
  bool last_result_duplicate = false;

  std::uint32_t FindStage(std::string_view workflow, std::string_view stage) const;
  std::uint32_t FindRequest(std::uint32_t stage, std::string_view custom_id) const {
    return requests.ids.Find(stage, custom_id);
  }
  std::uint32_t FindBatch(std::string_view batch_key) const {
    return batches.keys.Find(0, batch_key);
  }
  std::string_view workflow_name(std::uint32_t workflow) const { return workflows.id(workflow); }
  std::string_view stage_name(std::uint32_t stage) const { return stages.id(stage); }

  // Recomputes every StageRecord counter from the requests (after decoding a snapshot).
  void RecomputeStageCounters();
  // Bytes held by the request arrays and id tables (capacity), excluding id characters.
  std::size_t RequestBytes() const;

  // Equal state; scratch buffers and caches are not state.
  friend bool operator==(const Lifecycle& a, const Lifecycle& b);
};

// The DataLoss reported for an impossible event: "seq 42: <what>".
base::Status ImpossibleEvent(std::uint64_t seq, std::string_view what);

// An event whose payload this build does not know (a newer writer's event type): skipped
// when the writer marked it reader_may_ignore, otherwise an ImpossibleEvent.
base::Status ApplyUnknownPayload(const events::v1::Event& event);

// Checks the envelope: the run_id matches the first event's (which sets it) and the run
// was started unless this is RunStarted.
base::Status TrackEnvelope(Lifecycle& state, const events::v1::Event& event);

// Checks the custom_ids planned since the last check (see the header comment): kDataLoss
// naming the seq of the first repeated one.
base::Status CheckPlannedRequests(Lifecycle& state);

base::Status TrackRunStarted(Lifecycle& state, std::uint64_t seq);
base::Status TrackRunEnded(Lifecycle& state, RunStatus status, std::uint64_t seq);
// RunResumed: a cancelled run runs again. Requests a cancel stopped (kFailedFinal with
// reason cancelled) in stages not completed return to kPlanned at the same attempt; at
// attempt 1 their kFailedEver is cleared (being cancelled is not a failure). The
// run-state projection also checks the cancel was resumable.
base::Status TrackRunResumed(Lifecycle& state, std::uint64_t seq);

// Each returns the index of the request / batch / stage the event is about.
base::Result<std::uint32_t> TrackRequestPlanned(Lifecycle& state,
                                                const events::v1::RequestPlanned& planned,
                                                std::uint64_t seq);
base::Result<std::uint32_t> TrackBatchPlanned(Lifecycle& state,
                                              const events::v1::BatchPlanned& planned,
                                              std::uint64_t seq);
base::Result<std::uint32_t> TrackFileUploaded(Lifecycle& state,
                                              const events::v1::FileUploaded& uploaded,
                                              std::uint64_t seq);
base::Result<std::uint32_t> TrackBatchSubmitted(Lifecycle& state,
                                                const events::v1::BatchSubmitted& submitted,
                                                std::uint64_t seq);
base::Result<std::uint32_t> TrackSubmitRejected(Lifecycle& state,
                                                const events::v1::SubmitRejected& rejected,
                                                std::uint64_t seq);
base::Result<std::uint32_t> TrackBatchPolled(Lifecycle& state,
                                             const events::v1::BatchPolled& polled,
                                             std::uint64_t seq);
base::Result<std::uint32_t> TrackBatchEnded(Lifecycle& state, const events::v1::BatchEnded& ended,
                                            std::uint64_t seq);

struct TrackedResult {
  std::uint32_t request = kNoIndex;
  std::uint32_t batch = kNoIndex;
  bool duplicate = false;  // a re-ingested result: nothing changed
};
base::Result<TrackedResult> TrackRequestSucceeded(Lifecycle& state,
                                                  const events::v1::RequestSucceeded& succeeded,
                                                  std::uint64_t seq);
base::Result<TrackedResult> TrackRequestFailed(Lifecycle& state,
                                               const events::v1::RequestFailed& failed,
                                               std::uint64_t seq);
base::Result<std::uint32_t> TrackResultsIngested(Lifecycle& state,
                                                 const events::v1::ResultsIngested& ingested,
                                                 std::uint64_t seq);
// On success `state.scratch` holds the request indices (see Lifecycle::scratch).
base::Result<std::uint32_t> TrackRetryScheduled(Lifecycle& state,
                                                const events::v1::RetryScheduled& scheduled,
                                                std::uint64_t seq);
base::Result<std::uint32_t> TrackRequestsAbandoned(Lifecycle& state,
                                                   const events::v1::RequestsAbandoned& abandoned,
                                                   std::uint64_t seq);
// Creates the stage when it has no requests yet (a stage may complete empty).
base::Result<std::uint32_t> TrackStageCompleted(Lifecycle& state,
                                                const events::v1::StageCompleted& completed,
                                                std::uint64_t seq);

}  // namespace batchlog::replay
