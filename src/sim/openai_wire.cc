#include "src/sim/openai_wire.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/base/json_string.h"
#include "src/sim/deterministic_model.h"
#include "src/sim/multipart_reader.h"
#include "src/sim/sim_hash.h"
#include "src/sim/wire_support.h"

namespace batchlog::sim {
namespace {

using nlohmann::json;

constexpr std::string_view kEndpoints[] = {
    "/v1/responses",   "/v1/chat/completions",   "/v1/embeddings",   "/v1/completions",
    "/v1/moderations", "/v1/images/generations", "/v1/images/edits", "/v1/videos"};
constexpr std::int64_t kFileLifetimeS = 30LL * 24 * 3600;
constexpr std::size_t kMetadataPairsMax = 16;
constexpr std::size_t kMetadataKeyCharsMax = 64;
constexpr std::size_t kMetadataValueCharsMax = 512;
constexpr std::size_t kFormFieldBytesMax = 4096;
constexpr std::size_t kValidationErrorsMax = 100;
constexpr std::int64_t kOpenAiListLimitDefault = 20;
constexpr std::int64_t kOpenAiListLimitMax = 100;
constexpr std::size_t kEmbeddingDimensions = 8;

std::string Hex(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, value);
  return buffer;
}

json TimeOrNull(const std::optional<base::Timestamp>& t) {
  return t ? json(ToUnixSeconds(*t)) : json(nullptr);
}

void SendJson(httplib::Response& response, const json& body) {
  response.status = 200;
  response.set_content(DumpJson(body), "application/json");
}

void InvalidRequest(httplib::Response& response, std::string_view message,
                    std::string_view param = {}, std::string_view code = {}) {
  WriteOpenAiError(response, 400, "invalid_request_error", message, param, code);
}

// ---- Guard: auth and control-plane faults, shared by every route ----

// Answers 401 and returns false unless the request carries "Authorization: Bearer <key>".
bool Authorized(const httplib::Request& request, httplib::Response& response) {
  const std::string header = request.get_header_value("Authorization");
  if (header.empty()) {
    WriteOpenAiError(response, 401, "invalid_request_error",
                     "You didn't provide an API key. You need to provide your API key in an "
                     "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                     "YOUR_KEY).");
    return false;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (header.rfind(kBearer, 0) != 0 ||
      header.find_first_not_of(' ', kBearer.size()) == std::string::npos) {
    WriteOpenAiError(response, 401, "invalid_request_error", "Incorrect API key provided.", {},
                     "invalid_api_key");
    return false;
  }
  return true;
}

// Returns the fault the route must still honour (kDropResponse, kTruncate) or nullopt when
// the request was already answered (auth failure, injected error, reset).
std::optional<ControlFault> Guard(SimContext& context, Operation operation,
                                  const httplib::Request& request, httplib::Response& response) {
  if (!Authorized(request, response)) return std::nullopt;
  const ControlFault fault = context.registry.NextControlFault(Api::kOpenAi, operation);
  if (ApplyTransportFault(fault, request)) return std::nullopt;
  switch (fault.kind) {
    case ControlFaultKind::kRateLimit:
      if (fault.retry_after_s > 0) {
        response.set_header("Retry-After", std::to_string(fault.retry_after_s));
      }
      WriteOpenAiError(response, 429, "requests",
                       "Rate limit reached for requests. Please try again later.", {},
                       "rate_limit_exceeded");
      return std::nullopt;
    case ControlFaultKind::kServerError:
      WriteOpenAiError(response, 500, "server_error",
                       "The server had an error while processing your request. Sorry about "
                       "that!");
      return std::nullopt;
    case ControlFaultKind::kOverloaded:
      WriteOpenAiError(response, 503, "service_unavailable_error",
                       "The engine is currently overloaded, please try again later.", {},
                       "server_is_overloaded");
      return std::nullopt;
    case ControlFaultKind::kUnauthorized: {
      // OpenAI echoes the key masked: its first characters and its last four.
      const std::string key = request.get_header_value("Authorization").substr(7);
      const std::string masked =
          key.size() > 8 ? key.substr(0, 3) + std::string(key.size() - 7, '*') +
                               key.substr(key.size() - 4)
                         : std::string("****");
      WriteOpenAiError(response, 401, "invalid_request_error",
                       "Incorrect API key provided: " + masked +
                           ". You can find your API key at "
                           "https://platform.openai.com/account/api-keys.",
                       {}, "invalid_api_key");
      return std::nullopt;
    }
    case ControlFaultKind::kQuotaExceeded:
      WriteOpenAiError(response, 429, "insufficient_quota",
                       "You exceeded your current quota, please check your plan and billing "
                       "details.",
                       {}, "insufficient_quota");
      return std::nullopt;
    case ControlFaultKind::kNotFound:
      WriteOpenAiError(response, 404, "invalid_request_error",
                       "No such object (injected by the fault plan)", "id");
      return std::nullopt;
    case ControlFaultKind::kTimeout:
      WriteOpenAiError(response, 408, "invalid_request_error",
                       "Request timed out (injected by the fault plan).");
      return std::nullopt;
    case ControlFaultKind::kConflict:
      WriteOpenAiError(response, 409, "invalid_request_error",
                       "Another operation is in progress (injected by the fault plan).");
      return std::nullopt;
    case ControlFaultKind::kBadGateway:
      WriteBadGateway(response);
      return std::nullopt;
    case ControlFaultKind::kFileNotReady: {
      std::string file_id = "the input file";
      const json parsed = json::parse(request.body, nullptr, false);
      if (parsed.is_object() && parsed.contains("input_file_id") &&
          parsed["input_file_id"].is_string()) {
        file_id = parsed["input_file_id"].get<std::string>();
      }
      WriteOpenAiError(response, 400, "invalid_request_error",
                       "Cannot find file " + file_id +
                           " or project does not have access to it (injected by the fault "
                           "plan).",
                       "input_file_id");
      return std::nullopt;
    }
    case ControlFaultKind::kNone:
    case ControlFaultKind::kSlow:
    case ControlFaultKind::kConnectionReset:
    case ControlFaultKind::kDropResponse:
    case ControlFaultKind::kTruncate:
      return fault;
  }
  return fault;
}

// ---- Objects ----

json FileJson(const FileRecord& file) {
  const std::int64_t created = ToUnixSeconds(file.created_at);
  return json{{"id", file.id},
              {"object", "file"},
              {"bytes", file.bytes},
              {"created_at", created},
              {"expires_at", created + kFileLifetimeS},
              {"filename", file.filename},
              {"purpose", file.purpose},
              {"status", "processed"},
              {"status_details", nullptr}};
}

bool IsSuccess(OutcomeKind kind) {
  return kind == OutcomeKind::kNone || kind == OutcomeKind::kContentFilter;
}

json BatchJson(const BatchSnapshot& s) {
  const json& wire = s.wire_fields;
  json errors = nullptr;
  if (!s.errors.empty()) {
    json data = json::array();
    for (const auto& error : s.errors) {
      data.push_back({{"code", error.code},
                      {"message", error.message},
                      {"param", error.param ? json(*error.param) : json(nullptr)},
                      {"line", error.line ? json(*error.line) : json(nullptr)}});
    }
    errors = {{"object", "list"}, {"data", std::move(data)}};
  }
  std::int64_t completed = 0;
  for (std::size_t i = 0; i < kOutcomeKindCount; ++i) {
    if (IsSuccess(static_cast<OutcomeKind>(i))) completed += s.ran_by_outcome[i];
  }
  const std::int64_t failed = s.ran - completed + s.expired + s.cancelled;
  // The real service reports total 0 until validation has counted the lines.
  const bool counted = s.phase != BatchPhase::kValidating && s.phase != BatchPhase::kFailed;
  json body = {
      {"id", s.id},
      {"object", "batch"},
      {"endpoint", wire.value("endpoint", "")},
      {"errors", std::move(errors)},
      {"input_file_id", wire.value("input_file_id", "")},
      {"completion_window", wire.value("completion_window", "24h")},
      {"status", std::string(BatchPhaseName(s.phase))},
      {"output_file_id", s.output_file ? json(s.output_file->id) : json(nullptr)},
      {"error_file_id", s.error_file ? json(s.error_file->id) : json(nullptr)},
      {"created_at", ToUnixSeconds(s.created_at)},
      {"in_progress_at", TimeOrNull(s.in_progress_at)},
      {"expires_at", ToUnixSeconds(s.expires_at)},
      {"finalizing_at", TimeOrNull(s.finalizing_at)},
      {"completed_at", TimeOrNull(s.completed_at)},
      {"failed_at", TimeOrNull(s.failed_at)},
      {"expired_at", TimeOrNull(s.expired_at)},
      {"cancelling_at", TimeOrNull(s.cancelling_at)},
      {"cancelled_at", TimeOrNull(s.cancelled_at)},
      {"request_counts",
       {{"total", counted ? s.total : 0}, {"completed", completed}, {"failed", failed}}},
      {"metadata", wire.contains("metadata") ? wire["metadata"] : json(nullptr)},
  };
  if (const auto model = wire.find("model"); model != wire.end() && model->is_string()) {
    body["model"] = *model;
  }
  return body;
}

// ---- Result lines ----

json ErrorBody(std::string_view message, std::string_view type, std::string_view param,
               std::string_view code) {
  return {{"error",
           {{"message", std::string(message)},
            {"type", std::string(type)},
            {"param", param.empty() ? json(nullptr) : json(std::string(param))},
            {"code", code.empty() ? json(nullptr) : json(std::string(code))}}}};
}

// The body the synchronous endpoint would have answered with.
json SuccessBody(std::string_view endpoint, const json& request_body, OutcomeKind outcome,
                 std::int64_t created, std::uint64_t hash) {
  const ModelAnswer answer = AnswerRequest(request_body);
  const bool filtered = outcome == OutcomeKind::kContentFilter;
  const std::string model = request_body.is_object() ? request_body.value("model", "") : "";
  const std::string finish = filtered ? "content_filter" : answer.truncated ? "length" : "stop";
  const json usage = {{"prompt_tokens", answer.input_tokens},
                      {"completion_tokens", answer.output_tokens},
                      {"total_tokens", answer.input_tokens + answer.output_tokens}};
  if (endpoint == "/v1/completions") {
    return {{"id", "cmpl-" + Hex(hash)},
            {"object", "text_completion"},
            {"created", created},
            {"model", model},
            {"choices", json::array({{{"text", filtered ? "" : answer.text},
                                      {"index", 0},
                                      {"logprobs", nullptr},
                                      {"finish_reason", finish}}})},
            {"usage", usage}};
  }
  if (endpoint == "/v1/embeddings") {
    json vector = json::array();
    const std::string prompt = PromptOf(request_body);
    for (std::size_t i = 0; i < kEmbeddingDimensions; ++i) {
      vector.push_back(HashToUnit(MixHash(0, prompt, i)) * 2 - 1);
    }
    return {
        {"object", "list"},
        {"data",
         json::array({{{"object", "embedding"}, {"index", 0}, {"embedding", std::move(vector)}}})},
        {"model", model},
        {"usage", {{"prompt_tokens", answer.input_tokens}, {"total_tokens", answer.input_tokens}}}};
  }
  if (endpoint == "/v1/responses") {
    json body = {
        {"id", "resp_" + Hex(hash)},
        {"object", "response"},
        {"created_at", created},
        {"status", filtered || answer.truncated ? "incomplete" : "completed"},
        {"model", model},
        {"output", json::array({{{"type", "message"},
                                 {"id", "msg_" + Hex(SplitMix64(hash))},
                                 {"status", "completed"},
                                 {"role", "assistant"},
                                 {"content", json::array({{{"type", "output_text"},
                                                           {"text", filtered ? "" : answer.text},
                                                           {"annotations", json::array()}}})}}})},
        {"usage",
         {{"input_tokens", answer.input_tokens},
          {"output_tokens", answer.output_tokens},
          {"total_tokens", answer.input_tokens + answer.output_tokens}}},
        {"incomplete_details", nullptr},
    };
    if (filtered) {
      body["incomplete_details"] = {{"reason", "content_filter"}};
    } else if (answer.truncated) {
      body["incomplete_details"] = {{"reason", "max_output_tokens"}};
    }
    return body;
  }
  if (endpoint == "/v1/moderations") {
    return {{"id", "modr-" + Hex(hash)},
            {"model", model},
            {"results", json::array({{{"flagged", filtered},
                                      {"categories", json::object()},
                                      {"category_scores", json::object()}}})}};
  }
  // /v1/chat/completions, and the chat shape for the media endpoints the emulator does not
  // model.
  return {{"id", "chatcmpl-" + Hex(hash)},
          {"object", "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({{{"index", 0},
                                    {"message",
                                     {{"role", "assistant"},
                                      {"content", filtered ? json(nullptr) : json(answer.text)},
                                      {"refusal", nullptr}}},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish}}})},
          {"usage", usage},
          {"system_fingerprint", "fp_sim"}};
}

