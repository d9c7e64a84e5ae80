// CurlTransport against real sockets: a cpp-httplib server for well-formed exchanges, and
// RawHttpServer for broken ones (resets, short bodies, late answers). The timeout tests
// wait on wall time by nature; they are bounded (a 300 ms client timeout, a server that
// gives up after 2 s).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include "src/http/curl_transport.h"
#include "tests/http/raw_http_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/files.h"

namespace batchlog::http {
namespace {

using batchlog::testing::ReadFileText;

using testing::RawHttpServer;
using testing::RawResponse;

// A cpp-httplib server on an ephemeral loopback port, served from a background thread.
template <typename ServerType = httplib::Server>
class LocalServer {
 public:
  template <typename... Args>
  explicit LocalServer(Args&&... args) : server_(std::forward<Args>(args)...) {}
  ~LocalServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  ServerType& server() { return server_; }
  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server_.is_running());
  }
  std::string Url(std::string_view scheme, std::string_view path) const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::string Url(std::string_view path) const { return Url("http", path); }

 private:
  ServerType server_;
  int port_ = 0;
  std::thread thread_;
};

CurlTransportOptions Options() {
  CurlTransportOptions options;
  options.timeouts.connect = std::chrono::milliseconds(2000);
  options.timeouts.total = std::chrono::milliseconds(5000);
  options.max_response_bytes = 1 << 20;
  return options;
}

std::unique_ptr<CurlTransport> MakeTransport(CurlTransportOptions options = Options()) {
  auto transport = CurlTransport::Create(std::move(options));
  REQUIRE(transport.ok());
  return std::move(transport).value();
}

HttpRequest Get(std::string url, bool safe = true) {
  HttpRequest request;
  request.method = HttpMethod::kGet;
  request.url = std::move(url);
  request.call_name = "test get";
  request.safe_to_retry = safe;
  return request;
}

HttpRequest Post(std::string url, std::string body, bool safe = false) {
  HttpRequest request;
  request.method = HttpMethod::kPost;
  request.url = std::move(url);
  request.call_name = "test create";
  request.body = std::move(body);
  request.safe_to_retry = safe;
  return request;
}

// Routes every log line to a string at debug level for the scope's life.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST_CASE("a GET returns the status, the body and case-insensitive headers", "[http][curl]") {
  LocalServer<> local;
  local.server().Get("/hello", [](const httplib::Request&, httplib::Response& response) {
    response.set_header("X-Request-Id", "req_1");
    response.status = 201;
    response.set_content(R"({"hello":"world"})", "application/json");
  });
  local.Start();
  auto transport = MakeTransport();
  const auto response = transport->Send(Get(local.Url("/hello")));
  REQUIRE(response.ok());
  CHECK(response->status == 201);
  CHECK(response->body == R"({"hello":"world"})");
  CHECK(response->headers.Find("x-request-id") == std::string_view("req_1"));
  CHECK(response->headers.Find("CONTENT-TYPE") == std::string_view("application/json"));
  CHECK_FALSE(response->headers.Find("x-missing").has_value());
}

TEST_CASE("safe requests reuse the connection, a create always opens a fresh one", "[http][curl]") {
  LocalServer<> local;
  std::mutex mutex;
  std::vector<int> client_ports;
  const auto record = [&](const httplib::Request& request, httplib::Response& response) {
    std::lock_guard<std::mutex> lock(mutex);
    client_ports.push_back(request.remote_port);
    response.set_content("{}", "application/json");
  };
  local.server().Get("/a", record);
  local.server().Post("/a", record);
  local.Start();
  auto transport = MakeTransport();
  REQUIRE(transport->Send(Get(local.Url("/a"))).ok());
  REQUIRE(transport->Send(Get(local.Url("/a"))).ok());
  REQUIRE(transport->Send(Post(local.Url("/a"), "{}", /*safe=*/false)).ok());
  REQUIRE(client_ports.size() == 3);
  CHECK(client_ports[0] == client_ports[1]);
  CHECK(client_ports[2] != client_ports[1]);
}

