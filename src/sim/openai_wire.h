// The OpenAI Files + Batch routes of the emulator (issue 3 item 2):
//   POST /v1/files (multipart, purpose=batch; streamed to the spool directory)
//   GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}
//   POST /v1/batches, GET /v1/batches/{id}, GET /v1/batches (after, limit),
//   POST /v1/batches/{id}/cancel
// Every answer carries x-request-id; every error is the OpenAI envelope
// {"error":{"message","type","param","code"}}. Auth: "Authorization: Bearer <non-empty>".
#pragma once

#include <httplib.h>

#include "src/sim/batch_registry.h"
#include "src/sim/sim_context.h"

namespace batchlog::sim {

// Registers the routes on `server`. `context` must outlive the server.
void RegisterOpenAiRoutes(httplib::Server& server, SimContext& context);

// The formatter of OpenAI output/error lines (a static instance).
const ResultFormatter& OpenAiResultFormatter();

}  // namespace batchlog::sim
