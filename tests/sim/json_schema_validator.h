// JsonSchemaValidator: a small JSON-schema validator for the subset of OpenAPI 3.1 schema
// keywords that the OpenAI document uses for the Batch, File, list and error objects. The
// schema tests (tests/sim/openapi_schema_test.cc) use it to check every response body the
// emulator sends against the official document, so it is written to fail loudly: a keyword
// it does not implement is reported as a violation instead of being skipped.
//
// Supported keywords: type (a name or an array of names, incl. "null"), nullable (3.0),
// properties, required, additionalProperties (bool or schema), items, enum, const,
// $ref ("#/components/schemas/<Name>" only), anyOf, oneOf, allOf, minimum, maximum,
// minLength, maxLength, minItems, maxItems. Annotations are ignored: description, title,
// example(s), format, deprecated, default, readOnly, writeOnly, discriminator, externalDocs
// and every "x-..." extension (x-stainless-const among them).
//
// Every violation names the JSON path of the offending value ("$.data[2].request_counts").
//
// Ownership: the validator owns a copy of the component schemas.
// Thread-safety: immutable after construction; Validate may be called from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace batchlog::sim::testing {

struct SchemaViolation {
  std::string path;  // JSON path of the value, "$" for the root
  std::string message;
};

// One violation per line: "<path>: <message>".
std::string FormatViolations(const std::vector<SchemaViolation>& violations);

struct SchemaValidatorOptions {
  // The OpenAI document declares many optional properties without nullability (Batch.errors,
  // output_file_id, the *_at timestamps) although the service, and the document's own Batch
  // example, send null for them. When true, null is accepted for a property that its object
  // schema does not list in `required`. Required properties still need an explicit null type.
  // Default: false (strict JSON-schema semantics).
  bool null_allowed_for_optional_properties = false;
  // When true, an object schema that has `properties` but no `additionalProperties` is
  // treated as closed: a property it (or its allOf members) does not name is a violation.
  // Catches misspelled fields, which plain JSON-schema semantics would let through.
  // Default: false.
  bool reject_unknown_properties = false;
};

class JsonSchemaValidator {
 public:
  // `component_schemas` is the "#/components/schemas" object: schema name -> schema.
  JsonSchemaValidator(nlohmann::json component_schemas, SchemaValidatorOptions options);

  // Violations of `instance` against the component schema `name`; empty when it is valid.
  // An unknown name is itself a violation.
  std::vector<SchemaViolation> ValidateNamed(const nlohmann::json& instance,
                                             std::string_view name) const;

  // Violations of `instance` against an inline `schema` (which may $ref the components).
  std::vector<SchemaViolation> Validate(const nlohmann::json& instance,
                                        const nlohmann::json& schema) const;

 private:
  // `open` is set for allOf members: the schema holding the allOf closes the union of their
  // properties (reject_unknown_properties), so a member alone must not.
  void ValidateAt(const nlohmann::json& instance, const nlohmann::json& schema,
                  const std::string& path, int depth, bool open,
                  std::vector<SchemaViolation>& violations) const;
  void ValidateObject(const nlohmann::json& instance, const nlohmann::json& schema,
                      const std::string& path, int depth, bool open,
                      std::vector<SchemaViolation>& violations) const;
  void ValidateAlternatives(const nlohmann::json& instance, const nlohmann::json& schema,
                            const std::string& path, int depth,
                            std::vector<SchemaViolation>& violations) const;
  // The schema a "$ref" names, or nullptr when it does not resolve.
  const nlohmann::json* Resolve(std::string_view ref) const;
  // Adds the property names `schema` declares (own properties and those of its allOf
  // members, through $refs) to `names`.
  void CollectDeclaredProperties(const nlohmann::json& schema, int depth,
                                 std::vector<std::string>& names) const;

  nlohmann::json component_schemas_;
  SchemaValidatorOptions options_;
};

}  // namespace batchlog::sim::testing
