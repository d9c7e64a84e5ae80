#include "replay/lifecycle.h"

#include <algorithm>
#include <limits>
#include <span>

namespace batchlog::replay {
namespace {

using events::v1::Event;
using CustomIds = google::protobuf::RepeatedPtrField<std::string>;

std::string Quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  out += text;
  out += '"';
  return out;
}

std::size_t StatusSlot(RequestStatus status) { return static_cast<std::size_t>(status); }

void SetStatus(Lifecycle& state, std::uint32_t request, RequestStatus to) {
  StageRecord& stage = state.stage_records[state.requests.stage(request)];
  --stage.by_status[StatusSlot(state.requests.status[request])];
  ++stage.by_status[StatusSlot(to)];
  state.requests.status[request] = to;
}

base::Status TableFull(std::uint64_t seq, std::string_view what) {
  return base::ResourceExhaustedError("seq " + std::to_string(seq) + ": the " + std::string(what) +
                                      " table is full");
}

// Interns workflow and stage, creating the stage's record when it is new.
base::Result<std::uint32_t> InternStage(Lifecycle& state, std::string_view workflow,
                                        std::string_view stage, std::uint64_t seq) {
  const std::uint32_t workflow_index = state.workflows.Intern(0, workflow).first;
  if (workflow_index == kNoIndex) return TableFull(seq, "workflow");
  const auto [stage_index, inserted] = state.stages.Intern(workflow_index, stage);
  if (stage_index == kNoIndex) return TableFull(seq, "stage");
  if (inserted) state.stage_records.push_back(StageRecord{.workflow = workflow_index});
  return stage_index;
}

base::Result<std::uint32_t> KnownStage(const Lifecycle& state, std::string_view event_name,
                                       std::string_view workflow, std::string_view stage,
                                       std::uint64_t seq) {
  const std::uint32_t index = state.FindStage(workflow, stage);
  if (index == kNoIndex) {
    return ImpossibleEvent(seq, std::string(event_name) + " for unknown stage " + Quoted(workflow) +
                                    "/" + Quoted(stage));
  }
  return index;
}

base::Result<std::uint32_t> KnownBatch(Lifecycle& state, std::string_view event_name,
                                       std::string_view batch_key, std::uint64_t seq) {
  std::uint32_t index = state.cached_batch;
  if (index == kNoIndex || index >= state.batches.size() ||
      state.batches.keys.id(index) != batch_key) {
    index = state.FindBatch(batch_key);
  }
  if (index == kNoIndex) {
    return ImpossibleEvent(
        seq, std::string(event_name) + " for unplanned batch_key " + Quoted(batch_key));
  }
  state.cached_batch = index;
  return index;
}

base::Status RequirePhase(const Lifecycle& state, std::uint32_t batch, BatchPhase phase,
                          std::string_view event_name, std::uint64_t seq) {
  const BatchPhase actual = state.batches.records[batch].phase;
  if (actual == phase) return base::Status::Ok();
  return ImpossibleEvent(seq, std::string(event_name) + " for batch " +
                                  Quoted(state.batches.keys.id(batch)) + " in phase " +
                                  std::string(BatchPhaseName(actual)) + " (expected " +
                                  std::string(BatchPhaseName(phase)) + ")");
}

base::Status CheckPlannedSeq(const Lifecycle& state, std::uint32_t batch, std::uint64_t planned_seq,
                             std::string_view event_name, std::uint64_t seq) {
  const std::uint64_t expected = state.batches.records[batch].planned_seq;
  if (planned_seq == 0 || planned_seq == expected) return base::Status::Ok();
  return ImpossibleEvent(seq, std::string(event_name) + " for batch " +
                                  Quoted(state.batches.keys.id(batch)) + " names planned_seq " +
                                  std::to_string(planned_seq) + ", but it was planned at seq " +
                                  std::to_string(expected));
}

// Looks up every custom_id in `stage` into state.scratch (kNoIndex when unknown). All ids
// are hashed and their slots prefetched before the first probe, so the cache misses of a
// large batch overlap.
void LookupRequests(Lifecycle& state, std::uint32_t stage, const CustomIds& custom_ids) {
  const IdTable& ids = state.requests.ids;
  state.hash_scratch.clear();
  for (const std::string& custom_id : custom_ids) {
    const std::uint32_t hash = IdTable::Hash(stage, custom_id);
    ids.Prefetch(hash);
    state.hash_scratch.push_back(hash);
  }
  state.scratch.clear();
  auto hash = state.hash_scratch.begin();
  for (const std::string& custom_id : custom_ids) {
    state.scratch.push_back(ids.Find(stage, custom_id, *hash++));
  }
}

void Unmark(Lifecycle& state, std::span<const std::uint32_t> requests) {
  for (const std::uint32_t request : requests) {
    if (request != kNoIndex) {
      state.requests.flags[request] &= static_cast<std::uint8_t>(~kMarked);
    }
  }
}

// Resolves the custom_ids of one event into state.scratch: each must be a request of
// `stage`, listed once. Repeats are found by marking each request as it is seen (no sort);
// the marks are cleared again before returning.
base::Status ResolveRequests(Lifecycle& state, std::uint32_t stage, const CustomIds& custom_ids,
                             std::string_view event_name, std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(CheckPlannedRequests(state));
  LookupRequests(state, stage, custom_ids);
  std::uint8_t* flags = state.requests.flags.data();
  std::size_t i = 0;
  base::Status status;
  for (; i < state.scratch.size(); ++i) {
    const std::uint32_t request = state.scratch[i];
    if (request == kNoIndex) {
      status = ImpossibleEvent(seq, std::string(event_name) + " for unknown custom_id " +
                                        Quoted(custom_ids[static_cast<int>(i)]) + " in stage " +
                                        Quoted(state.stage_name(stage)));
      break;
    }
    if ((flags[request] & kMarked) != 0) {
      status = ImpossibleEvent(seq, std::string(event_name) + " lists custom_id " +
                                        Quoted(custom_ids[static_cast<int>(i)]) + " twice");
      break;
    }
    flags[request] |= kMarked;
  }
  Unmark(state, std::span<const std::uint32_t>(state.scratch.data(), i));
  return status;
}

// --- commits: apply a validated event given the request indices it resolved to -----------

base::Status CommitRequestPlanned(Lifecycle& state, std::uint32_t stage) {
  RequestTable& requests = state.requests;
  requests.status.push_back(RequestStatus::kPlanned);
  requests.attempt.push_back(0);
  requests.flags.push_back(0);
  requests.last_batch.push_back(kNoIndex);
  requests.last_error.push_back(kNoIndex);
  StageRecord& record = state.stage_records[stage];
  ++record.requests;
  ++record.by_status[StatusSlot(RequestStatus::kPlanned)];
  return base::Status::Ok();
}

base::Result<std::uint32_t> CommitBatchPlanned(Lifecycle& state,
                                               const events::v1::BatchPlanned& planned,
                                               std::uint32_t stage,
                                               std::span<const std::uint32_t> members,
                                               std::uint64_t seq) {
  std::uint32_t provider = kNoIndex;
  if (!planned.provider().empty()) {
    provider = state.providers.Intern(0, planned.provider()).first;
    if (provider == kNoIndex) return TableFull(seq, "provider");
  }
  const std::uint32_t batch = state.batches.keys.Intern(0, planned.batch_key()).first;
  if (batch == kNoIndex) return TableFull(seq, "batch");
  const auto [min_attempt, max_attempt] =
      std::minmax_element(planned.attempts().begin(), planned.attempts().end());
  BatchRecord& record = state.batches.records.emplace_back();
  record.stage = stage;
  record.provider = provider;
  record.planned_seq = seq;
  record.member_begin = static_cast<std::uint32_t>(state.batches.members.size());
  record.member_count = static_cast<std::uint32_t>(members.size());
  record.min_attempt = static_cast<std::uint16_t>(*min_attempt);
  record.max_attempt = static_cast<std::uint16_t>(*max_attempt);
  state.batches.members.append(members.data(), members.size());
  StageRecord& stage_record = state.stage_records[stage];
  stage_record.max_attempt = std::max(stage_record.max_attempt, record.max_attempt);
  RequestTable& requests = state.requests;
  auto attempt = planned.attempts().begin();
  for (const std::uint32_t request : members) {
    SetStatus(state, request, RequestStatus::kInFlight);
    requests.attempt[request] = static_cast<std::uint16_t>(*attempt++);
    requests.flags[request] &= kFailedEver;
    requests.last_batch[request] = batch;
  }
  return batch;
}

void CommitResult(Lifecycle& state, const TrackedResult& result, RequestStatus to,
                  std::uint8_t set_flags) {
  std::uint8_t& flags = state.requests.flags[result.request];
  flags = static_cast<std::uint8_t>((flags & kFailedEver) | kHasResult | set_flags);
  SetStatus(state, result.request, to);
  ++state.batches.records[result.batch].results;
}

void CommitSucceeded(Lifecycle& state, const TrackedResult& result) {
  if (!result.duplicate) CommitResult(state, result, RequestStatus::kSucceeded, kResultSucceeded);
}

base::Status CommitFailed(Lifecycle& state, const TrackedResult& result,
                          const events::v1::RequestFailed& failed, std::uint64_t seq) {
  if (result.duplicate) return base::Status::Ok();
  // The most specific code the event carries names the failure in the manifest.
  std::string_view code = failed.code();
  if (code.empty()) code = failed.error_type();
  if (code.empty()) code = "unknown";
  const std::uint32_t error = state.error_codes.Intern(0, code).first;
  if (error == kNoIndex) return TableFull(seq, "error code");
  // Permanent failures and requests of a cancelled batch are final; the rest await a
  // retry decision.
  const bool cancelled = failed.error_class() == events::v1::ERROR_CLASS_CANCELLED;
  const bool permanent = failed.error_class() == events::v1::ERROR_CLASS_PERMANENT;
  const auto reason = static_cast<std::uint8_t>(
      (permanent   ? events::v1::ABANDON_REASON_PERMANENT
       : cancelled ? events::v1::ABANDON_REASON_CANCELLED
                   : events::v1::ABANDON_REASON_UNSPECIFIED)
      << kAbandonReasonShift);
  CommitResult(state, result,
               permanent || cancelled ? RequestStatus::kFailedFinal
                                      : RequestStatus::kFailedRetryableWaiting,
               static_cast<std::uint8_t>(kFailedEver | reason));
  state.requests.last_error[result.request] = error;
  return base::Status::Ok();
}

void CommitRetryScheduled(Lifecycle& state, std::span<const std::uint32_t> requests) {
  for (const std::uint32_t request : requests) {
    SetStatus(state, request, RequestStatus::kRetryScheduled);
  }
}

void CommitRequestsAbandoned(Lifecycle& state, std::span<const std::uint32_t> requests,
                             events::v1::AbandonReason reason) {
  const auto reason_bits =
      static_cast<std::uint8_t>(static_cast<unsigned>(reason) << kAbandonReasonShift);
  for (const std::uint32_t request : requests) {
    SetStatus(state, request, RequestStatus::kFailedFinal);
    std::uint8_t& flags = state.requests.flags[request];
    flags = static_cast<std::uint8_t>((flags & ~(0xf << kAbandonReasonShift)) | reason_bits);
  }
}

// The request a result names, checked against its batch and current attempt.
base::Result<TrackedResult> ResolveResult(Lifecycle& state, std::string_view event_name,
                                          std::string_view batch_key, std::string_view custom_id,
                                          std::uint32_t attempt, bool success, std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, event_name, batch_key, seq));
  const BatchRecord& record = state.batches.records[batch];
  if (record.phase != BatchPhase::kSubmitted && record.phase != BatchPhase::kEnded) {
    return ImpossibleEvent(seq, std::string(event_name) + " for batch " + Quoted(batch_key) +
                                    " in phase " + std::string(BatchPhaseName(record.phase)));
  }
  std::uint32_t request = kNoIndex;
  if (state.result_cursors.size() < state.batches.size()) {
    state.result_cursors.resize(state.batches.size(), 0);
  }
  std::uint32_t& cursor = state.result_cursors[batch];
  if (cursor < record.member_count) {
    const std::uint32_t candidate = state.batches.members[record.member_begin + cursor];
    if (state.requests.stage(candidate) == record.stage &&
        state.requests.custom_id(candidate) == custom_id) {
      request = candidate;
      ++cursor;
    }
  }
  if (request == kNoIndex) {
    BATCHLOG_RETURN_IF_ERROR(CheckPlannedRequests(state));
    request = state.FindRequest(record.stage, custom_id);
  }
  if (request == kNoIndex) {
    return ImpossibleEvent(seq, std::string(event_name) + " for unknown custom_id " +
                                    Quoted(custom_id) + " in batch " + Quoted(batch_key));
  }
  if (state.requests.last_batch[request] != batch) {
    return ImpossibleEvent(seq, std::string(event_name) + " for custom_id " + Quoted(custom_id) +
                                    ", which is not in batch " + Quoted(batch_key));
  }
  const std::uint16_t current = state.requests.attempt[request];
  if (attempt != current) {
    return ImpossibleEvent(seq, std::string(event_name) + " for custom_id " + Quoted(custom_id) +
                                    " at attempt " + std::to_string(attempt) + ", but batch " +
                                    Quoted(batch_key) + " holds attempt " +
                                    std::to_string(current));
  }
  TrackedResult result{.request = request, .batch = batch};
  const std::uint8_t flags = state.requests.flags[request];
  if ((flags & kHasResult) != 0) {
    if (((flags & kResultSucceeded) != 0) != success) {
      return ImpossibleEvent(seq, std::string(event_name) + " for custom_id " + Quoted(custom_id) +
                                      " contradicts its earlier result in batch " +
                                      Quoted(batch_key));
    }
    result.duplicate = true;
  }
  state.last_result_request = result.request;
  state.last_result_batch = result.batch;
  state.last_result_duplicate = result.duplicate;
  return result;
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kNotStarted:
      return "not_started";
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string_view RequestStatusName(RequestStatus status) {
  switch (status) {
    case RequestStatus::kPlanned:
      return "planned";
    case RequestStatus::kInFlight:
      return "in_flight";
    case RequestStatus::kSucceeded:
      return "succeeded";
    case RequestStatus::kFailedRetryableWaiting:
      return "failed_retryable_waiting";
    case RequestStatus::kRetryScheduled:
      return "retry_scheduled";
    case RequestStatus::kFailedFinal:
      return "failed_final";
  }
  return "unknown";
}

