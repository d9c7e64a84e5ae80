#include "tests/sim/sim_test_client.h"

#include <catch2/catch.hpp>

namespace batchlog::sim::testing {

nlohmann::json SimResponse::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string SimResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < key.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(key[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return value;
  }
  return {};
}

SimTestClient::SimTestClient(int port) : port_(port) {
  headers_ = {{"Authorization", "Bearer test-key"}};
}

void SimTestClient::UseAnthropicHeaders() {
  headers_ = {{"x-api-key", "test-key"}, {"anthropic-version", "2023-06-01"}};
}

std::unique_ptr<httplib::Client> SimTestClient::NewClient() const {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
  client->set_keep_alive(false);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(30, 0);
  client->set_write_timeout(30, 0);
  return client;
}

namespace {

SimResponse Convert(httplib::Result result) {
  SimResponse out;
  out.error = result.error();
  if (!result) return out;
  out.ok = true;
  out.status = result->status;
  out.body = result->body;
  out.headers = result->headers;
  return out;
}

}  // namespace

SimResponse SimTestClient::Get(const std::string& path) {
  return Convert(NewClient()->Get(path, headers_));
}

SimResponse SimTestClient::Post(const std::string& path, const std::string& body,
                                const std::string& content_type) {
  return Convert(NewClient()->Post(path, headers_, body, content_type));
}

SimResponse SimTestClient::PostJson(const std::string& path, const nlohmann::json& body) {
  return Post(path, body.dump(), "application/json");
}

SimResponse SimTestClient::Delete(const std::string& path) {
  return Convert(NewClient()->Delete(path, headers_));
}

SimResponse SimTestClient::PostMultipart(const std::string& path,
                                         const httplib::MultipartFormDataItems& items) {
  return Convert(NewClient()->Post(path, headers_, items));
}

SimResponse SimTestClient::UploadFile(const std::string& content, const std::string& filename,
                                      const std::string& purpose) {
  httplib::MultipartFormDataItems items = {
      {"purpose", purpose, "", ""},
      {"file", content, filename, "application/jsonl"},
  };
  return PostMultipart("/v1/files", items);
}

std::unique_ptr<Emulator> StartEmulatorOrDie(const EmulatorOptions& options) {
  auto emulator = Emulator::Start(options);
  INFO(emulator.status().ToString());
  REQUIRE(emulator.ok());
  return std::move(emulator).value();
}

EmulatorOptions FastOptions(base::Clock* fake_clock) {
  EmulatorOptions options;
  options.port = 0;
  options.seed = 42;
  options.time_scale = 1.0;
  options.clock = fake_clock;
  options.threads = 4;
  options.lifecycle.validating_s = 1;
  options.lifecycle.processing_s_base = 1;
  options.lifecycle.processing_s_per_request = 0.01;
  options.lifecycle.finalizing_s = 1;
  options.lifecycle.cancelling_s = 1;
  options.lifecycle.window_s = 86400;
  return options;
}

std::string ChatLine(const std::string& custom_id, const std::string& prompt,
                     const std::string& model, const std::string& url) {
  const nlohmann::json line = {
      {"custom_id", custom_id},
      {"method", "POST"},
      {"url", url},
      {"body",
       {{"model", model},
        {"messages", nlohmann::json::array({{{"role", "user"}, {"content", prompt}}})},
        {"max_tokens", 256}}}};
  return line.dump();
}

std::string ChatLines(int count, const std::string& id_prefix) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += ChatLine(id_prefix + std::to_string(i), "Paraphrase: sentence " + std::to_string(i));
    out += '\n';
  }
  return out;
}

std::vector<nlohmann::json> ParseJsonLines(std::string_view text) {
  std::vector<nlohmann::json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    if (!line.empty()) out.push_back(nlohmann::json::parse(line, nullptr, false));
    start = end + 1;
  }
  return out;
}

namespace {

constexpr std::int64_t kHarnessStartUs = 1'772'355'600'000'000;  // 2026-03-01T09:00:00Z
constexpr int kRunToEndStepsMax = 10'000;

bool IsTerminalStatus(const std::string& status) {
  return status == "completed" || status == "failed" || status == "expired" ||
         status == "cancelled";
}

EmulatorOptions WithClock(EmulatorOptions options, base::Clock* clock) {
  options.clock = clock;
  return options;
}

}  // namespace

SimHarness::SimHarness(EmulatorOptions options)
    : clock_(base::FromUnixMicros(kHarnessStartUs)),
      time_scale_(options.time_scale),
      emulator_(StartEmulatorOrDie(WithClock(std::move(options), &clock_))),
      client_(emulator_->port()) {}

void SimHarness::Advance(double seconds) {
  clock_.Advance(base::Duration(static_cast<std::int64_t>(seconds * 1e6 / time_scale_)));
}

std::string SimHarness::UploadOrDie(const std::string& content) {
  const SimResponse response = client_.UploadFile(content);
  INFO(response.body);
  REQUIRE(response.status == 200);
  return response.Json().at("id").get<std::string>();
}

nlohmann::json SimHarness::CreateBatchOrDie(const std::string& file_id,
                                            const nlohmann::json& extra) {
  nlohmann::json body = {{"input_file_id", file_id},
                         {"endpoint", "/v1/chat/completions"},
                         {"completion_window", "24h"}};
  body.update(extra);
  const SimResponse response = client_.PostJson("/v1/batches", body);
  INFO(response.body);
  REQUIRE(response.status == 200);
  return response.Json();
}

nlohmann::json SimHarness::GetBatchOrDie(const std::string& batch_id) {
  const SimResponse response = client_.Get("/v1/batches/" + batch_id);
  INFO(response.body);
  REQUIRE(response.status == 200);
  return response.Json();
}

std::string SimHarness::DownloadOrDie(const std::string& file_id) {
  const SimResponse response = client_.Get("/v1/files/" + file_id + "/content");
  INFO(response.body);
  REQUIRE(response.status == 200);
  return response.body;
}

nlohmann::json SimHarness::RunToEnd(const std::string& batch_id, double step_s) {
  nlohmann::json batch = GetBatchOrDie(batch_id);
  for (int step = 0; step < kRunToEndStepsMax && !IsTerminalStatus(batch["status"]); ++step) {
    Advance(step_s);
    batch = GetBatchOrDie(batch_id);
  }
  REQUIRE(IsTerminalStatus(batch["status"]));
  return batch;
}

}  // namespace batchlog::sim::testing
