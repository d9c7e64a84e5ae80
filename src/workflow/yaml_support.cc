#include "src/workflow/yaml_support.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "src/workflow/did_you_mean.h"
#include "src/workflow/json_text.h"

namespace batchlog::workflow::yaml {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllOf(std::string_view text, bool (*predicate)(char)) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }

std::string_view StripSign(std::string_view text) {
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) text.remove_prefix(1);
  return text;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view text) {
  text = StripSign(text);
  std::size_t i = 0;
  const std::size_t n = text.size();
  std::size_t digits = 0;
  while (i < n && IsDigit(text[i])) ++i, ++digits;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && IsDigit(text[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (i >= n || !IsDigit(text[i])) return false;
    while (i < n && IsDigit(text[i])) ++i;
  }
  return i == n;
}

std::optional<double> ParseDouble(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string DoubleJson(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  // to_chars may print "1e+20"; JSON accepts it. It never prints "inf" for finite values.
  return text;
}

}  // namespace

std::string Source::Where(const YAML::Mark& mark) const {
  const int line = mark.line < 0 ? 1 : mark.line + 1;
  const int column = mark.column < 0 ? 1 : mark.column + 1;
  return file_ + ":" + std::to_string(line) + ":" + std::to_string(column);
}

base::Status Source::Error(const YAML::Mark& mark, std::string_view path,
                           std::string_view message) const {
  std::string text = Where(mark) + ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  return base::InvalidArgumentError(std::move(text));
}

YAML::Mark Entry::ValueMark() const { return value.IsNull() ? key_node.Mark() : value.Mark(); }

base::Result<Mapping> Mapping::Open(const Source& source, const YAML::Node& node,
                                    const YAML::Mark& mark, std::string path,
                                    std::span<const std::string_view> allowed) {
  if (!node.IsMap()) {
    return source.Error(mark, path, "expected a mapping, got " + std::string(NodeTypeName(node)));
  }
  Mapping mapping;
  mapping.path_ = std::move(path);
  for (const auto& pair : node) {
    const YAML::Node key = pair.first;
    if (!key.IsScalar()) {
      return source.Error(key.Mark(), mapping.path_,
                          "a key must be a plain name, got " + std::string(NodeTypeName(key)) +
                              " (quote a value that starts with '{' or '[', such as "
                              "\"{{sample.x}}\")");
    }
    const std::string& name = key.Scalar();
    if (const Entry* previous = mapping.Find(name)) {
      return source.Error(key.Mark(), mapping.path_,
                          "duplicate key '" + name + "' (first at line " +
                              std::to_string(previous->key_node.Mark().line + 1) + ")");
    }
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), std::string_view(name)) == allowed.end()) {
      std::string message = "unknown key '" + name + "'";
      const std::string suggestion = DidYouMean(name, allowed);
      if (!suggestion.empty()) {
        message += suggestion;
      } else {
        message += " (allowed:";
        for (const std::string_view candidate : allowed) {
          message += " ";
          message += candidate;
        }
        message += ")";
      }
      return source.Error(key.Mark(), mapping.path_, message);
    }
    mapping.entries_.push_back(Entry{name, key, pair.second});
  }
  return mapping;
}

const Entry* Mapping::Find(std::string_view key) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

std::string Mapping::PathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

base::Result<std::string> ReadString(const Source& source, const Entry& entry,
                                     const std::string& path) {
  if (!entry.value.IsScalar()) {
    return source.Error(entry.ValueMark(), path,
                        "expected a string, got " + std::string(NodeTypeName(entry.value)) +
                            (entry.value.IsMap() || entry.value.IsSequence()
                                 ? " (quote a value that starts with '{' or '[')"
                                 : ""));
  }
  return entry.value.Scalar();
}

base::Result<double> ReadNumber(const Source& source, const Entry& entry, const std::string& path) {
  if (!entry.value.IsScalar()) {
    return source.Error(entry.ValueMark(), path,
                        "expected a number, got " + std::string(NodeTypeName(entry.value)));
  }
  const std::string& text = entry.value.Scalar();
  const std::optional<double> value = IsCoreFloat(text) ? ParseDouble(text) : std::nullopt;
  if (!value.has_value() || !std::isfinite(*value)) {
    return source.Error(entry.ValueMark(), path, "expected a number, got '" + text + "'");
  }
  return *value;
}