// The chat.completion body, written directly: the hot path of every results file (a
// 50,000-line file is written in one pass, and building a json tree per line would
// dominate the emulator's time).
void AppendChatCompletion(std::string& out, const json& request_body, bool filtered,
                          std::int64_t created, std::uint64_t hash) {
  const ModelAnswer answer = AnswerRequest(request_body);
  out += R"({"id":"chatcmpl-)";
  out += Hex(hash);
  out += R"(","object":"chat.completion","created":)";
  out += std::to_string(created);
  out += R"(,"model":)";
  const auto model = request_body.find("model");
  base::AppendJsonString(out, model != request_body.end() && model->is_string()
                            ? model->get_ref<const std::string&>()
                            : std::string_view());
  out += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
  if (filtered) {
    out += "null";
  } else {
    base::AppendJsonString(out, answer.text);
  }
  out += R"(,"refusal":null},"logprobs":null,"finish_reason":")";
  out += filtered ? "content_filter" : answer.truncated ? "length" : "stop";
  out += R"("}],"usage":{"prompt_tokens":)";
  out += std::to_string(answer.input_tokens);
  out += R"(,"completion_tokens":)";
  out += std::to_string(answer.output_tokens);
  out += R"(,"total_tokens":)";
  out += std::to_string(answer.input_tokens + answer.output_tokens);
  out += R"(},"system_fingerprint":"fp_sim"})";
}

