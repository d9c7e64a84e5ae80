#include "src/orchestrator/progress_view.h"

#include <cstdio>
#include <vector>

namespace batchlog::orchestrator {
namespace {

using replay::RequestStatus;

std::uint32_t Count(const replay::StageRecord& record, RequestStatus status) {
  return record.by_status[static_cast<std::size_t>(status)];
}

}  // namespace

std::string RenderProgress(const replay::Projections& projections) {
  const replay::Lifecycle& lifecycle = projections.run_state.lifecycle;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "run %s  %s  (seq %llu)\n", lifecycle.run_id.c_str(),
                std::string(replay::RunStatusName(lifecycle.run_status)).c_str(),
                static_cast<unsigned long long>(projections.last_seq));
  out += line;
  std::snprintf(line, sizeof(line), "  %-36s %8s %9s %9s %7s %8s %7s\n", "workflow/stage",
                "planned", "in_flight", "succeeded", "failed", "retrying", "batches");
  out += line;
  std::vector<std::uint32_t> batches(lifecycle.stage_records.size(), 0);
  for (const replay::BatchRecord& batch : lifecycle.batches.records) {
    if (batch.stage < batches.size()) ++batches[batch.stage];
  }
  for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
    const replay::StageRecord& record = lifecycle.stage_records[stage];
    const std::string name = std::string(lifecycle.workflow_name(record.workflow)) + "/" +
                             std::string(lifecycle.stage_name(stage)) +
                             (record.completed ? " (done)" : "");
    std::snprintf(line, sizeof(line), "  %-36s %8u %9u %9u %7u %8u %7u\n", name.c_str(),
                  record.requests, Count(record, RequestStatus::kInFlight),
                  Count(record, RequestStatus::kSucceeded),
                  Count(record, RequestStatus::kFailedFinal),
                  Count(record, RequestStatus::kFailedRetryableWaiting) +
                      Count(record, RequestStatus::kRetryScheduled),
                  batches[stage]);
    out += line;
  }
  if (projections.run_state.quota_holding) {
    out += "  holding new batches: the enqueued-token quota is full (see the QuotaWarning "
           "events)\n";
  }
  return out;
}

}  // namespace batchlog::orchestrator
