#include "replay/replayer.h"

#include <string>

namespace batchlog::replay {

namespace {

bool SameShape(const Lifecycle& a, const Lifecycle& b) {
  return a.run_status == b.run_status && a.run_id == b.run_id &&
         a.requests.size() == b.requests.size() && a.batches.size() == b.batches.size() &&
         a.batches.members.size() == b.batches.members.size() &&
         a.stages.size() == b.stages.size() && a.workflows.size() == b.workflows.size() &&
         a.error_codes.size() == b.error_codes.size() && a.providers.size() == b.providers.size();
}

}  // namespace

Replayer::Replayer(Projections& projections)
    : projections_(projections),
      follow_(SameShape(projections.run_state.lifecycle, projections.manifest.lifecycle)) {}

base::Status Replayer::Apply(const events::v1::Event& event) {
  const std::uint64_t expected = projections_.last_seq + 1;
  if (event.seq() != expected) [[unlikely]] {
    return base::DataLossError("seq " + std::to_string(event.seq()) +
                               ": out of order, expected seq " + std::to_string(expected));
  }
  BATCHLOG_RETURN_IF_ERROR(replay::Apply(projections_.run_state, event));
  if (follow_) {
    BATCHLOG_RETURN_IF_ERROR(
        ApplyFollowing(projections_.manifest, event, projections_.run_state.lifecycle));
  } else {
    BATCHLOG_RETURN_IF_ERROR(replay::Apply(projections_.manifest, event));
  }
  ApplyFollowing(projections_.stage_inputs, event, projections_.run_state.lifecycle);
  ApplyFollowing(projections_.audit_index, event, projections_.run_state.lifecycle);
  projections_.last_seq = expected;
  return base::Status::Ok();
}

base::Status Replayer::Fold(EventSource& source) {
  while (const events::v1::Event* event = source.Next()) {
    BATCHLOG_RETURN_IF_ERROR(Apply(*event));
  }
  BATCHLOG_RETURN_IF_ERROR(source.status());
  // Repeated RequestPlanned events are found in batches (replay/lifecycle.h): finish.
  BATCHLOG_RETURN_IF_ERROR(CheckPlannedRequests(projections_.run_state.lifecycle));
  if (!follow_) BATCHLOG_RETURN_IF_ERROR(CheckPlannedRequests(projections_.manifest.lifecycle));
  return base::Status::Ok();
}

}  // namespace batchlog::replay
