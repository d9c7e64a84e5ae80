#include "src/sim/anthropic_wire.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/base/json_string.h"
#include "src/sim/deterministic_model.h"
#include "src/sim/sim_hash.h"
#include "src/sim/wire_support.h"

namespace batchlog::sim {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kBatchesPath = "/v1/messages/batches";
constexpr std::size_t kCustomIdBytesMax = 64;
constexpr std::int64_t kAnthropicListLimitDefault = 20;
constexpr std::int64_t kAnthropicListLimitMax = 1000;
// Results stay downloadable this long after creation (simulated time), then archived_at
// is set and the results are gone.
constexpr base::Duration kResultsRetention = std::chrono::hours(24 * 29);
// The refusal a content_filter outcome answers with.
constexpr std::string_view kRefusalText = "I can't help with that request.";

std::string DumpOrdered(const OrderedJson& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `n` base62 characters drawn from `hash` (rehashed as it runs out), for realistic ids
// such as "msg_01XFDUDYJgAACzvnptvVoYEL".
std::string Base62(std::uint64_t hash, int n) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  out.reserve(static_cast<std::size_t>(n));
  std::uint64_t state = hash;
  for (int i = 0; i < n; ++i) {
    if (i % 10 == 0) state = SplitMix64(state + static_cast<std::uint64_t>(i));
    out.push_back(kAlphabet[state % kAlphabet.size()]);
    state /= kAlphabet.size();
  }
  return out;
}

bool IsValidCustomId(std::string_view id) {
  if (id.empty() || id.size() > kCustomIdBytesMax) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

std::string Field(std::string_view prefix, std::size_t index, std::string_view name) {
  std::string out(prefix);
  out += '.';
  out += std::to_string(index);
  if (!name.empty()) {
    out += '.';
    out += name;
  }
  return out;
}

// Why the Messages API would reject `params`, or nothing. Create records the verdict as
// the request's outcome (invalid_request) and spools the message for its result line.
// Covers the required fields and the batch-only restriction on stream.
std::optional<std::string> ParamsProblem(const nlohmann::json& params) {
  if (!params.is_object()) return "params: Input should be a valid dictionary";
  const auto model = params.find("model");
  if (model == params.end()) return "model: Field required";
  if (!model->is_string() || model->get_ref<const std::string&>().empty()) {
    return "model: Input should be a non-empty string";
  }
  const auto max_tokens = params.find("max_tokens");
  if (max_tokens == params.end()) return "max_tokens: Field required";
  if (!max_tokens->is_number_integer()) return "max_tokens: Input should be a valid integer";
  if (max_tokens->get<std::int64_t>() < 1) {
    return "max_tokens: must be greater than or equal to 1";
  }
  const auto messages = params.find("messages");
  if (messages == params.end()) return "messages: Field required";
  if (!messages->is_array()) return "messages: Input should be a valid list";
  if (messages->empty()) return "messages: at least one message is required";
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const nlohmann::json& message = (*messages)[i];
    if (!message.is_object()) return Field("messages", i, "") + ": Input should be an object";
    const auto role = message.find("role");
    if (role == message.end()) return Field("messages", i, "role") + ": Field required";
    if (!role->is_string() || (*role != "user" && *role != "assistant")) {
      return Field("messages", i, "role") + ": Input should be 'user' or 'assistant'";
    }
    const auto content = message.find("content");
    if (content == message.end()) return Field("messages", i, "content") + ": Field required";
    if (!content->is_string() && !content->is_array()) {
      return Field("messages", i, "content") + ": Input should be a valid string or list";
    }
  }
  const auto stream = params.find("stream");
  if (stream != params.end() && stream->is_boolean() && stream->get<bool>()) {
    return "stream: streaming is not supported in the Message Batches API";
  }
  return std::nullopt;
}

std::string ModelOf(const nlohmann::json& params) {
  if (params.is_object()) {
    const auto model = params.find("model");
    if (model != params.end() && model->is_string()) return model->get<std::string>();
  }
  return "unknown";
}

// ---- Result lines ----
// Lines are built as text rather than through a JSON DOM: a results file has up to
// 100,000 of them and this is the emulator's hottest loop. For the same reason create
// computes each request's answer once and spools it as a SpoolRecord, so writing the
// results parses no JSON at all.

// What create spools per request (the RequestSlice's bytes), one line of tab-separated
// fields; the string fields are JSON string literals, which never hold a raw tab or
// newline:
//   model_literal TAB answer_literal TAB input_tokens TAB output_tokens TAB truncated(0|1)
//   TAB cache_creation_input_tokens TAB cache_read_input_tokens (both empty when no block
//   carries cache_control) TAB problem_literal (empty when the params are valid)
struct SpoolRecord {
  std::string_view model_literal;
  std::string_view answer_literal;
  std::string_view input_tokens;  // not counting the prefix written to or read from the cache
  std::string_view output_tokens;
  bool truncated = false;
  std::string_view cache_write_tokens;
  std::string_view cache_read_tokens;
  std::string_view problem_literal;
};

// The prompt-cache entries one batch has written: the first request of a batch with a
// given cacheable prefix writes it, later ones read it (docs/emulator.md, "Prompt caching").
using WrittenCachePrefixes = std::unordered_set<std::uint64_t>;

std::string EncodeSpoolRecord(const nlohmann::json& params,
                              const std::optional<std::string>& problem,
                              WrittenCachePrefixes& written) {
  const ModelAnswer answer = AnswerRequest(params);
  const CachePrefix prefix = problem ? CachePrefix{} : CachePrefixOf(params, answer.input_tokens);
  std::string out;
  base::AppendJsonString(out, ModelOf(params));
  out += '\t';
  base::AppendJsonString(out, answer.text);
  out += '\t';
  out += std::to_string(answer.input_tokens - prefix.tokens);
  out += '\t';
  out += std::to_string(answer.output_tokens);
  out += answer.truncated ? "\t1\t" : "\t0\t";
  if (prefix.tokens > 0) {
    const bool writes = written.insert(prefix.hash).second;
    out += writes ? std::to_string(prefix.tokens) : "0";
    out += '\t';
    out += writes ? "0" : std::to_string(prefix.tokens);
  } else {
    out += '\t';
  }
  out += '\t';
  if (problem) base::AppendJsonString(out, *problem);
  return out;
}

std::optional<SpoolRecord> DecodeSpoolRecord(std::string_view text) {
  constexpr std::size_t kFields = 8;
  std::string_view fields[kFields];
  for (std::size_t i = 0; i < kFields; ++i) {
    const std::size_t tab = i + 1 < kFields ? text.find('\t') : text.size();
    if (tab == std::string_view::npos) return std::nullopt;
    fields[i] = text.substr(0, tab);
    text.remove_prefix(std::min(text.size(), tab + 1));
  }
  return SpoolRecord{fields[0], fields[1], fields[2], fields[3],
                     fields[4] == "1", fields[5], fields[6], fields[7]};
}

// {"type":"errored","error":{"type":"error","error":{"type","message"},"request_id"}}
void AppendErrored(std::string& out, std::string_view type, std::string_view message_literal,
                   std::uint64_t line_hash) {
  out += R"({"type":"errored","error":{"type":"error","error":{"type":")";
  out += type;
  out += R"(","message":)";
  out += message_literal;
  out += R"(},"request_id":"req_01)";
  out += Base62(SplitMix64(line_hash ^ 0x5eed), 22);
  out += R"("}})";
}

