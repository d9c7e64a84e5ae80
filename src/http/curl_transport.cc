#include "src/http/curl_transport.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string_view>
#include <system_error>
#include <utility>

#include "src/http/http_log.h"
#include "src/http/redaction.h"

namespace batchlog::http {
namespace {

// Everything the libcurl callbacks of one exchange touch.
struct Exchange {
  HttpResponse* response = nullptr;
  std::uint64_t body_bytes_max = 0;
  bool body_cap_exceeded = false;
  std::FILE* download = nullptr;  // the .part file, for a 2xx answer to a download
  int download_errno = 0;         // set when writing it failed
  std::FILE* upload = nullptr;    // HttpRequest::body_file
};

bool IsSuccess(int status) { return status >= 200 && status < 300; }

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (after a 100 Continue, say): the previous headers belonged to it.
    exchange->response->headers.Clear();
    exchange->response->status = 0;
    const std::size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      int status = 0;
      for (std::size_t i = space + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
        status = status * 10 + (line[i] - '0');
      }
      exchange->response->status = status;
    }
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return bytes;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  exchange->response->headers.Add(std::string(line.substr(0, colon)), std::string(value));
  return bytes;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t bytes = size * count;
  HttpResponse& response = *exchange->response;
  if (exchange->download != nullptr && IsSuccess(response.status)) {
    if (std::fwrite(data, 1, bytes, exchange->download) != bytes) {
      exchange->download_errno = errno != 0 ? errno : EIO;
      return 0;  // anything but `bytes` aborts the transfer
    }
    response.downloaded_bytes += bytes;
    return bytes;
  }
  if (response.body.size() + bytes > exchange->body_bytes_max) {
    exchange->body_cap_exceeded = true;
    return 0;
  }
  response.body.append(data, bytes);
  return bytes;
}

std::size_t OnRead(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const std::size_t read = std::fread(buffer, 1, size * count, exchange->upload);
  if (read == 0 && std::ferror(exchange->upload) != 0) return CURL_READFUNC_ABORT;
  return read;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* exchange = static_cast<Exchange*>(user);
  return fseeko(exchange->upload, static_cast<off_t>(offset), origin) == 0 ? CURL_SEEKFUNC_OK
                                                                           : CURL_SEEKFUNC_FAIL;
}

// Releases what one exchange allocated, whatever path it leaves by.
struct ExchangeResources {
  curl_slist* headers = nullptr;
  curl_mime* mime = nullptr;
  std::FILE* upload = nullptr;
  std::FILE* download = nullptr;
  std::filesystem::path part_file;  // removed unless committed

  ~ExchangeResources() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (mime != nullptr) curl_mime_free(mime);
    if (upload != nullptr) std::fclose(upload);
    if (download != nullptr) std::fclose(download);
    if (!part_file.empty()) {
      std::error_code ignored;
      std::filesystem::remove(part_file, ignored);
    }
  }
};

std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// fsyncs the directory holding `path`, so a rename into it survives a crash.
void SyncParentDirectory(const std::filesystem::path& path) {
  const std::filesystem::path parent =
      path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Closes, fsyncs, verifies and renames a finished download. `resources.part_file` is
// cleared on success so the destructor keeps the file.
base::Status CommitDownload(const HttpRequest& request, ExchangeResources& resources,
                            std::uint64_t bytes) {
  std::FILE* file = resources.download;
  resources.download = nullptr;
  const bool flushed = std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  const int flush_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!flushed || !closed) {
    return base::InternalError(request.call_name + ": cannot write " +
                               resources.part_file.string() + ": " + ErrnoText(flush_errno));
  }
  if (request.verify_download) {
    BATCHLOG_RETURN_IF_ERROR(request.verify_download(resources.part_file, bytes));
  }
  std::error_code error;
  std::filesystem::rename(resources.part_file, request.download_to, error);
  if (error) {
    return base::InternalError(request.call_name + ": cannot rename " +
                               resources.part_file.string() + ": " + error.message());
  }
  resources.part_file.clear();
  SyncParentDirectory(request.download_to);
  return base::Status::Ok();
}

std::once_flag global_init_once;
CURLcode global_init_result = CURLE_OK;

}  // namespace