base::Result<std::uint64_t> ReadUnsigned(const Source& source, const Entry& entry,
                                         const std::string& path, std::uint64_t minimum,
                                         std::uint64_t maximum) {
  if (!entry.value.IsScalar()) {
    return source.Error(entry.ValueMark(), path,
                        "expected a whole number, got " + std::string(NodeTypeName(entry.value)));
  }
  std::string_view text = entry.value.Scalar();
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::uint64_t value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool whole =
      AllOf(text, IsDigit) && result.ec == std::errc() && result.ptr == text.data() + text.size();
  if (!whole || value < minimum || value > maximum) {
    return source.Error(entry.ValueMark(), path,
                        "expected a whole number in [" + std::to_string(minimum) + ", " +
                            std::to_string(maximum) + "], got '" + entry.value.Scalar() + "'");
  }
  return value;
}

base::Result<std::vector<ListItem>> ReadStringList(const Source& source, const Entry& entry,
                                                   const std::string& path) {
  if (!entry.value.IsSequence()) {
    return source.Error(entry.ValueMark(), path,
                        "expected a list, got " + std::string(NodeTypeName(entry.value)));
  }
  std::vector<ListItem> items;
  std::size_t index = 0;
  for (const YAML::Node& item : entry.value) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    if (!item.IsScalar() || item.Scalar().empty()) {
      return source.Error(
          item.IsNull() ? entry.value.Mark() : item.Mark(), item_path,
          "expected a non-empty string, got " +
              std::string(item.IsScalar() ? "an empty string" : NodeTypeName(item)));
    }
    items.push_back(ListItem{item.Scalar(), item.Mark()});
  }
  return items;
}

ResolvedPlain ResolvePlainScalar(std::string_view text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return {PlainType::kNull, "null"};
  }
  if (text == "true" || text == "True" || text == "TRUE") return {PlainType::kBool, "true"};
  if (text == "false" || text == "False" || text == "FALSE") return {PlainType::kBool, "false"};
  const std::string_view unsigned_part = StripSign(text);
  if (unsigned_part == ".inf" || unsigned_part == ".Inf" || unsigned_part == ".INF" ||
      text == ".nan" || text == ".NaN" || text == ".NAN") {
    return {PlainType::kNonFinite, ""};
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    const bool hex = text[1] == 'x';
    const std::string_view digits = text.substr(2);
    if (AllOf(digits, hex ? IsHexDigit : IsOctalDigit)) {
      std::uint64_t value = 0;
      const auto result =
          std::from_chars(digits.data(), digits.data() + digits.size(), value, hex ? 16 : 8);
      if (result.ec == std::errc()) return {PlainType::kInteger, std::to_string(value)};
    }
    return {PlainType::kString, ""};
  }
  if (AllOf(unsigned_part, IsDigit)) {
    if (IsJsonNumber(text)) return {PlainType::kInteger, std::string(text)};
    // "+5" or "007": normalize to JSON's spelling; beyond 64 bits, a float.
    std::string_view body = text;
    if (body.front() == '+') body.remove_prefix(1);
    std::int64_t value = 0;
    const auto result = std::from_chars(body.data(), body.data() + body.size(), value);
    if (result.ec == std::errc() && result.ptr == body.data() + body.size()) {
      return {PlainType::kInteger, std::to_string(value)};
    }
  }
  if (IsCoreFloat(text)) {
    if (IsJsonNumber(text)) return {PlainType::kFloat, std::string(text)};
    const std::optional<double> value = ParseDouble(text);
    if (value.has_value() && std::isfinite(*value)) return {PlainType::kFloat, DoubleJson(*value)};
    return {PlainType::kNonFinite, ""};
  }
  return {PlainType::kString, ""};
}

std::string_view NodeTypeName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
  }
  return "an unknown node";
}

}  // namespace batchlog::workflow::yaml
