#include "src/providers/results_parser.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "src/providers/results_line_scanner.h"

namespace batchlog::providers {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

static_assert(kResultsPaddingBytes == simdjson::SIMDJSON_PADDING,
              "kResultsPaddingBytes must match simdjson's padding");

constexpr std::size_t kNotFound = std::numeric_limits<std::size_t>::max();
// Lines of a region the line scanner may decline before the region is left to the
// simdjson stream path (when they are half of its lines or more).
constexpr std::uint64_t kDeclinedBeforeStream = 32;
// How far ahead of the line scanner the bytes are prefetched.
constexpr std::size_t kPrefetchBytes = 4096;
// Bytes read from the end of a file to check that its last line is complete.
constexpr std::size_t kTailProbeBytes = 4096;

#define BATCHLOG_SIMDJSON_TRY(expr)                 \
  do {                                              \
    const error_code batchlog_error_ = (expr);      \
    if (batchlog_error_ != simdjson::SUCCESS) {     \
      return batchlog_error_;                       \
    }                                               \
  } while (false)

constexpr bool IsJsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Key comparison on the raw (escaped) key bytes: provider keys never contain escapes, and
// the buffer is padded, so reading past a shorter key is safe.
template <std::size_t N>
inline bool KeyIs(od::raw_json_string key, const char (&literal)[N]) {
  return key.unsafe_is_equal(std::string_view(literal, N - 1));
}

// The bytes of a value that ends where the next token starts: trailing whitespace removed.
inline std::string_view TrimRight(const char* begin, const char* end) {
  while (end > begin && IsJsonSpace(end[-1])) --end;
  return std::string_view(begin, static_cast<std::size_t>(end - begin));
}

inline bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), IsJsonSpace);
}

// Whether the whitespace right before `next` holds a newline (scanning back to `floor`).
inline bool NewlineBefore(const char* floor, const char* next) {
  for (const char* p = next; p > floor && IsJsonSpace(p[-1]); --p) {
    if (p[-1] == '\n') return true;
  }
  return false;
}

// The start of the line after the one holding `doc` (run_start when there is none): where
// a line-by-line re-parse begins after a window-level failure.
std::size_t AfterLine(const char* data, std::size_t size, std::size_t run_start,
                      std::size_t doc) {
  if (doc == kNotFound) return run_start;
  const void* newline = std::memchr(data + doc, '\n', size - doc);
  return newline == nullptr ? size : static_cast<std::size_t>(
                                         static_cast<const char*>(newline) - data) + 1;
}

std::uint64_t CountNewlines(const char* begin, const char* end) {
  return static_cast<std::uint64_t>(std::count(begin, end, '\n'));
}

// Fills one ResultLine from one parsed line. Every method returns a simdjson error code:
// SUCCESS, a syntax error, or kShapeError with `shape_problem` saying what is missing.
// Strings are views into the parser (valid until the next line); `body` views the input.
class LineExtractor {
 public:
  static constexpr error_code kShapeError = simdjson::INCORRECT_TYPE;

  void Reset(std::uint64_t line_number) {
    line = ResultLine{};
    line.line_number = line_number;
    shape_problem = nullptr;
  }

  template <typename Document>
  error_code Extract(ProviderKind kind, Document& doc) {
    od::object top;
    const error_code error = doc.get_object().get(top);
    if (error == simdjson::INCORRECT_TYPE) return Shape("not a JSON object");
    BATCHLOG_SIMDJSON_TRY(error);
    return kind == ProviderKind::kOpenAi ? OpenAiLine(top) : AnthropicLine(top);
  }

  ResultLine line;
  const char* shape_problem = nullptr;

 private:
  error_code Shape(const char* problem) {
    shape_problem = problem;
    return kShapeError;
  }