std::string_view BatchPhaseName(BatchPhase phase) {
  switch (phase) {
    case BatchPhase::kPlanned:
      return "planned";
    case BatchPhase::kRejected:
      return "rejected";
    case BatchPhase::kSubmitted:
      return "submitted";
    case BatchPhase::kEnded:
      return "ended";
    case BatchPhase::kIngested:
      return "ingested";
  }
  return "unknown";
}

std::uint32_t Lifecycle::FindStage(std::string_view workflow, std::string_view stage) const {
  const std::uint32_t workflow_index = workflows.Find(0, workflow);
  if (workflow_index == kNoIndex) return kNoIndex;
  return stages.Find(workflow_index, stage);
}

void Lifecycle::RecomputeStageCounters() {
  for (StageRecord& record : stage_records) {
    record.requests = 0;
    record.by_status.fill(0);
    record.max_attempt = 0;
  }
  for (std::uint32_t request = 0; request < requests.size(); ++request) {
    StageRecord& record = stage_records[requests.stage(request)];
    ++record.requests;
    ++record.by_status[StatusSlot(requests.status[request])];
    record.max_attempt = std::max(record.max_attempt, requests.attempt[request]);
  }
}

std::size_t Lifecycle::RequestBytes() const {
  return requests.ids.MemoryBytes() - requests.ids.ArenaBytes() +
         requests.status.capacity() * sizeof(RequestStatus) +
         requests.attempt.capacity() * sizeof(std::uint16_t) +
         requests.flags.capacity() * sizeof(std::uint8_t) +
         requests.last_batch.capacity() * sizeof(std::uint32_t) +
         requests.last_error.capacity() * sizeof(std::uint32_t) +
         batches.members.capacity() * sizeof(std::uint32_t);
}

