// CurlTransport: the Transport over libcurl. One attempt per Send (wrap it in a
// RetryingTransport for the retry policy).
//
// - One easy handle for the transport's lifetime, reset between exchanges, so connections,
//   TLS sessions and DNS answers are reused. A request not marked safe_to_retry (a create)
//   always goes over a fresh connection that is closed afterwards: libcurl silently resends
//   a request whose reused connection turns out dead, which for a create could make a
//   second batch.
// - TLS: peer and host verification are always on; there is no option to turn them off.
//   `ca_bundle_path` replaces the system CA bundle (e.g. a corporate proxy's CA).
// - Proxies come from the usual environment variables (http_proxy, https_proxy, no_proxy),
//   libcurl's default. Only http:// and https:// URLs are followed; redirects are not.
// - In-memory response bodies are capped at max_response_bytes (compressed bodies count
//   decompressed); downloads stream to disk (transport.h, HttpRequest::download_to).
// - Every exchange is logged at debug level with secret headers and the headers in
//   kDefaultRedactedHeaders + redacted_headers shown as "[redacted]".
//
// Thread-safety: not thread-safe; one CurlTransport per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "src/base/result.h"
#include "src/http/transport.h"

namespace batchlog::http {

struct CurlTransportOptions {
  // Default limits of every exchange; HttpRequest::timeouts overrides them per request.
  Timeouts timeouts;
  // Cap on a response body held in memory. Default 64 MiB.
  std::uint64_t max_response_bytes = 64ULL << 20;
  // A PEM CA bundle used instead of the system's; empty = libcurl's default. Verification
  // stays on either way.
  std::filesystem::path ca_bundle_path;
  std::string user_agent = "batchlog/0.1";
  // Header names logged as "[redacted]" in addition to kDefaultRedactedHeaders.
  std::vector<std::string> redacted_headers;
};

class CurlTransport final : public Transport {
 public:
  // Initializes libcurl once per process. kUnavailable if libcurl cannot make a handle.
  static base::Result<std::unique_ptr<CurlTransport>> Create(CurlTransportOptions options);

  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  base::Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Handle;
  CurlTransport(CurlTransportOptions options, std::unique_ptr<Handle> handle);

  CurlTransportOptions options_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace batchlog::http
