#include "replay/stage_inputs_projection.h"

namespace batchlog::replay {

void ApplyFollowing(StageInputs& state, const events::v1::Event& event, const Lifecycle& leader) {
  using events::v1::Event;
  switch (event.payload_case()) {
    case Event::kRequestPlanned:
      state.planned_seq.push_back(event.seq());
      state.result_seq.push_back(0);
      state.body_bytes.push_back(event.blob_bytes());
      return;
    case Event::kRequestSucceeded:
    case Event::kRequestFailed:
      if (!leader.last_result_duplicate && leader.last_result_request != kNoIndex) {
        state.result_seq[leader.last_result_request] = event.seq();
      }
      return;
    case Event::kRunStarted:
    case Event::kBatchPlanned:
    case Event::kFileUploaded:
    case Event::kBatchSubmitted:
    case Event::kSubmitRejected:
    case Event::kBatchPolled:
    case Event::kBatchEnded:
    case Event::kResultsIngested:
    case Event::kRetryScheduled:
    case Event::kRequestsAbandoned:
    case Event::kQuotaWarning:
    case Event::kStageCompleted:
    case Event::kRunCompleted:
    case Event::kRunFailed:
    case Event::kRunCancelled:
    case Event::kRunResumed:
    case Event::kWorkflowFileChanged:
    case Event::PAYLOAD_NOT_SET:
      return;
  }
}

}  // namespace batchlog::replay
