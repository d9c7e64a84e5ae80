// Transport: one HTTP exchange as a value in, a value out. The providers build HttpRequests
// and read HttpResponses; only src/http knows libcurl (curl_transport.h) and only src/http
// unwraps an API key (SecretHeader).
//
// Outcome contract of Send (every implementation keeps it; docs/providers.md):
// - Any HTTP status is a *response* (the caller decides what a 404 or a 429 means).
// - A non-OK Status means no usable response arrived:
//     kUnavailable       nothing was sent (DNS, connect refused) -- or, for a request marked
//                        safe_to_retry, the exchange broke (reset, short body);
//     kDeadlineExceeded  a timeout, for a safe request or before anything was sent;
//     kOutcomeUnknown    a request NOT marked safe_to_retry broke after it was sent
//                        (timeout, reset, short or unreadable body): it may have taken
//                        effect, so nobody may resend it blindly;
//     kInvalidArgument   the response body exceeded the configured cap, or the request
//                        itself is malformed (bad URL);
//     kFailedPrecondition TLS verification failed, or an upload file cannot be read;
//     kInternal          the download file could not be written (disk full, ...).
//   Every message names the call (HttpRequest::call_name) and never contains a secret.
//
// Thread-safety: a Transport is used by one thread at a time (implementations say more).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/base/secret.h"
#include "src/base/status.h"

namespace batchlog::http {

enum class HttpMethod : std::uint8_t { kGet, kPost, kDelete };
// "GET", "POST", "DELETE".
std::string_view HttpMethodName(HttpMethod method);

struct HttpHeader {
  std::string name;
  std::string value;
};

// Response headers in arrival order, looked up case-insensitively (HTTP field names are
// case-insensitive; HTTP/2 sends them lowercase).
class HttpHeaders {
 public:
  void Add(std::string name, std::string value);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> Find(std::string_view name) const;
  const std::vector<HttpHeader>& entries() const { return entries_; }
  void Clear() { entries_.clear(); }

 private:
  std::vector<HttpHeader> entries_;
};

// True when `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// A header whose value is a credential: "<name>: <prefix><secret>", e.g.
// {"Authorization", "Bearer ", key} or {"x-api-key", "", key}. The transport alone reveals
// it, and always logs it as "[redacted]".
struct SecretHeader {
  std::string name;
  std::string prefix;
  base::Secret value;
};

// One part of a multipart/form-data body: inline `value`, or the file at `file_path`
// streamed from disk (never loaded whole).
struct MultipartPart {
  std::string name;
  std::string value;
  std::filesystem::path file_path;  // when set, `value` is ignored
  std::string filename;             // Content-Disposition filename; optional
  std::string content_type;         // optional
};

// Per-request limits. Zero disables a limit.
struct Timeouts {
  std::chrono::milliseconds connect{10'000};
  // The whole exchange, from connect to the last body byte. Default 120 s.
  std::chrono::milliseconds total{120'000};
  // Abort when fewer than low_speed_bytes_per_s arrive for low_speed_window (a stalled
  // connection), whatever `total` says. Default: < 1 byte/s for 60 s.
  std::uint32_t low_speed_bytes_per_s = 1;
  std::chrono::seconds low_speed_window{60};
};

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string url;  // absolute, http:// or https://
  // Names the call in messages and logs, e.g. "openai GetBatch batch_abc". Never a secret.
  std::string call_name;
  std::vector<HttpHeader> headers;
  std::vector<SecretHeader> secret_headers;

  // The body: at most one of `body` (in memory), `body_file` (streamed from disk) or
  // `multipart` (streamed parts). POST with none of them sends an empty body.
  std::string body;
  std::filesystem::path body_file;
  std::vector<MultipartPart> multipart;

  // When set, a 2xx body is streamed to "<download_to>.part", fsynced, checked with
  // `verify_download` (if set), then renamed to `download_to`; on any failure the .part
  // file is removed, so `download_to` exists only when complete. A non-2xx body is read
  // into HttpResponse::body as usual (it is an error envelope).
  std::filesystem::path download_to;
  // Called on the fsynced .part file before the rename; a non-OK Status fails the
  // exchange with that Status (e.g. "the last line has no newline").
  std::function<base::Status(const std::filesystem::path& part_file, std::uint64_t bytes)>
      verify_download;

  // True for calls that may be repeated without effect: GET, list, cancel. Only these are
  // retried (RetryingTransport), and only their broken exchanges are kUnavailable instead
  // of kOutcomeUnknown.
  bool safe_to_retry = false;
  // Overrides the transport's default timeouts (e.g. long downloads).
  std::optional<Timeouts> timeouts;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;                    // empty for a 2xx download (the bytes are in the file)
  std::uint64_t downloaded_bytes = 0;  // bytes written to download_to
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Performs one exchange (RetryingTransport: possibly several). Blocking.
  virtual base::Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace batchlog::http