  // A string field that may be null (null leaves `out` empty).
  static error_code OptionalString(od::value value, std::string_view& out) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type == od::json_type::null) return simdjson::SUCCESS;
    if (type != od::json_type::string) return simdjson::SUCCESS;  // not ours to judge
    return value.get_string().get(out);
  }

  // A token count that may be null or absent; other types are ignored.
  static error_code OptionalCount(od::value value, std::uint64_t& out) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::number) return simdjson::SUCCESS;
    return value.get_uint64().get(out);
  }

  // ---- OpenAI ----

  error_code OpenAiLine(od::object top) {
    bool has_custom_id = false;
    bool has_response = false;
    bool has_error = false;
    for (auto field_result : top) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "custom_id")) {
        error_code error = field.value().get_string().get(line.custom_id);
        if (error == simdjson::INCORRECT_TYPE) return Shape("custom_id is not a string");
        BATCHLOG_SIMDJSON_TRY(error);
        has_custom_id = true;
      } else if (KeyIs(key, "response")) {
        BATCHLOG_SIMDJSON_TRY(OpenAiResponse(field.value(), has_response));
      } else if (KeyIs(key, "error")) {
        BATCHLOG_SIMDJSON_TRY(OpenAiLineError(field.value(), has_error));
      }
    }
    if (!has_custom_id) return Shape("no custom_id");
    if (has_response) {
      line.outcome = ResultOutcome::kResponded;
    } else if (has_error) {
      line.outcome = ResultOutcome::kErrored;
    } else {
      return Shape("neither response nor error is set");
    }
    return simdjson::SUCCESS;
  }

  error_code OpenAiResponse(od::value value, bool& present) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type == od::json_type::null) return simdjson::SUCCESS;
    if (type != od::json_type::object) return Shape("response is not an object");
    od::object response;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(response));
    bool has_status = false;
    for (auto field_result : response) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "status_code")) {
        std::int64_t status = 0;
        error_code error = field.value().get_int64().get(status);
        if (error == simdjson::INCORRECT_TYPE || error == simdjson::NUMBER_OUT_OF_RANGE) {
          return Shape("response.status_code is not an integer");
        }
        BATCHLOG_SIMDJSON_TRY(error);
        if (status < 0 || status > 999) return Shape("response.status_code is out of range");
        line.http_status = static_cast<int>(status);
        has_status = true;
      } else if (KeyIs(key, "body")) {
        BATCHLOG_SIMDJSON_TRY(OpenAiBody(field.value()));
      }
    }
    if (!has_status) return Shape("response has no status_code");
    present = true;
    return simdjson::SUCCESS;
  }

  // response.body: kept as raw bytes, and read for finish_reason, usage and error.
  error_code OpenAiBody(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    switch (type) {
      case od::json_type::null:
        return simdjson::SUCCESS;
      case od::json_type::object:
        break;
      case od::json_type::array: {
        od::array array;
        BATCHLOG_SIMDJSON_TRY(value.get_array().get(array));
        std::string_view raw;
        BATCHLOG_SIMDJSON_TRY(array.raw_json().get(raw));
        line.body = TrimRight(raw.data(), raw.data() + raw.size());
        return simdjson::SUCCESS;
      }
      case od::json_type::string:
      case od::json_type::number:
      case od::json_type::boolean: {
        const std::string_view token = value.raw_json_token();
        line.body = TrimRight(token.data(), token.data() + token.size());
        return simdjson::SUCCESS;
      }
    }
    // One pass over the body: its fields are read in place and its end is where the
    // iterator stops, so the raw bytes cost no second walk.
    const char* begin = value.raw_json_token().data();
    od::object body;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(body));
    for (auto field_result : body) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "choices")) {
        BATCHLOG_SIMDJSON_TRY(FirstChoiceFinishReason(field.value()));
      } else if (KeyIs(key, "usage")) {
        BATCHLOG_SIMDJSON_TRY(OpenAiUsage(field.value()));
      } else if (KeyIs(key, "error")) {
        BATCHLOG_SIMDJSON_TRY(OpenAiBodyError(field.value()));
      } else if (KeyIs(key, "incomplete_details")) {
        BATCHLOG_SIMDJSON_TRY(IncompleteReason(field.value()));
      }
    }
    const char* end = nullptr;
    BATCHLOG_SIMDJSON_TRY(value.current_location().get(end));
    line.body = TrimRight(begin, end);
    return simdjson::SUCCESS;
  }

  // Chat Completions: choices[0].finish_reason.
  error_code FirstChoiceFinishReason(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::array) return simdjson::SUCCESS;
    od::array choices;
    BATCHLOG_SIMDJSON_TRY(value.get_array().get(choices));
    // The first choice's reason, unless a later one (n > 1) was filtered: a refusal in any
    // choice makes the response a content-policy failure.
    bool first = true;
    for (auto element_result : choices) {
      od::value element;
      BATCHLOG_SIMDJSON_TRY(std::move(element_result).get(element));
      BATCHLOG_SIMDJSON_TRY(element.type().get(type));
      if (type != od::json_type::object) break;
      od::object choice;
      BATCHLOG_SIMDJSON_TRY(element.get_object().get(choice));
      for (auto field_result : choice) {
        od::field field;
        BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
        if (KeyIs(field.key(), "finish_reason")) {
          std::string_view reason;
          BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), reason));
          if (first || reason == "content_filter") line.finish_reason = reason;
        }
      }
      first = false;
    }
    return simdjson::SUCCESS;
  }

  // Responses API: incomplete_details.reason ("content_filter", "max_output_tokens"),
  // unless choices already gave a finish reason.
  error_code IncompleteReason(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    od::object details;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(details));
    for (auto field_result : details) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      if (KeyIs(field.key(), "reason") && line.finish_reason.empty()) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), line.finish_reason));
      }
    }
    return simdjson::SUCCESS;
  }

  // Chat Completions usage {prompt_tokens, completion_tokens, prompt_tokens_details
  // {cached_tokens}}; Responses API usage {input_tokens, output_tokens,
  // input_tokens_details{cached_tokens}}.
  error_code OpenAiUsage(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    od::object usage;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(usage));
    for (auto field_result : usage) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "prompt_tokens") || KeyIs(key, "input_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.input_tokens));
      } else if (KeyIs(key, "completion_tokens") || KeyIs(key, "output_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.output_tokens));
      } else if (KeyIs(key, "prompt_tokens_details") || KeyIs(key, "input_tokens_details")) {
        BATCHLOG_SIMDJSON_TRY(CachedTokens(field.value()));
      }
    }
    return simdjson::SUCCESS;
  }

  error_code CachedTokens(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    od::object details;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(details));
    for (auto field_result : details) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      if (KeyIs(field.key(), "cached_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.cached_input_tokens));
      }
    }
    return simdjson::SUCCESS;
  }

  // response.body.error {message, type, param, code} of a non-2xx response.
  error_code OpenAiBodyError(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    od::object error;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(error));
    return ErrorFields(error);
  }

  // The line's own error {code, message} of a failure without an HTTP response.
  error_code OpenAiLineError(od::value value, bool& present) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type == od::json_type::null) return simdjson::SUCCESS;
    if (type != od::json_type::object) return Shape("error is not an object");
    od::object error;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(error));
    BATCHLOG_SIMDJSON_TRY(ErrorFields(error));
    present = true;
    return simdjson::SUCCESS;
  }

  error_code ErrorFields(od::object error) {
    for (auto field_result : error) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "type")) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), line.error_type));
      } else if (KeyIs(key, "code")) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), line.error_code));
      } else if (KeyIs(key, "message")) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), line.error_message));
      }
    }
    return simdjson::SUCCESS;
  }

  // ---- Anthropic ----

  error_code AnthropicLine(od::object top) {
    bool has_custom_id = false;
    std::string_view result_type;
    for (auto field_result : top) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "custom_id")) {
        error_code error = field.value().get_string().get(line.custom_id);
        if (error == simdjson::INCORRECT_TYPE) return Shape("custom_id is not a string");
        BATCHLOG_SIMDJSON_TRY(error);
        has_custom_id = true;
      } else if (KeyIs(key, "result")) {
        BATCHLOG_SIMDJSON_TRY(AnthropicResult(field.value(), result_type));
      }
    }
    if (!has_custom_id) return Shape("no custom_id");
    if (result_type.empty()) return Shape("no result.type");
    SetAnthropicOutcome(result_type, line);
    return simdjson::SUCCESS;
  }

  error_code AnthropicResult(od::value value, std::string_view& result_type) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return Shape("result is not an object");
    od::object result;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(result));
    for (auto field_result : result) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "type")) {
        error_code error = field.value().get_string().get(result_type);
        if (error == simdjson::INCORRECT_TYPE) return Shape("result.type is not a string");
        BATCHLOG_SIMDJSON_TRY(error);
      } else if (KeyIs(key, "message")) {
        BATCHLOG_SIMDJSON_TRY(AnthropicMessage(field.value()));
      } else if (KeyIs(key, "error")) {
        BATCHLOG_SIMDJSON_TRY(AnthropicError(field.value()));
      }
    }
    return simdjson::SUCCESS;
  }

  // result.message: raw bytes, stop_reason and usage, in one pass.
  error_code AnthropicMessage(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    const char* begin = value.raw_json_token().data();
    od::object message;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(message));
    for (auto field_result : message) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "stop_reason")) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), line.finish_reason));
      } else if (KeyIs(key, "usage")) {
        BATCHLOG_SIMDJSON_TRY(AnthropicUsage(field.value()));
      }
    }
    const char* end = nullptr;
    BATCHLOG_SIMDJSON_TRY(value.current_location().get(end));
    line.body = TrimRight(begin, end);
    return simdjson::SUCCESS;
  }

  error_code AnthropicUsage(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    od::object usage;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(usage));
    for (auto field_result : usage) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "input_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.input_tokens));
      } else if (KeyIs(key, "output_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.output_tokens));
      } else if (KeyIs(key, "cache_read_input_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.cached_input_tokens));
      } else if (KeyIs(key, "cache_creation_input_tokens")) {
        BATCHLOG_SIMDJSON_TRY(OptionalCount(field.value(), line.usage.cache_write_input_tokens));
      }
    }
    return simdjson::SUCCESS;
  }

  // result.error: the envelope {"type":"error","error":{"type","message"},"request_id"}.
  // A flat {"type","message"} (no inner error) is read as the error itself.
  error_code AnthropicError(od::value value) {
    od::json_type type;
    BATCHLOG_SIMDJSON_TRY(value.type().get(type));
    if (type != od::json_type::object) return simdjson::SUCCESS;
    od::object envelope;
    BATCHLOG_SIMDJSON_TRY(value.get_object().get(envelope));
    std::string_view outer_type;
    std::string_view outer_message;
    bool has_inner = false;
    for (auto field_result : envelope) {
      od::field field;
      BATCHLOG_SIMDJSON_TRY(std::move(field_result).get(field));
      const od::raw_json_string key = field.key();
      if (KeyIs(key, "error")) {
        od::value inner_value = field.value();
        BATCHLOG_SIMDJSON_TRY(inner_value.type().get(type));
        if (type != od::json_type::object) continue;
        od::object inner;
        BATCHLOG_SIMDJSON_TRY(inner_value.get_object().get(inner));
        BATCHLOG_SIMDJSON_TRY(ErrorFields(inner));
        has_inner = true;
      } else if (KeyIs(key, "type")) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), outer_type));
      } else if (KeyIs(key, "message")) {
        BATCHLOG_SIMDJSON_TRY(OptionalString(field.value(), outer_message));
      }
    }
    if (!has_inner) {
      line.error_type = outer_type;
      line.error_message = outer_message;
    }
    return simdjson::SUCCESS;
  }
};