// {"type":"succeeded","message":{full Message}}
void AppendSucceeded(std::string& out, const SpoolRecord& record, bool refused,
                     std::uint64_t line_hash) {
  std::string_view stop_reason = record.truncated ? "max_tokens" : "end_turn";
  if (refused) stop_reason = "refusal";
  out += R"({"type":"succeeded","message":{"id":"msg_01)";
  out += Base62(line_hash, 22);
  out += R"(","type":"message","role":"assistant","model":)";
  out += record.model_literal;
  out += R"(,"content":[{"type":"text","text":)";
  if (refused) {
    base::AppendJsonString(out, kRefusalText);
  } else {
    out += record.answer_literal;
  }
  out += R"(}],"stop_reason":")";
  out += stop_reason;
  out += R"(","stop_sequence":null,"usage":{"input_tokens":)";
  out += record.input_tokens;
  if (!record.cache_write_tokens.empty()) {
    out += R"(,"cache_creation_input_tokens":)";
    out += record.cache_write_tokens;
    out += R"(,"cache_read_input_tokens":)";
    out += record.cache_read_tokens;
  }
  out += R"(,"output_tokens":)";
  if (refused) {
    out += std::to_string(EstimateTokens(kRefusalText));
  } else {
    out += record.output_tokens;
  }
  out += "}}}";
}