class OpenAiFormatter final : public ResultFormatter {
 public:
  ResultDestination FormatLine(const ResultLineInput& in, std::string& line) const override {
    line += R"({"id":"batch_req_)";
    line += Hex(in.line_hash);
    line += Hex(SplitMix64(in.line_hash));
    line += R"(","custom_id":)";
    base::AppendJsonString(line, in.custom_id);
    const std::string request_id = "req_" + Hex(SplitMix64(in.line_hash ^ 0x5eed));
    ResultDestination destination = ResultDestination::kError;
    // HTTP-level: {"status_code","request_id","body"} and error null.
    const auto http = [&](int status, const auto& append_body) {
      line += R"(,"response":{"status_code":)";
      line += std::to_string(status);
      line += R"(,"request_id":")";
      line += request_id;
      line += R"(","body":)";
      append_body();
      line += R"(},"error":null})";
    };
    const auto http_error = [&](int status, const json& body) {
      http(status, [&] { line += DumpJson(body); });
    };
    // Non-HTTP: response null and error {"code","message"}.
    const auto non_http = [&](std::string_view code, std::string_view message) {
      line += R"(,"response":null,"error":{"code":)";
      base::AppendJsonString(line, code);
      line += R"(,"message":)";
      base::AppendJsonString(line, message);
      line += "}}";
    };
    switch (in.fate) {
      case RequestFate::kExpired:
        non_http("batch_expired",
                 "This request could not be executed before the completion window expired.");
        break;
      case RequestFate::kCancelled:
        non_http("batch_cancelled",
                 "This request was not executed because the batch was cancelled.");
        break;
      case RequestFate::kRan:
        switch (in.outcome) {
          case OutcomeKind::kNone:
          case OutcomeKind::kContentFilter: {
            // The input line was validated at create, so it parses.
            const json input = json::parse(in.request_json, nullptr, false);
            const std::string endpoint =
                in.wire_fields ? in.wire_fields->value("endpoint", "") : std::string();
            const json empty = json::object();
            const json& body =
                input.is_object() && input.contains("body") && input["body"].is_object()
                    ? input["body"]
                    : empty;
            const bool filtered = in.outcome == OutcomeKind::kContentFilter;
            const std::int64_t created = ToUnixSeconds(in.finished_at);
            http(200, [&] {
              if (endpoint == "/v1/chat/completions") {
                AppendChatCompletion(line, body, filtered, created, in.line_hash);
              } else {
                line += DumpJson(SuccessBody(endpoint, body, in.outcome, created, in.line_hash));
              }
            });
            destination = ResultDestination::kOutput;
            break;
          }
          case OutcomeKind::kRateLimit:
            http_error(429, ErrorBody("Rate limit reached for requests. Please try again later.",
                                      "requests", {}, "rate_limit_exceeded"));
            break;
          case OutcomeKind::kServerError:
            http_error(500, ErrorBody("The server had an error while processing your request. "
                                      "Sorry about that!",
                                      "server_error", {}, {}));
            break;
          case OutcomeKind::kOverloaded:
            http_error(503, ErrorBody("The engine is currently overloaded, please try again later.",
                                      "service_unavailable_error", {}, "server_is_overloaded"));
            break;
          case OutcomeKind::kTimeout:
            non_http("request_timeout",
                     "The request timed out before the model produced a response.");
            break;
          case OutcomeKind::kExpired:
            non_http("batch_expired",
                     "This request could not be executed before the completion window "
                     "expired.");
            break;
          case OutcomeKind::kInvalidRequest:
            http_error(400,
                       ErrorBody("This model's maximum context length is 128000 tokens. "
                                 "Please reduce the length of the messages.",
                                 "invalid_request_error", "messages", "context_length_exceeded"));
            break;
          case OutcomeKind::kInsufficientQuota:
            http_error(429, ErrorBody("You exceeded your current quota, please check your plan "
                                      "and billing details.",
                                      "insufficient_quota", {}, "insufficient_quota"));
            break;
        }
        break;
    }
    line += '\n';
    return destination;
  }
};

