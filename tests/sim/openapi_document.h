// OpenApiDocument: an OpenAPI 3.x YAML document read into JSON, with the two look-ups the
// schema tests need: the component schemas, and the response schema a path + method
// declares for a status code. Test-side only (tests/sim/openapi_schema_test.cc).
//
// YAML scalars are typed as YAML 1.2's core schema does: a quoted scalar is always a
// string (so `type: "null"` stays the string "null"), a plain one becomes null, a boolean,
// an integer or a float when it reads as one, else a string.
//
// Ownership: owns its JSON. Thread-safety: immutable after Load/Parse.
#pragma once

#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/base/result.h"

namespace batchlog::sim::testing {

class OpenApiDocument {
 public:
  // Reads and converts a YAML (or JSON) document. NotFound when the file does not exist,
  // InvalidArgument when it does not parse or has no components.schemas.
  static base::Result<OpenApiDocument> Load(const std::filesystem::path& path);
  static base::Result<OpenApiDocument> Parse(std::string_view yaml_text);

  // "#/components/schemas": schema name -> schema.
  const nlohmann::json& component_schemas() const { return document_["components"]["schemas"]; }

  // The JSON schema of the `status` response of `method` on `path` (as the document spells
  // them: "/batches/{batch_id}", "post", "200") for content type application/json.
  // NotFound when the document declares none.
  base::Result<nlohmann::json> ResponseSchema(std::string_view path, std::string_view method,
                                              std::string_view status) const;

 private:
  explicit OpenApiDocument(nlohmann::json document) : document_(std::move(document)) {}

  nlohmann::json document_;
};

// YAML text -> JSON with the scalar typing above; InvalidArgument on a parse error.
base::Result<nlohmann::json> YamlToJson(std::string_view yaml_text);

}  // namespace batchlog::sim::testing
