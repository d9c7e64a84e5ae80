#include "src/providers/json_fields.h"

#include <cmath>

namespace batchlog::providers {

const Json* FindField(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

namespace {

base::Status WrongType(std::string_view context, std::string_view key, std::string_view want) {
  return base::InvalidArgumentError(std::string(context) + ": field \"" + std::string(key) +
                                    "\" is not " + std::string(want));
}

}  // namespace

base::Result<std::string> RequiredString(const Json& object, std::string_view key,
                                         std::string_view context) {
  const Json* value = FindField(object, key);
  if (value == nullptr) {
    return base::InvalidArgumentError(std::string(context) + ": field \"" + std::string(key) +
                                      "\" is missing");
  }
  if (!value->is_string()) return WrongType(context, key, "a string");
  return value->get_ref<const std::string&>();
}

base::Result<std::string> OptionalString(const Json& object, std::string_view key,
                                         std::string_view context) {
  const Json* value = FindField(object, key);
  if (value == nullptr) return std::string();
  if (!value->is_string()) return WrongType(context, key, "a string");
  return value->get_ref<const std::string&>();
}

base::Result<std::optional<std::int64_t>> OptionalInt(const Json& object, std::string_view key,
                                                      std::string_view context) {
  const Json* value = FindField(object, key);
  if (value == nullptr) return std::optional<std::int64_t>();
  if (value->is_number_integer()) return std::optional<std::int64_t>(value->get<std::int64_t>());
  if (value->is_number_float()) {
    const double number = value->get<double>();
    if (std::isfinite(number) && std::abs(number) < 9.0e18) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(number));
    }
  }
  return WrongType(context, key, "an integer");
}

base::Result<std::uint32_t> CountField(const Json& object, std::string_view key,
                                       std::string_view context) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::optional<std::int64_t> value,
                            OptionalInt(object, key, context));
  if (!value) return std::uint32_t{0};
  if (*value < 0 || *value > static_cast<std::int64_t>(UINT32_MAX)) {
    return base::InvalidArgumentError(std::string(context) + ": count \"" + std::string(key) +
                                      "\" is out of range: " + std::to_string(*value));
  }
  return static_cast<std::uint32_t>(*value);
}

base::Result<Json> ParseJsonObject(std::string_view call, std::string_view body) {
  if (body.empty()) {
    return base::InvalidArgumentError(std::string(call) + ": the response body is empty");
  }
  Json parsed = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return base::InvalidArgumentError(std::string(call) + ": the response is not JSON (" +
                                      std::to_string(body.size()) + " bytes: \"" + Snippet(body) +
                                      "\")");
  }
  if (!parsed.is_object()) {
    return base::InvalidArgumentError(
        std::string(call) + ": the response is not a JSON object: \"" + Snippet(body) + "\"");
  }
  return parsed;
}

std::string Snippet(std::string_view body) {
  constexpr std::size_t kSnippetBytes = 120;
  std::string out(body.substr(0, kSnippetBytes));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (body.size() > kSnippetBytes) out += "...";
  return out;
}

base::Status CheckJsonObjectText(std::string_view what, std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::string_view trimmed = text;
  while (!trimmed.empty() && space(trimmed.front())) trimmed.remove_prefix(1);
  while (!trimmed.empty() && space(trimmed.back())) trimmed.remove_suffix(1);
  if (trimmed.size() >= 2 && trimmed.front() == '{' && trimmed.back() == '}') {
    return base::Status::Ok();
  }
  return base::InvalidArgumentError(std::string(what) + " is not a JSON object: \"" +
                                    Snippet(text) + "\"");
}

base::Result<BatchPage> ParseBatchPage(
    const std::string& call, const Json& object,
    base::Result<BatchInfo> (*parse_batch)(std::string_view call, const Json& entry)) {
  const Json* data = FindField(object, "data");
  if (data == nullptr || !data->is_array()) {
    return base::InvalidArgumentError(call + ": the list has no \"data\" array: \"" +
                                      Snippet(object.dump()) + "\"");
  }
  BatchPage page;
  page.batches.reserve(data->size());
  for (const Json& entry : *data) {
    BATCHLOG_ASSIGN_OR_RETURN(BatchInfo batch, parse_batch(call, entry));
    page.batches.push_back(std::move(batch));
  }
  if (const Json* more = FindField(object, "has_more"); more && more->is_boolean()) {
    page.has_more = more->get<bool>();
  }
  BATCHLOG_ASSIGN_OR_RETURN(page.last_id, OptionalString(object, "last_id", call));
  if (page.last_id.empty() && !page.batches.empty()) page.last_id = page.batches.back().id;
  return page;
}

}  // namespace batchlog::providers
