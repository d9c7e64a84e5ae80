// Helpers both wire files share: error envelopes, request ids, streaming a spooled file,
// and the transport-level control-plane faults (slow answers, connection resets).
//
// Thread-safety: every function is safe to call concurrently from handler threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/sim/fault_plan.h"
#include "src/sim/sim_context.h"

namespace batchlog::sim {

// The response header carrying the request id: "x-request-id" (OpenAI) or "request-id"
// (Anthropic).
std::string_view RequestIdHeader(Api api);
// A fresh id "req_<24 hex>", seeded and numbered by the context.
std::string NewRequestId(SimContext& context);
// The request id already set on `response` (by the emulator's pre-routing handler), or a
// new one set now.
std::string EnsureRequestId(SimContext& context, Api api, httplib::Response& response);

// {"error":{"message","type","param","code"}} with all four keys (param / code null when
// empty).
void WriteOpenAiError(httplib::Response& response, int status, std::string_view type,
                      std::string_view message, std::string_view param = {},
                      std::string_view code = {});
// A 502 with an HTML page: what a gateway in front of either API answers, no error envelope.
void WriteBadGateway(httplib::Response& response);
// {"type":"error","error":{"type","message"},"request_id"} (request_id from the
// response's request-id header).
void WriteAnthropicError(httplib::Response& response, int status, std::string_view type,
                         std::string_view message);
// The envelope of `api` for an HTTP status, with the conventional type per status
// (404 not found, 405, 413, 500 ...). Used by the server-wide error/exception handlers.
void WriteDefaultError(Api api, httplib::Response& response, int status, std::string_view message);
// Which API a path belongs to: /v1/messages... -> Anthropic, anything else -> OpenAI.
Api ApiOfPath(std::string_view path);

// Serves `path` (`bytes` long) with a content provider: read from disk in chunks, never
// whole in memory. With truncate_fraction < 1 the declared Content-Length stays `bytes`
// but only that fraction is sent before the connection is closed. False (and nothing set)
// when the file cannot be opened (e.g. deleted meanwhile).
bool ServeSpooledFile(httplib::Response& response, const std::filesystem::path& path,
                      std::int64_t bytes, std::string_view content_type,
                      double truncate_fraction = 1.0);

// Closes the server side of `request`'s connection without any response: the client
// reads end-of-stream (then RST) where it expected a status line. The handler should
// return right after; whatever it sets on the response is lost. Found by matching the
// request's local/remote ports against this process's sockets, so it needs no access to
// the server's internals.
void ResetConnection(const httplib::Request& request);

// Applies the fault kinds that are transport-level on every API: kSlow sleeps delay_ms
// (real time) and returns false; kConnectionReset resets the connection and returns true
// (the handler must return at once). Every other kind returns false untouched: the wire
// answers it in its own envelope (and kDropResponse after performing the operation, with
// ResetConnection).
bool ApplyTransportFault(const ControlFault& fault, const httplib::Request& request);

// `value` as compact JSON; invalid UTF-8 is replaced, never thrown about.
std::string DumpJson(const nlohmann::json& value);

// Unix seconds of a timestamp (floor).
std::int64_t ToUnixSeconds(base::Timestamp t);
// RFC 3339 UTC with microseconds: "2026-03-01T09:00:00.123456Z".
std::string ToRfc3339Micros(base::Timestamp t);

}  // namespace batchlog::sim
