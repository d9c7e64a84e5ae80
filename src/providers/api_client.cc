#include "src/providers/api_client.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "src/http/retry_after.h"

namespace batchlog::providers {
namespace {

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// A finished download must end with a whole line: '\n', or a last line that is one complete
// JSON value (a provider need not end its file with a newline). Anything else was cut short,
// even when the HTTP layer did not notice (a body read until the connection closed has no
// length to check against). Only the last line is read back.
base::Status VerifyEndsWithWholeLine(const std::string& call, const std::filesystem::path& part,
                                     std::uint64_t bytes) {
  if (bytes == 0) return base::Status::Ok();
  std::FILE* file = std::fopen(part.c_str(), "rb");
  if (file == nullptr) return base::InternalError(call + ": cannot reopen " + part.string());
  // Read the tail in chunks until its last '\n' (or the file's start) is in view.
  constexpr long kChunk = 64 * 1024;
  std::string tail;
  long end = static_cast<long>(bytes);
  bool whole = false;
  while (end > 0) {
    const long begin = std::max(0L, end - kChunk);
    std::string chunk(static_cast<std::size_t>(end - begin), '\0');
    if (std::fseek(file, begin, SEEK_SET) != 0 ||
        std::fread(chunk.data(), 1, chunk.size(), file) != chunk.size()) {
      break;
    }
    tail.insert(0, chunk);
    if (tail.back() == '\n') {
      whole = true;
      break;
    }
    const std::size_t newline = tail.rfind('\n');
    if (newline != std::string::npos || begin == 0) {
      const std::string_view last_line =
          std::string_view(tail).substr(newline == std::string::npos ? 0 : newline + 1);
      whole = Json::accept(last_line);
      break;
    }
    end = begin;
  }
  std::fclose(file);
  if (!whole) {
    return base::UnavailableError(call + ": the download is truncated: its last line (of " +
                                  std::to_string(bytes) +
                                  " bytes) has no newline and is not a complete JSON value");
  }
  return base::Status::Ok();
}

// The status code that tells the caller what an HTTP error means for it (see ErrorStatus).
base::Status StatusForHttpError(int status, std::string message) {
  if (status == 404) return base::NotFoundError(std::move(message));
  if (status == 408) return base::DeadlineExceededError(std::move(message));
  if (status == 429) return base::ResourceExhaustedError(std::move(message));
  if (status >= 500) return base::UnavailableError(std::move(message));
  if (status == 401 || status == 403 || status == 409) {
    return base::FailedPreconditionError(std::move(message));
  }
  if (status >= 300 && status < 400) {
    return base::InvalidArgumentError(std::move(message) + " (redirect)");
  }
  return base::InvalidArgumentError(std::move(message));
}

}  // namespace

ApiClient::ApiClient(ApiClientOptions options, base::Clock& clock,
                     std::unique_ptr<TransportStack> stack)
    : options_(std::move(options)), clock_(clock), stack_(std::move(stack)) {}

std::string ApiClient::CallName(std::string_view operation, std::string_view subject) const {
  std::string call = options_.name;
  call += ' ';
  call.append(operation);
  if (!subject.empty()) {
    call += ' ';
    call.append(subject);
  }
  return call;
}

http::HttpRequest ApiClient::NewRequest(http::HttpMethod method, std::string_view path,
                                        std::string call_name, bool safe_to_retry) const {
  http::HttpRequest request;
  request.method = method;
  request.url = options_.base_url;
  request.url.append(path);
  request.call_name = std::move(call_name);
  request.safe_to_retry = safe_to_retry;
  request.headers = options_.headers;
  request.headers.push_back({"Accept", "application/json"});
  request.secret_headers = options_.credential_headers;
  return request;
}

http::HttpRequest ApiClient::NewRequestForUrl(http::HttpMethod method, std::string_view url,
                                              std::string call_name, bool safe_to_retry) const {
  if (UrlOrigin(url).empty()) {
    // A path: relative to the origin when it starts with '/', else to base_url.
    std::string absolute = url.substr(0, 1) == "/" ? std::string(UrlOrigin(options_.base_url))
                                                   : options_.base_url + "/";
    absolute.append(url);
    return NewRequestForUrl(method, absolute, std::move(call_name), safe_to_retry);
  }
  http::HttpRequest request = NewRequest(method, "", std::move(call_name), safe_to_retry);
  request.url = std::string(url);
  if (UrlOrigin(url) != UrlOrigin(options_.base_url)) request.secret_headers.clear();
  return request;
}

void ApiClient::MakeDownload(http::HttpRequest& request, const std::filesystem::path& path) const {
  request.download_to = path;
  request.timeouts = options_.download_timeouts;
  for (http::HttpHeader& header : request.headers) {
    if (header.name == "Accept") header.value = "application/binary";
  }
  request.verify_download = [call = request.call_name](const std::filesystem::path& part,
                                                       std::uint64_t bytes) {
    return VerifyEndsWithWholeLine(call, part, bytes);
  };
}

base::Result<http::HttpResponse> ApiClient::Send(const http::HttpRequest& request) {
  return stack_->retrying->Send(request);
}

base::Result<Json> ApiClient::SendForObject(const http::HttpRequest& request) {
  BATCHLOG_ASSIGN_OR_RETURN(http::HttpResponse response, Send(request));
  if (!IsSuccess(response.status)) return ErrorStatus(request.call_name, response);
  return ParseJsonObject(request.call_name, response.body);
}

std::optional<ApiError> ApiClient::ParseApiError(const http::HttpResponse& response) const {
  const Json body =
      Json::parse(response.body.begin(), response.body.end(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return std::nullopt;
  ApiError error;
  error.http_status = response.status;
  const auto text = [](const Json& object, std::string_view key) {
    const Json* value = FindField(object, key);
    return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
  };
  // OpenAI {"error":{"message","type","param","code"}}; Anthropic {"type":"error",
  // "error":{"type","message"}}; some compatible servers {"error":"..."} or {"detail":"..."}.
  if (const Json* inner = FindField(body, "error")) {
    if (inner->is_object()) {
      error.type = text(*inner, "type");
      error.code = text(*inner, "code");
      error.message = text(*inner, "message");
      error.param = text(*inner, "param");
    } else if (inner->is_string()) {
      error.message = inner->get<std::string>();
    } else {
      return std::nullopt;
    }
  } else if (const Json* message = FindField(body, "message"); message && message->is_string()) {
    error.message = message->get<std::string>();
  } else if (const Json* detail = FindField(body, "detail"); detail && detail->is_string()) {
    error.message = detail->get<std::string>();
  } else {
    return std::nullopt;
  }
  if (const auto delay = http::ParseRetryAfter(response.headers, clock_.Now())) {
    error.retry_after_s = std::chrono::duration<double>(*delay).count();
  }
  error.request_id = RequestId(response);
  return error;
}

std::string ApiClient::RequestId(const http::HttpResponse& response) const {
  const auto id = response.headers.Find(options_.kind == ProviderKind::kAnthropic ? "request-id"
                                                                                  : "x-request-id");
  return id ? std::string(*id) : std::string();
}

base::Status ApiClient::ErrorStatus(std::string_view call,
                                    const http::HttpResponse& response) const {
  const int status = response.status;
  std::string message = std::string(call) + ": HTTP " + std::to_string(status);
  // Read from the headers whatever the body holds: a gateway's 429 or 503 may ask for a
  // wait without an error envelope.
  const std::optional<base::Duration> retry_after =
      http::ParseRetryAfter(response.headers, clock_.Now());
  if (const std::optional<ApiError> error = ParseApiError(response)) {
    if (!error->type.empty()) message += " " + error->type;
    if (!error->code.empty()) message += " (" + error->code + ")";
    message += ": " + error->message;
  } else if (!response.body.empty()) {
    message += ": \"" + Snippet(response.body) + "\"";
  }
  if (retry_after) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.3g",
                  std::chrono::duration<double>(*retry_after).count());
    message += std::string("; retry after ") + seconds + " s";
  }
  if (const std::string id = RequestId(response); !id.empty()) {
    message += " (request id " + id + ")";
  }
  base::Status out = StatusForHttpError(status, std::move(message));
  return retry_after ? out.WithRetryAfter(*retry_after) : out;
}

base::Result<ApiError> ApiClient::Rejection(std::string_view call,
                                            const http::HttpResponse& response) const {
  if (response.status == 504) {
    return base::OutcomeUnknownError(ErrorStatus(call, response).message() +
                                     "; a gateway timeout: the call may have taken effect");
  }
  if (std::optional<ApiError> error = ParseApiError(response)) return *std::move(error);
  ApiError error;
  error.http_status = response.status;
  error.message = "HTTP " + std::to_string(response.status) + " without an error body";
  if (!response.body.empty()) error.message += ": \"" + Snippet(response.body) + "\"";
  if (const auto delay = http::ParseRetryAfter(response.headers, clock_.Now())) {
    error.retry_after_s = std::chrono::duration<double>(*delay).count();
  }
  error.request_id = RequestId(response);
  return error;
}

base::Result<ApiError> ApiClient::BatchCreateRejection(std::string_view call,
                                                       const http::HttpResponse& response) const {
  if (response.status == 500 || response.status == 502) {
    return base::OutcomeUnknownError(ErrorStatus(call, response).message() +
                                     "; a server error on a create: the batch may exist");
  }
  return Rejection(call, response);
}

base::Status CheckId(std::string_view what, std::string_view id) {
  constexpr std::size_t kIdBytesMax = 256;
  bool ok = !id.empty() && id.size() <= kIdBytesMax && id.find_first_not_of('.') != id.npos;
  for (const char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.');
  }
  if (ok) return base::Status::Ok();
  return base::InvalidArgumentError(std::string(what) + " is not a valid id: \"" + Snippet(id) +
                                    "\"");
}

std::string_view UrlOrigin(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return {};
  const std::size_t path = url.find_first_of("/?#", scheme_end + 3);
  return url.substr(0, path);
}

}  // namespace batchlog::providers
