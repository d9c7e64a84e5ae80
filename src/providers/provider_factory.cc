// MakeProvider: resolves the key, the base URL and the transport stack of a provider entry.
#include <cstdlib>
#include <utility>

#include "src/http/curl_transport.h"
#include "src/providers/anthropic_provider.h"
#include "src/providers/api_client.h"
#include "src/providers/openai_provider.h"
#include "src/providers/provider_config.h"

namespace batchlog::providers {

std::string_view DefaultBaseUrl(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kOpenAi:
      return "https://api.openai.com/v1";
    case ProviderKind::kAnthropic:
      return "https://api.anthropic.com/v1";
  }
  return "https://api.openai.com/v1";
}

std::string_view DefaultApiKeyEnv(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kOpenAi:
      return "OPENAI_API_KEY";
    case ProviderKind::kAnthropic:
      return "ANTHROPIC_API_KEY";
  }
  return "OPENAI_API_KEY";
}

namespace {

std::optional<std::string> GetEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

base::Result<std::string> ResolveBaseUrl(const ProviderConfig& config) {
  std::string url =
      config.base_url.empty() ? std::string(DefaultBaseUrl(config.kind)) : config.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  const bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!http || UrlOrigin(url).size() <= url.find("://") + 3 ||
      url.find_first_of("?# \t\r\n") != std::string::npos) {
    return base::InvalidArgumentError(
        "base_url must be an http:// or https:// URL without query or fragment: \"" + Snippet(url) +
        "\"");
  }
  return url;
}

}  // namespace

base::Result<std::unique_ptr<BatchProvider>> MakeProvider(const ProviderConfig& config,
                                                          ProviderEnvironment environment) {
  const std::string name =
      config.name.empty() ? std::string(ProviderKindName(config.kind)) : config.name;
  BATCHLOG_ASSIGN_OR_RETURN(std::string base_url, ResolveBaseUrl(config));

  const std::string key_env =
      config.api_key_env.empty() ? std::string(DefaultApiKeyEnv(config.kind)) : config.api_key_env;
  const auto lookup = environment.lookup_env ? environment.lookup_env : GetEnv;
  std::optional<std::string> key_text = lookup(key_env);
  if (!key_text || key_text->empty()) {
    return base::FailedPreconditionError("the API key variable " + key_env +
                                         " is not set or is empty");
  }
  base::Secret key(*std::move(key_text));

  auto stack = std::make_unique<TransportStack>();
  http::Transport* transport = environment.transport;
  if (transport == nullptr) {
    http::CurlTransportOptions options;
    options.timeouts = config.timeouts;
    options.max_response_bytes = config.max_response_bytes;
    options.ca_bundle_path = config.ca_bundle_path;
    options.redacted_headers = config.redacted_headers;
    BATCHLOG_ASSIGN_OR_RETURN(stack->owned_transport,
                              http::CurlTransport::Create(std::move(options)));
    transport = stack->owned_transport.get();
  }
  base::Clock* clock = environment.clock;
  if (clock == nullptr) {
    stack->owned_clock = std::make_unique<base::SystemClock>();
    clock = stack->owned_clock.get();
  }
  base::Random* random = environment.random;
  if (random == nullptr) {
    stack->owned_random = std::make_unique<base::SystemRandom>();
    random = stack->owned_random.get();
  }
  stack->retrying =
      std::make_unique<http::RetryingTransport>(*transport, config.retry, *clock, *random);

  ApiClientOptions options;
  options.kind = config.kind;
  options.name = name;
  options.base_url = std::move(base_url);
  options.headers = config.extra_headers;
  options.download_timeouts = config.download_timeouts;
  switch (config.kind) {
    case ProviderKind::kOpenAi:
      options.credential_headers.push_back({"Authorization", "Bearer ", std::move(key)});
      return std::unique_ptr<BatchProvider>(
          std::make_unique<OpenAiProvider>(ApiClient(std::move(options), *clock, std::move(stack)),
                                           std::min<std::uint32_t>(config.find_page_size, 100)));
    case ProviderKind::kAnthropic:
      options.headers.push_back({"anthropic-version", config.anthropic_version});
      options.credential_headers.push_back({"x-api-key", "", std::move(key)});
      return std::unique_ptr<BatchProvider>(std::make_unique<AnthropicProvider>(
          ApiClient(std::move(options), *clock, std::move(stack)),
          std::min<std::uint32_t>(config.find_page_size, 1000)));
  }
  return base::InvalidArgumentError("unknown kind");
}

}  // namespace batchlog::providers