// ---- Input validation ----

struct ParsedInput {
  std::vector<RequestSlice> requests;
  std::vector<BatchError> errors;
  std::string model;
};

void AddError(ParsedInput& parsed, std::string code, std::string message,
              std::optional<std::string> param, std::optional<std::int64_t> line) {
  if (parsed.errors.size() >= kValidationErrorsMax) return;
  parsed.errors.push_back(BatchError{std::move(code), std::move(message), std::move(param), line});
}

// Reads the input JSONL once, line by line: what the real service's validating step
// checks (reported as errors.data[] of a failed batch).
base::Result<ParsedInput> ParseInput(const FileRecord& file, std::string_view endpoint,
                                     std::int64_t requests_max) {
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return base::NotFoundError("input file vanished");
  ParsedInput parsed;
  std::set<std::string, std::less<>> seen;
  std::string text;
  std::uint64_t offset = 0;
  std::int64_t line_number = 0;
  std::int64_t count = 0;
  bool model_known = false;
  while (std::getline(in, text)) {
    ++line_number;
    const std::uint64_t line_offset = offset;
    offset += text.size() + 1;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ++count;
    const json line = json::parse(text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) {
      AddError(parsed, "invalid_json_line",
               "Line " + std::to_string(line_number) + " is not a valid JSON object.", std::nullopt,
               line_number);
      continue;
    }
    const auto custom_id = line.find("custom_id");
    if (custom_id == line.end() || !custom_id->is_string() ||
        custom_id->get<std::string>().empty()) {
      AddError(parsed, "missing_required_parameter",
               "Line " + std::to_string(line_number) + " has no custom_id.", "custom_id",
               line_number);
      continue;
    }
    const std::string id = custom_id->get<std::string>();
    if (line.value("method", "") != "POST") {
      AddError(parsed, "invalid_method",
               "Line " + std::to_string(line_number) + ": method must be POST.", "method",
               line_number);
    }
    if (line.value("url", "") != endpoint) {
      AddError(parsed, "url_mismatch",
               "Line " + std::to_string(line_number) +
                   ": the url does not match the "
                   "batch endpoint " +
                   std::string(endpoint) + ".",
               "url", line_number);
    }
    const auto body = line.find("body");
    if (body == line.end() || !body->is_object()) {
      AddError(parsed, "missing_required_parameter",
               "Line " + std::to_string(line_number) + " has no body object.", "body", line_number);
    } else {
      const std::string model = body->value("model", "");
      if (!model_known) {
        parsed.model = model;
        model_known = true;
      } else if (model != parsed.model) {
        AddError(parsed, "model_mismatch",
                 "Line " + std::to_string(line_number) + " uses model '" + model +
                     "' but the batch uses '" + parsed.model +
                     "'. A batch input file may use only one model.",
                 "body.model", line_number);
      }
    }
    if (!seen.insert(id).second) {
      AddError(parsed, "duplicate_custom_id",
               "Line " + std::to_string(line_number) + ": the custom_id '" + id +
                   "' is not unique in the batch.",
               "custom_id", line_number);
      continue;
    }
    if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
      AddError(parsed, "invalid_json_line", "Line too long.", std::nullopt, line_number);
      continue;
    }
    RequestSlice slice;
    slice.custom_id = id;
    slice.offset = line_offset;
    slice.length = static_cast<std::uint32_t>(text.size());
    parsed.requests.push_back(std::move(slice));
  }
  if (count == 0) {
    AddError(parsed, "empty_file", "The batch input file is empty.", std::nullopt, std::nullopt);
  } else if (count > requests_max) {
    AddError(parsed, "too_many_tasks",
             "The batch input file has " + std::to_string(count) + " requests; the maximum is " +
                 std::to_string(requests_max) + ".",
             std::nullopt, std::nullopt);
  }
  return parsed;
}