std::string ErrnoMessage(int error) { return std::generic_category().message(error); }

// Closes a file descriptor on every path.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};

// Unmaps a memory map on every path.
class MapReleaser {
 public:
  MapReleaser(void* map, std::size_t size) : map_(map), size_(size) {}
  ~MapReleaser() { ::munmap(map_, size_); }
  MapReleaser(const MapReleaser&) = delete;
  MapReleaser& operator=(const MapReleaser&) = delete;

 private:
  void* map_;
  std::size_t size_;
};

// Reads until `size` bytes are in or the file ends; returns the count read.
base::Result<std::size_t> ReadFully(int fd, char* data, std::size_t size, std::string_view name) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::UnavailableError("results file " + std::string(name) +
                                    ": read failed: " + ErrnoMessage(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace

// ---------------------------------------------------------------------------------------

class ResultsParser::Impl {
 public:
  Impl(ProviderKind kind, ResultsParserOptions options) : kind_(kind), options_(options) {
    stream_parser_.threaded = options_.stage1_thread;
    options_.batch_bytes = std::max<std::size_t>(options_.batch_bytes, 1024);
    options_.chunk_bytes = std::max<std::size_t>(options_.chunk_bytes, 64);
  }

  base::Result<ParseSummary> ParseFile(const std::filesystem::path& path,
                                       const ResultCallback& callback);
  base::Result<ParseSummary> ParseBuffer(std::string_view jsonl, std::string_view name,
                                         const ResultCallback& callback);

 private:
  void Begin(std::string_view name, const ResultCallback& callback) {
    name_ = name;
    callback_ = &callback;
    summary_ = ParseSummary{};
    next_line_ = 1;
  }

  // Parses [data, data + size), which holds whole lines (it ends with '\n', or is the end
  // of the input with only whitespace after the last newline). The kResultsPaddingBytes
  // after data + size are readable. `after` is the rest of the input when it is known
  // (empty for the last region; nullopt when not read yet): a bad line is a truncated
  // last line only when nothing but blank lines follows it.
  base::Status ParseRegion(const char* data, std::size_t size,
                           std::optional<std::string_view> after) {
    return options_.line_scanner ? ScanRegion(data, size, after)
                                 : StreamRegion(data, size, after);
  }
  // ParseRegion with the line scanner, each line it declines parsed alone by simdjson (the
  // rest of the region by the stream path once most of its lines are declined).
  base::Status ScanRegion(const char* data, std::size_t size,
                          std::optional<std::string_view> after);
  // ParseRegion with simdjson iterate_many only.
  base::Status StreamRegion(const char* data, std::size_t size,
                            std::optional<std::string_view> after);
  // Parses the lines from `start` (a line start) one by one until at least batch_bytes
  // are covered or the region ends; returns the offset after them.
  base::Result<std::size_t> ParseLinesAlone(const char* data, std::size_t size,
                                            std::size_t start,
                                            std::optional<std::string_view> after);
  // Parses the non-blank line [start, line_end) of the region with simdjson and delivers
  // it; line_end is its newline's offset, or `size` when it has none. next_line_ is its
  // number. A bad line is truncated when nothing but blanks follows it (see ParseRegion).
  base::Status ParseLineAlone(const char* data, std::size_t size, std::size_t start,
                              std::size_t line_end, std::optional<std::string_view> after);

  // Fails with kUnavailable when the file's last line has no newline.
  base::Status CheckFileEnd(int fd, std::size_t file_bytes);
  // The file through a read-only memory map (no copy), released behind the cursor.
  base::Status ParseMapped(const char* data, std::size_t size);
  // The file through read(2) into the reused buffer (files that cannot be mapped).
  base::Status ParseRead(int fd);
  // Makes the buffer hold at least `bytes` (+ padding), keeping its first `keep` bytes.
  void ReserveBuffer(std::size_t bytes, std::size_t keep = 0);

  base::Status Deliver(const ResultLine& line, bool by_simdjson) {
    ++summary_.lines;
    if (by_simdjson) ++summary_.simdjson_lines;
    switch (line.outcome) {
      case ResultOutcome::kResponded:
        ++summary_.responded;
        break;
      case ResultOutcome::kErrored:
        ++summary_.errored;
        break;
      case ResultOutcome::kCanceled:
        ++summary_.canceled;
        break;
      case ResultOutcome::kExpired:
        ++summary_.expired;
        break;
    }
    return (*callback_)(line);
  }

  base::Status Truncated(std::uint64_t line_number) const {
    return base::UnavailableError("results file " + std::string(name_) +
                                  " is incomplete: line " + std::to_string(line_number) +
                                  " is truncated (re-download)");
  }
  base::Status LineTooLong() const {
    return Malformed(next_line_, "line is longer than " + std::to_string(options_.line_bytes_max) +
                                     " bytes");
  }
  base::Status Malformed(std::uint64_t line_number, std::string_view what) const {
    return base::InvalidArgumentError("results file " + std::string(name_) + ": line " +
                                      std::to_string(line_number) + ": " + std::string(what));
  }

  ProviderKind kind_;
  ResultsParserOptions options_;
  od::parser stream_parser_;
  od::parser line_parser_;
  LineExtractor extractor_;
  ResultLine scanned_;  // the line scanner's output, reused
  std::unique_ptr<char[]> buffer_;
  std::size_t buffer_capacity_ = 0;  // data bytes, excluding the padding

  // Per parse.
  std::string_view name_;
  const ResultCallback* callback_ = nullptr;
  ParseSummary summary_;
  std::uint64_t next_line_ = 1;  // number of the line that starts the next region
};

base::Status ResultsParser::Impl::StreamRegion(const char* data, std::size_t size,
                                               std::optional<std::string_view> after) {
  std::size_t pos = 0;  // always a line start; next_line_ is its number
  while (pos < size) {
    od::document_stream stream;
    if (stream_parser_.iterate_many(data + pos, size - pos, options_.batch_bytes).get(stream)) {
      return base::InternalError("results file " + std::string(name_) +
                                 ": cannot start the JSON stream");
    }
    const std::size_t run_start = pos;
    const std::uint64_t run_line = next_line_;
    std::uint64_t line_number = run_line;
    std::size_t previous_doc = kNotFound;
    std::size_t failed_at = kNotFound;  // offset of the document that needs a closer look
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      // The first document of a window is reported at the window start: skip to its '{'.
      std::size_t doc_start = run_start + it.current_index();
      while (doc_start < size && IsJsonSpace(data[doc_start])) ++doc_start;
      od::document_reference doc;
      if ((*it).get(doc) != simdjson::SUCCESS) {
        failed_at = AfterLine(data, size, run_start, previous_doc);
        break;
      }
      // Lines are counted in the whitespace before each document: a document is one line,
      // so this never walks the document bytes.
      std::uint64_t newlines = 0;
      const std::size_t floor = previous_doc == kNotFound ? run_start : previous_doc + 1;
      for (std::size_t i = doc_start; i > floor && IsJsonSpace(data[i - 1]); --i) {
        if (data[i - 1] == '\n') ++newlines;
      }
      if (previous_doc != kNotFound && newlines == 0) {
        failed_at = previous_doc;  // two values on one line, across a window edge
        break;
      }
      line_number += newlines;
      extractor_.Reset(line_number);
      if (extractor_.Extract(kind_, doc) != simdjson::SUCCESS) {
        failed_at = doc_start;
        break;
      }
      // The next document in this window must start on a later line; checked before
      // delivering, so a line holding two values delivers neither.
      const char* next = nullptr;
      if (doc.current_location().get(next) == simdjson::SUCCESS &&
          !NewlineBefore(data + doc_start, next)) {
        failed_at = doc_start;
        break;
      }
      BATCHLOG_RETURN_IF_ERROR(Deliver(extractor_.line, /*by_simdjson=*/true));
      previous_doc = doc_start;
    }
    if (failed_at == kNotFound) {
      const std::size_t truncated = stream.truncated_bytes();
      if (truncated == 0 || IsBlank(std::string_view(data + size - truncated, truncated))) {
        // Every document parsed; the lines after the last one are blank.
        std::uint64_t tail_newlines = 0;
        const std::size_t floor = previous_doc == kNotFound ? run_start : previous_doc + 1;
        for (std::size_t i = size; i > floor && IsJsonSpace(data[i - 1]); --i) {
          if (data[i - 1] == '\n') ++tail_newlines;
        }
        next_line_ = (previous_doc == kNotFound ? run_line : line_number) + tail_newlines;
        return base::Status::Ok();
      }
      failed_at = AfterLine(data, size, run_start, previous_doc);
    }
    // Something in this run needs a line-by-line look: an invalid line, a line longer than
    // the window, or a window stage 1 rejected. Re-parse from the start of the line that
    // holds `failed_at`; lines are numbered by counting from the run start (rare path).
    std::size_t line_start = failed_at;
    while (line_start > run_start && data[line_start - 1] != '\n') --line_start;
    next_line_ = run_line + CountNewlines(data + run_start, data + line_start);
    BATCHLOG_ASSIGN_OR_RETURN(pos, ParseLinesAlone(data, size, line_start, after));
  }
  return base::Status::Ok();
}

base::Status ResultsParser::Impl::ScanRegion(const char* data, std::size_t size,
                                             std::optional<std::string_view> after) {
  // Every line before the region's last newline ends with one, which bounds the scanner
  // (the padding covers its reads past the newline).
  const void* last_newline = size == 0 ? nullptr : ::memrchr(data, '\n', size);
  const char* const scan_end =
      last_newline == nullptr ? data : static_cast<const char*>(last_newline) + 1;
  const char* p = data;
  // The file streams from memory: the bytes a few lines ahead are asked for, as the
  // hardware prefetcher stops at page boundaries (5-10 % faster). Addresses as integers:
  // they may lie past the region (a prefetch never faults).
  auto prefetched = reinterpret_cast<std::uintptr_t>(data);
  std::uint64_t scanned = 0;
  std::uint64_t declined = 0;
  while (p < scan_end) {
    const std::uintptr_t ahead = reinterpret_cast<std::uintptr_t>(p) + kPrefetchBytes;
    for (; prefetched < ahead; prefetched += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(prefetched));
    }
    const char c = *p;
    if (c == '\n') {
      ++next_line_;
      ++p;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++p;
      continue;
    }
    scanned_ = ResultLine{};
    const char* newline = ScanResultLine(kind_, p, scanned_);
    ++scanned;
    if (newline != nullptr) {
      scanned_.line_number = next_line_;
      BATCHLOG_RETURN_IF_ERROR(Deliver(scanned_, /*by_simdjson=*/false));
    } else {
      // A declined line costs a wasted scan plus simdjson on the line alone (about 3x the
      // stream path): when most lines of the region are declined (a provider's layout the
      // scanner does not know), the rest of the region goes to the stream path.
      if (++declined >= kDeclinedBeforeStream && declined * 2 >= scanned) {
        return StreamRegion(p, static_cast<std::size_t>(data + size - p), after);
      }
      newline = static_cast<const char*>(
          std::memchr(p, '\n', static_cast<std::size_t>(scan_end - p)));
      BATCHLOG_RETURN_IF_ERROR(ParseLineAlone(data, size, static_cast<std::size_t>(p - data),
                                              static_cast<std::size_t>(newline - data),
                                              after));
    }
    p = newline;  // counted above
  }
  // Only the end of the input has bytes after its last newline; they are blank unless
  // the file changed while it was read.
  const auto rest = static_cast<std::size_t>(scan_end - data);
  if (rest < size && !IsBlank(std::string_view(scan_end, size - rest))) {
    std::size_t start = rest;
    while (IsJsonSpace(data[start])) ++start;
    return ParseLineAlone(data, size, start, size, after);
  }
  return base::Status::Ok();
}