bool operator==(const Lifecycle& a, const Lifecycle& b) {
  return a.run_id == b.run_id && a.run_status == b.run_status && a.workflows == b.workflows &&
         a.stages == b.stages && a.providers == b.providers && a.error_codes == b.error_codes &&
         a.requests == b.requests && a.batches == b.batches &&
         std::equal(a.stage_records.begin(), a.stage_records.end(), b.stage_records.begin(),
                    b.stage_records.end(), [](const StageRecord& x, const StageRecord& y) {
                      return x.workflow == y.workflow && x.completed == y.completed &&
                             x.requests == y.requests && x.by_status == y.by_status &&
                             x.max_attempt == y.max_attempt;
                    });
}

base::Status ImpossibleEvent(std::uint64_t seq, std::string_view what) {
  return base::DataLossError("seq " + std::to_string(seq) +
                             ": impossible event: " + std::string(what));
}

base::Status ApplyUnknownPayload(const events::v1::Event& event) {
  if (event.reader_may_ignore()) return base::Status::Ok();
  return ImpossibleEvent(event.seq(), "event without a payload this reader knows");
}

base::Status CheckPlannedRequests(Lifecycle& state) {
  IdTable& ids = state.requests.ids;
  if (state.unchecked_seqs.empty() && ids.pending() == 0) return base::Status::Ok();
  ids.IndexAll();
  const std::uint32_t repeated = ids.TakeFirstDuplicate();
  base::Status status;
  if (repeated != kNoIndex) {
    const std::size_t offset = repeated - state.unchecked_base;
    const std::uint64_t seq =
        repeated >= state.unchecked_base && offset < state.unchecked_seqs.size()
            ? state.unchecked_seqs[offset]
            : 0;
    status = ImpossibleEvent(seq, "RequestPlanned for custom_id " + Quoted(ids.id(repeated)) +
                                      ", already planned in stage " +
                                      Quoted(state.stage_name(ids.scope(repeated))));
  }
  state.unchecked_seqs.clear();
  state.unchecked_base = ids.size();
  return status;
}

