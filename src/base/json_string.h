// JSON string escaping, shared by every module that writes JSON text by hand (request
// bodies, templates, the emulator's results). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace batchlog::base {

// Appends `text` to `out` as the *contents* of a JSON string (no surrounding quotes):
// '"' and '\' are backslash-escaped, \b \f \n \r \t use their short forms, other control
// characters below 0x20 become \u00XX. Everything else, UTF-8 included, is copied as is,
// so the caller must pass valid UTF-8.
void AppendJsonEscaped(std::string& out, std::string_view text);

// Appends `text` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace batchlog::base
