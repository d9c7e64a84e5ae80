// RawHttpServer: a loopback TCP server whose connections are handled by a test function
// with the raw socket, for answers a well-behaved server never gives: a reset right after
// the request, a body shorter than its Content-Length, an answer after the client's
// timeout. Connections are served one at a time on one thread and closed after the
// handler returns.
//
// Thread-safety: construct and destroy on one thread; accessors are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace batchlog::http::testing {

class RawHttpServer {
 public:
  // `request` is the request head and body (read by Content-Length).
  using Handler = std::function<void(int fd, const std::string& request)>;

  explicit RawHttpServer(Handler handler);
  ~RawHttpServer();
  RawHttpServer(const RawHttpServer&) = delete;
  RawHttpServer& operator=(const RawHttpServer&) = delete;

  int port() const { return port_; }
  std::string Url(std::string_view path) const;
  int connections() const { return connections_.load(); }
  std::vector<std::string> requests() const;

  // Writes all of `bytes` (ignoring errors: the peer may be gone).
  static void SendAll(int fd, std::string_view bytes);
  // Waits up to `timeout_ms` for the peer to close the connection (or send more).
  static void WaitForPeer(int fd, int timeout_ms);

 private:
  void Serve();

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// A complete response with Content-Length and "Connection: close".
std::string RawResponse(int status, std::string_view body, std::string_view extra_headers = {});

}  // namespace batchlog::http::testing
