#include "replay/audit_projection.h"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "replay/json_text.h"
#include "replay/manifest_projection.h"
#include "src/base/time_format.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using events::v1::Event;
using Json = nlohmann::ordered_json;
using Trail = AuditState::Trail;
using BatchTrail = AuditState::BatchTrail;

// --- names ---------------------------------------------------------------------------------

std::string BatchStatusName(v1::BatchStatus status) {
  switch (status) {
    case v1::BATCH_STATUS_VALIDATING:
      return "validating";
    case v1::BATCH_STATUS_IN_PROGRESS:
      return "in_progress";
    case v1::BATCH_STATUS_FINALIZING:
      return "finalizing";
    case v1::BATCH_STATUS_CANCELLING:
      return "cancelling";
    case v1::BATCH_STATUS_COMPLETED:
      return "completed";
    case v1::BATCH_STATUS_FAILED:
      return "failed";
    case v1::BATCH_STATUS_EXPIRED:
      return "expired";
    case v1::BATCH_STATUS_CANCELLED:
      return "cancelled";
    case v1::BATCH_STATUS_UNSPECIFIED:
    case v1::BatchStatus_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::BatchStatus_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "unspecified";
}

std::string ErrorClassName(v1::ErrorClass error_class) {
  switch (error_class) {
    case v1::ERROR_CLASS_RETRYABLE:
      return "retryable";
    case v1::ERROR_CLASS_PERMANENT:
      return "permanent";
    case v1::ERROR_CLASS_OPERATOR_ACTION:
      return "operator_action";
    case v1::ERROR_CLASS_UNKNOWN:
      return "unknown";
    case v1::ERROR_CLASS_CANCELLED:
      return "cancelled";
    case v1::ERROR_CLASS_UNSPECIFIED:
    case v1::ErrorClass_INT_MIN_SENTINEL_DO_NOT_USE_:
    case v1::ErrorClass_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "unspecified";
}

// --- selection -----------------------------------------------------------------------------

bool StageMatches(const AuditSelection& selection, std::string_view workflow,
                  std::string_view stage) {
  return (selection.workflow.empty() || selection.workflow == workflow) &&
         (selection.stage.empty() || selection.stage == stage);
}

// A request the selection follows across its whole timeline (not for a batch selection).
bool RequestMatches(const AuditSelection& selection, std::string_view workflow,
                    std::string_view stage, const std::string& custom_id) {
  if (!selection.batch_key.empty()) return false;
  if (!StageMatches(selection, workflow, stage)) return false;
  return selection.custom_ids.empty() || selection.custom_ids.contains(custom_id);
}

Trail* FindTrail(AuditState& state, const std::string& workflow, const std::string& stage,
                 const std::string& custom_id) {
  const auto found = state.trail_index.find({workflow, stage, custom_id});
  return found == state.trail_index.end() ? nullptr : &state.trails[found->second];
}

Trail& TrailOf(AuditState& state, const std::string& workflow, const std::string& stage,
               const std::string& custom_id) {
  const auto [it, inserted] = state.trail_index.try_emplace(
      {workflow, stage, custom_id}, static_cast<std::uint32_t>(state.trails.size()));
  if (inserted) {
    Trail& trail = state.trails.emplace_back();
    trail.workflow = workflow;
    trail.stage = stage;
    trail.custom_id = custom_id;
  }
  return state.trails[it->second];
}

BatchTrail* FindBatch(AuditState& state, const std::string& batch_key) {
  const auto found = state.batches.find(batch_key);
  return found == state.batches.end() ? nullptr : &found->second;
}

bool Carried(const AuditState& state, const std::string& workflow, const std::string& stage) {
  return state.carried_stages.contains({workflow, stage});
}

AuditRow& AddRow(AuditState& state, const Event& event, AuditEvent kind,
                 const std::string& workflow, const std::string& stage) {
  AuditRow& row = state.rows.emplace_back();
  row.seq = event.seq();
  row.recorded_at_unix_us = event.recorded_at_unix_us();
  row.event = kind;
  row.workflow = workflow;
  row.stage = stage;
  row.carried = Carried(state, workflow, stage);
  return row;
}

AuditRow& AddBatchRow(AuditState& state, const Event& event, AuditEvent kind,
                      const std::string& batch_key, const BatchTrail& batch) {
  AuditRow& row = AddRow(state, event, kind, batch.workflow, batch.stage);
  row.batch_key = batch_key;
  row.provider_batch_id = batch.provider_batch_id;
  row.requests = batch.requests;
  return row;
}

// The trails of a batch's selected members whose latest attempt is in that batch.
template <typename Visit>
void ForEachCurrentMember(AuditState& state, const std::string& batch_key, BatchTrail& batch,
                          Visit visit) {
  for (auto& [custom_id, member] : batch.members) {
    Trail* trail = FindTrail(state, batch.workflow, batch.stage, custom_id);
    if (trail != nullptr && trail->batch_key == batch_key) visit(custom_id, member, *trail);
  }
}

// --- events --------------------------------------------------------------------------------

void ApplyRunStarted(AuditState& state, const v1::RunStarted& started) {
  if (!started.has_forked_from()) return;
  state.carried_from = started.forked_from().source_run_id();
  for (const v1::CarriedStage& carried : started.forked_from().carried_stages()) {
    state.carried_stages.insert({carried.workflow(), carried.stage()});
  }
}

void ApplyRequestPlanned(AuditState& state, const Event& event) {
  const v1::RequestPlanned& planned = event.request_planned();
  if (!RequestMatches(state.selection, planned.workflow(), planned.stage(),
                      planned.custom_id())) {
    return;
  }
  TrailOf(state, planned.workflow(), planned.stage(), planned.custom_id());
  AuditRow& row =
      AddRow(state, event, AuditEvent::kRequestPlanned, planned.workflow(), planned.stage());
  row.custom_id = planned.custom_id();
  row.model = planned.model();
  row.source_custom_id = planned.source_custom_id();
}

void ApplyBatchPlanned(AuditState& state, const Event& event) {
  const v1::BatchPlanned& planned = event.batch_planned();
  const bool whole = planned.batch_key() == state.selection.batch_key;
  BatchTrail batch;
  batch.workflow = planned.workflow();
  batch.stage = planned.stage();
  batch.requests = static_cast<std::uint32_t>(planned.custom_ids_size());
  std::vector<std::string> named;
  std::uint32_t attempt = 0;
  for (int i = 0; i < planned.custom_ids_size(); ++i) {
    const std::string& custom_id = planned.custom_ids(i);
    const std::uint32_t member_attempt = i < planned.attempts_size() ? planned.attempts(i) : 0;
    if (!whole && !RequestMatches(state.selection, planned.workflow(), planned.stage(),
                                  custom_id)) {
      continue;
    }
    batch.members[custom_id] = AuditState::Member{.attempt = member_attempt};
    named.push_back(custom_id);
    attempt = std::max(attempt, member_attempt);
    if (whole) continue;
    Trail& trail = TrailOf(state, planned.workflow(), planned.stage(), custom_id);
    trail.state = "in_flight";
    trail.attempt = member_attempt;
    trail.batch_key = planned.batch_key();
    trail.provider_batch_id.clear();
    trail.batch_error.clear();
    trail.has_result = false;
  }
  if (!whole && named.empty()) return;
  BatchTrail& stored = state.batches[planned.batch_key()] = std::move(batch);
  AuditRow& row =
      AddBatchRow(state, event, AuditEvent::kBatchPlanned, planned.batch_key(), stored);
  row.custom_ids = std::move(named);
  row.attempt = attempt;
  row.model = planned.model();
}

void ApplyFileUploaded(AuditState& state, const Event& event) {
  const v1::FileUploaded& uploaded = event.file_uploaded();
  BatchTrail* batch = FindBatch(state, uploaded.batch_key());
  if (batch == nullptr) return;
  AddBatchRow(state, event, AuditEvent::kFileUploaded, uploaded.batch_key(), *batch).file_id =
      uploaded.file_id();
}

void ApplyBatchSubmitted(AuditState& state, const Event& event) {
  const v1::BatchSubmitted& submitted = event.batch_submitted();
  BatchTrail* batch = FindBatch(state, submitted.batch_key());
  if (batch == nullptr) return;
  batch->provider_batch_id = submitted.provider_batch_id();
  AddBatchRow(state, event, AuditEvent::kBatchSubmitted, submitted.batch_key(), *batch).adopted =
      submitted.adopted();
  ForEachCurrentMember(state, submitted.batch_key(), *batch,
                       [&](const std::string&, AuditState::Member&, Trail& trail) {
                         trail.provider_batch_id = submitted.provider_batch_id();
                       });
}

void ApplySubmitRejected(AuditState& state, const Event& event) {
  const v1::SubmitRejected& rejected = event.submit_rejected();
  BatchTrail* batch = FindBatch(state, rejected.batch_key());
  if (batch == nullptr) return;
  AuditRow& row =
      AddBatchRow(state, event, AuditEvent::kSubmitRejected, rejected.batch_key(), *batch);
  row.http_status = rejected.http_status();
  row.code = rejected.error_code().empty() ? rejected.error_type() : rejected.error_code();
  row.error_type = rejected.error_type();
  row.message = rejected.message();
  row.error_class = ErrorClassName(rejected.error_class());
  row.unknown_code = rejected.unknown_code();
  row.retry_after_s = rejected.retry_after_s();
  ForEachCurrentMember(state, rejected.batch_key(), *batch,
                       [&](const std::string&, AuditState::Member&, Trail& trail) {
                         if (trail.state == "in_flight") trail.state = "planned";
                         trail.batch_error = "rejected at submit: " + row.code;
                       });
}

void ApplyBatchPolled(AuditState& state, const Event& event) {
  const v1::BatchPolled& polled = event.batch_polled();
  BatchTrail* batch = FindBatch(state, polled.batch_key());
  if (batch == nullptr) return;
  AuditRow& row = AddBatchRow(state, event, AuditEvent::kBatchPolled, polled.batch_key(), *batch);
  row.status = BatchStatusName(polled.status());
  row.counts = polled.counts();
}

void ApplyBatchEnded(AuditState& state, const Event& event) {
  const v1::BatchEnded& ended = event.batch_ended();
  BatchTrail* batch = FindBatch(state, ended.batch_key());
  if (batch == nullptr) return;
  AuditRow& row = AddBatchRow(state, event, AuditEvent::kBatchEnded, ended.batch_key(), *batch);
  row.status = BatchStatusName(ended.status());
  row.counts = ended.counts();
  if (!ended.errors().empty()) {
    row.code = ended.errors(0).code();
    row.message = ended.errors(0).message();
  }
  if (ended.status() != v1::BATCH_STATUS_COMPLETED) {
    const std::string error = row.status + (row.code.empty() ? "" : " (" + row.code + ")");
    ForEachCurrentMember(state, ended.batch_key(), *batch,
                         [&](const std::string&, AuditState::Member&, Trail& trail) {
                           trail.batch_error = "its batch ended " + error;
                         });
  }
}

template <typename Result>
AuditRow* ApplyResult(AuditState& state, const Event& event, const Result& result,
                      AuditEvent kind, bool& duplicate, Trail*& trail) {
  BatchTrail* batch = FindBatch(state, result.batch_key());
  if (batch == nullptr) return nullptr;
  const auto member = batch->members.find(result.custom_id());
  if (member == batch->members.end()) return nullptr;
  duplicate = member->second.has_result;
  member->second.has_result = true;
  AuditRow& row = AddBatchRow(state, event, kind, result.batch_key(), *batch);
  row.custom_id = result.custom_id();
  row.attempt = result.attempt();
  row.duplicate = duplicate;
  row.input_tokens = result.usage().input_tokens();
  row.output_tokens = result.usage().output_tokens();
  trail = FindTrail(state, batch->workflow, batch->stage, result.custom_id());
  if (trail != nullptr && (trail->batch_key != result.batch_key() || duplicate)) trail = nullptr;
  return &row;
}

void ApplyRequestSucceeded(AuditState& state, const Event& event) {
  const v1::RequestSucceeded& succeeded = event.request_succeeded();
  bool duplicate = false;
  Trail* trail = nullptr;
  AuditRow* row =
      ApplyResult(state, event, succeeded, AuditEvent::kRequestSucceeded, duplicate, trail);
  if (row == nullptr) return;
  row->status = succeeded.finish_reason();
  if (trail == nullptr) return;
  trail->state = "succeeded";
  trail->has_result = true;
}

void ApplyRequestFailed(AuditState& state, const Event& event) {
  const v1::RequestFailed& failed = event.request_failed();
  bool duplicate = false;
  Trail* trail = nullptr;
  AuditRow* row = ApplyResult(state, event, failed, AuditEvent::kRequestFailed, duplicate, trail);
  if (row == nullptr) return;
  row->code = failed.code();
  row->error_type = failed.error_type();
  row->error_class = ErrorClassName(failed.error_class());
  row->unknown_code = failed.unknown_code();
  row->message = failed.message();
  row->http_status = failed.http_status();
  if (trail == nullptr) return;
  const bool final = failed.error_class() == v1::ERROR_CLASS_PERMANENT ||
                     failed.error_class() == v1::ERROR_CLASS_CANCELLED;
  trail->state = final ? "failed_final" : "failed_retryable_waiting";
  trail->has_result = true;
  if (failed.error_class() != v1::ERROR_CLASS_CANCELLED) ++trail->failures;
  trail->code = row->code.empty() ? row->error_type : row->code;
  trail->error_class = row->error_class;
  trail->message = row->message;
  trail->abandon_reason = failed.error_class() == v1::ERROR_CLASS_PERMANENT   ? "permanent"
                          : failed.error_class() == v1::ERROR_CLASS_CANCELLED ? "cancelled"
                                                                              : "";
}

void ApplyResultsIngested(AuditState& state, const Event& event) {
  const v1::ResultsIngested& ingested = event.results_ingested();
  BatchTrail* batch = FindBatch(state, ingested.batch_key());
  if (batch == nullptr) return;
  AuditRow& row =
      AddBatchRow(state, event, AuditEvent::kResultsIngested, ingested.batch_key(), *batch);
  row.counts.set_succeeded(ingested.succeeded());
  row.counts.set_failed(ingested.failed());
  row.counts.set_processing(ingested.missing());
  // Members with no result were never processed: planned again at the same attempt.
  const BatchTrail copy = *batch;
  for (const auto& [custom_id, member] : copy.members) {
    if (member.has_result) continue;
    Trail* trail = FindTrail(state, copy.workflow, copy.stage, custom_id);
    if (trail != nullptr && trail->batch_key == ingested.batch_key() &&
        trail->state == "in_flight") {
      trail->state = "planned";
    }
    AuditRow& unprocessed = AddBatchRow(state, event, AuditEvent::kUnprocessed,
                                        ingested.batch_key(), copy);
    unprocessed.custom_id = custom_id;
    unprocessed.attempt = member.attempt;
  }
}

// The selected custom_ids a decision names.
std::vector<std::string> SelectedIds(const AuditState& state, const std::string& workflow,
                                     const std::string& stage,
                                     const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<std::string> out;
  if (!state.selection.batch_key.empty()) return out;
  if (!StageMatches(state.selection, workflow, stage)) return out;
  for (const std::string& id : ids) {
    if (state.selection.custom_ids.empty() || state.selection.custom_ids.contains(id)) {
      out.push_back(id);
    }
  }
  return out;
}

void ApplyRetryScheduled(AuditState& state, const Event& event) {
  const v1::RetryScheduled& scheduled = event.retry_scheduled();
  std::vector<std::string> ids =
      SelectedIds(state, scheduled.workflow(), scheduled.stage(), scheduled.custom_ids());
  if (ids.empty()) return;
  for (const std::string& id : ids) {
    Trail& trail = TrailOf(state, scheduled.workflow(), scheduled.stage(), id);
    trail.state = "retry_scheduled";
    trail.not_before_unix_us = scheduled.not_before_unix_us();
  }
  AuditRow& row =
      AddRow(state, event, AuditEvent::kRetryScheduled, scheduled.workflow(), scheduled.stage());
  row.custom_ids = std::move(ids);
  row.attempt = scheduled.attempt();
  row.not_before_unix_us = scheduled.not_before_unix_us();
  row.delay_s = scheduled.delay_s();
  row.jitter_factor = scheduled.jitter_factor();
  row.retry_after_s = scheduled.retry_after_s();
}

void ApplyRequestsAbandoned(AuditState& state, const Event& event) {
  const v1::RequestsAbandoned& abandoned = event.requests_abandoned();
  std::vector<std::string> ids =
      SelectedIds(state, abandoned.workflow(), abandoned.stage(), abandoned.custom_ids());
  if (ids.empty()) return;
  const std::string reason(AbandonReasonName(abandoned.reason()));
  for (const std::string& id : ids) {
    Trail& trail = TrailOf(state, abandoned.workflow(), abandoned.stage(), id);
    trail.state = "failed_final";
    trail.abandon_reason = reason;
  }
  AuditRow& row = AddRow(state, event, AuditEvent::kRequestsAbandoned, abandoned.workflow(),
                         abandoned.stage());
  row.custom_ids = std::move(ids);
  row.status = reason;
}

void ApplyStageCompleted(AuditState& state, const Event& event) {
  const v1::StageCompleted& completed = event.stage_completed();
  state.completed_stages.insert({completed.workflow(), completed.stage()});
  bool concerned = false;
  if (!state.selection.batch_key.empty()) {
    const BatchTrail* batch = FindBatch(state, state.selection.batch_key);
    concerned = batch != nullptr && batch->workflow == completed.workflow() &&
                batch->stage == completed.stage();
  } else if (state.selection.custom_ids.empty()) {
    concerned = StageMatches(state.selection, completed.workflow(), completed.stage());
  } else {
    for (const Trail& trail : state.trails) {
      if (trail.workflow == completed.workflow() && trail.stage == completed.stage()) {
        concerned = true;
        break;
      }
    }
  }
  if (!concerned) return;
  AuditRow& row =
      AddRow(state, event, AuditEvent::kStageCompleted, completed.workflow(), completed.stage());
  row.counts.set_succeeded(completed.succeeded());
  row.counts.set_failed(completed.failed());
}

void ApplyRunResumed(AuditState& state, const Event& event) {
  AddRow(state, event, AuditEvent::kRunResumed, "", "").status = event.run_resumed().reason();
  // As the lifecycle: requests a cancel stopped, in stages not completed, are planned again.
  for (Trail& trail : state.trails) {
    if (trail.state == "failed_final" && trail.abandon_reason == "cancelled" &&
        !state.completed_stages.contains({trail.workflow, trail.stage})) {
      trail.state = "planned";
      trail.abandon_reason.clear();
    }
  }
}

// --- summaries -----------------------------------------------------------------------------

// The request's current attempt ended in a failure of its own (a server error, a rate
// limit, ...), not in its batch's cancellation: a later final cancel only kept it from
// being retried, and that failure is what the request's record should name.
bool FailedOnItsOwn(const Trail& trail) {
  return trail.has_result && !trail.code.empty() && trail.error_class != "cancelled";
}

std::string Explain(const AuditState& state, const Trail& trail) {
  const std::string attempt = std::to_string(trail.attempt);
  const std::string where = trail.batch_key.empty()
                                ? std::string()
                                : " in batch " + trail.batch_key +
                                      (trail.provider_batch_id.empty()
                                           ? std::string()
                                           : " (provider batch " + trail.provider_batch_id + ")");
  std::string out;
  if (trail.state == "succeeded") {
    out = "succeeded on attempt " + attempt + where;
    if (trail.failures > 0) {
      out += ", after " + std::to_string(trail.failures) + " failed attempt" +
             (trail.failures == 1 ? "" : "s");
    }
  } else if (trail.state == "failed_final") {
    if (trail.abandon_reason == "exhausted") {
      out = "abandoned after attempt " + attempt + ": the retry limit was reached (last error " +
            trail.code + ")";
    } else if (trail.abandon_reason == "permanent") {
      out = "failed for good on attempt " + attempt + ": " + trail.code +
            " is a permanent error, never retried" +
            (trail.message.empty() ? "" : " (" + trail.message + ")");
    } else if (trail.abandon_reason == "cancelled" && FailedOnItsOwn(trail)) {
      out = "failed on attempt " + attempt + " (" + trail.code +
            (trail.message.empty() ? "" : ": " + trail.message) +
            "); the run was then cancelled, so it was not retried";
    } else if (trail.abandon_reason == "cancelled") {
      out = "cancelled on attempt " + attempt + where + "; never processed";
    } else if (trail.abandon_reason == "batch_failed") {
      out = "abandoned on attempt " + attempt + ": " +
            (trail.batch_error.empty() ? "its batch failed as a whole" : trail.batch_error);
    } else if (trail.abandon_reason == "upstream_failed") {
      out = "abandoned: the earlier-stage request it depends on failed";
    } else {
      out = "failed for good on attempt " + attempt + " (" + trail.abandon_reason + ")";
    }
  } else if (trail.state == "in_flight") {
    out = "in flight: attempt " + attempt + where + ", awaiting its result";
  } else if (trail.state == "retry_scheduled") {
    out = "failed on attempt " + attempt + " (" + trail.code + "); its retry is scheduled, not " +
          "before " + base::FormatUnixMicrosUtc(trail.not_before_unix_us);
  } else if (trail.state == "failed_retryable_waiting") {
    out = "failed on attempt " + attempt + " (" + trail.code + ", " + trail.error_class +
          "); the retry decision is pending";
  } else if (trail.attempt == 0) {
    out = "planned, not yet put in a batch";
  } else {
    out = "planned again at attempt " + attempt + ": " +
          (trail.batch_error.empty() ? "its batch returned no result for it"
                                     : trail.batch_error) +
          "; it will be submitted again";
  }
  if (Carried(state, trail.workflow, trail.stage)) {
    out += " (carried over from run " + state.carried_from + ")";
  }
  return out;
}

// --- rendering -----------------------------------------------------------------------------

Json CountsJson(const v1::RequestCounts& counts) {
  Json out = Json::object();
  const auto put = [&out](const char* key, std::uint32_t value) {
    if (value != 0) out[key] = value;
  };
  put("total", counts.total());
  put("processing", counts.processing());
  put("succeeded", counts.succeeded());
  put("failed", counts.failed());
  put("cancelled", counts.cancelled());
  put("expired", counts.expired());
  return out;
}

Json RowJson(const AuditRow& row) {
  Json out = Json::object();
  out["seq"] = row.seq;
  out["time"] = base::FormatUnixMicrosUtc(row.recorded_at_unix_us);
  out["event"] = AuditEventName(row.event);
  const auto put = [&out](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  put("workflow", row.workflow);
  put("stage", row.stage);
  put("custom_id", row.custom_id);
  if (!row.custom_ids.empty()) out["custom_ids"] = row.custom_ids;
  if (row.attempt != 0) out["attempt"] = row.attempt;
  put("batch_key", row.batch_key);
  put("provider_batch_id", row.provider_batch_id);
  put("file_id", row.file_id);
  if (row.requests != 0 && row.event == AuditEvent::kBatchPlanned) out["requests"] = row.requests;
  if (row.adopted) out["adopted"] = true;
  if (row.duplicate) out["duplicate"] = true;
  if (row.carried) out["carried"] = true;
  if (row.resumable) out["resumable"] = true;
  put("status", row.status);
  put("model", row.model);
  put("source_custom_id", row.source_custom_id);
  if (row.event == AuditEvent::kBatchPolled || row.event == AuditEvent::kBatchEnded) {
    out["counts"] = CountsJson(row.counts);
  } else if (row.event == AuditEvent::kResultsIngested ||
             row.event == AuditEvent::kStageCompleted) {
    out["succeeded"] = row.counts.succeeded();
    out["failed"] = row.counts.failed();
    if (row.event == AuditEvent::kResultsIngested) out["missing"] = row.counts.processing();
  }
  put("code", row.code);
  put("error_type", row.error_type);
  put("error_class", row.error_class);
  if (row.unknown_code) out["unknown_code"] = true;
  put("message", row.message);
  if (row.http_status != 0) out["http_status"] = row.http_status;
  if (row.input_tokens != 0 || row.output_tokens != 0) {
    out["usage"] = Json::object();
    out["usage"]["input_tokens"] = row.input_tokens;
    out["usage"]["output_tokens"] = row.output_tokens;
  }
  if (row.event == AuditEvent::kRetryScheduled) {
    out["not_before"] = base::FormatUnixMicrosUtc(row.not_before_unix_us);
    out["delay_s"] = row.delay_s;
    out["jitter_factor"] = row.jitter_factor;
  }
  if (row.retry_after_s != 0) out["retry_after_s"] = row.retry_after_s;
  return out;
}

Json SummaryJson(const AuditSummary& summary) {
  Json out = Json::object();
  out["event"] = "summary";
  out["workflow"] = summary.workflow;
  out["stage"] = summary.stage;
  out["custom_id"] = summary.custom_id;
  out["state"] = summary.state;
  out["attempts"] = summary.attempts;
  out["failures"] = summary.failures;
  if (!summary.batch_key.empty()) out["batch_key"] = summary.batch_key;
  if (!summary.provider_batch_id.empty()) out["provider_batch_id"] = summary.provider_batch_id;
  if (!summary.code.empty()) out["code"] = summary.code;
  out["explanation"] = summary.explanation;
  return out;
}

std::string Dump(const Json& json) {
  return JsonText(json);
}

std::string Seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

std::string CountsText(const v1::RequestCounts& counts) {
  std::string out = std::to_string(counts.succeeded()) + " succeeded, " +
                    std::to_string(counts.failed()) + " failed";
  if (counts.cancelled() != 0) out += ", " + std::to_string(counts.cancelled()) + " cancelled";
  if (counts.expired() != 0) out += ", " + std::to_string(counts.expired()) + " expired";
  return out + " of " + std::to_string(counts.total());
}

std::string IdsText(const std::vector<std::string>& ids) {
  std::string out;
  const std::size_t shown = std::min<std::size_t>(ids.size(), 3);
  for (std::size_t i = 0; i < shown; ++i) out += (i == 0 ? "" : ", ") + ids[i];
  if (ids.size() > shown) out += ", ... (" + std::to_string(ids.size()) + ")";
  return out;
}

std::string Detail(const AuditRow& row) {
  const std::string tokens =
      row.input_tokens != 0 || row.output_tokens != 0
          ? ", tokens " + std::to_string(row.input_tokens) + " in / " +
                std::to_string(row.output_tokens) + " out"
          : std::string();
  std::string out;
  switch (row.event) {
    case AuditEvent::kRequestPlanned:
      out = row.model.empty() ? "planned" : "model " + row.model;
      if (!row.source_custom_id.empty()) out += ", from " + row.source_custom_id;
      break;
    case AuditEvent::kBatchPlanned:
      out = row.batch_key + " (" + std::to_string(row.requests) +
            (row.requests == 1 ? " request: " : " requests: ") + IdsText(row.custom_ids) + ")";
      break;
    case AuditEvent::kFileUploaded:
      out = "input file " + row.file_id;
      break;
    case AuditEvent::kBatchSubmitted:
      out = "provider batch " + row.provider_batch_id +
            (row.adopted ? " (adopted: found at the provider after a restart)" : "");
      break;
    case AuditEvent::kSubmitRejected:
      out = "rejected: " + row.code + " (" + row.error_class +
            (row.unknown_code ? ": an unknown code" : "") + ", http " +
            std::to_string(row.http_status) + ")" +
            (row.message.empty() ? "" : ": " + row.message);
      break;
    case AuditEvent::kBatchPolled:
      out = row.status + ": " + CountsText(row.counts);
      break;
    case AuditEvent::kBatchEnded:
      out = row.status + ": " + CountsText(row.counts);
      if (!row.code.empty()) out += "; " + row.code + ": " + row.message;
      break;
    case AuditEvent::kRequestSucceeded:
      out = "succeeded in " + row.batch_key + tokens;
      if (row.duplicate) out += " (re-ingested: already recorded, not counted again)";
      break;
    case AuditEvent::kRequestFailed:
      out = row.code + " (" + row.error_class + (row.unknown_code ? ": an unknown code" : "") +
            (row.http_status != 0 ? ", http " + std::to_string(row.http_status) : "") + ")" +
            (row.message.empty() ? "" : ": " + row.message) + tokens;
      if (row.duplicate) out += " (re-ingested: already recorded, not counted again)";
      break;
    case AuditEvent::kResultsIngested:
      out = row.batch_key + ": " + std::to_string(row.counts.succeeded()) + " succeeded, " +
            std::to_string(row.counts.failed()) + " failed, " +
            std::to_string(row.counts.processing()) + " without a result";
      break;
    case AuditEvent::kUnprocessed:
      out = "no result in " + row.batch_key + ": planned again at attempt " +
            std::to_string(row.attempt);
      break;
    case AuditEvent::kRetryScheduled:
      out = "retry as attempt " + std::to_string(row.attempt) + " after " + Seconds(row.delay_s) +
            " s (jitter x" + Seconds(row.jitter_factor) + "), not before " +
            base::FormatUnixMicrosUtc(row.not_before_unix_us);
      if (row.retry_after_s != 0) out += ", Retry-After " + Seconds(row.retry_after_s) + " s";
      if (row.custom_ids.size() > 1) out += " [" + IdsText(row.custom_ids) + "]";
      break;
    case AuditEvent::kRequestsAbandoned:
      out = "abandoned: " + row.status;
      if (row.custom_ids.size() > 1) out += " [" + IdsText(row.custom_ids) + "]";
      break;
    case AuditEvent::kStageCompleted:
      out = "stage completed: " + std::to_string(row.counts.succeeded()) + " succeeded, " +
            std::to_string(row.counts.failed()) + " failed";
      break;
    case AuditEvent::kRunCompleted:
      out = "run completed";
      break;
    case AuditEvent::kRunFailed:
      out = "run failed: " + row.status;
      break;
    case AuditEvent::kRunCancelled:
      out = std::string("run cancelled") + (row.resumable ? " (resumable)" : "") +
            (row.status.empty() ? "" : ": " + row.status);
      break;
    case AuditEvent::kRunResumed:
      out = "run resumed";
      break;
    case AuditEvent::kWorkflowFileChanged:
      out = "workflow file changed: " + row.status;
      break;
  }
  if (row.carried) out += " [carried]";
  return out;
}

std::string StageColumn(const AuditRow& row) {
  return row.workflow.empty() ? "-" : row.workflow + "/" + row.stage;
}

std::string IdColumn(const AuditRow& row) {
  if (!row.custom_id.empty()) return row.custom_id;
  if (row.custom_ids.size() == 1) return row.custom_ids.front();
  return "-";
}

std::string Padded(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

}  // namespace

std::string_view AuditEventName(AuditEvent event) {
  switch (event) {
    case AuditEvent::kRequestPlanned:
      return "request_planned";
    case AuditEvent::kBatchPlanned:
      return "batch_planned";
    case AuditEvent::kFileUploaded:
      return "file_uploaded";
    case AuditEvent::kBatchSubmitted:
      return "batch_submitted";
    case AuditEvent::kSubmitRejected:
      return "submit_rejected";
    case AuditEvent::kBatchPolled:
      return "batch_polled";
    case AuditEvent::kBatchEnded:
      return "batch_ended";
    case AuditEvent::kRequestSucceeded:
      return "request_succeeded";
    case AuditEvent::kRequestFailed:
      return "request_failed";
    case AuditEvent::kResultsIngested:
      return "results_ingested";
    case AuditEvent::kUnprocessed:
      return "unprocessed";
    case AuditEvent::kRetryScheduled:
      return "retry_scheduled";
    case AuditEvent::kRequestsAbandoned:
      return "requests_abandoned";
    case AuditEvent::kStageCompleted:
      return "stage_completed";
    case AuditEvent::kRunCompleted:
      return "run_completed";
    case AuditEvent::kRunFailed:
      return "run_failed";
    case AuditEvent::kRunCancelled:
      return "run_cancelled";
    case AuditEvent::kRunResumed:
      return "run_resumed";
    case AuditEvent::kWorkflowFileChanged:
      return "workflow_file_changed";
  }
  return "unknown";
}

base::Status Apply(AuditState& state, const Event& event) {
  switch (event.payload_case()) {
    case Event::kRunStarted:
      ApplyRunStarted(state, event.run_started());
      break;
    case Event::kRequestPlanned:
      ApplyRequestPlanned(state, event);
      break;
    case Event::kBatchPlanned:
      ApplyBatchPlanned(state, event);
      break;
    case Event::kFileUploaded:
      ApplyFileUploaded(state, event);
      break;
    case Event::kBatchSubmitted:
      ApplyBatchSubmitted(state, event);
      break;
    case Event::kSubmitRejected:
      ApplySubmitRejected(state, event);
      break;
    case Event::kBatchPolled:
      ApplyBatchPolled(state, event);
      break;
    case Event::kBatchEnded:
      ApplyBatchEnded(state, event);
      break;
    case Event::kRequestSucceeded:
      ApplyRequestSucceeded(state, event);
      break;
    case Event::kRequestFailed:
      ApplyRequestFailed(state, event);
      break;
    case Event::kResultsIngested:
      ApplyResultsIngested(state, event);
      break;
    case Event::kRetryScheduled:
      ApplyRetryScheduled(state, event);
      break;
    case Event::kRequestsAbandoned:
      ApplyRequestsAbandoned(state, event);
      break;
    case Event::kStageCompleted:
      ApplyStageCompleted(state, event);
      break;
    case Event::kRunCompleted:
      AddRow(state, event, AuditEvent::kRunCompleted, "", "");
      break;
    case Event::kRunFailed:
      AddRow(state, event, AuditEvent::kRunFailed, "", "").status = event.run_failed().reason();
      break;
    case Event::kRunCancelled: {
      AuditRow& row = AddRow(state, event, AuditEvent::kRunCancelled, "", "");
      row.status = event.run_cancelled().reason();
      row.resumable = event.run_cancelled().resumable();
      break;
    }
    case Event::kRunResumed:
      ApplyRunResumed(state, event);
      break;
    case Event::kWorkflowFileChanged: {
      const events::v1::WorkflowFileChanged& changed = event.workflow_file_changed();
      AddRow(state, event, AuditEvent::kWorkflowFileChanged, "", "").status =
          changed.config_path() + " (sha256 " + changed.previous_sha256().substr(0, 12) +
          " -> " + changed.config_sha256().substr(0, 12) + ")";
      break;
    }
    case Event::kQuotaWarning:
    case Event::PAYLOAD_NOT_SET:
      break;
  }
  return base::Status::Ok();
}

void FinishAudit(AuditState& state) {
  state.summaries.clear();
  for (const Trail& trail : state.trails) {
    AuditSummary& summary = state.summaries.emplace_back();
    summary.workflow = trail.workflow;
    summary.stage = trail.stage;
    summary.custom_id = trail.custom_id;
    summary.state = trail.state;
    summary.attempts = trail.attempt;
    summary.failures = trail.failures;
    summary.batch_key = trail.batch_key;
    summary.provider_batch_id = trail.provider_batch_id;
    summary.code = trail.abandon_reason == "exhausted" || trail.abandon_reason == "permanent" ||
                           trail.abandon_reason.empty() ||
                           (trail.abandon_reason == "cancelled" && FailedOnItsOwn(trail))
                       ? trail.code
                       : trail.abandon_reason;
    if (trail.state == "succeeded") summary.code.clear();
    summary.explanation = Explain(state, trail);
  }
}

std::string RenderAuditJsonl(const AuditState& state) {
  std::string out;
  for (const AuditRow& row : state.rows) {
    out += Dump(RowJson(row));
    out += '\n';
  }
  for (const AuditSummary& summary : state.summaries) {
    out += Dump(SummaryJson(summary));
    out += '\n';
  }
  return out;
}

std::string RenderAuditTable(const AuditState& state) {
  // Columns as wide as their widest cell, so ids and stage names of any length line up.
  std::size_t stage_width = 14;
  std::size_t id_width = 9;
  for (const AuditRow& row : state.rows) {
    stage_width = std::max(stage_width, StageColumn(row).size());
    id_width = std::max(id_width, IdColumn(row).size());
  }
  std::string out;
  char line[128];
  const auto add_row = [&](const std::string& seq, const std::string& time,
                           const std::string& stage, const std::string& id,
                           const std::string& attempt, std::string_view event) {
    std::snprintf(line, sizeof(line), "%8s  %-27s  ", seq.c_str(), time.c_str());
    out += line;
    out += Padded(stage, stage_width) + "  " + Padded(id, id_width) + "  ";
    std::snprintf(line, sizeof(line), "%3s  %-18s  ", attempt.c_str(),
                  std::string(event).c_str());
    out += line;
  };
  add_row("SEQ", "TIME", "WORKFLOW/STAGE", "CUSTOM_ID", "ATT", "EVENT");
  out += "DETAIL\n";
  for (const AuditRow& row : state.rows) {
    add_row(std::to_string(row.seq), base::FormatUnixMicrosUtc(row.recorded_at_unix_us),
            StageColumn(row), IdColumn(row),
            row.attempt == 0 ? "-" : std::to_string(row.attempt), AuditEventName(row.event));
    out += Detail(row);
    out += '\n';
  }
  if (!state.summaries.empty()) out += '\n';
  for (const AuditSummary& summary : state.summaries) {
    out += summary.workflow + "/" + summary.stage + " " + summary.custom_id + ": " +
           summary.state + " — " + summary.explanation + "\n";
  }
  return out;
}

}  // namespace batchlog::replay
