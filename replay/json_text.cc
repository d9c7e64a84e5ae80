#include "replay/json_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "src/base/json_string.h"

namespace batchlog::replay {
namespace {

using Json = nlohmann::ordered_json;

void AppendString(std::string& out, const std::string& text) {
  // ASCII (ids, codes, statuses: nearly every string of a manifest) escapes the same way
  // in base's writer and in nlohmann's; other text goes through nlohmann's, which also
  // replaces invalid UTF-8, so every string is byte-identical to dump()'s.
  const bool ascii = std::all_of(text.begin(), text.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    base::AppendJsonString(out, text);
  } else {
    out += Json(text).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

template <typename Integer>
void AppendInteger(std::string& out, Integer value) {
  char buffer[24];
  const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, written.ptr);
}

void AppendDouble(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[64];
  const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), value);
  const std::string_view text(buffer, static_cast<std::size_t>(written.ptr - buffer));
  out += text;
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void AppendNewline(std::string& out, int indent, int depth) {
  out += '\n';
  out.append(static_cast<std::size_t>(indent * depth), ' ');
}

void Append(std::string& out, const Json& value, int indent, int depth) {
  const bool pretty = indent >= 0;
  switch (value.type()) {
    case Json::value_t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        if (pretty) AppendNewline(out, indent, depth + 1);
        AppendString(out, it.key());
        out += pretty ? ": " : ":";
        Append(out, it.value(), indent, depth + 1);
      }
      if (pretty) AppendNewline(out, indent, depth);
      out += '}';
      return;
    }
    case Json::value_t::array: {
      if (value.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const Json& element : value) {
        if (!first) out += ',';
        first = false;
        if (pretty) AppendNewline(out, indent, depth + 1);
        Append(out, element, indent, depth + 1);
      }
      if (pretty) AppendNewline(out, indent, depth);
      out += ']';
      return;
    }
    case Json::value_t::number_float:
      AppendDouble(out, value.get<double>());
      return;
    case Json::value_t::string:
      AppendString(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::number_integer:
      AppendInteger(out, value.get<std::int64_t>());
      return;
    case Json::value_t::number_unsigned:
      AppendInteger(out, value.get<std::uint64_t>());
      return;
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::binary:
    case Json::value_t::discarded:
      out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
  }
}

}  // namespace

std::string JsonText(const nlohmann::ordered_json& value, int indent) {
  std::string out;
  Append(out, value, indent, 0);
  return out;
}

}  // namespace batchlog::replay