// Returns an error message when `metadata` breaks the Metadata schema's limits.
std::optional<std::string> CheckMetadata(const json& metadata) {
  if (metadata.is_null()) return std::nullopt;
  if (!metadata.is_object()) return "metadata must be an object of string pairs.";
  if (metadata.size() > kMetadataPairsMax) return "metadata may hold at most 16 pairs.";
  for (const auto& [key, value] : metadata.items()) {
    if (key.size() > kMetadataKeyCharsMax) return "metadata keys are at most 64 characters.";
    if (!value.is_string()) return "metadata values must be strings.";
    if (value.get<std::string>().size() > kMetadataValueCharsMax) {
      return "metadata values are at most 512 characters.";
    }
  }
  return std::nullopt;
}

// ---- Routes ----

// Makes httplib hand over the raw body even when it is multipart. httplib picks its own
// multipart parser from the Content-Type header at the moment the body is read; that parser
// refuses bodies Node 18's fetch sends (multipart_reader.h) and then overwrites the
// response status with 400. The Request is httplib's own non-const local, handed to routes
// by const reference, so relabelling it here is safe.
void ReadBodyRaw(const httplib::Request& request) {
  auto& mutable_request = const_cast<httplib::Request&>(request);
  mutable_request.headers.erase("Content-Type");
  mutable_request.headers.emplace("Content-Type", "application/octet-stream");
}

