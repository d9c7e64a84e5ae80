#include "replay/run_state_projection.h"

#include <algorithm>
#include <limits>

namespace batchlog::replay {
namespace {

using events::v1::Event;

// A request leaves its retry group (it was planned, rescheduled or abandoned).
void LeaveRetryGroup(RunState& state, std::uint32_t request) {
  std::uint32_t& group = state.request_retry_group[request];
  if (group == kNoIndex) return;
  --state.retry_groups[group].pending;
  group = kNoIndex;
}

base::Status ApplyRunStarted(RunState& state, const events::v1::RunStarted& started,
                             std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackRunStarted(state.lifecycle, seq));
  state.run_name = started.run_name();
  state.config_sha256 = started.config_sha256();
  state.config_seq = seq;
  state.batchlog_version = started.batchlog_version();
  state.random_seed = started.random_seed();
  return base::Status::Ok();
}

base::Status ApplyRequestPlanned(RunState& state, const events::v1::RequestPlanned& planned,
                                 std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackRequestPlanned(state.lifecycle, planned, seq).status());
  state.request_ordinal.push_back(planned.ordinal());
  state.request_retry_group.push_back(kNoIndex);
  ++state.counters.requests_planned;
  return base::Status::Ok();
}

base::Status ApplyBatchPlanned(RunState& state, const events::v1::BatchPlanned& planned,
                               std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t batch,
                            TrackBatchPlanned(state.lifecycle, planned, seq));
  const BatchRecord& record = state.lifecycle.batches.records[batch];
  for (std::uint32_t i = 0; i < record.member_count; ++i) {
    LeaveRetryGroup(state, state.lifecycle.batches.members[record.member_begin + i]);
  }
  ++state.counters.batches_planned;
  return base::Status::Ok();
}

base::Status ApplyFileUploaded(RunState& state, const events::v1::FileUploaded& uploaded,
                               std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackFileUploaded(state.lifecycle, uploaded, seq).status());
  ++state.counters.files_uploaded;
  return base::Status::Ok();
}

base::Status ApplyBatchSubmitted(RunState& state, const events::v1::BatchSubmitted& submitted,
                                 std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackBatchSubmitted(state.lifecycle, submitted, seq).status());
  ++state.counters.batches_submitted;
  if (submitted.adopted()) ++state.counters.batches_adopted;
  return base::Status::Ok();
}

base::Status ApplySubmitRejected(RunState& state, const events::v1::SubmitRejected& rejected,
                                 std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackSubmitRejected(state.lifecycle, rejected, seq).status());
  ++state.counters.submits_rejected;
  return base::Status::Ok();
}

base::Status ApplyBatchPolled(RunState& state, const events::v1::BatchPolled& polled,
                              std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackBatchPolled(state.lifecycle, polled, seq).status());
  ++state.counters.polls;
  return base::Status::Ok();
}

base::Status ApplyBatchEnded(RunState& state, const events::v1::BatchEnded& ended,
                             std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackBatchEnded(state.lifecycle, ended, seq).status());
  ++state.counters.batches_ended;
  if (ended.status() != events::v1::BATCH_STATUS_COMPLETED) {
    ++state.counters.batches_ended_unsuccessfully;
  }
  return base::Status::Ok();
}

base::Status ApplyRequestSucceeded(RunState& state, const events::v1::RequestSucceeded& succeeded,
                                   std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const TrackedResult result,
                            TrackRequestSucceeded(state.lifecycle, succeeded, seq));
  ++(result.duplicate ? state.counters.results_duplicate : state.counters.results_succeeded);
  return base::Status::Ok();
}

base::Status ApplyRequestFailed(RunState& state, const events::v1::RequestFailed& failed,
                                std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const TrackedResult result,
                            TrackRequestFailed(state.lifecycle, failed, seq));
  ++(result.duplicate ? state.counters.results_duplicate : state.counters.results_failed);
  return base::Status::Ok();
}

base::Status ApplyResultsIngested(RunState& state, const events::v1::ResultsIngested& ingested,
                                  std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackResultsIngested(state.lifecycle, ingested, seq).status());
  ++state.counters.batches_ingested;
  return base::Status::Ok();
}

