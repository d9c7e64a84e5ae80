// Replayer: folds events, in seq order, through every projection of a Projections value.
// It is the same fold whether the events come from a full replay, from the tail after a
// snapshot, or live from the orchestrator's loop (state.apply(events) in design.md).
//
// Seqs must be dense: an event whose seq is not last_seq + 1 is kDataLoss naming both seqs
// (a gap means the log lost events, a repeat means it was read twice). An event a
// projection finds impossible is kDataLoss naming its seq. After an error the projections
// may have taken part of that event and must be discarded; last_seq is not advanced.
//
// The run state is folded first and leads: the manifest, the stage inputs and the audit
// index follow it, reading its lifecycle (replay/lifecycle.h, "Leader and follower").
//
// Ownership: the Replayer borrows the Projections, which must outlive it.
// Thread-safety: none; one thread folds at a time.
#pragma once

#include "batchlog/events/v1/events.pb.h"
#include "replay/event_source.h"
#include "replay/projections.h"
#include "src/base/status.h"

namespace batchlog::replay {

class Replayer {
 public:
  explicit Replayer(Projections& projections);

  // Applies one event; checks seq == last_seq + 1. A repeated RequestPlanned may be
  // reported by a later Apply or by Fold (replay/lifecycle.h).
  base::Status Apply(const events::v1::Event& event);
  // Applies events from `source` until it is exhausted (OK) or an error (returned), then
  // completes the checks of the requests planned so far.
  base::Status Fold(EventSource& source);

 private:
  Projections& projections_;
};

}  // namespace batchlog::replay