base::Result<std::size_t> ResultsParser::Impl::ParseLinesAlone(
    const char* data, std::size_t size, std::size_t start,
    std::optional<std::string_view> after) {
  std::size_t pos = start;
  while (pos < size && pos - start < options_.batch_bytes) {
    const void* newline = std::memchr(data + pos, '\n', size - pos);
    const std::size_t line_end =
        newline == nullptr ? size : static_cast<std::size_t>(static_cast<const char*>(newline) -
                                                             data);
    if (!IsBlank(std::string_view(data + pos, line_end - pos))) {
      BATCHLOG_RETURN_IF_ERROR(ParseLineAlone(data, size, pos, line_end, after));
    }
    pos = newline == nullptr ? size : line_end + 1;
    if (newline != nullptr) ++next_line_;
  }
  return pos;
}

base::Status ResultsParser::Impl::ParseLineAlone(const char* data, std::size_t size,
                                                 std::size_t start, std::size_t line_end,
                                                 std::optional<std::string_view> after) {
  const std::string_view text(data + start, line_end - start);
  const std::size_t next = line_end < size ? line_end + 1 : size;
  const std::uint64_t line_number = next_line_;
  extractor_.Reset(line_number);
  od::document doc;
  error_code error =
      line_parser_
          .iterate(simdjson::padded_string_view(text.data(), text.size(),
                                                size - start + kResultsPaddingBytes))
          .get(doc);
  if (error == simdjson::SUCCESS) error = extractor_.Extract(kind_, doc);
  bool extra_value = false;
  if (error == simdjson::SUCCESS) {
    const char* location = nullptr;
    extra_value = doc.current_location().get(location) == simdjson::SUCCESS;
  }
  if (error != simdjson::SUCCESS || extra_value) {
    const bool shape =
        error == LineExtractor::kShapeError && extractor_.shape_problem != nullptr;
    const bool last_line = after.has_value() && IsBlank(*after) &&
                           IsBlank(std::string_view(data + next, size - next));
    // A cut-off last line is an incomplete download, not a malformed file. A line that
    // parses but is not a result line is malformed wherever it is.
    if (last_line && !extra_value && !shape) return Truncated(line_number);
    if (extra_value) return Malformed(line_number, "more than one JSON value on the line");
    if (shape) return Malformed(line_number, extractor_.shape_problem);
    return Malformed(line_number,
                     std::string("invalid JSON (") + simdjson::error_message(error) + ")");
  }
  return Deliver(extractor_.line, /*by_simdjson=*/true);
}

