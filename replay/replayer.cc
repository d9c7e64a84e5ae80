#include "replay/replayer.h"

#include <string>

namespace batchlog::replay {

Replayer::Replayer(Projections& projections) : projections_(projections) {}

base::Status Replayer::Apply(const events::v1::Event& event) {
  const std::uint64_t expected = projections_.last_seq + 1;
  if (event.seq() != expected) [[unlikely]] {
    return base::DataLossError("seq " + std::to_string(event.seq()) +
                               ": out of order, expected seq " + std::to_string(expected));
  }
  BATCHLOG_RETURN_IF_ERROR(replay::Apply(projections_.run_state, event));
  BATCHLOG_RETURN_IF_ERROR(
      ApplyFollowing(projections_.manifest, event, projections_.run_state.lifecycle));
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
  return base::Status::Ok();
}

}  // namespace batchlog::replay