// Reads and drops the request body, so a keep-alive connection stays in step.
void DrainBody(const httplib::Request& request, const httplib::ContentReader& reader) {
  ReadBodyRaw(request);
  reader([](const char*, std::size_t) { return true; });
}

void HandleUpload(SimContext& context, const httplib::Request& request, httplib::Response& response,
                  const httplib::ContentReader& reader) {
  const auto fault = Guard(context, Operation::kUpload, request, response);
  if (!fault) {
    DrainBody(request, reader);
    return;
  }
  const auto boundary = MultipartReader::BoundaryOf(request.get_header_value("Content-Type"));
  if (!boundary) {
    DrainBody(request, reader);
    InvalidRequest(response, "The request must be multipart/form-data with a 'file' part.", "file");
    return;
  }
  // Our own multipart reader parses the raw body (multipart_reader.h says why).
  ReadBodyRaw(request);
  const std::filesystem::path spool = context.registry.NewSpoolPath("upload");
  std::ofstream out;
  std::string current;
  std::string filename;
  bool have_file = false;
  bool too_large = false;
  bool write_failed = false;
  std::int64_t bytes = 0;
  std::map<std::string, std::string> fields;
  const std::int64_t bytes_max = context.options.openai_upload_bytes_max;
  MultipartReader multipart(
      *boundary,
      [&](const MultipartPartHeader& part) {
        current = part.name;
        if (current == "file") {
          if (have_file) return false;
          have_file = true;
          filename = part.filename.empty() ? "upload.jsonl" : part.filename;
          out.open(spool, std::ios::binary | std::ios::trunc);
          if (!out) {
            write_failed = true;
            return false;
          }
        }
        return true;
      },
      [&](std::string_view data) {
        if (current == "file") {
          bytes += static_cast<std::int64_t>(data.size());
          if (bytes > bytes_max) {
            too_large = true;
            return false;
          }
          out.write(data.data(), static_cast<std::streamsize>(data.size()));
          if (!out) {
            write_failed = true;
            return false;
          }
          return true;
        }
        std::string& field = fields[current];
        if (field.size() + data.size() > kFormFieldBytesMax) return false;
        field.append(data);
        return true;
      });
  const bool body_read = reader([&](const char* data, std::size_t length) {
    return multipart.Feed(std::string_view(data, length));
  });
  const bool read_ok = body_read && multipart.Finish();
  if (out.is_open()) out.close();
  const auto discard = [&] {
    std::error_code ignored;
    std::filesystem::remove(spool, ignored);
  };
  if (too_large) {
    discard();
    WriteOpenAiError(response, 413, "invalid_request_error",
                     "File is too large. The maximum is " + std::to_string(bytes_max) + " bytes.",
                     "file");
    return;
  }
  if (write_failed) {
    discard();
    WriteOpenAiError(response, 500, "server_error", "The upload could not be stored.");
    return;
  }
  if (!read_ok) {
    discard();
    InvalidRequest(response, "The multipart body could not be parsed.", "file");
    return;
  }
  if (!have_file) {
    discard();
    InvalidRequest(response, "Missing required parameter: 'file'.", "file",
                   "missing_required_parameter");
    return;
  }
  const auto purpose = fields.find("purpose");
  if (purpose == fields.end() || purpose->second.empty()) {
    discard();
    InvalidRequest(response, "Missing required parameter: 'purpose'.", "purpose",
                   "missing_required_parameter");
    return;
  }
  static const std::set<std::string, std::less<>> kPurposes = {
      "assistants", "batch", "fine-tune", "vision", "user_data", "evals"};
  if (!kPurposes.contains(purpose->second)) {
    discard();
    InvalidRequest(response, "'" + purpose->second + "' is not a valid purpose.", "purpose",
                   "invalid_value");
    return;
  }
  auto file = context.registry.AddFile(Api::kOpenAi, filename, purpose->second, spool);
  if (!file.ok()) {
    discard();
    WriteOpenAiError(response, 500, "server_error", file.status().message());
    return;
  }
  if (fault->kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  SendJson(response, FileJson(*file));
}

void FileNotFound(httplib::Response& response, const std::string& file_id) {
  WriteOpenAiError(response, 404, "invalid_request_error", "No such File object: " + file_id, "id");
}

void HandleGetFile(SimContext& context, const httplib::Request& request,
                   httplib::Response& response) {
  const auto fault = Guard(context, Operation::kGet, request, response);
  if (!fault) return;
  const std::string file_id = request.matches[1];
  auto file = context.registry.GetFile(file_id);
  if (!file.ok()) return FileNotFound(response, file_id);
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  SendJson(response, FileJson(*file));
}

void HandleFileContent(SimContext& context, const httplib::Request& request,
                       httplib::Response& response) {
  const auto fault = Guard(context, Operation::kDownload, request, response);
  if (!fault) return;
  const std::string file_id = request.matches[1];
  auto file = context.registry.GetFile(file_id);
  if (!file.ok()) return FileNotFound(response, file_id);
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  const double fraction =
      fault->kind == ControlFaultKind::kTruncate ? fault->truncate_fraction : 1.0;
  if (!ServeSpooledFile(response, file->path, file->bytes, "application/octet-stream", fraction)) {
    FileNotFound(response, file_id);
  }
}

void HandleDeleteFile(SimContext& context, const httplib::Request& request,
                      httplib::Response& response) {
  const auto fault = Guard(context, Operation::kDelete, request, response);
  if (!fault) return;
  const std::string file_id = request.matches[1];
  if (!context.registry.DeleteFile(file_id).ok()) return FileNotFound(response, file_id);
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  SendJson(response, {{"id", file_id}, {"object", "file"}, {"deleted", true}});
}

void HandleCreateBatch(SimContext& context, const httplib::Request& request,
                       httplib::Response& response) {
  const auto fault = Guard(context, Operation::kCreate, request, response);
  if (!fault) return;
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    InvalidRequest(response,
                   "We could not parse the JSON body of your request. (HINT: This likely "
                   "means you aren't using your HTTP library correctly. The OpenAI API "
                   "expects a JSON payload.)");
    return;
  }
  for (const char* field : {"input_file_id", "endpoint", "completion_window"}) {
    const auto it = body.find(field);
    if (it == body.end() || !it->is_string()) {
      InvalidRequest(response, "Missing required parameter: '" + std::string(field) + "'.", field,
                     "missing_required_parameter");
      return;
    }
  }
  const std::string input_file_id = body["input_file_id"];
  const std::string endpoint = body["endpoint"];
  const std::string window = body["completion_window"];
  if (std::find(std::begin(kEndpoints), std::end(kEndpoints), endpoint) == std::end(kEndpoints)) {
    InvalidRequest(response, "Invalid value for 'endpoint': '" + endpoint + "'.", "endpoint",
                   "invalid_value");
    return;
  }
  if (window != "24h") {
    InvalidRequest(
        response,
        "Invalid value for 'completion_window': '" + window + "'. Supported values are: '24h'.",
        "completion_window", "invalid_value");
    return;
  }
  json metadata = body.contains("metadata") ? body["metadata"] : json(nullptr);
  if (auto problem = CheckMetadata(metadata)) {
    InvalidRequest(response, *problem, "metadata", "invalid_value");
    return;
  }
  auto file = context.registry.GetFile(input_file_id);
  if (!file.ok()) {
    InvalidRequest(response,
                   "Cannot find file " + input_file_id +
                       ", or organization org-sim does not have access to it.",
                   "input_file_id");
    return;
  }
  if (file->purpose != "batch") {
    InvalidRequest(response, "The input file must be uploaded with purpose 'batch'.",
                   "input_file_id");
    return;
  }
  if (file->bytes > context.options.openai_input_bytes_max) {
    InvalidRequest(response,
                   "File is too large. A batch input file may be at most " +
                       std::to_string(context.options.openai_input_bytes_max) + " bytes.",
                   "input_file_id");
    return;
  }
  auto parsed = ParseInput(*file, endpoint, context.options.openai_requests_max);
  if (!parsed.ok()) {
    InvalidRequest(response, "Cannot read file " + input_file_id + ".", "input_file_id");
    return;
  }

  BatchSpec spec;
  spec.api = Api::kOpenAi;
  spec.id_prefix = "batch_";
  spec.validating = true;
  spec.input_path = file->path;
  spec.requests = std::move(parsed->requests);
  spec.validation_errors = std::move(parsed->errors);
  spec.wire_fields = {{"endpoint", endpoint},
                      {"input_file_id", input_file_id},
                      {"completion_window", window},
                      {"metadata", std::move(metadata)}};
  if (!parsed->model.empty()) spec.wire_fields["model"] = parsed->model;
  spec.formatter = &OpenAiResultFormatter();
  auto batch = context.registry.CreateBatch(std::move(spec));
  if (!batch.ok()) {
    WriteOpenAiError(response, 500, "server_error", batch.status().message());
    return;
  }
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  SendJson(response, BatchJson(*batch));
}