base::Result<ParseSummary> ResultsParser::Impl::ParseBuffer(std::string_view jsonl,
                                                            std::string_view name,
                                                            const ResultCallback& callback) {
  Begin(name, callback);
  std::size_t end = jsonl.size();
  while (end > 0 && IsJsonSpace(jsonl[end - 1]) && jsonl[end - 1] != '\n') --end;
  if (end > 0 && jsonl[end - 1] != '\n') {
    return Truncated(CountNewlines(jsonl.data(), jsonl.data() + jsonl.size()) + 1);
  }
  BATCHLOG_RETURN_IF_ERROR(ParseRegion(jsonl.data(), jsonl.size(), std::string_view()));
  summary_.bytes = jsonl.size();
  return summary_;
}

base::Result<ParseSummary> ResultsParser::Impl::ParseFile(const std::filesystem::path& path,
                                                          const ResultCallback& callback) {
  const std::string name = path.string();
  Begin(name, callback);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string message = "results file " + name + ": cannot open: " + ErrnoMessage(error);
    if (error == ENOENT) return base::NotFoundError(message);
    return base::UnavailableError(message);
  }
  FileCloser closer(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return base::UnavailableError("results file " + name + ": stat failed: " +
                                  ErrnoMessage(errno));
  }
  const auto file_bytes = static_cast<std::size_t>(info.st_size);
  const bool regular = S_ISREG(info.st_mode);
  if (regular) BATCHLOG_RETURN_IF_ERROR(CheckFileEnd(fd, file_bytes));
  if (options_.memory_map && regular && file_bytes > 0) {
    void* map = ::mmap(nullptr, file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      MapReleaser releaser(map, file_bytes);
      ::madvise(map, file_bytes, MADV_SEQUENTIAL);
      BATCHLOG_RETURN_IF_ERROR(ParseMapped(static_cast<const char*>(map), file_bytes));
      return summary_;
    }
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  BATCHLOG_RETURN_IF_ERROR(ParseRead(fd));
  return summary_;
}