TEST_CASE("a body over max_response_bytes is an error naming the cap", "[http][curl]") {
  LocalServer<> local;
  const auto big = [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(5000, 'x'), "text/plain");
  };
  local.server().Get("/big", big);
  local.server().Post("/big", big);
  local.Start();
  CurlTransportOptions options = Options();
  options.max_response_bytes = 1000;
  auto transport = MakeTransport(options);
  const auto response = transport->Send(Get(local.Url("/big")));
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(response.status().message().find("max_response_bytes (1000 bytes)") != std::string::npos);
  CHECK(response.status().message().find("test get") != std::string::npos);
  // The same on a 2xx to a create: the create happened, its answer is unusable.
  const auto created = transport->Send(Post(local.Url("/big"), "{}"));
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
}

TEST_CASE("a secret header reaches the server but never the log", "[http][curl][redaction]") {
  LocalServer<> local;
  std::string seen_authorization;
  std::string seen_custom;
  local.server().Get("/k", [&](const httplib::Request& request, httplib::Response& response) {
    seen_authorization = request.get_header_value("Authorization");
    seen_custom = request.get_header_value("X-Team-Token");
    response.set_content(R"({"echo":"sk-test-SECRET-123"})", "application/json");
  });
  local.Start();
  CurlTransportOptions options = Options();
  options.redacted_headers = {"x-team-token"};
  auto transport = MakeTransport(options);
  HttpRequest request = Get(local.Url("/k"));
  request.headers.push_back({"X-Team-Token", "team-token-value"});
  request.secret_headers.push_back(
      {"Authorization", "Bearer ", base::Secret("sk-test-SECRET-123")});
  LogCapture capture;
  const auto response = transport->Send(request);
  REQUIRE(response.ok());
  CHECK(seen_authorization == "Bearer sk-test-SECRET-123");
  CHECK(seen_custom == "team-token-value");
  // An echoed key is scrubbed from what the transport hands back.
  CHECK(response->body == R"({"echo":"[redacted]"})");
  const std::string log = capture.text();
  CHECK(log.find("Authorization: [redacted]") != std::string::npos);
  CHECK(log.find("X-Team-Token: [redacted]") != std::string::npos);
  CHECK(log.find("sk-test-SECRET-123") == std::string::npos);
  CHECK(log.find("team-token-value") == std::string::npos);
}

TEST_CASE("a short key never rewrites the data of a success, only error answers",
          "[http][curl][redaction]") {
  LocalServer<> local;
  local.server().Get("/ok", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(R"({"id":"file-abc","status":"ok"})", "application/json");
  });
  local.server().Get("/denied", [](const httplib::Request&, httplib::Response& response) {
    response.status = 401;
    response.set_content(R"({"error":{"message":"Incorrect API key provided: a"}})",
                         "application/json");
  });
  local.Start();
  auto transport = MakeTransport(Options());
  for (const char* path : {"/ok", "/denied"}) {
    HttpRequest request = Get(local.Url(path));
    request.secret_headers.push_back({"Authorization", "Bearer ", base::Secret("a")});
    const auto response = transport->Send(request);
    REQUIRE(response.ok());
    if (response->status == 200) {
      CHECK(response->body == R"({"id":"file-abc","status":"ok"})");
    } else {
      CHECK(response->body.find("provided: [redacted]") != std::string::npos);
    }
  }
}

TEST_CASE("a multipart upload streams its file part from disk", "[http][curl]") {
  batchlog::testing::TempDir dir("http-upload");
  const std::filesystem::path file = dir / "input.jsonl";
  std::string content;
  for (int i = 0; i < 5000; ++i) content += "{\"custom_id\":\"r" + std::to_string(i) + "\"}\n";
  std::ofstream(file, std::ios::binary) << content;
  LocalServer<> local;
  std::string purpose;
  std::string received;
  std::string filename;
  std::string content_type;
  local.server().Post("/files", [&](const httplib::Request& request, httplib::Response& response) {
    purpose = request.get_file_value("purpose").content;
    const httplib::MultipartFormData part = request.get_file_value("file");
    received = part.content;
    filename = part.filename;
    content_type = part.content_type;
    response.set_content(R"({"id":"file-1"})", "application/json");
  });
  local.Start();
  auto transport = MakeTransport();
  HttpRequest request = Post(local.Url("/files"), "");
  request.multipart.push_back({"purpose", "batch", {}, {}, {}});
  request.multipart.push_back({"file", {}, file, "batch-input.jsonl", "application/jsonl"});
  const auto response = transport->Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(purpose == "batch");
  CHECK(received == content);
  CHECK(filename == "batch-input.jsonl");
  CHECK(content_type == "application/jsonl");

  request.multipart[1].file_path = dir / "missing.jsonl";
  CHECK(transport->Send(request).status().code() == base::StatusCode::kFailedPrecondition);
}