base::Status TrackEnvelope(Lifecycle& state, const Event& event) {
  if (state.run_status == RunStatus::kNotStarted) {
    if (event.payload_case() != Event::kRunStarted) {
      return ImpossibleEvent(event.seq(), "the run's first event is not RunStarted");
    }
    state.run_id = event.run_id();
    return base::Status::Ok();
  }
  if (event.run_id() != state.run_id) [[unlikely]] {
    return ImpossibleEvent(event.seq(), "event of run " + Quoted(event.run_id()) +
                                            " in the log of run " + Quoted(state.run_id));
  }
  return base::Status::Ok();
}

base::Status TrackRunStarted(Lifecycle& state, std::uint64_t seq) {
  if (state.run_status != RunStatus::kNotStarted) {
    return ImpossibleEvent(seq, "RunStarted for a run that already started");
  }
  state.run_status = RunStatus::kRunning;
  return base::Status::Ok();
}

base::Status TrackRunEnded(Lifecycle& state, RunStatus status, std::uint64_t seq) {
  if (state.run_status == RunStatus::kNotStarted) {
    return ImpossibleEvent(seq, "a run ended before it started");
  }
  state.run_status = status;
  return base::Status::Ok();
}

base::Status TrackRunResumed(Lifecycle& state, std::uint64_t seq) {
  if (state.run_status != RunStatus::kCancelled) {
    return ImpossibleEvent(seq, std::string("RunResumed for a run that is ") +
                                    std::string(RunStatusName(state.run_status)));
  }
  state.run_status = RunStatus::kRunning;
  RequestTable& requests = state.requests;
  for (std::uint32_t request = 0; request < requests.size(); ++request) {
    if (requests.status[request] != RequestStatus::kFailedFinal ||
        requests.abandon_reason(request) != events::v1::ABANDON_REASON_CANCELLED ||
        state.stage_records[requests.stage(request)].completed) {
      continue;
    }
    SetStatus(state, request, RequestStatus::kPlanned);
    // At attempt 1 the cancel was its only "failure"; a later attempt follows a real one.
    requests.flags[request] &=
        requests.attempt[request] > 1 ? kFailedEver : static_cast<std::uint8_t>(0);
  }
  return base::Status::Ok();
}