base::Status ResultsParser::Impl::CheckFileEnd(int fd, std::size_t file_bytes) {
  // A download cut short is found before any line is delivered: the last non-blank byte
  // must be followed by a newline.
  std::array<char, kTailProbeBytes> tail{};
  const std::size_t probe = std::min(file_bytes, tail.size());
  const ssize_t n = ::pread(fd, tail.data(), probe, static_cast<off_t>(file_bytes - probe));
  if (n != static_cast<ssize_t>(probe)) {
    return base::UnavailableError("results file " + std::string(name_) +
                                  ": cannot read its end");
  }
  std::size_t end = probe;
  while (end > 0 && IsJsonSpace(tail[end - 1]) && tail[end - 1] != '\n') --end;
  if (end == 0 || tail[end - 1] == '\n') return base::Status::Ok();
  // Number the cut line by counting the newlines before it (error path only).
  std::uint64_t newlines = 0;
  std::vector<char> block(std::size_t{1} << 16);
  off_t offset = 0;
  for (;;) {
    const ssize_t got = ::pread(fd, block.data(), block.size(), offset);
    if (got <= 0) break;
    newlines += CountNewlines(block.data(), block.data() + got);
    offset += got;
  }
  return Truncated(newlines + 1);
}

base::Status ResultsParser::Impl::ParseMapped(const char* data, std::size_t size) {
  // simdjson reads up to kResultsPaddingBytes past a region: mapped regions end at least
  // that far before the end of the file, and the last lines are copied to the padded
  // buffer. Parsed pages are unmapped behind the cursor, so a multi-GB file never stays
  // resident in this process.
  const std::size_t safe_end = size > kResultsPaddingBytes ? size - kResultsPaddingBytes : 0;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t pos = 0;
  std::size_t released = 0;
  std::size_t window = options_.chunk_bytes;
  while (pos < safe_end) {
    const std::size_t limit = std::min(safe_end, pos + window);
    const void* found = ::memrchr(data + pos, '\n', limit - pos);
    if (found == nullptr) {
      if (limit == safe_end) break;  // the rest is the tail
      if (window >= options_.line_bytes_max) return LineTooLong();
      window = std::min(window * 2, options_.line_bytes_max);
      continue;
    }
    const std::size_t end =
        static_cast<std::size_t>(static_cast<const char*>(found) - data) + 1;
    BATCHLOG_RETURN_IF_ERROR(
        ParseRegion(data + pos, end - pos, std::string_view(data + end, size - end)));
    summary_.bytes += end - pos;
    pos = end;
    window = options_.chunk_bytes;
    const std::size_t done_pages = pos / page * page;
    if (done_pages > released) {
      ::madvise(const_cast<char*>(data) + released, done_pages - released, MADV_DONTNEED);
      released = done_pages;
    }
  }
  const std::size_t tail = size - pos;
  if (tail > options_.line_bytes_max) return LineTooLong();
  ReserveBuffer(tail);
  std::memcpy(buffer_.get(), data + pos, tail);
  BATCHLOG_RETURN_IF_ERROR(ParseRegion(buffer_.get(), tail, std::string_view()));
  summary_.bytes += tail;
  return base::Status::Ok();
}

