#include "tests/http/raw_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>

#include "src/base/check.h"

namespace batchlog::http::testing {
namespace {

constexpr int kAcceptPollMs = 20;
constexpr int kReadPollMs = 5000;

std::string ReadRequest(int fd) {
  std::string data;
  char buffer[4096];
  std::size_t body_start = std::string::npos;
  std::size_t content_length = 0;
  while (true) {
    if (body_start != std::string::npos && data.size() >= body_start + content_length) break;
    pollfd entry{fd, POLLIN, 0};
    if (::poll(&entry, 1, kReadPollMs) <= 0) break;
    const ssize_t got = ::recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0) break;
    data.append(buffer, static_cast<std::size_t>(got));
    if (body_start == std::string::npos) {
      const std::size_t end = data.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      body_start = end + 4;
      for (const char* name : {"Content-Length:", "content-length:"}) {
        const std::size_t at = data.find(name);
        if (at != std::string::npos && at < end) {
          content_length = std::strtoull(data.c_str() + at + 15, nullptr, 10);
        }
      }
    }
  }
  return data;
}

}  // namespace

RawHttpServer::RawHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BATCHLOG_CHECK(listen_fd_ >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  BATCHLOG_CHECK(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  BATCHLOG_CHECK(::listen(listen_fd_, 16) == 0);
  socklen_t length = sizeof(address);
  BATCHLOG_CHECK(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

RawHttpServer::~RawHttpServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string RawHttpServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<std::string> RawHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void RawHttpServer::Serve() {
  while (!stop_) {
    pollfd entry{listen_fd_, POLLIN, 0};
    if (::poll(&entry, 1, kAcceptPollMs) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_;
    std::string request = ReadRequest(fd);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    handler_(fd, request);
    ::close(fd);
  }
}

void RawHttpServer::SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

void RawHttpServer::WaitForPeer(int fd, int timeout_ms) {
  pollfd entry{fd, POLLIN, 0};
  ::poll(&entry, 1, timeout_ms);
}

std::string RawResponse(int status, std::string_view body, std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
  out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n";
  out.append(extra_headers);
  out += "\r\n";
  out.append(body);
  return out;
}

}  // namespace batchlog::http::testing
