#include "src/sim/multipart_reader.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace batchlog::sim {
namespace {

// Part headers are small; a larger block means the body is not what it claims to be.
constexpr std::size_t kHeaderBlockBytesMax = 16 * 1024;
constexpr std::size_t kBoundaryCharsMax = 70;  // RFC 2046

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string Unquote(std::string_view value) {
  value = Trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    return std::string(value.substr(1, value.size() - 2));
  }
  return std::string(value);
}

// The value of parameter `key` in "type; a=1; b=\"2\"", or nullopt.
std::optional<std::string> Parameter(std::string_view header_value, std::string_view key) {
  std::size_t start = header_value.find(';');
  while (start != std::string_view::npos) {
    const std::size_t end = header_value.find(';', start + 1);
    const std::string_view item = Trim(header_value.substr(
        start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1));
    const std::size_t equals = item.find('=');
    if (equals != std::string_view::npos && Lower(Trim(item.substr(0, equals))) == key) {
      return Unquote(item.substr(equals + 1));
    }
    start = end;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> MultipartReader::BoundaryOf(std::string_view content_type) {
  const std::string_view kType = "multipart/form-data";
  if (Lower(Trim(content_type).substr(0, kType.size())) != kType) return std::nullopt;
  auto boundary = Parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > kBoundaryCharsMax) return std::nullopt;
  return boundary;
}

MultipartReader::MultipartReader(std::string boundary, PartBegin on_part, PartData on_data)
    : dash_boundary_("--" + boundary),
      delimiter_("\r\n--" + boundary),
      on_part_(std::move(on_part)),
      on_data_(std::move(on_data)) {}

bool MultipartReader::Fail(std::string message) {
  state_ = State::kFailed;
  error_ = std::move(message);
  buffer_.clear();
  return false;
}

bool MultipartReader::ParseHeaders(std::string_view block) {
  MultipartPartHeader header;
  bool disposition_seen = false;
  while (!block.empty()) {
    const std::size_t end = block.find("\r\n");
    const std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view() : block.substr(end + 2);
    if (line.empty()) continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail("a part header line has no ':'");
    const std::string name = Lower(Trim(line.substr(0, colon)));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (Lower(value.substr(0, 9)) != "form-data") {
        return Fail("a part's Content-Disposition is not form-data");
      }
      disposition_seen = true;
      header.name = Parameter(value, "name").value_or("");
      header.filename = Parameter(value, "filename").value_or("");
    } else if (name == "content-type") {
      header.content_type = std::string(value);
    }
  }
  if (!disposition_seen || header.name.empty()) {
    return Fail("a part has no Content-Disposition name");
  }
  if (!on_part_(header)) return Fail("the part '" + header.name + "' was refused");
  return true;
}

bool MultipartReader::Feed(std::string_view chunk) {
  if (state_ == State::kFailed) return false;
  if (state_ == State::kDone) return true;  // the epilogue is ignored
  buffer_.append(chunk);
  for (;;) {
    switch (state_) {
      case State::kPreamble: {
        if (buffer_.size() < dash_boundary_.size()) return true;
        if (buffer_.compare(0, dash_boundary_.size(), dash_boundary_) == 0) {
          buffer_.erase(0, dash_boundary_.size());
          state_ = State::kAfterDelimiter;
          break;
        }
        const std::size_t at = buffer_.find(delimiter_);
        if (at == std::string::npos) {
          // Keep only what could still be the start of a delimiter.
          buffer_.erase(0, buffer_.size() - (delimiter_.size() - 1));
          return true;
        }
        buffer_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        // RFC 2046 allows linear white space between the boundary and its CRLF.
        while (!buffer_.empty() && (buffer_.front() == ' ' || buffer_.front() == '\t')) {
          buffer_.erase(0, 1);
        }
        if (buffer_.size() < 2) return true;
        if (buffer_.compare(0, 2, "--") == 0) {
          state_ = State::kDone;
          buffer_.clear();
          return true;
        }
        if (buffer_.compare(0, 2, "\r\n") != 0) return Fail("a boundary line is malformed");
        buffer_.erase(0, 2);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        if (buffer_.size() < 2) return true;
        // A part with no headers at all starts with the blank line directly.
        if (buffer_.compare(0, 2, "\r\n") == 0) return Fail("a part has no headers");
        const std::size_t end = buffer_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (buffer_.size() > kHeaderBlockBytesMax) return Fail("a part's headers are too long");
          return true;
        }
        if (!ParseHeaders(std::string_view(buffer_).substr(0, end))) return false;
        buffer_.erase(0, end + 4);
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        const std::size_t at = buffer_.find(delimiter_);
        if (at == std::string::npos) {
          const std::size_t keep = delimiter_.size() - 1;
          if (buffer_.size() > keep) {
            const std::size_t emit = buffer_.size() - keep;
            if (!on_data_(std::string_view(buffer_).substr(0, emit))) {
              return Fail("the part's content was refused");
            }
            buffer_.erase(0, emit);
          }
          return true;
        }
        if (at > 0 && !on_data_(std::string_view(buffer_).substr(0, at))) {
          return Fail("the part's content was refused");
        }
        buffer_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kDone:
        return true;
      case State::kFailed:
        return false;
    }
  }
}

bool MultipartReader::Finish() {
  if (state_ == State::kDone) return true;
  if (state_ == State::kFailed) return false;
  return Fail("the body ends before the closing boundary");
}

}  // namespace batchlog::sim