base::Result<std::uint32_t> TrackRequestPlanned(Lifecycle& state,
                                                const events::v1::RequestPlanned& planned,
                                                std::uint64_t seq) {
  if (planned.workflow().empty() || planned.stage().empty() || planned.custom_id().empty()) {
    return ImpossibleEvent(seq, "RequestPlanned without workflow, stage or custom_id");
  }
  // Requests are planned in long runs of one stage: try the last one before hashing names.
  std::uint32_t stage = state.cached_stage;
  if (stage == kNoIndex || stage >= state.stages.size() ||
      state.stage_name(stage) != planned.stage() ||
      state.workflow_name(state.stage_records[stage].workflow) != planned.workflow()) {
    stage = state.FindStage(planned.workflow(), planned.stage());
  }
  // Earlier ids are checked before this event changes anything, so an error (about an
  // earlier event) leaves every per-request array of every projection the same length.
  if (state.unchecked_seqs.size() >= kPlannedCheckWindow) {
    BATCHLOG_RETURN_IF_ERROR(CheckPlannedRequests(state));
  }
  if (stage == kNoIndex) {
    BATCHLOG_ASSIGN_OR_RETURN(stage, InternStage(state, planned.workflow(), planned.stage(), seq));
  }
  state.cached_stage = stage;
  // Appended unchecked; checked with the next batch of planned ids (header comment).
  if (state.unchecked_seqs.empty()) state.unchecked_base = state.requests.ids.size();
  const std::uint32_t request = state.requests.ids.Append(stage, planned.custom_id());
  if (request == kNoIndex) return TableFull(seq, "request");
  state.unchecked_seqs.push_back(seq);
  BATCHLOG_RETURN_IF_ERROR(CommitRequestPlanned(state, stage));
  return request;
}

