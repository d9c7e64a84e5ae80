// ApiClient: the HTTP plumbing both providers share (internal to src/providers).
//
// It builds requests against the provider's base URL with the credential and extra
// headers, sends them through the retrying transport, and turns HTTP answers into the
// error contract of batch_provider.h:
//   - ErrorStatus: a non-2xx answer to a call that is not a create, as a Status
//     (404 kNotFound, 408 kDeadlineExceeded, 429 kResourceExhausted, 5xx kUnavailable,
//     401/403/409 kFailedPrecondition, anything else kInvalidArgument), naming the call,
//     the HTTP status, the provider's error type/code/message and its request id.
//   - Rejection: a non-2xx answer to a create (upload, batch create) as data (ApiError),
//     except 504, which says the call timed out somewhere behind the server and may still
//     have taken effect: kOutcomeUnknown. BatchCreateRejection also answers 500 and 502
//     with kOutcomeUnknown: a batch create that failed inside the server or behind a
//     gateway may have created the batch, which costs money twice if created again, so the
//     caller reconciles (provider-apis.md 5.4). 503 and 529 say the server refused the
//     work (overloaded) and stay rejections.
//
// Ownership: owns the TransportStack (whatever MakeProvider created); borrows the rest.
// Thread-safety: one thread at a time, like the provider that owns it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/base/result.h"
#include "src/http/retrying_transport.h"
#include "src/http/transport.h"
#include "src/providers/batch_provider.h"
#include "src/providers/json_fields.h"

namespace batchlog::providers {

// The transports and defaults a provider owns. `retrying` is what calls go through.
struct TransportStack {
  std::unique_ptr<http::Transport> owned_transport;
  std::unique_ptr<base::Clock> owned_clock;
  std::unique_ptr<base::Random> owned_random;
  std::unique_ptr<http::RetryingTransport> retrying;
};

struct ApiClientOptions {
  ProviderKind kind = ProviderKind::kOpenAi;
  std::string name;      // the provider entry's name, first word of every call name
  std::string base_url;  // without a trailing '/'
  std::vector<http::HttpHeader> headers;               // sent with every call
  std::vector<http::SecretHeader> credential_headers;  // sent to base_url's origin only
  http::Timeouts download_timeouts;
};

class ApiClient {
 public:
  ApiClient(ApiClientOptions options, base::Clock& clock, std::unique_ptr<TransportStack> stack);

  ProviderKind kind() const { return options_.kind; }
  const std::string& name() const { return options_.name; }
  const std::string& base_url() const { return options_.base_url; }

  // "<name> <operation>[ <subject>]", e.g. "openai GetBatch batch_abc".
  std::string CallName(std::string_view operation, std::string_view subject = {}) const;

  // A request to base_url + `path` ("/batches"), with every header.
  http::HttpRequest NewRequest(http::HttpMethod method, std::string_view path,
                               std::string call_name, bool safe_to_retry) const;
  // A request to an absolute `url` (or a path, resolved against base_url). The credential
  // goes along only when the URL has base_url's scheme, host and port.
  http::HttpRequest NewRequestForUrl(http::HttpMethod method, std::string_view url,
                                     std::string call_name, bool safe_to_retry) const;
  // A download of a results file: streamed to `path`, complete only when it ends with a
  // newline (or is empty), with the download timeouts.
  void MakeDownload(http::HttpRequest& request, const std::filesystem::path& path) const;

  base::Result<http::HttpResponse> Send(const http::HttpRequest& request);
  // Sends; a 2xx answer must be a JSON object; any other answer is ErrorStatus.
  base::Result<Json> SendForObject(const http::HttpRequest& request);

  // The provider's error envelope ({"error":{...}} in either dialect, or a bare
  // "message"/"detail"), or nullopt when the body has none.
  std::optional<ApiError> ParseApiError(const http::HttpResponse& response) const;
  base::Status ErrorStatus(std::string_view call, const http::HttpResponse& response) const;
  base::Result<ApiError> Rejection(std::string_view call, const http::HttpResponse& response) const;
  base::Result<ApiError> BatchCreateRejection(std::string_view call,
                                              const http::HttpResponse& response) const;

 private:
  std::string RequestId(const http::HttpResponse& response) const;

  ApiClientOptions options_;
  base::Clock& clock_;
  std::unique_ptr<TransportStack> stack_;
};

// A provider id used in a URL path or query (batch, file and cursor ids): 1..256 bytes of
// [A-Za-z0-9_.-]. kInvalidArgument naming `what` otherwise.
base::Status CheckId(std::string_view what, std::string_view id);

// "scheme://host[:port]" of an absolute URL, or "" when `url` is not absolute.
std::string_view UrlOrigin(std::string_view url);

}  // namespace batchlog::providers
