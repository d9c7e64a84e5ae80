#include "replay/manifest_projection.h"

#include <algorithm>
#include <string_view>

#include <nlohmann/json.hpp>

namespace batchlog::replay {
namespace {

using events::v1::Event;
using Json = nlohmann::ordered_json;

void AddUsage(ManifestState& state, std::uint32_t request, const events::v1::Usage& usage) {
  StageUsage& stage = state.usage[state.lifecycle.requests.stage(request)];
  stage.input_tokens += usage.input_tokens();
  stage.output_tokens += usage.output_tokens();
}

void SyncStages(ManifestState& state) { state.usage.resize(state.lifecycle.stage_records.size()); }

base::Status ApplyRunStarted(ManifestState& state, std::uint64_t seq) {
  return TrackRunStarted(state.lifecycle, seq);
}

// `leader` is null for a standalone fold, else the Lifecycle this one follows.
base::Status ApplyRequestPlanned(ManifestState& state, const events::v1::RequestPlanned& planned,
                                 std::uint64_t seq, const Lifecycle* leader) {
  if (leader != nullptr) {
    BATCHLOG_RETURN_IF_ERROR(MirrorRequestPlanned(state.lifecycle, *leader, planned, seq));
  } else {
    BATCHLOG_RETURN_IF_ERROR(TrackRequestPlanned(state.lifecycle, planned, seq).status());
  }
  SyncStages(state);
  return base::Status::Ok();
}

base::Status ApplyBatchPlanned(ManifestState& state, const events::v1::BatchPlanned& planned,
                               std::uint64_t seq, const Lifecycle* leader) {
  if (leader != nullptr) return MirrorBatchPlanned(state.lifecycle, *leader, planned, seq);
  return TrackBatchPlanned(state.lifecycle, planned, seq).status();
}

base::Status ApplyFileUploaded(ManifestState& state, const events::v1::FileUploaded& uploaded,
                               std::uint64_t seq) {
  return TrackFileUploaded(state.lifecycle, uploaded, seq).status();
}

base::Status ApplyBatchSubmitted(ManifestState& state, const events::v1::BatchSubmitted& submitted,
                                 std::uint64_t seq) {
  return TrackBatchSubmitted(state.lifecycle, submitted, seq).status();
}

base::Status ApplySubmitRejected(ManifestState& state, const events::v1::SubmitRejected& rejected,
                                 std::uint64_t seq) {
  return TrackSubmitRejected(state.lifecycle, rejected, seq).status();
}

base::Status ApplyBatchPolled(ManifestState& state, const events::v1::BatchPolled& polled,
                              std::uint64_t seq) {
  return TrackBatchPolled(state.lifecycle, polled, seq).status();
}

base::Status ApplyBatchEnded(ManifestState& state, const events::v1::BatchEnded& ended,
                             std::uint64_t seq) {
  return TrackBatchEnded(state.lifecycle, ended, seq).status();
}

base::Status ApplyRequestSucceeded(ManifestState& state,
                                   const events::v1::RequestSucceeded& succeeded, std::uint64_t seq,
                                   const Lifecycle* leader) {
  TrackedResult result;
  if (leader != nullptr) {
    result = MirrorRequestSucceeded(state.lifecycle, *leader);
  } else {
    BATCHLOG_ASSIGN_OR_RETURN(result, TrackRequestSucceeded(state.lifecycle, succeeded, seq));
  }
  if (!result.duplicate) AddUsage(state, result.request, succeeded.usage());
  return base::Status::Ok();
}

base::Status ApplyRequestFailed(ManifestState& state, const events::v1::RequestFailed& failed,
                                std::uint64_t seq, const Lifecycle* leader) {
  BATCHLOG_ASSIGN_OR_RETURN(const TrackedResult result,
                            leader != nullptr
                                ? MirrorRequestFailed(state.lifecycle, *leader, failed, seq)
                                : TrackRequestFailed(state.lifecycle, failed, seq));
  if (!result.duplicate) AddUsage(state, result.request, failed.usage());
  return base::Status::Ok();
}

base::Status ApplyResultsIngested(ManifestState& state, const events::v1::ResultsIngested& ingested,
                                  std::uint64_t seq) {
  return TrackResultsIngested(state.lifecycle, ingested, seq).status();
}

base::Status ApplyRetryScheduled(ManifestState& state, const events::v1::RetryScheduled& scheduled,
                                 std::uint64_t seq, const Lifecycle* leader) {
  if (leader != nullptr) {
    MirrorRetryScheduled(state.lifecycle, *leader);
    return base::Status::Ok();
  }
  return TrackRetryScheduled(state.lifecycle, scheduled, seq).status();
}

base::Status ApplyRequestsAbandoned(ManifestState& state,
                                    const events::v1::RequestsAbandoned& abandoned,
                                    std::uint64_t seq, const Lifecycle* leader) {
  if (leader != nullptr) {
    MirrorRequestsAbandoned(state.lifecycle, *leader, abandoned);
    return base::Status::Ok();
  }
  return TrackRequestsAbandoned(state.lifecycle, abandoned, seq).status();
}

base::Status ApplyQuotaWarning() {
  // Quota is operational state, not part of the manifest.
  return base::Status::Ok();
}

base::Status ApplyStageCompleted(ManifestState& state, const events::v1::StageCompleted& completed,
                                 std::uint64_t seq) {
  BATCHLOG_RETURN_IF_ERROR(TrackStageCompleted(state.lifecycle, completed, seq).status());
  SyncStages(state);
  return base::Status::Ok();
}

base::Status ApplyRunEnded(ManifestState& state, RunStatus status, std::uint64_t seq) {
  return TrackRunEnded(state.lifecycle, status, seq);
}

base::Status ApplyUnknownPayload(const Event& event) {
  if (event.reader_may_ignore()) return base::Status::Ok();
  return ImpossibleEvent(event.seq(), "event without a payload this reader knows");
}

std::string_view AbandonReasonName(events::v1::AbandonReason reason) {
  switch (reason) {
    case events::v1::ABANDON_REASON_PERMANENT:
      return "permanent";
    case events::v1::ABANDON_REASON_EXHAUSTED:
      return "exhausted";
    case events::v1::ABANDON_REASON_CANCELLED:
      return "cancelled";
    case events::v1::ABANDON_REASON_UPSTREAM_FAILED:
      return "upstream_failed";
    case events::v1::ABANDON_REASON_BATCH_FAILED:
      return "batch_failed";
    case events::v1::ABANDON_REASON_UNSPECIFIED:
    case events::v1::AbandonReason_INT_MIN_SENTINEL_DO_NOT_USE_:
    case events::v1::AbandonReason_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "abandoned";
}

// What the render needs per stage beyond the lifecycle's counters, from one request scan.
struct StageSummary {
  std::vector<std::uint32_t> final_failed;
  std::uint32_t total_failures = 0;
  std::uint32_t recovered_by_retry = 0;
  bool exhausted = false;
  bool retry_pending = false;
};

std::vector<StageSummary> Summarize(const Lifecycle& lifecycle) {
  std::vector<StageSummary> summaries(lifecycle.stage_records.size());
  const RequestTable& requests = lifecycle.requests;
  for (std::uint32_t request = 0; request < requests.size(); ++request) {
    StageSummary& summary = summaries[requests.stage(request)];
    const RequestStatus status = requests.status[request];
    const bool failed_ever = (requests.flags[request] & kFailedEver) != 0;
    if (failed_ever) ++summary.total_failures;
    switch (status) {
      case RequestStatus::kSucceeded:
        if (failed_ever) ++summary.recovered_by_retry;
        break;
      case RequestStatus::kFailedFinal:
        summary.final_failed.push_back(request);
        if (requests.abandon_reason(request) == events::v1::ABANDON_REASON_EXHAUSTED) {
          summary.exhausted = true;
        }
        break;
      case RequestStatus::kFailedRetryableWaiting:
      case RequestStatus::kRetryScheduled:
        summary.retry_pending = true;
        break;
      case RequestStatus::kPlanned:
      case RequestStatus::kInFlight:
        if (requests.attempt[request] > 1) summary.retry_pending = true;
        break;
    }
  }
  for (StageSummary& summary : summaries) {
    std::sort(summary.final_failed.begin(), summary.final_failed.end(),
              [&requests](std::uint32_t a, std::uint32_t b) {
                return requests.custom_id(a) < requests.custom_id(b);
              });
  }
  return summaries;
}

std::string_view RetryStatus(const StageSummary& summary, const StageRecord& record) {
  if (summary.exhausted) return "exhausted";
  if (summary.retry_pending) return "in_progress";
  if (record.max_attempt > 1) return "completed";
  return "not_needed";
}

Json RenderStage(const ManifestState& state, std::uint32_t stage, const StageSummary& summary) {
  const Lifecycle& lifecycle = state.lifecycle;
  const RequestTable& requests = lifecycle.requests;
  const StageRecord& record = lifecycle.stage_records[stage];
  const auto count = [&record](RequestStatus status) {
    return record.by_status[static_cast<std::size_t>(status)];
  };

  Json final_failed_ids = Json::array();
  Json errors = Json::object();
  for (const std::uint32_t request : summary.final_failed) {
    const std::string custom_id(requests.custom_id(request));
    final_failed_ids.push_back(custom_id);
    const std::uint32_t error = requests.last_error[request];
    errors[custom_id] = error != kNoIndex && error < lifecycle.error_codes.size()
                            ? std::string(lifecycle.error_codes.id(error))
                            : std::string(AbandonReasonName(requests.abandon_reason(request)));
  }
  Json batch_ids = Json::array();
  Json retry_batch_ids = Json::array();
  for (const BatchRecord& batch : lifecycle.batches.records) {
    if (batch.stage != stage || batch.provider_batch_id.empty()) continue;
    (batch.max_attempt > 1 ? retry_batch_ids : batch_ids).push_back(batch.provider_batch_id);
  }
  const StageUsage usage = stage < state.usage.size() ? state.usage[stage] : StageUsage{};

  Json out = Json::object();
  out["total_requests"] = record.requests;
  out["succeeded"] = count(RequestStatus::kSucceeded);
  out["final_failed_ids"] = std::move(final_failed_ids);
  out["total_failures"] = summary.total_failures;
  out["recovered_by_retry"] = summary.recovered_by_retry;
  out["retry_attempts"] = record.max_attempt > 1 ? record.max_attempt - 1 : 0;
  out["retry_status"] = RetryStatus(summary, record);
  out["batch_ids"] = std::move(batch_ids);
  out["retry_batch_ids"] = std::move(retry_batch_ids);
  out["errors"] = std::move(errors);
  out["usage"] = Json::object();
  out["usage"]["input_tokens"] = usage.input_tokens;
  out["usage"]["output_tokens"] = usage.output_tokens;
  out["in_flight"] = count(RequestStatus::kInFlight);
  out["waiting_retry"] =
      count(RequestStatus::kFailedRetryableWaiting) + count(RequestStatus::kRetryScheduled);
  return out;
}

// The manifest's fold: one switch for both the standalone and the follower path.
base::Status ApplyEvent(ManifestState& state, const Event& event, const Lifecycle* leader) {
  if (leader != nullptr) {
    MirrorEnvelope(state.lifecycle, event);
  } else {
    BATCHLOG_RETURN_IF_ERROR(TrackEnvelope(state.lifecycle, event));
  }
  const std::uint64_t seq = event.seq();
  base::Status status;
  switch (event.payload_case()) {
    case Event::kRunStarted:
      status = ApplyRunStarted(state, seq);
      break;
    case Event::kRequestPlanned:
      status = ApplyRequestPlanned(state, event.request_planned(), seq, leader);
      break;
    case Event::kBatchPlanned:
      status = ApplyBatchPlanned(state, event.batch_planned(), seq, leader);
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
      status = ApplyRequestSucceeded(state, event.request_succeeded(), seq, leader);
      break;
    case Event::kRequestFailed:
      status = ApplyRequestFailed(state, event.request_failed(), seq, leader);
      break;
    case Event::kResultsIngested:
      status = ApplyResultsIngested(state, event.results_ingested(), seq);
      break;
    case Event::kRetryScheduled:
      status = ApplyRetryScheduled(state, event.retry_scheduled(), seq, leader);
      break;
    case Event::kRequestsAbandoned:
      status = ApplyRequestsAbandoned(state, event.requests_abandoned(), seq, leader);
      break;
    case Event::kQuotaWarning:
      status = ApplyQuotaWarning();
      break;
    case Event::kStageCompleted:
      status = ApplyStageCompleted(state, event.stage_completed(), seq);
      break;
    case Event::kRunCompleted:
      status = ApplyRunEnded(state, RunStatus::kCompleted, seq);
      break;
    case Event::kRunFailed:
      status = ApplyRunEnded(state, RunStatus::kFailed, seq);
      break;
    case Event::kRunCancelled:
      status = ApplyRunEnded(state, RunStatus::kCancelled, seq);
      break;
    case Event::PAYLOAD_NOT_SET:
      status = ApplyUnknownPayload(event);
      break;
  }
  if (status.ok()) state.generated_at_seq = seq;
  return status;
}

}  // namespace

base::Status Apply(ManifestState& state, const Event& event) {
  return ApplyEvent(state, event, nullptr);
}

base::Status ApplyFollowing(ManifestState& state, const Event& event, const Lifecycle& leader) {
  return ApplyEvent(state, event, &leader);
}

std::string RenderManifestJson(const ManifestState& state) {
  const Lifecycle& lifecycle = state.lifecycle;
  const std::vector<StageSummary> summaries = Summarize(lifecycle);
  Json workflows = Json::object();
  for (std::uint32_t workflow = 0; workflow < lifecycle.workflows.size(); ++workflow) {
    Json stages = Json::object();
    for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
      if (lifecycle.stage_records[stage].workflow != workflow) continue;
      stages[std::string(lifecycle.stage_name(stage))] =
          RenderStage(state, stage, summaries[stage]);
    }
    workflows[std::string(lifecycle.workflow_name(workflow))] = std::move(stages);
  }
  Json manifest = Json::object();
  manifest["run_id"] = lifecycle.run_id;
  manifest["generated_at_seq"] = state.generated_at_seq;
  manifest["status"] = RunStatusName(lifecycle.run_status);
  manifest["workflows"] = std::move(workflows);
  std::string out = manifest.dump(2, ' ', false, Json::error_handler_t::replace);
  out += '\n';
  return out;
}

}  // namespace batchlog::replay
