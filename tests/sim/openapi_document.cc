#include "tests/sim/openapi_document.h"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <yaml-cpp/yaml.h>

namespace batchlog::sim::testing {
namespace {

using nlohmann::json;

bool ParsesFully(std::string_view text, auto& number) {
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, number);
  return error == std::errc() && ptr == end;
}

// RFC 6901: '~' -> "~0", '/' -> "~1".
std::string EscapePointerToken(std::string_view token) {
  std::string escaped;
  for (const char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

// YAML 1.2 core schema resolution of a plain (unquoted) scalar.
json PlainScalarToJson(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (std::int64_t integer = 0; ParsesFully(digits, integer)) return integer;
  if (std::uint64_t unsigned_integer = 0; ParsesFully(digits, unsigned_integer)) {
    return unsigned_integer;
  }
  const bool looks_numeric = text.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                             text.find_first_of("0123456789") != std::string::npos;
  if (double number = 0; looks_numeric && ParsesFully(digits, number)) return number;
  return text;
}

json NodeToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags a plain scalar "?" and a quoted one "!"; an explicit tag other than
      // the core ones is kept as a string too.
      if (node.Tag() == "?") return PlainScalarToJson(node.Scalar());
      return node.Scalar();
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const YAML::Node& element : node) array.push_back(NodeToJson(element));
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) {
        object[entry.first.as<std::string>()] = NodeToJson(entry.second);
      }
      return object;
    }
  }
  return nullptr;
}

}  // namespace

base::Result<nlohmann::json> YamlToJson(std::string_view yaml_text) {
  // yaml-cpp reports errors by throwing; this is the boundary that converts them.
  try {
    return NodeToJson(YAML::Load(std::string(yaml_text)));
  } catch (const YAML::Exception& error) {
    return base::InvalidArgumentError(std::string("YAML does not parse: ") + error.what());
  }
}

base::Result<OpenApiDocument> OpenApiDocument::Load(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return base::NotFoundError("no OpenAPI document at " + path.string());
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  if (!file) return base::InvalidArgumentError("cannot read " + path.string());
  auto document = Parse(text.str());
  if (!document.ok()) return document.status().WithContext(path.string());
  return document;
}

base::Result<OpenApiDocument> OpenApiDocument::Parse(std::string_view yaml_text) {
  BATCHLOG_ASSIGN_OR_RETURN(json document, YamlToJson(yaml_text));
  if (!document.is_object() || !document.contains("components") ||
      !document["components"].is_object() || !document["components"].contains("schemas") ||
      !document["components"]["schemas"].is_object()) {
    return base::InvalidArgumentError("the document has no components.schemas object");
  }
  return OpenApiDocument(std::move(document));
}

base::Result<nlohmann::json> OpenApiDocument::ResponseSchema(std::string_view path,
                                                             std::string_view method,
                                                             std::string_view status) const {
  const json::json_pointer pointer(
      "/paths/" + EscapePointerToken(path) + "/" + EscapePointerToken(method) + "/responses/" +
      EscapePointerToken(status) + "/content/application~1json/schema");
  if (!document_.contains(pointer)) {
    return base::NotFoundError("no application/json schema for " + std::string(status) + " of " +
                               std::string(method) + " " + std::string(path));
  }
  return document_.at(pointer);
}

}  // namespace batchlog::sim::testing