base::Result<std::uint32_t> TrackBatchPlanned(Lifecycle& state,
                                              const events::v1::BatchPlanned& planned,
                                              std::uint64_t seq) {
  if (planned.batch_key().empty()) return ImpossibleEvent(seq, "BatchPlanned without batch_key");
  if (state.FindBatch(planned.batch_key()) != kNoIndex) {
    return ImpossibleEvent(seq, "BatchPlanned for batch_key " + Quoted(planned.batch_key()) +
                                    ", which was already planned");
  }
  BATCHLOG_ASSIGN_OR_RETURN(
      const std::uint32_t stage,
      KnownStage(state, "BatchPlanned", planned.workflow(), planned.stage(), seq));
  const int count = planned.custom_ids_size();
  if (count == 0) return ImpossibleEvent(seq, "BatchPlanned with no requests");
  if (planned.attempts_size() != count) {
    return ImpossibleEvent(seq, "BatchPlanned " + Quoted(planned.batch_key()) + " has " +
                                    std::to_string(count) + " custom_ids but " +
                                    std::to_string(planned.attempts_size()) + " attempts");
  }
  if (state.batches.members.size() + static_cast<std::size_t>(count) >
      std::numeric_limits<std::uint32_t>::max()) {
    return TableFull(seq, "batch member");
  }
  BATCHLOG_RETURN_IF_ERROR(
      ResolveRequests(state, stage, planned.custom_ids(), "BatchPlanned", seq));
  const RequestTable& requests = state.requests;
  for (int i = 0; i < count; ++i) {
    const std::uint32_t request = state.scratch[static_cast<std::size_t>(i)];
    const std::uint32_t attempt = planned.attempts(i);
    const std::uint16_t current = requests.attempt[request];
    const RequestStatus status = requests.status[request];
    bool allowed = false;
    switch (status) {
      case RequestStatus::kPlanned:
        // Never processed at `current` (rejected, or its batch failed): may go again.
        allowed = attempt >= current;
        break;
      case RequestStatus::kFailedRetryableWaiting:
      case RequestStatus::kRetryScheduled:
        allowed = attempt > current;
        break;
      case RequestStatus::kInFlight:
      case RequestStatus::kSucceeded:
      case RequestStatus::kFailedFinal:
        return ImpossibleEvent(seq, "BatchPlanned " + Quoted(planned.batch_key()) +
                                        " holds custom_id " + Quoted(planned.custom_ids(i)) +
                                        ", which is " + std::string(RequestStatusName(status)));
    }
    if (attempt == 0 || attempt > std::numeric_limits<std::uint16_t>::max()) {
      return ImpossibleEvent(seq, "BatchPlanned " + Quoted(planned.batch_key()) +
                                      " gives custom_id " + Quoted(planned.custom_ids(i)) +
                                      " attempt " + std::to_string(attempt));
    }
    if (!allowed) {
      return ImpossibleEvent(seq, "BatchPlanned " + Quoted(planned.batch_key()) +
                                      " moves custom_id " + Quoted(planned.custom_ids(i)) +
                                      " back from attempt " + std::to_string(current) + " to " +
                                      std::to_string(attempt));
    }
  }
  return CommitBatchPlanned(state, planned, stage, state.scratch, seq);
}

base::Result<std::uint32_t> TrackFileUploaded(Lifecycle& state,
                                              const events::v1::FileUploaded& uploaded,
                                              std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, "FileUploaded", uploaded.batch_key(), seq));
  BATCHLOG_RETURN_IF_ERROR(RequirePhase(state, batch, BatchPhase::kPlanned, "FileUploaded", seq));
  BATCHLOG_RETURN_IF_ERROR(
      CheckPlannedSeq(state, batch, uploaded.planned_seq(), "FileUploaded", seq));
  state.batches.records[batch].file_id = uploaded.file_id();
  return batch;
}

