// The audit projection: the timeline of every attempt of the selected requests — planned,
// put in which batch at which attempt, submitted as which provider batch (or adopted, or
// rejected), each recorded poll, the batch's end, the result with its error code, class,
// message, HTTP status and usage, the retry decision with its delay, jitter and not-before
// time, abandonment with its reason — and, per request, where it stands and why
// (`batchlog history`, src/orchestrator/history.h).
//
// AuditState is a pure fold: Apply(state, event) keeps only what concerns the selection,
// so memory is proportional to the selected requests' rows, not to the log. It accepts any
// subsequence of a valid log that holds every event about the selected requests (their
// RequestPlanned, the events of every batch holding them, the decisions and run events):
// that is how history reads a 1M-request log in a few ranges. It does not validate the log
// (the lifecycle does, when the projections are replayed); an event about something it has
// not seen is ignored.
//
// Rows: one per event and selected request for request events (request_planned, result,
// unprocessed), one per event for batch events (listing the selected members) and for
// decisions (listing the selected custom_ids they name), one per stage or run event.
// Requests are identified by (workflow, stage, custom_id): the same custom_id in two
// stages is two requests.
//
// Ownership: a plain value. Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/status.h"

namespace batchlog::replay {

// What to keep. Empty fields match anything; a non-empty batch_key keeps only that batch's
// events and results (and its members' rows about it).
struct AuditSelection {
  std::set<std::string> custom_ids = {};
  std::string workflow = {};
  std::string stage = {};
  std::string batch_key = {};
};

enum class AuditEvent : std::uint8_t {
  kRequestPlanned,
  kBatchPlanned,
  kFileUploaded,
  kBatchSubmitted,
  kSubmitRejected,
  kBatchPolled,
  kBatchEnded,
  kRequestSucceeded,
  kRequestFailed,
  kResultsIngested,
  kUnprocessed,  // a member with no result when its batch was ingested: planned again
  kRetryScheduled,
  kRequestsAbandoned,
  kStageCompleted,
  kRunCompleted,
  kRunFailed,
  kRunCancelled,
  kRunResumed,
  kWorkflowFileChanged,
};
// "request_planned", "batch_planned", ... (the JSONL `event` values).
std::string_view AuditEventName(AuditEvent event);

struct AuditRow {
  std::uint64_t seq = 0;
  std::int64_t recorded_at_unix_us = 0;
  AuditEvent event = AuditEvent::kRequestPlanned;
  std::string workflow;
  std::string stage;
  std::string custom_id;                // request rows
  std::vector<std::string> custom_ids;  // batch and decision rows: the selected ones named
  std::uint32_t attempt = 0;
  std::string batch_key;
  std::string provider_batch_id;
  std::string file_id;
  bool adopted = false;
  bool duplicate = false;  // a re-ingested result: recorded before, not counted again
  bool carried = false;    // a fork's carried-over stage
  bool resumable = false;  // run_cancelled
  std::string status;      // batch status, abandon reason, run end reason
  std::string model;
  std::string source_custom_id;
  events::v1::RequestCounts counts;
  std::uint32_t requests = 0;  // members of the batch
  std::string code;
  std::string error_type;
  std::string error_class;
  bool unknown_code = false;  // no rule knew it: error_class is the configured default
  std::string message;
  std::int32_t http_status = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::int64_t not_before_unix_us = 0;
  double delay_s = 0;
  double jitter_factor = 0;
  double retry_after_s = 0;
};

// Where a selected request stands after the fold, and why.
struct AuditSummary {
  std::string workflow;
  std::string stage;
  std::string custom_id;
  std::string state;  // succeeded, failed_final, in_flight, retry_scheduled,
                      // failed_retryable_waiting, planned, not_planned
  std::uint32_t attempts = 0;  // highest attempt planned (0 = never in a batch)
  std::uint32_t failures = 0;  // attempts that failed (a cancelled one is not a failure)
  std::string batch_key;       // of the latest attempt
  std::string provider_batch_id;
  std::string code;  // latest error code, or the abandon reason
  std::string explanation;
};

struct AuditState {
  AuditSelection selection;
  std::vector<AuditRow> rows;
  // Filled by FinishAudit, in order of first appearance; callers may append (e.g. a
  // not_planned summary for a stage the custom_id never reached).
  std::vector<AuditSummary> summaries;

  // Internal state of the fold.
  struct Trail {
    std::string workflow;
    std::string stage;
    std::string custom_id;
    std::string state = "planned";
    std::uint32_t attempt = 0;
    std::uint32_t failures = 0;
    std::string batch_key;
    std::string provider_batch_id;
    bool has_result = false;  // for the current attempt
    std::string code;
    std::string error_class;
    std::string message;
    std::string abandon_reason;
    std::string batch_error;  // the batch-level error of the latest attempt's batch
    std::int64_t not_before_unix_us = 0;
  };
  struct Member {
    std::uint32_t attempt = 0;
    bool has_result = false;
  };
  struct BatchTrail {
    std::string workflow;
    std::string stage;
    std::string provider_batch_id;
    std::map<std::string, Member> members;  // the selected members, by custom_id
    std::uint32_t requests = 0;
  };
  using TrailKey = std::tuple<std::string, std::string, std::string>;
  std::map<TrailKey, std::uint32_t> trail_index;  // -> trails
  std::vector<Trail> trails;
  std::map<std::string, BatchTrail> batches;
  std::set<std::pair<std::string, std::string>> carried_stages;
  std::set<std::pair<std::string, std::string>> completed_stages;
  std::string carried_from;  // the fork's source run
};

// Folds one event (see the header comment). Never fails on a valid log's subsequence; the
// Status is for symmetry with the other projections and reports nothing today.
base::Status Apply(AuditState& state, const events::v1::Event& event);

// Builds state.summaries from the trails.
void FinishAudit(AuditState& state);

// JSONL: one object per row (`event` names it), then one per summary (`"event":"summary"`).
// Keys with default values are omitted; times are RFC 3339 UTC. Deterministic.
std::string RenderAuditJsonl(const AuditState& state);
// A table for people: one line per row (seq, UTC time, stage, custom_id, attempt, event,
// details), then one line per summary.
std::string RenderAuditTable(const AuditState& state);

}  // namespace batchlog::replay