void AppendRanResult(std::string& out, const ResultLineInput& input) {
  const std::optional<SpoolRecord> record = DecodeSpoolRecord(input.request_json);
  if (!record) {
    AppendErrored(out, "api_error", R"("Internal server error")", input.line_hash);
    return;
  }
  switch (input.outcome) {
    case OutcomeKind::kNone:
      AppendSucceeded(out, *record, /*refused=*/false, input.line_hash);
      return;
    case OutcomeKind::kContentFilter:
      AppendSucceeded(out, *record, /*refused=*/true, input.line_hash);
      return;
    case OutcomeKind::kExpired:
      out += R"({"type":"expired"})";
      return;
    case OutcomeKind::kRateLimit:
      AppendErrored(out, "rate_limit_error",
                    R"("Number of requests has exceeded your rate limit.")", input.line_hash);
      return;
    case OutcomeKind::kServerError:
      AppendErrored(out, "api_error", R"("Internal server error")", input.line_hash);
      return;
    case OutcomeKind::kOverloaded:
      AppendErrored(out, "overloaded_error", R"("Overloaded")", input.line_hash);
      return;
    case OutcomeKind::kTimeout:
      AppendErrored(out, "timeout_error", R"("Request timed out")", input.line_hash);
      return;
    case OutcomeKind::kInsufficientQuota:
      AppendErrored(out, "billing_error",
                    R"("Your credit balance is too low to access the Anthropic API.")",
                    input.line_hash);
      return;
    case OutcomeKind::kInvalidRequest:
      AppendErrored(out, "invalid_request_error",
                    record->problem_literal.empty()
                        ? R"x("Invalid request (injected by the fault plan)")x"
                        : record->problem_literal,
                    input.line_hash);
      return;
  }
  AppendErrored(out, "api_error", R"("Internal server error")", input.line_hash);
}

class AnthropicFormatter final : public ResultFormatter {
 public:
  ResultDestination FormatLine(const ResultLineInput& input, std::string& line) const override {
    line += R"({"custom_id":)";
    base::AppendJsonString(line, input.custom_id);
    line += R"(,"result":)";
    switch (input.fate) {
      case RequestFate::kRan:
        AppendRanResult(line, input);
        break;
      case RequestFate::kExpired:
        line += R"({"type":"expired"})";
        break;
      case RequestFate::kCancelled:
        line += R"({"type":"canceled"})";
        break;
    }
    line += "}\n";
    return ResultDestination::kOutput;
  }
};

// ---- Create body ----

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A cursor over JSON text that nlohmann::json::accept has already passed. It finds the
// byte ranges of values without building a DOM, so a create body of hundreds of MB is
// never expanded in memory: only one request at a time is parsed.
class ValidJsonCursor {
 public:
  explicit ValidJsonCursor(std::string_view text) : text_(text) {}

