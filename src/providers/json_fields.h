// Reading and writing the providers' control-plane JSON without exceptions.
//
// Lookups treat a missing key and JSON null alike (the wire formats make many fields
// nullable), never throw, and report a wrong type as kInvalidArgument naming the field.
// Request bodies are assembled by concatenation (strings through base::AppendJsonString) so
// that caller-supplied JSON is embedded byte for byte.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/base/result.h"
#include "src/providers/batch_provider.h"

namespace batchlog::providers {

using Json = nlohmann::json;

// The value at `key` of `object`, or nullptr when `object` is not an object, the key is
// absent, or the value is null.
const Json* FindField(const Json& object, std::string_view key);

// A string field that must be present.
base::Result<std::string> RequiredString(const Json& object, std::string_view key,
                                         std::string_view context);
// A string field that may be absent or null (""); another type is an error.
base::Result<std::string> OptionalString(const Json& object, std::string_view key,
                                         std::string_view context);
// An integer field that may be absent or null (nullopt); a float is truncated; another
// type is an error.
base::Result<std::optional<std::int64_t>> OptionalInt(const Json& object, std::string_view key,
                                                      std::string_view context);
// A request count: absent or null is 0; negative or above 2^32-1 is an error.
base::Result<std::uint32_t> CountField(const Json& object, std::string_view key,
                                       std::string_view context);

// Parses `body` as one JSON object. kInvalidArgument, naming `call` and showing the start
// of the body, for an empty body, HTML, truncated JSON or any non-object.
base::Result<Json> ParseJsonObject(std::string_view call, std::string_view body);

// The first bytes of a body for a message: at most 120, control bytes shown as spaces.
std::string Snippet(std::string_view body);

// A cheap shape check of caller-supplied JSON that is embedded verbatim: after trimming
// whitespace it starts with '{' and ends with '}'. kInvalidArgument naming `what`.
base::Status CheckJsonObjectText(std::string_view what, std::string_view text);

// One page of a batch listing (OpenAI and Anthropic share the shape: "data", "has_more",
// "last_id"), each entry parsed by `parse_batch`; the cursor falls back to the last id.
base::Result<BatchPage> ParseBatchPage(
    const std::string& call, const Json& object,
    base::Result<BatchInfo> (*parse_batch)(std::string_view call, const Json& entry));

}  // namespace batchlog::providers
