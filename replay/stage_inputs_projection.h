// The stage-inputs projection: where, in the log, each request's body and its latest result
// are, so the executor can submit a request (its body is the blob of its RequestPlanned
// event) and build a later stage from an earlier one's answer (the blob of its
// RequestSucceeded event) without scanning the log.
//
// A pure fold that follows the run state (replay/lifecycle.h, "Leader and follower"): it
// reads the request index the leader resolved for the event, so it must be applied right
// after the run state applied the same event successfully. Indexed like
// RunState::lifecycle.requests.
//
// Memory: 20 bytes per request (two seqs, a size), on top of the run state's figure.
//
// Ownership: a plain value, copyable and movable. Thread-safety: none.
#pragma once

#include <cstdint>

#include "batchlog/events/v1/events.pb.h"
#include "replay/lifecycle.h"
#include "replay/pod_vector.h"

namespace batchlog::replay {

struct StageInputs {
  PodVector<std::uint64_t> planned_seq;  // seq of the request's RequestPlanned
  PodVector<std::uint64_t> result_seq;   // seq of its latest recorded result; 0 = none
  PodVector<std::uint32_t> body_bytes;   // size of its body (the RequestPlanned blob)

  bool operator==(const StageInputs&) const = default;
};

// Applies `event`, which `leader` (the run state's lifecycle) has just applied successfully.
void ApplyFollowing(StageInputs& state, const events::v1::Event& event, const Lifecycle& leader);

}  // namespace batchlog::replay
