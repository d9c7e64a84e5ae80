// ProviderConfig: one provider entry of a workflow file, and MakeProvider, the one way to
// build a BatchProvider from it (docs/providers.md).
//
//   ProviderConfig config;
//   config.name = "openai";
//   config.kind = ProviderKind::kOpenAi;      // base_url and api_key_env take its defaults
//   BATCHLOG_ASSIGN_OR_RETURN(auto provider, MakeProvider(config, ProviderEnvironment{}));
//
// An OpenAI-compatible service is kind kOpenAi with another base_url (which may carry a
// path, e.g. "http://10.0.0.5:8000/compat/v1"), its own api_key_env and extra_headers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
#include "src/providers/result_line.h"

namespace batchlog::providers {

// "https://api.openai.com/v1" / "https://api.anthropic.com/v1".
std::string_view DefaultBaseUrl(ProviderKind kind);
// "OPENAI_API_KEY" / "ANTHROPIC_API_KEY".
std::string_view DefaultApiKeyEnv(ProviderKind kind);

struct ProviderConfig {
  // The workflow file's name for this entry, e.g. "openai" or "claude"; empty = the kind's
  // name. Used in messages and call names.
  std::string name;
  ProviderKind kind = ProviderKind::kOpenAi;
  // Everything before "/batches" (OpenAI) or "/messages/batches" (Anthropic); http:// or
  // https://; a trailing '/' is ignored. Empty = DefaultBaseUrl(kind).
  std::string base_url;
  // The environment variable holding the API key. Empty = DefaultApiKeyEnv(kind).
  std::string api_key_env;
  // Sent with every call, e.g. {"OpenAI-Organization", "org-..."} or {"anthropic-beta",
  // "..."}. Not secret: use redacted_headers for any that must stay out of logs.
  std::vector<http::HttpHeader> extra_headers;
  // Anthropic only: the anthropic-version header. Default "2023-06-01".
  std::string anthropic_version = "2023-06-01";
  // Cap on any control-plane response body held in memory. Default 64 MiB.
  std::uint64_t max_response_bytes = 64ULL << 20;
  // Limits of control-plane calls (upload, create, get, list, cancel).
  http::Timeouts timeouts;
  // Limits of results downloads: no total limit (files can be GBs), but a connection that
  // moves < 1 byte/s for 120 s is dropped.
  http::Timeouts download_timeouts = {std::chrono::milliseconds(10'000),
                                      std::chrono::milliseconds(0), 1, std::chrono::seconds(120)};
  // Transport-level retries of safe calls (http/retrying_transport.h).
  http::RetryPolicy retry;
  // A PEM CA bundle instead of the system's (TLS verification stays on). Empty = default.
  std::filesystem::path ca_bundle_path;
  // Header names logged as "[redacted]" besides Authorization, x-api-key and the others of
  // http::kDefaultRedactedHeaders.
  std::vector<std::string> redacted_headers;
  // Page size of the listings FindBatch walks (OpenAI allows 1..100, Anthropic 1..1000).
  std::uint32_t find_page_size = 100;
};

// What a provider borrows from its host. Null members get defaults owned by the provider.
// Whatever is given must outlive the provider.
struct ProviderEnvironment {
  // One attempt per Send; the provider wraps it in an http::RetryingTransport with
  // config.retry. nullptr = an http::CurlTransport built from the config.
  http::Transport* transport = nullptr;
  // Sleeps between retries and reads "now" for Retry-After dates. nullptr = the system
  // clock.
  base::Clock* clock = nullptr;
  // Retry jitter. nullptr = a SystemRandom.
  base::Random* random = nullptr;
  // Reads an environment variable; nullopt when unset. Empty = std::getenv. Tests inject
  // keys here instead of calling setenv.
  std::function<std::optional<std::string>(const std::string& name)> lookup_env;
};

// Builds the provider. kFailedPrecondition when the key variable is unset or empty (the
// message names the variable, never a value); kInvalidArgument for a bad base_url or name.
// The messages do not name the provider: the caller adds it with the context it knows (the
// workflow file), once.
base::Result<std::unique_ptr<BatchProvider>> MakeProvider(const ProviderConfig& config,
                                                          ProviderEnvironment environment);

}  // namespace batchlog::providers
