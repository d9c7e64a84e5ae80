// The manifest projection: what failed, why, on which attempt, and what retries recovered,
// per workflow and stage (design.md "The manifest"). Always regenerable from the log:
// `batchlog manifest RUN_ID [--as-of SEQ]` folds the events up to SEQ and renders this.
//
// ManifestState is a pure fold with the same lifecycle rules as the run-state projection
// (replay/lifecycle.h): an impossible event returns kDataLoss naming its seq and leaves the
// state unchanged (a repeated RequestPlanned may be reported by a later event). It tracks
// run_id and generated_at_seq (the last applied seq) from the envelopes it is given.
//
// Per stage, the rendered fields mean:
//   total_requests      RequestPlanned count
//   succeeded           requests whose latest state is success
//   final_failed_ids    requests whose latest state is a final failure (failed permanently or
//                       abandoned), sorted by custom_id
//   total_failures      distinct requests that failed at least once
//   recovered_by_retry  requests that failed at least once and whose latest state is success
//   retry_attempts      highest attempt planned in the stage minus 1 (0 when none)
//   retry_status        "exhausted" if a request was abandoned as exhausted, else
//                       "in_progress" while a retry is scheduled, awaiting a decision or in
//                       flight at attempt > 1, else "completed" if any retry happened,
//                       else "not_needed"
//   batch_ids           provider batch ids of submitted batches holding only attempt 1
//   retry_batch_ids     provider batch ids of submitted batches holding an attempt > 1
//   errors              custom_id -> latest error code, for the final-failed requests (the
//                       abandon reason, e.g. "cancelled", when it never failed)
//   usage               tokens summed over every recorded result (all billed attempts;
//                       re-ingested duplicates are not counted twice)
//   in_flight           requests in a batch awaiting their result
//   waiting_retry       requests failed and awaiting a retry decision or a scheduled retry
// Top level: run_id, generated_at_seq, status (the run's status), workflows. Workflows and
// stages appear in order of first appearance in the log.
//
// Ownership: a plain value, copyable and movable. Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "replay/lifecycle.h"
#include "src/base/status.h"

namespace batchlog::replay {

struct StageUsage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  bool operator==(const StageUsage&) const = default;
};

struct ManifestState {
  Lifecycle lifecycle;  // includes run_id and the run's status
  std::uint64_t generated_at_seq = 0;
  std::vector<StageUsage> usage;  // indexed by stage

  bool operator==(const ManifestState&) const = default;
};

// Folds one event into the manifest. kDataLoss (naming the seq) for an impossible event;
// the state is then unchanged.
base::Status Apply(ManifestState& state, const events::v1::Event& event);

// The Replayer's fast path: the same fold, for a manifest whose lifecycle was equal to
// `leader` (the run state's) before `event`, which `leader` has just applied successfully.
// The manifest reuses the leader's lookups and validation (replay/lifecycle.h).
base::Status ApplyFollowing(ManifestState& state, const events::v1::Event& event,
                            const Lifecycle& leader);

// The manifest as JSON: deterministic, keys in the order of the design page, 2-space
// indent, trailing newline. Invalid UTF-8 in an id is replaced, never thrown on.
std::string RenderManifestJson(const ManifestState& state);

}  // namespace batchlog::replay
