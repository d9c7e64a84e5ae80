// Decide: the pure heart of the orchestrator (design.md "The loop"). Given the run state
// folded from the log, the resolved stage policies, what this process knows about polling
// and holds, and the time, it returns the commands to carry out and when to wake up next.
// No I/O, no clock, no randomness: the same input always gives the same decision, so every
// rule is unit-tested without a provider or a store.
//
// Rules (design.md "Retry rules"):
// - Open intents first: ingest ended batches, submit planned ones (reconciling those an
//   earlier process planned), poll submitted ones whose poll is due. A held stage (after a
//   transient provider failure) makes no new submission or download until the hold ends.
// - A failed, retryable request at attempt n is scheduled for attempt n + 1 while
//   n <= max_retries, else abandoned as exhausted. Permanent failures are final already.
// - Planned requests (never sent, or returned unprocessed) and due retries are put into
//   new batches of at most batch_max_requests, one attempt per batch, unless the stage is
//   held (after a transient rejection of a create).
// - The enqueued-token quota (enqueued_tokens.h): a new batch that would take its (provider,
//   model) over the quota is held until batches end; when nothing is enqueued, the batch is
//   cut to what fits (at least one request), so a quota smaller than a batch still makes
//   progress. A QuotaWarning is recorded the first time the count reaches the warning
//   fraction, and whenever a hold starts or ends.
// - A later stage is planned from its upstream's successes: as they arrive (as_ready) or
//   once the upstream stage completed.
// - A stage completes when all its requests are planned and each has succeeded or failed
//   for good; the run completes when every stage has.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "replay/run_state_projection.h"
#include "src/orchestrator/command.h"
#include "src/orchestrator/stage_policy.h"

namespace batchlog::orchestrator {

// What the executor knows that the log does not record (pacing only, never outcomes).
struct SessionFacts {
  // Submitted batches whose next poll time this process has set; absent = poll now. Also
  // planned batches whose reconciliation waits for a candidate batch to end (Anthropic).
  std::unordered_map<std::uint32_t, std::int64_t> next_poll_us;
  // Batches planned by this process: they need no reconciliation before submitting.
  std::unordered_set<std::uint32_t> planned_here;
  // Per policy: no new batch before this time (0 = not held).
  std::vector<std::int64_t> hold_until_us;
};

struct DecideInput {
  const replay::RunState& state;
  const std::vector<StagePolicy>& policies;
  const SessionFacts& session;
  std::int64_t now_us = 0;
  // Per request index, the size of its body (the stage inputs projection's body_bytes):
  // the enqueued-token quota's estimates and the batch byte limit. Empty counts every
  // request as 0 tokens and 0 bytes.
  std::span<const std::uint32_t> request_body_bytes = {};
};

// The bytes one request adds to a batch's input as planning counts them: its body plus the
// provider's per-line wrapper (custom_id, method, url; at most ~120 bytes besides the id).
inline std::uint64_t PlannedLineBytes(std::uint32_t body_bytes, std::size_t custom_id_bytes) {
  return std::uint64_t{body_bytes} + 120 + custom_id_bytes;
}

struct Decision {
  std::vector<Command> commands;
  // When something becomes due (a poll, a retry, the end of a hold); nullopt = nothing
  // is waiting on time.
  std::optional<std::int64_t> wake_at_us;
  // The run has reached a final status: nothing more to do.
  bool done = false;
};

Decision Decide(const DecideInput& input);

}  // namespace batchlog::orchestrator