void BatchNotFound(httplib::Response& response, const std::string& batch_id) {
  WriteOpenAiError(response, 404, "invalid_request_error",
                   "No batch found with id '" + batch_id + "'.", "batch_id");
}

void HandleGetBatch(SimContext& context, const httplib::Request& request,
                    httplib::Response& response) {
  const auto fault = Guard(context, Operation::kGet, request, response);
  if (!fault) return;
  const std::string batch_id = request.matches[1];
  auto batch = context.registry.GetBatch(batch_id);
  if (!batch.ok() || batch->api != Api::kOpenAi) return BatchNotFound(response, batch_id);
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  SendJson(response, BatchJson(*batch));
}

void HandleCancelBatch(SimContext& context, const httplib::Request& request,
                       httplib::Response& response) {
  const auto fault = Guard(context, Operation::kCancel, request, response);
  if (!fault) return;
  const std::string batch_id = request.matches[1];
  auto existing = context.registry.GetBatch(batch_id);
  if (!existing.ok() || existing->api != Api::kOpenAi) return BatchNotFound(response, batch_id);
  auto batch = context.registry.CancelBatch(batch_id);
  if (!batch.ok()) {
    if (batch.status().code() == base::StatusCode::kNotFound) {
      return BatchNotFound(response, batch_id);
    }
    WriteOpenAiError(response, 409, "invalid_request_error",
                     "Cannot cancel a batch with status '" +
                         std::string(BatchPhaseName(existing->phase)) + "'.");
    return;
  }
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  SendJson(response, BatchJson(*batch));
}