base::Result<std::uint32_t> TrackBatchSubmitted(Lifecycle& state,
                                                const events::v1::BatchSubmitted& submitted,
                                                std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, "BatchSubmitted", submitted.batch_key(), seq));
  BATCHLOG_RETURN_IF_ERROR(RequirePhase(state, batch, BatchPhase::kPlanned, "BatchSubmitted", seq));
  BATCHLOG_RETURN_IF_ERROR(
      CheckPlannedSeq(state, batch, submitted.planned_seq(), "BatchSubmitted", seq));
  BatchRecord& record = state.batches.records[batch];
  record.phase = BatchPhase::kSubmitted;
  record.provider_batch_id = submitted.provider_batch_id();
  record.adopted = submitted.adopted();
  return batch;
}

base::Result<std::uint32_t> TrackSubmitRejected(Lifecycle& state,
                                                const events::v1::SubmitRejected& rejected,
                                                std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, "SubmitRejected", rejected.batch_key(), seq));
  BATCHLOG_RETURN_IF_ERROR(RequirePhase(state, batch, BatchPhase::kPlanned, "SubmitRejected", seq));
  BATCHLOG_RETURN_IF_ERROR(
      CheckPlannedSeq(state, batch, rejected.planned_seq(), "SubmitRejected", seq));
  BatchRecord& record = state.batches.records[batch];
  record.phase = BatchPhase::kRejected;
  // The provider never saw these requests: they return to planned at the same attempt.
  for (std::uint32_t i = 0; i < record.member_count; ++i) {
    const std::uint32_t request = state.batches.members[record.member_begin + i];
    if (state.requests.status[request] == RequestStatus::kInFlight &&
        state.requests.last_batch[request] == batch) {
      SetStatus(state, request, RequestStatus::kPlanned);
    }
  }
  return batch;
}

base::Result<std::uint32_t> TrackBatchPolled(Lifecycle& state,
                                             const events::v1::BatchPolled& polled,
                                             std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, "BatchPolled", polled.batch_key(), seq));
  BATCHLOG_RETURN_IF_ERROR(RequirePhase(state, batch, BatchPhase::kSubmitted, "BatchPolled", seq));
  state.batches.records[batch].status = polled.status();
  return batch;
}

base::Result<std::uint32_t> TrackBatchEnded(Lifecycle& state, const events::v1::BatchEnded& ended,
                                            std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, "BatchEnded", ended.batch_key(), seq));
  BATCHLOG_RETURN_IF_ERROR(RequirePhase(state, batch, BatchPhase::kSubmitted, "BatchEnded", seq));
  BATCHLOG_RETURN_IF_ERROR(CheckPlannedSeq(state, batch, ended.planned_seq(), "BatchEnded", seq));
  switch (ended.status()) {
    case events::v1::BATCH_STATUS_COMPLETED:
    case events::v1::BATCH_STATUS_FAILED:
    case events::v1::BATCH_STATUS_EXPIRED:
    case events::v1::BATCH_STATUS_CANCELLED:
      break;
    default:
      return ImpossibleEvent(seq, "BatchEnded for batch " + Quoted(ended.batch_key()) +
                                      " with non-terminal status " +
                                      std::to_string(static_cast<int>(ended.status())));
  }
  BatchRecord& record = state.batches.records[batch];
  record.phase = BatchPhase::kEnded;
  record.status = ended.status();
  return batch;
}

base::Result<TrackedResult> TrackRequestSucceeded(Lifecycle& state,
                                                  const events::v1::RequestSucceeded& succeeded,
                                                  std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const TrackedResult result,
                            ResolveResult(state, "RequestSucceeded", succeeded.batch_key(),
                                          succeeded.custom_id(), succeeded.attempt(), true, seq));
  CommitSucceeded(state, result);
  return result;
}

base::Result<TrackedResult> TrackRequestFailed(Lifecycle& state,
                                               const events::v1::RequestFailed& failed,
                                               std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const TrackedResult result,
                            ResolveResult(state, "RequestFailed", failed.batch_key(),
                                          failed.custom_id(), failed.attempt(), false, seq));
  BATCHLOG_RETURN_IF_ERROR(CommitFailed(state, result, failed, seq));
  return result;
}