struct CurlTransport::Handle {
  CURL* curl = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

base::Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(CurlTransportOptions options) {
  std::call_once(global_init_once, [] { global_init_result = curl_global_init(CURL_GLOBAL_ALL); });
  if (global_init_result != CURLE_OK) {
    return base::UnavailableError(std::string("libcurl initialization failed: ") +
                                  curl_easy_strerror(global_init_result));
  }
  auto handle = std::make_unique<Handle>();
  handle->curl = curl_easy_init();
  if (handle->curl == nullptr) return base::UnavailableError("libcurl cannot create a handle");
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options), std::move(handle)));
}

CurlTransport::CurlTransport(CurlTransportOptions options, std::unique_ptr<Handle> handle)
    : options_(std::move(options)), handle_(std::move(handle)) {}

CurlTransport::~CurlTransport() = default;

base::Result<HttpResponse> CurlTransport::Send(const HttpRequest& request) {
  CURL* curl = handle_->curl;
  // Reset keeps the connection cache, TLS session cache and DNS cache: only options go.
  curl_easy_reset(curl);
  handle_->error_buffer[0] = '\0';
  const std::string& call = request.call_name;

  HttpResponse response;
  Exchange exchange;
  exchange.response = &response;
  exchange.body_bytes_max = options_.max_response_bytes;
  ExchangeResources resources;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, handle_->error_buffer);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // TLS verification is never turned off (the defaults, set explicitly).
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_bundle_path.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
  }
  if (!request.safe_to_retry) {
    // A fresh connection, closed afterwards: libcurl never silently resends a create on a
    // stale reused connection, and one-off connections do not pile up idle in the cache.
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  }

  const Timeouts& timeouts = request.timeouts ? *request.timeouts : options_.timeouts;
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts.connect.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts.total.count()));
  if (timeouts.low_speed_bytes_per_s > 0 && timeouts.low_speed_window.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT,
                     static_cast<long>(timeouts.low_speed_bytes_per_s));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(timeouts.low_speed_window.count()));
  }

  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);

  for (const HttpHeader& header : request.headers) {
    const std::string line = header.name + ": " + header.value;
    resources.headers = curl_slist_append(resources.headers, line.c_str());
  }
  for (const SecretHeader& header : request.secret_headers) {
    std::string line = header.name + ": " + header.prefix;
    line.append(header.value.RevealForHeader());
    resources.headers = curl_slist_append(resources.headers, line.c_str());
    // Best-effort wipe of our temporary copy; libcurl's list keeps its own until freed.
    std::fill(line.begin(), line.end(), '\0');
  }

  switch (request.method) {
    case HttpMethod::kGet:
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      break;
    case HttpMethod::kDelete:
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
    case HttpMethod::kPost:
      if (!request.multipart.empty()) {
        resources.mime = curl_mime_init(curl);
        for (const MultipartPart& part : request.multipart) {
          curl_mimepart* mime_part = curl_mime_addpart(resources.mime);
          curl_mime_name(mime_part, part.name.c_str());
          if (!part.file_path.empty()) {
            std::error_code error;
            if (!std::filesystem::is_regular_file(part.file_path, error)) {
              return base::FailedPreconditionError(call + ": cannot read the upload file " +
                                                   part.file_path.string());
            }
            curl_mime_filedata(mime_part, part.file_path.c_str());
          } else {
            curl_mime_data(mime_part, part.value.data(), part.value.size());
          }
          if (!part.filename.empty()) curl_mime_filename(mime_part, part.filename.c_str());
          if (!part.content_type.empty()) curl_mime_type(mime_part, part.content_type.c_str());
        }
        curl_easy_setopt(curl, CURLOPT_MIMEPOST, resources.mime);
      } else if (!request.body_file.empty()) {
        std::error_code error;
        const std::uintmax_t size = std::filesystem::file_size(request.body_file, error);
        resources.upload = error ? nullptr : std::fopen(request.body_file.c_str(), "rb");
        if (resources.upload == nullptr) {
          return base::FailedPreconditionError(call + ": cannot read the body file " +
                                               request.body_file.string());
        }
        exchange.upload = resources.upload;
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, &OnRead);
        curl_easy_setopt(curl, CURLOPT_READDATA, &exchange);
        curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, &OnSeek);
        curl_easy_setopt(curl, CURLOPT_SEEKDATA, &exchange);
      } else {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
      }
      break;
  }
  if (resources.headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, resources.headers);

  if (!request.download_to.empty()) {
    resources.part_file = request.download_to;
    resources.part_file += ".part";
    resources.download = std::fopen(resources.part_file.c_str(), "wb");
    if (resources.download == nullptr) {
      const int error = errno;
      resources.part_file.clear();
      return base::InternalError(call + ": cannot create " + request.download_to.string() +
                                 ".part: " + ErrnoText(error));
    }
    exchange.download = resources.download;
  }

  spdlog::logger& log = HttpLogger();
  if (log.should_log(spdlog::level::debug)) {
    log.debug("http: {} {} {} ({} body bytes{}) headers: {}", call, HttpMethodName(request.method),
              request.url, request.body.size(), request.multipart.empty() ? "" : ", multipart",
              DescribeHeaders(request.headers, request.secret_headers, options_.redacted_headers));
  }

  const CURLcode code = curl_easy_perform(curl);

  // Error answers are where servers echo a key back: always scrubbed. A success carries
  // data (ids, results), which a short test key's characters ("a") must never rewrite, so
  // it is scrubbed only of keys long enough not to occur in it by chance.
  constexpr std::size_t kKeyBytesScrubbedFromData = 16;
  for (const SecretHeader& header : request.secret_headers) {
    if (!IsSuccess(response.status) ||
        header.value.RevealForHeader().size() >= kKeyBytesScrubbedFromData) {
      ScrubSecret(response.body, header.value);
    }
  }
  curl_off_t total_us = 0;
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME_T, &total_us);
  if (log.should_log(spdlog::level::debug)) {
    log.debug("http: {} -> {} HTTP {} in {} ms, {} body bytes, {} downloaded; headers: {}", call,
              code == CURLE_OK ? "ok" : curl_easy_strerror(code), response.status, total_us / 1000,
              response.body.size(), response.downloaded_bytes,
              DescribeHeaders(response.headers, options_.redacted_headers));
  }

  if (code == CURLE_OK) {
    if (resources.download != nullptr && IsSuccess(response.status)) {
      BATCHLOG_RETURN_IF_ERROR(CommitDownload(request, resources, response.downloaded_bytes));
    }
    return response;
  }

  // Why it failed, and whether the request may have reached the server.
  long request_bytes = 0;
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
  const bool sent = request_bytes > 0;
  std::string detail = handle_->error_buffer[0] != '\0' ? std::string(handle_->error_buffer)
                                                        : std::string(curl_easy_strerror(code));
  for (const SecretHeader& header : request.secret_headers) ScrubSecret(detail, header.value);

  if (exchange.download_errno != 0) {
    return base::InternalError(call + ": cannot write " + resources.part_file.string() + ": " +
                               ErrnoText(exchange.download_errno));
  }
  if (exchange.body_cap_exceeded) {
    const std::string what = call + ": the response body exceeds max_response_bytes (" +
                             std::to_string(options_.max_response_bytes) + " bytes)";
    if (!request.safe_to_retry && IsSuccess(response.status)) {
      return base::OutcomeUnknownError(what + " after HTTP " + std::to_string(response.status) +
                                       "; the call may have taken effect");
    }
    return base::InvalidArgumentError(what);
  }
  switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return base::InvalidArgumentError(call + ": bad URL " + request.url + ": " + detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return base::UnavailableError(call + ": cannot connect (nothing was sent): " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return base::FailedPreconditionError(
          call + ": TLS verification failed (nothing was sent): " + detail);
    case CURLE_READ_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      if (!sent) {
        return base::FailedPreconditionError(call + ": cannot read the request body: " + detail);
      }
      break;
    default:
      break;
  }
  if (!sent) {
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return base::DeadlineExceededError(call +
                                         ": timed out before the request was sent: " + detail);
    }
    return base::UnavailableError(call + ": failed before the request was sent: " + detail);
  }
  if (!request.safe_to_retry) {
    return base::OutcomeUnknownError(call + ": the exchange broke after the request was sent (" +
                                     detail + "); the call may have taken effect");
  }
  if (code == CURLE_OPERATION_TIMEDOUT) {
    return base::DeadlineExceededError(call + ": timed out: " + detail);
  }
  return base::UnavailableError(call + ": " + detail);
}

}  // namespace batchlog::http
