// Small JSON text helpers shared by the template compiler, the YAML reader and the request
// builder: UTF-8 validation and the JSON number grammar (string escaping is
// src/base/json_string.h). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace batchlog::workflow {

// The offset of the first byte of `text` that is not well-formed UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF count as malformed), or npos when all is well.
std::size_t FindInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) {
  return FindInvalidUtf8(text) == std::string_view::npos;
}

// Whether `text` is exactly one JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view text);

}  // namespace batchlog::workflow