base::Result<std::uint32_t> TrackResultsIngested(Lifecycle& state,
                                                 const events::v1::ResultsIngested& ingested,
                                                 std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            KnownBatch(state, "ResultsIngested", ingested.batch_key(), seq));
  BATCHLOG_RETURN_IF_ERROR(RequirePhase(state, batch, BatchPhase::kEnded, "ResultsIngested", seq));
  BATCHLOG_RETURN_IF_ERROR(
      CheckPlannedSeq(state, batch, ingested.planned_seq(), "ResultsIngested", seq));
  BatchRecord& record = state.batches.records[batch];
  record.phase = BatchPhase::kIngested;
  // A member with no result was never processed (e.g. the batch failed validation): it
  // returns to planned at the same attempt.
  for (std::uint32_t i = 0; i < record.member_count; ++i) {
    const std::uint32_t request = state.batches.members[record.member_begin + i];
    if (state.requests.status[request] == RequestStatus::kInFlight &&
        state.requests.last_batch[request] == batch) {
      SetStatus(state, request, RequestStatus::kPlanned);
    }
  }
  return batch;
}

base::Result<std::uint32_t> TrackRetryScheduled(Lifecycle& state,
                                                const events::v1::RetryScheduled& scheduled,
                                                std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const std::uint32_t stage,
      KnownStage(state, "RetryScheduled", scheduled.workflow(), scheduled.stage(), seq));
  if (scheduled.custom_ids().empty())
    return ImpossibleEvent(seq, "RetryScheduled lists no requests");
  if (scheduled.attempt() > std::numeric_limits<std::uint16_t>::max()) {
    return ImpossibleEvent(seq,
                           "RetryScheduled for attempt " + std::to_string(scheduled.attempt()));
  }
  BATCHLOG_RETURN_IF_ERROR(
      ResolveRequests(state, stage, scheduled.custom_ids(), "RetryScheduled", seq));
  for (const std::uint32_t request : state.scratch) {
    const RequestStatus status = state.requests.status[request];
    const std::uint16_t current = state.requests.attempt[request];
    const bool waiting = status == RequestStatus::kFailedRetryableWaiting ||
                         status == RequestStatus::kRetryScheduled ||
                         status == RequestStatus::kPlanned;
    if (!waiting) {
      return ImpossibleEvent(seq, "RetryScheduled for custom_id " +
                                      Quoted(state.requests.custom_id(request)) + ", which is " +
                                      std::string(RequestStatusName(status)));
    }
    if (scheduled.attempt() <= current) {
      return ImpossibleEvent(seq, "RetryScheduled moves custom_id " +
                                      Quoted(state.requests.custom_id(request)) +
                                      " back from attempt " + std::to_string(current) + " to " +
                                      std::to_string(scheduled.attempt()));
    }
  }
  CommitRetryScheduled(state, state.scratch);
  return stage;
}

base::Result<std::uint32_t> TrackRequestsAbandoned(Lifecycle& state,
                                                   const events::v1::RequestsAbandoned& abandoned,
                                                   std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const std::uint32_t stage,
      KnownStage(state, "RequestsAbandoned", abandoned.workflow(), abandoned.stage(), seq));
  if (abandoned.custom_ids().empty()) {
    return ImpossibleEvent(seq, "RequestsAbandoned lists no requests");
  }
  if (!events::v1::AbandonReason_IsValid(abandoned.reason())) {
    return ImpossibleEvent(seq, "RequestsAbandoned with unknown reason " +
                                    std::to_string(static_cast<int>(abandoned.reason())));
  }
  BATCHLOG_RETURN_IF_ERROR(
      ResolveRequests(state, stage, abandoned.custom_ids(), "RequestsAbandoned", seq));
  for (const std::uint32_t request : state.scratch) {
    if (state.requests.status[request] == RequestStatus::kSucceeded) {
      return ImpossibleEvent(seq, "RequestsAbandoned for custom_id " +
                                      Quoted(state.requests.custom_id(request)) +
                                      ", which succeeded");
    }
  }
  CommitRequestsAbandoned(state, state.scratch, abandoned.reason());
  return stage;
}

base::Result<std::uint32_t> TrackStageCompleted(Lifecycle& state,
                                                const events::v1::StageCompleted& completed,
                                                std::uint64_t seq) {
  if (completed.workflow().empty() || completed.stage().empty()) {
    return ImpossibleEvent(seq, "StageCompleted without workflow or stage");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t stage,
                            InternStage(state, completed.workflow(), completed.stage(), seq));
  state.stage_records[stage].completed = true;
  return stage;
}

}  // namespace batchlog::replay
