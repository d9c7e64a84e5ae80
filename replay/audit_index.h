// The audit index: where in the log each batch's events are, and the seqs of the stage
// decisions and run events, so `batchlog history` reads only the events that concern the
// requests it is asked about (a few ranges of the log) instead of scanning all of it. With
// the stage inputs (each request's RequestPlanned seq) and the lifecycle's batch members it
// locates every event of one request's timeline (src/orchestrator/history.h).
//
// A pure fold that follows the run state (replay/lifecycle.h, "Leader and follower"): it
// reads the batch and request indices the leader resolved for the event, so it must be
// applied right after the run state applied the same event successfully. `batches` is
// indexed like RunState::lifecycle.batches.
//
// Memory: 64 bytes per batch, 16 per recorded poll and per decision event; nothing per
// request.
//
// Ownership: a plain value, copyable and movable. Thread-safety: none.
#pragma once

#include <cstdint>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "replay/lifecycle.h"
#include "replay/pod_vector.h"

namespace batchlog::replay {

// The seqs of one batch's events (0 = not in the log yet).
struct BatchSeqs {
  std::uint64_t uploaded = 0;   // FileUploaded
  std::uint64_t outcome = 0;    // BatchSubmitted or SubmitRejected
  std::uint64_t ended = 0;      // BatchEnded
  std::uint64_t ingested = 0;   // ResultsIngested
  std::uint64_t first_result = 0;  // first RequestSucceeded/Failed naming the batch
  std::uint64_t last_result = 0;   // last one (results of a batch lie in between)
  bool operator==(const BatchSeqs&) const = default;
};

// An event tied to a batch or a stage, by seq.
struct IndexedSeq {
  std::uint64_t owner = 0;  // batch index (polls) or stage index (decisions); 64-bit so the
                            // struct has no padding (PodVector compares bytes)
  std::uint64_t seq = 0;
  bool operator==(const IndexedSeq&) const = default;
};

struct AuditIndex {
  std::vector<BatchSeqs> batches;
  PodVector<IndexedSeq> polls;      // BatchPolled, owner = batch
  PodVector<IndexedSeq> decisions;  // RetryScheduled, RequestsAbandoned, StageCompleted;
                                    // owner = stage
  PodVector<std::uint64_t> run_events;  // RunStarted, RunCompleted/Failed/Cancelled/Resumed

  bool operator==(const AuditIndex&) const = default;
};

// Applies `event`, which `leader` (the run state's lifecycle) has just applied successfully.
void ApplyFollowing(AuditIndex& state, const events::v1::Event& event, const Lifecycle& leader);

}  // namespace batchlog::replay