void HandleListBatches(SimContext& context, const httplib::Request& request,
                       httplib::Response& response) {
  const auto fault = Guard(context, Operation::kList, request, response);
  if (!fault) return;
  std::int64_t limit = kOpenAiListLimitDefault;
  if (request.has_param("limit")) {
    const std::string text = request.get_param_value("limit");
    std::size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || value < 1 || value > kOpenAiListLimitMax) {
      InvalidRequest(response,
                     "Invalid value for 'limit': '" + text + "'. It must be between 1 and 100.",
                     "limit", "invalid_value");
      return;
    }
    limit = value;
  }
  const std::string after = request.get_param_value("after");
  auto page =
      context.registry.ListBatches(Api::kOpenAi, after, {}, static_cast<std::size_t>(limit));
  if (!page.ok()) {
    InvalidRequest(response, "No batch found with id '" + after + "'.", "after");
    return;
  }
  json data = json::array();
  for (const auto& batch : page->batches) data.push_back(BatchJson(batch));
  json body = {{"object", "list"},
               {"data", std::move(data)},
               {"first_id", page->batches.empty() ? json(nullptr) : json(page->batches.front().id)},
               {"last_id", page->batches.empty() ? json(nullptr) : json(page->batches.back().id)},
               {"has_more", page->has_more}};
  if (fault->kind == ControlFaultKind::kDropResponse) return ResetConnection(request);
  SendJson(response, body);
}

}  // namespace

const ResultFormatter& OpenAiResultFormatter() {
  static const OpenAiFormatter formatter;
  return formatter;
}

void RegisterOpenAiRoutes(httplib::Server& server, SimContext& context) {
  SimContext* ctx = &context;
  server.Post("/v1/files", [ctx](const httplib::Request& request, httplib::Response& response,
                                 const httplib::ContentReader& reader) {
    HandleUpload(*ctx, request, response, reader);
  });
  server.Get(R"(/v1/files/([^/]+))",
             [ctx](const httplib::Request& request, httplib::Response& response) {
               HandleGetFile(*ctx, request, response);
             });
  server.Get(R"(/v1/files/([^/]+)/content)",
             [ctx](const httplib::Request& request, httplib::Response& response) {
               HandleFileContent(*ctx, request, response);
             });
  server.Delete(R"(/v1/files/([^/]+))",
                [ctx](const httplib::Request& request, httplib::Response& response) {
                  HandleDeleteFile(*ctx, request, response);
                });
  server.Post("/v1/batches", [ctx](const httplib::Request& request, httplib::Response& response) {
    HandleCreateBatch(*ctx, request, response);
  });
  server.Get("/v1/batches", [ctx](const httplib::Request& request, httplib::Response& response) {
    HandleListBatches(*ctx, request, response);
  });
  server.Get(R"(/v1/batches/([^/]+))",
             [ctx](const httplib::Request& request, httplib::Response& response) {
               HandleGetBatch(*ctx, request, response);
             });
  server.Post(R"(/v1/batches/([^/]+)/cancel)",
              [ctx](const httplib::Request& request, httplib::Response& response) {
                HandleCancelBatch(*ctx, request, response);
              });
}

}  // namespace batchlog::sim
