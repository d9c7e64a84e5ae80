// MultipartReader: a streaming multipart/form-data parser for the emulator's file upload.
//
// cpp-httplib's own parser insists on CRLF after the closing boundary, which RFC 7578 does
// not require and Node 18's fetch (undici) omits, so the official SDK's uploads failed on
// Debian's Node. This parser accepts the closing delimiter with or without a trailing CRLF
// and ignores any epilogue, yet still refuses a body that ends before the closing
// delimiter (a truncated upload is never taken as complete).
//
// Feed() the body in chunks of any size (a delimiter may straddle chunks), then Finish().
// Part content is handed to the callbacks without being buffered whole.
//
// Thread-safety: none; one reader per request.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace batchlog::sim {

struct MultipartPartHeader {
  std::string name;
  std::string filename;  // empty when the part has no filename
  std::string content_type;
};

class MultipartReader {
 public:
  using PartBegin = std::function<bool(const MultipartPartHeader&)>;
  using PartData = std::function<bool(std::string_view)>;

  // The boundary parameter of Content-Type, without the leading "--". Returns nullopt
  // when the header is not multipart/form-data or has no usable boundary.
  static std::optional<std::string> BoundaryOf(std::string_view content_type);

  MultipartReader(std::string boundary, PartBegin on_part, PartData on_data);

  // False when the body is malformed or a callback returned false; error() says why.
  bool Feed(std::string_view chunk);
  // False unless the closing delimiter was seen.
  bool Finish();
  const std::string& error() const { return error_; }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kDone, kFailed };

  bool Fail(std::string message);
  bool ParseHeaders(std::string_view block);

  std::string dash_boundary_;  // "--" + boundary
  std::string delimiter_;      // "\r\n--" + boundary
  PartBegin on_part_;
  PartData on_data_;
  State state_ = State::kPreamble;
  std::string buffer_;
  std::string error_;
};

}  // namespace batchlog::sim