TEST_CASE("a body_file is streamed as the POST body", "[http][curl]") {
  batchlog::testing::TempDir dir("http-body");
  const std::string content = std::string(300'000, 'a') + "end";
  std::ofstream(dir / "body.json", std::ios::binary) << content;
  LocalServer<> local;
  std::string received;
  local.server().Post("/echo", [&](const httplib::Request& request, httplib::Response& response) {
    received = request.body;
    response.set_content("{}", "application/json");
  });
  local.Start();
  auto transport = MakeTransport();
  HttpRequest request = Post(local.Url("/echo"), "");
  request.body_file = dir / "body.json";
  request.headers.push_back({"Content-Type", "application/json"});
  const auto response = transport->Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(received == content);
}

TEST_CASE("a download lands complete, a non-2xx answer creates no file", "[http][curl]") {
  batchlog::testing::TempDir dir("http-download");
  const std::string lines = "{\"a\":1}\n{\"b\":2}\n";
  LocalServer<> local;
  local.server().Get("/content", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content(lines, "application/octet-stream");
  });
  local.server().Get("/gone", [](const httplib::Request&, httplib::Response& response) {
    response.status = 404;
    response.set_content(R"({"error":{"message":"No such file"}})", "application/json");
  });
  local.Start();
  auto transport = MakeTransport();
  HttpRequest request = Get(local.Url("/content"));
  request.download_to = dir / "out.jsonl";
  const auto response = transport->Send(request);
  REQUIRE(response.ok());
  CHECK(response->status == 200);
  CHECK(response->downloaded_bytes == lines.size());
  CHECK(response->body.empty());
  CHECK(ReadFileText(dir / "out.jsonl") == lines);
  CHECK_FALSE(std::filesystem::exists(dir / "out.jsonl.part"));

  HttpRequest missing = Get(local.Url("/gone"));
  missing.download_to = dir / "gone.jsonl";
  const auto gone = transport->Send(missing);
  REQUIRE(gone.ok());
  CHECK(gone->status == 404);
  CHECK(gone->body == R"({"error":{"message":"No such file"}})");
  CHECK_FALSE(std::filesystem::exists(dir / "gone.jsonl"));
  CHECK_FALSE(std::filesystem::exists(dir / "gone.jsonl.part"));
}

