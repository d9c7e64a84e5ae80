#include "src/sim/wire_support.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/base/time_format.h"
#include "src/sim/sim_hash.h"

namespace batchlog::sim {
namespace {

constexpr std::size_t kDownloadChunkBytes = 64 * 1024;

nlohmann::json NullOr(std::string_view text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(text));
}

}  // namespace

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view RequestIdHeader(Api api) {
  return api == Api::kAnthropic ? "request-id" : "x-request-id";
}

std::string NewRequestId(SimContext& context) {
  const std::uint64_t n = context.request_counter.fetch_add(1) + 1;
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "req_%016" PRIx64 "%08" PRIx64,
                MixHash(context.seed, "request", n), static_cast<std::uint64_t>(n & 0xffffffffU));
  return buffer;
}

std::string EnsureRequestId(SimContext& context, Api api, httplib::Response& response) {
  const std::string header(RequestIdHeader(api));
  if (response.has_header(header.c_str())) return response.get_header_value(header.c_str());
  std::string id = NewRequestId(context);
  response.set_header(header.c_str(), id);
  return id;
}

void WriteBadGateway(httplib::Response& response) {
  response.status = 502;
  response.set_content("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
}

void WriteOpenAiError(httplib::Response& response, int status, std::string_view type,
                      std::string_view message, std::string_view param, std::string_view code) {
  const nlohmann::json body = {{"error",
                                {{"message", std::string(message)},
                                 {"type", std::string(type)},
                                 {"param", NullOr(param)},
                                 {"code", NullOr(code)}}}};
  response.status = status;
  response.set_content(DumpJson(body), "application/json");
}

void WriteAnthropicError(httplib::Response& response, int status, std::string_view type,
                         std::string_view message) {
  nlohmann::json body = {
      {"type", "error"},
      {"error", {{"type", std::string(type)}, {"message", std::string(message)}}}};
  body["request_id"] = response.has_header("request-id")
                           ? nlohmann::json(response.get_header_value("request-id"))
                           : nlohmann::json(nullptr);
  response.status = status;
  response.set_content(DumpJson(body), "application/json");
}

void WriteDefaultError(Api api, httplib::Response& response, int status, std::string_view message) {
  if (api == Api::kAnthropic) {
    std::string_view type = "invalid_request_error";
    switch (status) {
      case 401:
        type = "authentication_error";
        break;
      case 402:
        type = "billing_error";
        break;
      case 403:
        type = "permission_error";
        break;
      case 404:
        type = "not_found_error";
        break;
      case 413:
        type = "request_too_large";
        break;
      case 429:
        type = "rate_limit_error";
        break;
      case 504:
        type = "timeout_error";
        break;
      case 529:
        type = "overloaded_error";
        break;
      default:
        type = status >= 500 ? "api_error" : "invalid_request_error";
        break;
    }
    WriteAnthropicError(response, status, type, message);
    return;
  }
  switch (status) {
    case 429:
      WriteOpenAiError(response, status, "requests", message, {}, "rate_limit_exceeded");
      return;
    case 503:
      WriteOpenAiError(response, status, "service_unavailable_error", message, {},
                       "server_is_overloaded");
      return;
    default:
      WriteOpenAiError(response, status, status >= 500 ? "server_error" : "invalid_request_error",
                       message);
      return;
  }
}

Api ApiOfPath(std::string_view path) {
  return path.rfind("/v1/messages", 0) == 0 ? Api::kAnthropic : Api::kOpenAi;
}

bool ServeSpooledFile(httplib::Response& response, const std::filesystem::path& path,
                      std::int64_t bytes, std::string_view content_type, double truncate_fraction) {
  // Opened now, so the download survives the file being deleted or reset meanwhile.
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (!*file) return false;
  const auto total = static_cast<std::size_t>(std::max<std::int64_t>(bytes, 0));
  const double fraction = std::clamp(truncate_fraction, 0.0, 1.0);
  const auto allowed =
      fraction >= 1.0 ? total
                      : static_cast<std::size_t>(std::floor(static_cast<double>(total) * fraction));
  response.status = 200;
  response.set_content_provider(
      total, std::string(content_type),
      [file, allowed](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        // Returning false makes the server drop the connection mid-body: a truncated
        // download, as a client sees one from a flaky network.
        if (offset >= allowed) return false;
        std::vector<char> chunk(std::min({length, kDownloadChunkBytes, allowed - offset}));
        file->seekg(static_cast<std::streamoff>(offset));
        file->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        const auto got = static_cast<std::size_t>(file->gcount());
        if (got == 0) return false;
        return sink.write(chunk.data(), got);
      });
  return true;
}

void ResetConnection(const httplib::Request& request) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (const dirent* entry = readdir(fds)) {
    char* end = nullptr;
    const long fd_long = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    const int fd = static_cast<int>(fd_long);
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t local_size = sizeof(local);
    socklen_t peer_size = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    if (local.sin_family != AF_INET || ntohs(local.sin_port) != request.local_port) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) continue;
    if (ntohs(peer.sin_port) != request.remote_port) continue;
    // Linger 0 turns the server's eventual close into an RST; shutdown ends the stream now,
    // before the server writes anything.
    linger no_linger{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
    shutdown(fd, SHUT_RDWR);
    break;
  }
  closedir(fds);
}

bool ApplyTransportFault(const ControlFault& fault, const httplib::Request& request) {
  switch (fault.kind) {
    case ControlFaultKind::kSlow:
      // A real delay: the point is to make the client's own timeout fire.
      std::this_thread::sleep_for(std::chrono::milliseconds(fault.delay_ms));
      return false;
    case ControlFaultKind::kConnectionReset:
      ResetConnection(request);
      return true;
    case ControlFaultKind::kNone:
    case ControlFaultKind::kRateLimit:
    case ControlFaultKind::kServerError:
    case ControlFaultKind::kOverloaded:
    case ControlFaultKind::kDropResponse:
    case ControlFaultKind::kTruncate:
    case ControlFaultKind::kUnauthorized:
    case ControlFaultKind::kQuotaExceeded:
    case ControlFaultKind::kNotFound:
    case ControlFaultKind::kTimeout:
    case ControlFaultKind::kConflict:
    case ControlFaultKind::kBadGateway:
    case ControlFaultKind::kFileNotReady:
      return false;
  }
  return false;
}

std::int64_t ToUnixSeconds(base::Timestamp t) {
  const std::int64_t us = base::ToUnixMicros(t);
  return us >= 0 ? us / 1'000'000 : -((-us + 999'999) / 1'000'000);
}

std::string ToRfc3339Micros(base::Timestamp t) {
  return base::FormatUnixMicrosUtc(base::ToUnixMicros(t));
}

}  // namespace batchlog::sim