base::Status ResultsParser::Impl::ParseRead(int fd) {
  ReserveBuffer(options_.chunk_bytes);
  std::size_t filled = 0;  // bytes in the buffer: the carried partial line, then new data
  for (;;) {
    BATCHLOG_ASSIGN_OR_RETURN(const std::size_t got,
                              ReadFully(fd, buffer_.get() + filled, buffer_capacity_ - filled,
                                        name_));
    filled += got;
    summary_.bytes += got;
    if (filled < buffer_capacity_) {
      // The end of the file. CheckFileEnd ran before; a file that changed since is caught
      // here.
      const std::string_view data(buffer_.get(), filled);
      const std::size_t last_newline = data.rfind('\n');
      const std::size_t rest = last_newline == std::string_view::npos ? 0 : last_newline + 1;
      if (!IsBlank(data.substr(rest))) {
        return Truncated(next_line_ + CountNewlines(data.data(), data.data() + rest));
      }
      return ParseRegion(buffer_.get(), filled, std::string_view());
    }
    // The region never ends at the buffer's last byte: whether the file ends there is only
    // known from the next read, and a bad last line must be reported as truncated.
    const void* found = ::memrchr(buffer_.get(), '\n', filled - 1);
    if (found == nullptr) {
      // One line fills the buffer: grow it, within the bound.
      if (buffer_capacity_ >= options_.line_bytes_max) return LineTooLong();
      ReserveBuffer(std::min(buffer_capacity_ * 2, options_.line_bytes_max), filled);
      continue;
    }
    const std::size_t region =
        static_cast<std::size_t>(static_cast<const char*>(found) - buffer_.get()) + 1;
    BATCHLOG_RETURN_IF_ERROR(ParseRegion(buffer_.get(), region, std::nullopt));
    std::memmove(buffer_.get(), buffer_.get() + region, filled - region);
    filled -= region;
  }
}

