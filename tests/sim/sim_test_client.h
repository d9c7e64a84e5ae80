// A tiny blocking HTTP client for emulator tests, over cpp-httplib. One connection per
// call (no keep-alive), so a connection reset injected by a fault plan affects exactly one
// call.
//
// Thread-safety: a SimTestClient is not thread-safe; use one per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/sim/emulator.h"
#include "src/sim/emulator_options.h"

namespace batchlog::sim::testing {

struct SimResponse {
  // False when no HTTP response arrived (connection reset, refused, truncated body).
  bool ok = false;
  httplib::Error error = httplib::Error::Success;
  int status = 0;
  std::string body;
  httplib::Headers headers;

  // The body parsed as JSON; a discarded value when it is not JSON.
  nlohmann::json Json() const;
  // The first value of a header ("" if absent); names are case-insensitive.
  std::string Header(std::string_view name) const;
};

class SimTestClient {
 public:
  // Talks to 127.0.0.1:port. By default sends "Authorization: Bearer test-key".
  explicit SimTestClient(int port);

  // Replaces the headers sent with every request.
  void SetHeaders(httplib::Headers headers) { headers_ = std::move(headers); }
  // Anthropic defaults: x-api-key and anthropic-version.
  void UseAnthropicHeaders();

  SimResponse Get(const std::string& path);
  SimResponse Post(const std::string& path, const std::string& body,
                   const std::string& content_type = "application/json");
  SimResponse PostJson(const std::string& path, const nlohmann::json& body);
  SimResponse Delete(const std::string& path);
  SimResponse PostMultipart(const std::string& path, const httplib::MultipartFormDataItems& items);

  // POST /v1/files with `content` as the file part and purpose=batch.
  SimResponse UploadFile(const std::string& content, const std::string& filename = "input.jsonl",
                         const std::string& purpose = "batch");

 private:
  std::unique_ptr<httplib::Client> NewClient() const;

  int port_;
  httplib::Headers headers_;
};

// Starts an emulator; fails the test (REQUIRE) when it cannot.
std::unique_ptr<Emulator> StartEmulatorOrDie(const EmulatorOptions& options);

// Options for fast tests: ephemeral port, fixed seed, the given fake clock, tiny
// simulated durations (validating 1 s, base 1 s, 0.01 s per request, finalizing 1 s,
// cancelling 1 s, window 86400 s) and time_scale 1 (the fake clock drives time).
EmulatorOptions FastOptions(base::Clock* fake_clock);

// One OpenAI chat-completions input line.
std::string ChatLine(const std::string& custom_id, const std::string& prompt,
                     const std::string& model = "gpt-4o-mini",
                     const std::string& url = "/v1/chat/completions");
// `count` lines "req-0".."req-<count-1>", prompts "Paraphrase: sentence <i>".
std::string ChatLines(int count, const std::string& id_prefix = "req-");

// Parses a JSONL body into one json per non-empty line.
std::vector<nlohmann::json> ParseJsonLines(std::string_view text);

// The usual fixture: an emulator whose real clock is a FakeClock owned by the harness
// (so tests move time with Advance instead of waiting), and a client for it. The OpenAI
// helpers REQUIRE success.
class SimHarness {
 public:
  // `options.clock` is replaced by the harness's FakeClock.
  explicit SimHarness(EmulatorOptions options);
  SimHarness() : SimHarness(FastOptions(nullptr)) {}

  base::FakeClock& clock() { return clock_; }
  Emulator& emulator() { return *emulator_; }
  SimTestClient& client() { return client_; }
  int port() const { return emulator_->port(); }

  // Moves simulated time by `seconds` (divided by the time scale for the real clock).
  void Advance(double seconds);

  std::string UploadOrDie(const std::string& content);
  // POST /v1/batches for `file_id` on /v1/chat/completions; `extra` fields are merged in.
  nlohmann::json CreateBatchOrDie(const std::string& file_id,
                                  const nlohmann::json& extra = nlohmann::json::object());
  nlohmann::json GetBatchOrDie(const std::string& batch_id);
  std::string DownloadOrDie(const std::string& file_id);
  // Advances time in steps of `step_s` until the batch is terminal (at most 10,000 steps).
  nlohmann::json RunToEnd(const std::string& batch_id, double step_s = 60);

 private:
  base::FakeClock clock_;
  double time_scale_;
  std::unique_ptr<Emulator> emulator_;
  SimTestClient client_;
};

}  // namespace batchlog::sim::testing