base::Status ApplyRetryScheduled(RunState& state, const events::v1::RetryScheduled& scheduled,
                                 std::uint64_t seq) {
  if (state.retry_members.size() + static_cast<std::size_t>(scheduled.custom_ids_size()) >
          std::numeric_limits<std::uint32_t>::max() ||
      state.retry_groups.size() >= kNoIndex) {
    return base::ResourceExhaustedError("seq " + std::to_string(seq) +
                                        ": the retry schedule is full");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint32_t stage,
                            TrackRetryScheduled(state.lifecycle, scheduled, seq));
  const auto group = static_cast<std::uint32_t>(state.retry_groups.size());
  RetryGroup& record = state.retry_groups.emplace_back();
  record.stage = stage;
  record.attempt = static_cast<std::uint16_t>(scheduled.attempt());
  record.not_before_unix_us = scheduled.not_before_unix_us();
  record.member_begin = static_cast<std::uint32_t>(state.retry_members.size());
  record.member_count = static_cast<std::uint32_t>(state.lifecycle.scratch.size());
  for (const std::uint32_t request : state.lifecycle.scratch) {
    LeaveRetryGroup(state, request);
    state.request_retry_group[request] = group;
    state.retry_members.push_back(request);
  }
  state.retry_groups[group].pending = record.member_count;
  state.counters.retries_scheduled += record.member_count;
  return base::Status::Ok();
}

base::Status ApplyRequestsAbandoned(RunState& state, const events::v1::RequestsAbandoned& abandoned,
                                    std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackRequestsAbandoned(state.lifecycle, abandoned, seq).status());
  for (const std::uint32_t request : state.lifecycle.scratch) LeaveRetryGroup(state, request);
  state.counters.requests_abandoned += state.lifecycle.scratch.size();
  return base::Status::Ok();
}

base::Status ApplyQuotaWarning(RunState& state, const events::v1::QuotaWarning& warning) {
  ++state.counters.quota_warnings;
  state.quota_holding = warning.holding();
  return base::Status::Ok();
}

base::Status ApplyStageCompleted(RunState& state, const events::v1::StageCompleted& completed,
                                 std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackStageCompleted(state.lifecycle, completed, seq).status());
  ++state.counters.stages_completed;
  return base::Status::Ok();
}

base::Status ApplyRunCompleted(RunState& state, std::uint64_t seq) {
  return TrackRunEnded(state.lifecycle, RunStatus::kCompleted, seq);
}

base::Status ApplyRunFailed(RunState& state, const events::v1::RunFailed& failed,
                            std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackRunEnded(state.lifecycle, RunStatus::kFailed, seq));
  state.end_reason = failed.reason();
  state.end_code = failed.code();
  return base::Status::Ok();
}

base::Status ApplyRunCancelled(RunState& state, const events::v1::RunCancelled& cancelled,
                               std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackRunEnded(state.lifecycle, RunStatus::kCancelled, seq));
  state.end_reason = cancelled.reason();
  state.resumable = cancelled.resumable();
  return base::Status::Ok();
}

base::Status ApplyRunResumed(RunState& state, std::uint64_t seq) {
  if (state.lifecycle.run_status == RunStatus::kCancelled && !state.resumable) {
    return ImpossibleEvent(seq, "RunResumed for a run cancelled for good (not resumable)");
  }
  BATCHLOG_RETURN_IF_ERROR(TrackRunResumed(state.lifecycle, seq));
  state.end_reason.clear();
  state.resumable = false;
  return base::Status::Ok();
}

base::Status ApplyWorkflowFileChanged(RunState& state,
                                      const events::v1::WorkflowFileChanged& changed,
                                      std::uint64_t seq) {
  if (state.lifecycle.run_status == RunStatus::kNotStarted) {
    return ImpossibleEvent(seq, "WorkflowFileChanged before RunStarted");
  }
  state.config_sha256 = changed.config_sha256();
  state.config_seq = seq;
  return base::Status::Ok();
}

}  // namespace