  char Peek() {
    SkipWhitespace();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  void Advance() { ++pos_; }

  // Skips one value (at the cursor, after whitespace) and returns its text.
  std::string_view SkipValue() {
    SkipWhitespace();
    const std::size_t start = pos_;
    const char first = pos_ < text_.size() ? text_[pos_] : '\0';
    if (first == '"') {
      SkipString();
    } else if (first == '{' || first == '[') {
      std::size_t depth = 0;
      while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == '"') {
          SkipString();
          continue;
        }
        ++pos_;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          break;
        }
      }
    } else {
      while (pos_ < text_.size() && !IsJsonSpace(text_[pos_]) && text_[pos_] != ',' &&
             text_[pos_] != '}' && text_[pos_] != ']') {
        ++pos_;
      }
    }
    return text_.substr(start, pos_ - start);
  }

 private:
  void SkipWhitespace() {
    while (pos_ < text_.size() && IsJsonSpace(text_[pos_])) ++pos_;
  }
  void SkipString() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '\\') {
        ++pos_;
      } else if (c == '"') {
        return;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The decoded text of a JSON string literal (quotes included in `literal`).
std::string DecodeKey(std::string_view literal) {
  if (literal.find('\\') == std::string_view::npos && literal.size() >= 2) {
    return std::string(literal.substr(1, literal.size() - 2));
  }
  const nlohmann::json key =
      nlohmann::json::parse(literal.begin(), literal.end(), nullptr, /*allow_exceptions=*/false);
  return key.is_string() ? key.get<std::string>() : std::string();
}

// The `requests` value of the create body (valid JSON), or InvalidArgument.
base::Result<std::string_view> FindRequestsArray(std::string_view body) {
  ValidJsonCursor cursor(body);
  if (cursor.Peek() != '{') return base::InvalidArgumentError("body: Input should be an object");
  cursor.Advance();
  std::optional<std::string_view> requests;
  while (cursor.Peek() == '"') {
    const std::string key = DecodeKey(cursor.SkipValue());
    cursor.Peek();
    cursor.Advance();  // ':'
    const std::string_view value = cursor.SkipValue();
    if (key == "requests") requests = value;  // the last duplicate wins, as in a DOM
    if (cursor.Peek() == ',') cursor.Advance();
  }
  if (!requests) return base::InvalidArgumentError("requests: Field required");
  if (requests->empty() || requests->front() != '[') {
    return base::InvalidArgumentError("requests: Input should be a valid list");
  }
  return *requests;
}

// The raw texts of one request's custom_id and params values (empty when absent).
struct RequestElement {
  bool is_object = false;
  std::string_view custom_id;
  std::string_view params;
};

RequestElement ScanRequestElement(std::string_view text) {
  RequestElement element;
  ValidJsonCursor cursor(text);
  if (cursor.Peek() != '{') return element;
  element.is_object = true;
  cursor.Advance();
  while (cursor.Peek() == '"') {
    const std::string key = DecodeKey(cursor.SkipValue());
    cursor.Peek();
    cursor.Advance();  // ':'
    const std::string_view value = cursor.SkipValue();
    if (key == "custom_id") element.custom_id = value;
    if (key == "params") element.params = value;
    if (cursor.Peek() == ',') cursor.Advance();
  }
  return element;
}

struct SpooledRequests {
  std::vector<RequestSlice> requests;
};

// Checks the create body's shape and each request's custom_id (synchronously, as the API
// does), and writes each request's SpoolRecord to `spool_path`, one per line.
// InvalidArgument carries the 400 message; Internal an I/O failure.
base::Result<SpooledRequests> SpoolCreateBody(std::string_view body, std::int64_t requests_max,
                                              const std::filesystem::path& spool_path) {
  if (!nlohmann::json::accept(body)) {
    return base::InvalidArgumentError("The request body is not valid JSON.");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const std::string_view array, FindRequestsArray(body));

  std::ofstream out(spool_path, std::ios::binary | std::ios::trunc);
  if (!out) return base::InternalError("cannot write " + spool_path.string());

  SpooledRequests spooled;
  std::unordered_set<std::string> seen;
  WrittenCachePrefixes written_prefixes;
  std::uint64_t offset = 0;
  ValidJsonCursor cursor(array);
  cursor.Advance();  // '['
  std::size_t index = 0;
  while (cursor.Peek() != ']' && cursor.Peek() != '\0') {
    const std::string_view text = cursor.SkipValue();
    // Unreachable for text accept() passed; a guard against looping in place.
    if (text.empty()) return base::InvalidArgumentError("requests: Input should be a valid list");
    if (cursor.Peek() == ',') cursor.Advance();
    if (static_cast<std::int64_t>(index) >= requests_max) {
      std::size_t count = index + 1;
      while (cursor.Peek() != ']' && cursor.Peek() != '\0') {
        cursor.SkipValue();
        if (cursor.Peek() == ',') cursor.Advance();
        ++count;
      }
      return base::InvalidArgumentError(
          "requests: List should have at most " + std::to_string(requests_max) +
          " items after validation, not " + std::to_string(count));
    }
    const RequestElement element = ScanRequestElement(text);
    if (!element.is_object) {
      return base::InvalidArgumentError(Field("requests", index, "") +
                                        ": Input should be an object");
    }
    if (element.custom_id.empty()) {
      return base::InvalidArgumentError(Field("requests", index, "custom_id") +
                                        ": Field required");
    }
    std::string id = element.custom_id.front() == '"' ? DecodeKey(element.custom_id) : "";
    if (!IsValidCustomId(id)) {
      return base::InvalidArgumentError(Field("requests", index, "custom_id") +
                                        ": String should match pattern '^[a-zA-Z0-9_-]{1,64}$'");
    }
    if (!seen.insert(id).second) {
      return base::InvalidArgumentError(Field("requests", index, "custom_id") +
                                        ": duplicate custom_id '" + id +
                                        "'; custom_id values must be unique within a batch");
    }
    if (element.params.empty()) {
      return base::InvalidArgumentError(Field("requests", index, "params") + ": Field required");
    }
    if (element.params.front() != '{') {
      return base::InvalidArgumentError(Field("requests", index, "params") +
                                        ": Input should be a valid dictionary");
    }
    // Parsed only here: the asynchronous validation's verdict becomes the request's
    // outcome, and the answer is computed once, for the results.
    const nlohmann::json params = nlohmann::json::parse(
        element.params.begin(), element.params.end(), nullptr, /*allow_exceptions=*/false);
    const std::optional<std::string> problem = ParamsProblem(params);
    std::string record = EncodeSpoolRecord(params, problem, written_prefixes);
    if (record.size() > std::numeric_limits<std::uint32_t>::max()) {
      return base::InvalidArgumentError(Field("requests", index, "params") + ": too large");
    }
    RequestSlice slice;
    slice.custom_id = std::move(id);
    slice.offset = offset;
    slice.length = static_cast<std::uint32_t>(record.size());
    if (problem) slice.outcome_override = OutcomeKind::kInvalidRequest;
    record += '\n';
    out.write(record.data(), static_cast<std::streamsize>(record.size()));
    offset += record.size();
    spooled.requests.push_back(std::move(slice));
    ++index;
  }
  if (spooled.requests.empty()) {
    return base::InvalidArgumentError(
        "requests: List should have at least 1 item after validation, not 0");
  }
  out.close();
  if (!out) return base::InternalError("cannot write " + spool_path.string());
  return spooled;
}

// ---- Routes ----

std::optional<std::int64_t> ParseInt(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

class AnthropicRoutes {
 public:
  explicit AnthropicRoutes(SimContext& context) : context_(context) {}

  void Create(const httplib::Request& request, httplib::Response& response,
              const httplib::ContentReader& content_reader);
  void Retrieve(const httplib::Request& request, httplib::Response& response);
  void Results(const httplib::Request& request, httplib::Response& response);
  void List(const httplib::Request& request, httplib::Response& response);
  void Cancel(const httplib::Request& request, httplib::Response& response);
  void Delete(const httplib::Request& request, httplib::Response& response);

 private:
  // False (and the error written) when x-api-key or anthropic-version is missing.
  bool CheckHeaders(const httplib::Request& request, httplib::Response& response);
  // Draws this call's control-plane fault. True when the call is answered (an error
  // envelope, or a reset connection) and the handler must return; `fault` tells the
  // handler about the kinds it applies itself (drop_response, truncate).
  bool InjectControlFault(Operation operation, const httplib::Request& request,
                          httplib::Response& response, ControlFault& fault);
  void WriteStatusError(httplib::Response& response, const base::Status& status);
  OrderedJson BatchJson(const BatchSnapshot& batch) const;

  SimContext& context_;
};

bool AnthropicRoutes::CheckHeaders(const httplib::Request& request,
                                   httplib::Response& response) {
  EnsureRequestId(context_, Api::kAnthropic, response);
  if (request.get_header_value("x-api-key").empty()) {
    WriteAnthropicError(response, 401, "authentication_error",
                        "x-api-key header is required");
    return false;
  }
  if (request.get_header_value("anthropic-version").empty()) {
    WriteAnthropicError(response, 400, "invalid_request_error",
                        "anthropic-version: header is required");
    return false;
  }
  return true;
}

bool AnthropicRoutes::InjectControlFault(Operation operation, const httplib::Request& request,
                                         httplib::Response& response, ControlFault& fault) {
  fault = context_.registry.NextControlFault(Api::kAnthropic, operation);
  if (ApplyTransportFault(fault, request)) return true;
  switch (fault.kind) {
    case ControlFaultKind::kRateLimit:
      response.set_header("retry-after", std::to_string(fault.retry_after_s));
      WriteAnthropicError(response, 429, "rate_limit_error",
                          "Number of requests has exceeded your rate limit. Please try again "
                          "later (injected by the fault plan).");
      return true;
    case ControlFaultKind::kServerError:
      WriteAnthropicError(response, 500, "api_error", "Internal server error");
      return true;
    case ControlFaultKind::kOverloaded:
      WriteAnthropicError(response, 529, "overloaded_error", "Overloaded");
      return true;
    case ControlFaultKind::kUnauthorized:
      WriteAnthropicError(response, 401, "authentication_error", "invalid x-api-key");
      return true;
    case ControlFaultKind::kQuotaExceeded:
      WriteAnthropicError(response, 402, "billing_error",
                          "Your credit balance is too low to access the Anthropic API.");
      return true;
    case ControlFaultKind::kNotFound:
      WriteAnthropicError(response, 404, "not_found_error",
                          "Not found (injected by the fault plan)");
      return true;
    case ControlFaultKind::kTimeout:
      WriteAnthropicError(response, 504, "timeout_error",
                          "Request timed out (injected by the fault plan)");
      return true;
    case ControlFaultKind::kConflict:
      WriteAnthropicError(response, 409, "invalid_request_error",
                          "Conflict (injected by the fault plan)");
      return true;
    case ControlFaultKind::kBadGateway:
      WriteBadGateway(response);
      return true;
    case ControlFaultKind::kNone:
    case ControlFaultKind::kFileNotReady:  // Anthropic has no files
    case ControlFaultKind::kConnectionReset:
    case ControlFaultKind::kDropResponse:
    case ControlFaultKind::kSlow:
    case ControlFaultKind::kTruncate:
      return false;
  }
  return false;
}

void AnthropicRoutes::WriteStatusError(httplib::Response& response, const base::Status& status) {
  switch (status.code()) {
    case base::StatusCode::kNotFound:
      WriteAnthropicError(response, 404, "not_found_error", status.message());
      return;
    case base::StatusCode::kInvalidArgument:
    case base::StatusCode::kFailedPrecondition:
      WriteAnthropicError(response, 400, "invalid_request_error", status.message());
      return;
    case base::StatusCode::kResourceExhausted:
      WriteAnthropicError(response, 429, "rate_limit_error", status.message());
      return;
    default:
      WriteAnthropicError(response, 500, "api_error", status.message());
      return;
  }
}

OrderedJson AnthropicRoutes::BatchJson(const BatchSnapshot& batch) const {
  const auto time_or_null = [](const std::optional<base::Timestamp>& t) {
    return t ? OrderedJson(ToRfc3339Micros(*t)) : OrderedJson(nullptr);
  };
  std::string_view status = "in_progress";
  bool ended = false;
  switch (batch.phase) {
    case BatchPhase::kValidating:
    case BatchPhase::kInProgress:
    case BatchPhase::kFinalizing:
      break;
    case BatchPhase::kCancelling:
      status = "canceling";
      break;
    case BatchPhase::kFailed:
    case BatchPhase::kCompleted:
    case BatchPhase::kExpired:
    case BatchPhase::kCancelled:
      status = "ended";
      ended = true;
      break;
  }

  OrderedJson counts = {{"processing", 0}, {"succeeded", 0}, {"errored", 0},
                        {"canceled", 0},   {"expired", 0}};
  if (!ended) {
    counts["processing"] = batch.total;
  } else if (batch.phase == BatchPhase::kFailed) {
    counts["errored"] = batch.total;
  } else {
    const auto ran = [&](OutcomeKind kind) {
      return batch.ran_by_outcome[static_cast<std::size_t>(kind)];
    };
    const std::int64_t succeeded = ran(OutcomeKind::kNone) + ran(OutcomeKind::kContentFilter);
    const std::int64_t expired_ran = ran(OutcomeKind::kExpired);
    counts["succeeded"] = succeeded;
    counts["errored"] = batch.ran - succeeded - expired_ran;
    counts["canceled"] = batch.cancelled;
    counts["expired"] = batch.expired + expired_ran;
  }

  const base::Timestamp archive_at = batch.created_at + kResultsRetention;
  const bool archived = batch.now >= archive_at;

  OrderedJson out;
  out["id"] = batch.id;
  out["type"] = "message_batch";
  out["processing_status"] = std::string(status);
  out["request_counts"] = std::move(counts);
  out["created_at"] = ToRfc3339Micros(batch.created_at);
  out["expires_at"] = ToRfc3339Micros(batch.expires_at);
  out["ended_at"] = ended ? time_or_null(batch.ended_at) : OrderedJson(nullptr);
  out["cancel_initiated_at"] = time_or_null(batch.cancelling_at);
  out["archived_at"] = archived ? OrderedJson(ToRfc3339Micros(archive_at)) : OrderedJson(nullptr);
  out["results_url"] = ended && batch.results_ready
                           ? OrderedJson(context_.base_url + std::string(kBatchesPath) + "/" +
                                         batch.id + "/results")
                           : OrderedJson(nullptr);
  return out;
}

void AnthropicRoutes::Create(const httplib::Request& request, httplib::Response& response,
                             const httplib::ContentReader& content_reader) {
  const bool headers_ok = CheckHeaders(request, response);
  // The body is always read to its end, so a rejected request leaves the connection in a
  // state fit for the next one; only an acceptable body is kept.
  const auto body_max = static_cast<std::size_t>(std::max<std::int64_t>(
      context_.options.anthropic_body_bytes_max, 0));
  bool too_large = false;
  if (const std::optional<std::int64_t> declared =
          ParseInt(request.get_header_value("Content-Length"))) {
    too_large = *declared > static_cast<std::int64_t>(body_max);
  }
  std::string body;
  const bool read = content_reader([&](const char* data, std::size_t length) {
    if (!headers_ok || too_large) return true;
    if (body.size() + length > body_max) {
      too_large = true;
      std::string().swap(body);
      return true;
    }
    body.append(data, length);
    return true;
  });
  if (!headers_ok) return;
  if (!read) {
    WriteAnthropicError(response, 400, "invalid_request_error",
                        "The request body could not be read.");
    return;
  }
  if (too_large) {
    WriteAnthropicError(response, 413, "request_too_large",
                        "Request exceeds the maximum allowed number of bytes (" +
                            std::to_string(body_max) + ").");
    return;
  }

  ControlFault fault;
  if (InjectControlFault(Operation::kCreate, request, response, fault)) return;

  const std::filesystem::path spool_path = context_.registry.NewSpoolPath("anthropic-create");
  const auto remove_spool = [&] {
    std::error_code ignored;
    std::filesystem::remove(spool_path, ignored);
  };
  base::Result<SpooledRequests> spooled =
      SpoolCreateBody(body, context_.options.anthropic_requests_max, spool_path);
  std::string().swap(body);
  if (!spooled.ok()) {
    remove_spool();
    WriteStatusError(response, spooled.status());
    return;
  }
  BatchSpec spec;
  spec.api = Api::kAnthropic;
  spec.id_prefix = "msgbatch_";
  spec.validating = false;
  spec.finalizing = false;
  spec.input_path = spool_path;
  spec.requests = std::move(spooled->requests);
  spec.formatter = &AnthropicResultFormatter();
  base::Result<BatchSnapshot> batch = context_.registry.CreateBatch(std::move(spec));
  // The registry keeps its own link to the spooled params.
  remove_spool();
  if (!batch.ok()) {
    WriteStatusError(response, batch.status());
    return;
  }
  if (fault.kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  response.set_content(DumpOrdered(BatchJson(*batch)), "application/json");
}

void AnthropicRoutes::Retrieve(const httplib::Request& request, httplib::Response& response) {
  if (!CheckHeaders(request, response)) return;
  ControlFault fault;
  if (InjectControlFault(Operation::kGet, request, response, fault)) return;
  const base::Result<BatchSnapshot> batch = context_.registry.GetBatch(request.matches[1].str());
  if (!batch.ok() || batch->api != Api::kAnthropic) {
    WriteAnthropicError(response, 404, "not_found_error",
                        "No message batch with id " + request.matches[1].str());
    return;
  }
  if (fault.kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  response.set_content(DumpOrdered(BatchJson(*batch)), "application/json");
}

void AnthropicRoutes::Results(const httplib::Request& request, httplib::Response& response) {
  if (!CheckHeaders(request, response)) return;
  ControlFault fault;
  if (InjectControlFault(Operation::kDownload, request, response, fault)) return;
  const std::string id = request.matches[1].str();
  const base::Result<BatchSnapshot> batch = context_.registry.GetBatch(id);
  if (!batch.ok() || batch->api != Api::kAnthropic) {
    WriteAnthropicError(response, 404, "not_found_error", "No message batch with id " + id);
    return;
  }
  if (!batch->results_ready || !batch->output_file) {
    WriteAnthropicError(response, 400, "invalid_request_error",
                        "Message batch " + id +
                            " has not finished processing; results are available once its "
                            "processing_status is ended.");
    return;
  }
  if (batch->now >= batch->created_at + kResultsRetention) {
    WriteAnthropicError(response, 404, "not_found_error",
                        "The results of message batch " + id + " have been archived.");
    return;
  }
  if (fault.kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  const double fraction =
      fault.kind == ControlFaultKind::kTruncate ? fault.truncate_fraction : 1.0;
  if (!ServeSpooledFile(response, batch->output_file->path, batch->output_file->bytes,
                        "application/x-jsonl", fraction)) {
    WriteAnthropicError(response, 500, "api_error", "The results file could not be read.");
    return;
  }
  response.set_header("content-disposition",
                      "attachment; filename*=utf-8''" + id + "_results.jsonl");
}

void AnthropicRoutes::List(const httplib::Request& request, httplib::Response& response) {
  if (!CheckHeaders(request, response)) return;
  std::int64_t limit = kAnthropicListLimitDefault;
  if (request.has_param("limit")) {
    const std::optional<std::int64_t> parsed = ParseInt(request.get_param_value("limit"));
    if (!parsed) {
      WriteAnthropicError(response, 400, "invalid_request_error",
                          "limit: Input should be a valid integer");
      return;
    }
    if (*parsed < 1 || *parsed > kAnthropicListLimitMax) {
      WriteAnthropicError(response, 400, "invalid_request_error",
                          "limit: Input should be between 1 and " +
                              std::to_string(kAnthropicListLimitMax));
      return;
    }
    limit = *parsed;
  }
  ControlFault fault;
  if (InjectControlFault(Operation::kList, request, response, fault)) return;
  const std::string after_id = request.get_param_value("after_id");
  const std::string before_id = request.get_param_value("before_id");
  const base::Result<BatchListPage> page = context_.registry.ListBatches(
      Api::kAnthropic, after_id, before_id, static_cast<std::size_t>(limit));
  if (!page.ok()) {
    WriteStatusError(response, page.status());
    return;
  }
  if (fault.kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  OrderedJson data = OrderedJson::array();
  for (const BatchSnapshot& batch : page->batches) data.push_back(BatchJson(batch));
  OrderedJson out;
  out["data"] = std::move(data);
  out["has_more"] = page->has_more;
  out["first_id"] =
      page->batches.empty() ? OrderedJson(nullptr) : OrderedJson(page->batches.front().id);
  out["last_id"] =
      page->batches.empty() ? OrderedJson(nullptr) : OrderedJson(page->batches.back().id);
  response.set_content(DumpOrdered(out), "application/json");
}

void AnthropicRoutes::Cancel(const httplib::Request& request, httplib::Response& response) {
  if (!CheckHeaders(request, response)) return;
  ControlFault fault;
  if (InjectControlFault(Operation::kCancel, request, response, fault)) return;
  const std::string id = request.matches[1].str();
  const base::Result<BatchSnapshot> existing = context_.registry.GetBatch(id);
  if (!existing.ok() || existing->api != Api::kAnthropic) {
    WriteAnthropicError(response, 404, "not_found_error", "No message batch with id " + id);
    return;
  }
  const base::Result<BatchSnapshot> batch = context_.registry.CancelBatch(id);
  if (!batch.ok()) {
    if (batch.status().code() == base::StatusCode::kFailedPrecondition) {
      WriteAnthropicError(response, 400, "invalid_request_error",
                          "Message batch " + id +
                              " has already ended and can no longer be canceled.");
    } else {
      WriteStatusError(response, batch.status());
    }
    return;
  }
  if (fault.kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  response.set_content(DumpOrdered(BatchJson(*batch)), "application/json");
}

void AnthropicRoutes::Delete(const httplib::Request& request, httplib::Response& response) {
  if (!CheckHeaders(request, response)) return;
  ControlFault fault;
  if (InjectControlFault(Operation::kDelete, request, response, fault)) return;
  const std::string id = request.matches[1].str();
  const base::Result<BatchSnapshot> existing = context_.registry.GetBatch(id);
  if (!existing.ok() || existing->api != Api::kAnthropic) {
    WriteAnthropicError(response, 404, "not_found_error", "No message batch with id " + id);
    return;
  }
  const base::Status deleted = context_.registry.DeleteBatch(id);
  if (!deleted.ok()) {
    if (deleted.code() == base::StatusCode::kFailedPrecondition) {
      WriteAnthropicError(response, 400, "invalid_request_error",
                          "Message batch " + id +
                              " cannot be deleted while it is processing; cancel it first "
                              "and wait until its processing_status is ended.");
    } else {
      WriteStatusError(response, deleted);
    }
    return;
  }
  if (fault.kind == ControlFaultKind::kDropResponse) {
    ResetConnection(request);
    return;
  }
  OrderedJson out;
  out["id"] = id;
  out["type"] = "message_batch_deleted";
  response.set_content(DumpOrdered(out), "application/json");
}

}  // namespace

const ResultFormatter& AnthropicResultFormatter() {
  static const AnthropicFormatter formatter;
  return formatter;
}

void RegisterAnthropicRoutes(httplib::Server& server, SimContext& context) {
  auto routes = std::make_shared<AnthropicRoutes>(context);
  const std::string batches(kBatchesPath);
  const std::string one = batches + "/([^/]+)";
  server.Post(batches, [routes](const httplib::Request& request, httplib::Response& response,
                                const httplib::ContentReader& content_reader) {
    routes->Create(request, response, content_reader);
  });
  server.Get(batches, [routes](const httplib::Request& request, httplib::Response& response) {
    routes->List(request, response);
  });
  server.Get(one, [routes](const httplib::Request& request, httplib::Response& response) {
    routes->Retrieve(request, response);
  });
  server.Get(one + "/results",
             [routes](const httplib::Request& request, httplib::Response& response) {
               routes->Results(request, response);
             });
  server.Post(one + "/cancel",
              [routes](const httplib::Request& request, httplib::Response& response) {
                routes->Cancel(request, response);
              });
  server.Delete(one, [routes](const httplib::Request& request, httplib::Response& response) {
    routes->Delete(request, response);
  });
}

}  // namespace batchlog::sim
