#include "replay/audit_index.h"

namespace batchlog::replay {
namespace {

using events::v1::Event;

void NoteResult(AuditIndex& state, const Lifecycle& leader, std::uint64_t seq) {
  const std::uint32_t batch = leader.last_result_batch;
  if (batch >= state.batches.size()) return;
  BatchSeqs& seqs = state.batches[batch];
  if (seqs.first_result == 0) seqs.first_result = seq;
  seqs.last_result = seq;
}

// The batch a batch event was about: the leader's lookup cache holds it.
BatchSeqs* BatchOf(AuditIndex& state, const Lifecycle& leader) {
  const std::uint32_t batch = leader.cached_batch;
  return batch < state.batches.size() ? &state.batches[batch] : nullptr;
}

// The stage of the requests a RetryScheduled / RequestsAbandoned named (leader.scratch).
void NoteDecision(AuditIndex& state, const Lifecycle& leader, std::uint64_t seq) {
  if (leader.scratch.empty()) return;
  state.decisions.push_back({leader.requests.stage(leader.scratch.front()), seq});
}

}  // namespace

void ApplyFollowing(AuditIndex& state, const Event& event, const Lifecycle& leader) {
  const std::uint64_t seq = event.seq();
  switch (event.payload_case()) {
    case Event::kBatchPlanned:
      state.batches.resize(leader.batches.size());
      return;
    case Event::kFileUploaded:
      if (BatchSeqs* seqs = BatchOf(state, leader)) seqs->uploaded = seq;
      return;
    case Event::kBatchSubmitted:
    case Event::kSubmitRejected:
      if (BatchSeqs* seqs = BatchOf(state, leader)) seqs->outcome = seq;
      return;
    case Event::kBatchPolled:
      if (leader.cached_batch < state.batches.size()) {
        state.polls.push_back({leader.cached_batch, seq});
      }
      return;
    case Event::kBatchEnded:
      if (BatchSeqs* seqs = BatchOf(state, leader)) seqs->ended = seq;
      return;
    case Event::kRequestSucceeded:
    case Event::kRequestFailed:
      NoteResult(state, leader, seq);
      return;
    case Event::kResultsIngested:
      if (BatchSeqs* seqs = BatchOf(state, leader)) seqs->ingested = seq;
      return;
    case Event::kRetryScheduled:
    case Event::kRequestsAbandoned:
      NoteDecision(state, leader, seq);
      return;
    case Event::kStageCompleted: {
      const std::uint32_t stage =
          leader.FindStage(event.stage_completed().workflow(), event.stage_completed().stage());
      if (stage != kNoIndex) state.decisions.push_back({stage, seq});
      return;
    }
    case Event::kRunStarted:
    case Event::kRunCompleted:
    case Event::kRunFailed:
    case Event::kRunCancelled:
    case Event::kRunResumed:
    case Event::kWorkflowFileChanged:
      state.run_events.push_back(seq);
      return;
    case Event::kRequestPlanned:
    case Event::kQuotaWarning:
    case Event::PAYLOAD_NOT_SET:
      return;
  }
}

}  // namespace batchlog::replay