void ResultsParser::Impl::ReserveBuffer(std::size_t bytes, std::size_t keep) {
  if (buffer_capacity_ >= bytes && buffer_ != nullptr) return;
  auto bigger = std::make_unique<char[]>(bytes + kResultsPaddingBytes);
  if (keep > 0) std::memcpy(bigger.get(), buffer_.get(), keep);
  buffer_ = std::move(bigger);
  buffer_capacity_ = bytes;
}

// ---------------------------------------------------------------------------------------

ResultsParser::ResultsParser(ProviderKind kind, ResultsParserOptions options)
    : impl_(std::make_unique<Impl>(kind, options)) {}

ResultsParser::~ResultsParser() = default;

base::Result<ParseSummary> ResultsParser::ParseFile(const std::filesystem::path& path,
                                                    const ResultCallback& callback) {
  return impl_->ParseFile(path, callback);
}

base::Result<ParseSummary> ResultsParser::ParseBuffer(std::string_view jsonl,
                                                      std::string_view name,
                                                      const ResultCallback& callback) {
  return impl_->ParseBuffer(jsonl, name, callback);
}

base::Result<ParseSummary> ParseResults(ProviderKind kind, std::string_view jsonl,
                                        const ResultCallback& callback) {
  const simdjson::padded_string padded(jsonl);
  ResultsParser parser(kind);
  return parser.ParseBuffer(std::string_view(padded.data(), padded.size()), "(buffer)",
                            callback);
}

base::Result<ParseSummary> ParseResultsFile(ProviderKind kind, const std::filesystem::path& path,
                                            const ResultCallback& callback,
                                            const ResultsParserOptions& options) {
  ResultsParser parser(kind, options);
  return parser.ParseFile(path, callback);
}

}  // namespace batchlog::providers

#undef BATCHLOG_SIMDJSON_TRY
