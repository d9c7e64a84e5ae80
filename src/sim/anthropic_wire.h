// The Anthropic Message Batches routes of the emulator (issue 3 item 3; docs/emulator.md):
//   POST   /v1/messages/batches               create (1..anthropic_requests_max requests)
//   GET    /v1/messages/batches/{id}          retrieve (polling)
//   GET    /v1/messages/batches/{id}/results  JSONL results, once processing has ended
//   GET    /v1/messages/batches               list, newest first (after_id, before_id, limit)
//   POST   /v1/messages/batches/{id}/cancel   in_progress -> canceling -> ended
//   DELETE /v1/messages/batches/{id}          only once ended
//
// Wire rules (shared/provider-apis.md section 2):
//   - `x-api-key` (any non-empty value) is required, else 401 authentication_error;
//     `anthropic-version` is required, else 400 invalid_request_error naming the header.
//   - Every answer carries `request-id`; every error is the envelope
//     {"type":"error","error":{"type","message"},"request_id"}.
//   - A create body over anthropic_body_bytes_max is drained and answered 413
//     request_too_large. The body's shape, custom_id (^[a-zA-Z0-9_-]{1,64}$, unique) and
//     the request count are checked at create (400); each request's `params` are checked
//     asynchronously: bad params end as `errored` results with invalid_request_error.
//   - MessageBatch: processing_status in_progress | canceling | ended (no finalizing
//     phase: a batch ends when its last request is done); request_counts other than
//     `processing` stay 0 until ended; RFC 3339 timestamps with microseconds or null;
//     results_url absolute once ended, else null; archived_at set 29 simulated days after
//     creation, after which results answer 404 not_found_error.
//   - Result lines, in the registry's seeded processing order: succeeded (full Message,
//     stop_reason end_turn, max_tokens when the answer was capped, refusal for
//     content_filter outcomes), errored (rate_limit -> rate_limit_error, server_error ->
//     api_error, overloaded -> overloaded_error, timeout -> timeout_error (the SDK's type
//     for 504; which inner types occur in real results is unconfirmed), invalid_request ->
//     invalid_request_error), expired (expired outcome or the 24 h window), canceled.
//   - Control-plane faults from the fault plan: 429 rate_limit_error + retry-after,
//     500 api_error, 529 overloaded_error, connection reset, dropped response after a
//     create that took effect, slow answers, truncated results downloads.
#pragma once

#include <httplib.h>

#include "src/sim/batch_registry.h"
#include "src/sim/sim_context.h"

namespace batchlog::sim {

// Registers /v1/messages/batches... on `server`. `context` must outlive the server.
void RegisterAnthropicRoutes(httplib::Server& server, SimContext& context);

// The formatter of Anthropic result lines (a static instance; every line goes to the
// output file).
const ResultFormatter& AnthropicResultFormatter();

}  // namespace batchlog::sim