TEST_CASE("a download check that fails leaves no file", "[http][curl]") {
  batchlog::testing::TempDir dir("http-verify");
  LocalServer<> local;
  local.server().Get("/content", [&](const httplib::Request&, httplib::Response& response) {
    response.set_content("{\"a\":1}\n{\"b\":", "application/octet-stream");
  });
  local.Start();
  auto transport = MakeTransport();
  HttpRequest request = Get(local.Url("/content"));
  request.download_to = dir / "out.jsonl";
  std::uint64_t checked_bytes = 0;
  request.verify_download = [&](const std::filesystem::path& part, std::uint64_t bytes) {
    checked_bytes = bytes;
    CHECK(part == dir / "out.jsonl.part");
    return base::UnavailableError("no final newline");
  };
  const auto response = transport->Send(request);
  CHECK(response.status() == base::UnavailableError("no final newline"));
  CHECK(checked_bytes == 13);
  CHECK_FALSE(std::filesystem::exists(dir / "out.jsonl"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.jsonl.part"));
}

TEST_CASE("a body shorter than its Content-Length fails and leaves no file", "[http][curl]") {
  batchlog::testing::TempDir dir("http-short");
  RawHttpServer server([](int fd, const std::string&) {
    RawHttpServer::SendAll(fd,
                           "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":1}\n{\"b\":2}\n");
  });
  auto transport = MakeTransport();
  HttpRequest request = Get(server.Url("/content"));
  request.download_to = dir / "out.jsonl";
  const auto response = transport->Send(request);
  REQUIRE_FALSE(response.ok());
  CHECK(response.status().code() == base::StatusCode::kUnavailable);
  CHECK_FALSE(std::filesystem::exists(dir / "out.jsonl"));
  CHECK_FALSE(std::filesystem::exists(dir / "out.jsonl.part"));

  // For a create the same break means the create may have happened.
  const auto created = transport->Send(Post(server.Url("/batches"), "{}"));
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
}

TEST_CASE("nothing listening: kUnavailable, even for a create, since nothing was sent",
          "[http][curl]") {
  auto transport = MakeTransport();
  const std::string url = "http://127.0.0.1:" + std::to_string(UnusedPort()) + "/v1/batches";
  const auto created = transport->Send(Post(url, "{}"));
  REQUIRE_FALSE(created.ok());
  CHECK(created.status().code() == base::StatusCode::kUnavailable);
  CHECK(created.status().message().find("test create: cannot connect") != std::string::npos);
  CHECK(transport->Send(Get(url)).status().code() == base::StatusCode::kUnavailable);
}

TEST_CASE("a reset after the request: kOutcomeUnknown for a create, kUnavailable for a GET",
          "[http][curl]") {
  RawHttpServer server([](int, const std::string&) {});  // closes without a word
  auto transport = MakeTransport();
  const auto created = transport->Send(Post(server.Url("/v1/batches"), R"({"x":1})"));
  REQUIRE_FALSE(created.ok());
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
  CHECK(created.status().message().find("test create") != std::string::npos);
  // The server did receive the whole create.
  REQUIRE(server.requests().size() == 1);
  CHECK(server.requests()[0].find(R"({"x":1})") != std::string::npos);

  const auto got = transport->Send(Get(server.Url("/v1/batches/b")));
  CHECK(got.status().code() == base::StatusCode::kUnavailable);
}

TEST_CASE(
    "an answer after the timeout: kOutcomeUnknown for a create, kDeadlineExceeded for "
    "a GET",
    "[http][curl]") {
  RawHttpServer server([](int fd, const std::string&) {
    RawHttpServer::WaitForPeer(fd, 2000);
    RawHttpServer::SendAll(fd, RawResponse(200, "{}"));
  });
  CurlTransportOptions options = Options();
  options.timeouts.total = std::chrono::milliseconds(300);
  auto transport = MakeTransport(options);
  const auto created = transport->Send(Post(server.Url("/v1/batches"), "{}"));
  CHECK(created.status().code() == base::StatusCode::kOutcomeUnknown);
  const auto got = transport->Send(Get(server.Url("/v1/batches/b")));
  CHECK(got.status().code() == base::StatusCode::kDeadlineExceeded);
  // A per-request override wins over the transport's default.
  HttpRequest patient = Get(server.Url("/v1/batches/b"));
  patient.timeouts = Timeouts{std::chrono::milliseconds(2000), std::chrono::milliseconds(200), 0,
                              std::chrono::seconds(0)};
  CHECK(transport->Send(patient).status().code() == base::StatusCode::kDeadlineExceeded);
}

TEST_CASE("TLS verification refuses an unknown certificate unless its CA is configured",
          "[http][curl][tls]") {
  const std::string cert = std::string(BATCHLOG_HTTP_TESTDATA_DIR) + "/test_server.pem";
  const std::string key = std::string(BATCHLOG_HTTP_TESTDATA_DIR) + "/test_server.key";
  LocalServer<httplib::SSLServer> local(cert.c_str(), key.c_str());
  REQUIRE(local.server().is_valid());
  local.server().Get("/tls", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("{}", "application/json");
  });
  local.Start();
  {
    auto transport = MakeTransport();
    const auto refused = transport->Send(Get(local.Url("https", "/tls")));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == base::StatusCode::kFailedPrecondition);
    CHECK(refused.status().message().find("TLS verification failed") != std::string::npos);
  }
  CurlTransportOptions options = Options();
  options.ca_bundle_path = cert;
  auto trusting = MakeTransport(options);
  const auto accepted = trusting->Send(Get(local.Url("https", "/tls")));
  REQUIRE(accepted.ok());
  CHECK(accepted->status == 200);
}

TEST_CASE("only http and https URLs are accepted", "[http][curl]") {
  auto transport = MakeTransport();
  CHECK(transport->Send(Get("file:///etc/passwd")).status().code() ==
        base::StatusCode::kInvalidArgument);
  CHECK(transport->Send(Get("not a url")).status().code() == base::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace batchlog::http