base::Status Apply(RunState& state, const Event& event) {
  BATCHLOG_RETURN_IF_ERROR(TrackEnvelope(state.lifecycle, event));
  const std::uint64_t seq = event.seq();
  base::Status status;
  switch (event.payload_case()) {
    case Event::kRunStarted:
      status = ApplyRunStarted(state, event.run_started(), seq);
      break;
    case Event::kRequestPlanned:
      status = ApplyRequestPlanned(state, event.request_planned(), seq);
      break;
    case Event::kBatchPlanned:
      status = ApplyBatchPlanned(state, event.batch_planned(), seq);
      break;
    case Event::kFileUploaded:
      status = ApplyFileUploaded(state, event.file_uploaded(), seq);
      break;
    case Event::kBatchSubmitted:
      status = ApplyBatchSubmitted(state, event.batch_submitted(), seq);
      break;
    case Event::kSubmitRejected:
      status = ApplySubmitRejected(state, event.submit_rejected(), seq);
      break;
    case Event::kBatchPolled:
      status = ApplyBatchPolled(state, event.batch_polled(), seq);
      break;
    case Event::kBatchEnded:
      status = ApplyBatchEnded(state, event.batch_ended(), seq);
      break;
    case Event::kRequestSucceeded:
      status = ApplyRequestSucceeded(state, event.request_succeeded(), seq);
      break;
    case Event::kRequestFailed:
      status = ApplyRequestFailed(state, event.request_failed(), seq);
      break;
    case Event::kResultsIngested:
      status = ApplyResultsIngested(state, event.results_ingested(), seq);
      break;
    case Event::kRetryScheduled:
      status = ApplyRetryScheduled(state, event.retry_scheduled(), seq);
      break;
    case Event::kRequestsAbandoned:
      status = ApplyRequestsAbandoned(state, event.requests_abandoned(), seq);
      break;
    case Event::kQuotaWarning:
      status = ApplyQuotaWarning(state, event.quota_warning());
      break;
    case Event::kStageCompleted:
      status = ApplyStageCompleted(state, event.stage_completed(), seq);
      break;
    case Event::kRunCompleted:
      status = ApplyRunCompleted(state, seq);
      break;
    case Event::kRunFailed:
      status = ApplyRunFailed(state, event.run_failed(), seq);
      break;
    case Event::kRunCancelled:
      status = ApplyRunCancelled(state, event.run_cancelled(), seq);
      break;
    case Event::kRunResumed:
      status = ApplyRunResumed(state, seq);
      break;
    case Event::kWorkflowFileChanged:
      status = ApplyWorkflowFileChanged(state, event.workflow_file_changed(), seq);
      break;
    case Event::PAYLOAD_NOT_SET:
      status = ApplyUnknownPayload(event);
      break;
  }
  if (status.ok()) ++state.counters.events;
  return status;
}

std::vector<std::uint32_t> RunState::RequestsOfStage(std::uint32_t stage,
                                                     RequestStatus status) const {
  std::vector<std::uint32_t> out;
  const RequestTable& requests = lifecycle.requests;
  for (std::uint32_t request = 0; request < requests.size(); ++request) {
    if (requests.stage(request) == stage && requests.status[request] == status) {
      out.push_back(request);
    }
  }
  return out;
}

std::vector<OpenIntent> RunState::OpenIntents() const {
  std::vector<OpenIntent> out;
  const std::vector<BatchRecord>& records = lifecycle.batches.records;
  for (std::uint32_t batch = 0; batch < records.size(); ++batch) {
    switch (records[batch].phase) {
      case BatchPhase::kPlanned:
        out.push_back({OpenIntent::Kind::kAwaitingSubmit, batch});
        break;
      case BatchPhase::kSubmitted:
        out.push_back({OpenIntent::Kind::kAwaitingEnd, batch});
        break;
      case BatchPhase::kEnded:
        out.push_back({OpenIntent::Kind::kAwaitingIngest, batch});
        break;
      case BatchPhase::kRejected:
      case BatchPhase::kIngested:
        break;
    }
  }
  return out;
}

std::optional<std::int64_t> RunState::NextRetryDueUnixUs() const {
  std::optional<std::int64_t> next;
  for (const RetryGroup& group : retry_groups) {
    if (group.pending == 0) continue;
    if (!next.has_value() || group.not_before_unix_us < *next) next = group.not_before_unix_us;
  }
  return next;
}

std::vector<std::uint32_t> RunState::RetriesDue(std::int64_t now_unix_us) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t group = 0; group < retry_groups.size(); ++group) {
    const RetryGroup& record = retry_groups[group];
    if (record.pending == 0 || record.not_before_unix_us > now_unix_us) continue;
    for (std::uint32_t i = 0; i < record.member_count; ++i) {
      const std::uint32_t request = retry_members[record.member_begin + i];
      if (request_retry_group[request] == group) out.push_back(request);
    }
  }
  return out;
}

bool RunState::StageSettled(std::uint32_t stage) const {
  const StageRecord& record = lifecycle.stage_records[stage];
  return record.requests ==
         record.by_status[static_cast<std::size_t>(RequestStatus::kSucceeded)] +
             record.by_status[static_cast<std::size_t>(RequestStatus::kFailedFinal)];
}

std::size_t RunState::RequestBytes() const {
  return lifecycle.RequestBytes() + request_ordinal.capacity() * sizeof(std::uint64_t) +
         request_retry_group.capacity() * sizeof(std::uint32_t);
}

}  // namespace batchlog::replay
