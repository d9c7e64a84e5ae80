// The schema validator and the YAML reader the OpenAPI schema tests stand on: each keyword
// must accept what it should and reject what it should, or a schema test could pass by
// checking nothing.
#include "tests/sim/json_schema_validator.h"

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/sim/openapi_document.h"

namespace batchlog::sim::testing {
namespace {

using nlohmann::json;

// A miniature of the OpenAI components: a batch-like object, a nullable-map metadata and
// the error envelope, spelled the way the real document spells them.
const json& Components() {
  static const json components = json::parse(R"({
    "Counts": {"type": "object",
               "properties": {"total": {"type": "integer"}, "failed": {"type": "integer"}},
               "required": ["total", "failed"]},
    "Metadata": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}},
                           {"type": "null"}]},
    "Job": {"type": "object",
            "properties": {
              "id": {"type": "string", "description": "ignored annotation"},
              "object": {"type": "string", "enum": ["job"], "x-stainless-const": true},
              "status": {"type": "string", "enum": ["running", "cancelled"]},
              "finished_at": {"type": "integer", "format": "unixtime"},
              "counts": {"$ref": "#/components/schemas/Counts"},
              "tags": {"type": "array", "items": {"type": "string"}},
              "metadata": {"$ref": "#/components/schemas/Metadata"}},
            "required": ["id", "object", "status"]},
    "Error": {"type": "object",
              "properties": {"code": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                             "message": {"type": "string"}},
              "required": ["code", "message"]}
  })");
  return components;
}

JsonSchemaValidator Strict() { return JsonSchemaValidator(Components(), {}); }

bool HasViolationAt(const std::vector<SchemaViolation>& violations, const std::string& path,
                    const std::string& fragment) {
  for (const SchemaViolation& violation : violations) {
    if (violation.path == path && violation.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST_CASE("a value that matches its schema has no violations", "[sim][schema]") {
  const json job = json::parse(R"({"id": "j1", "object": "job", "status": "running",
      "finished_at": 1767225600, "counts": {"total": 3, "failed": 0}, "tags": ["a", "b"],
      "metadata": {"k": "v"}})");
  const auto violations = Strict().ValidateNamed(job, "Job");
  INFO(FormatViolations(violations));
  CHECK(violations.empty());
}

TEST_CASE("each schema keyword rejects what it must and names the JSON path", "[sim][schema]") {
  json job = json::parse(R"({"id": "j1", "object": "job", "status": "running",
      "counts": {"total": 3, "failed": 0}, "tags": ["a"]})");
  const JsonSchemaValidator validator = Strict();

  SECTION("type") {
    job["id"] = 7;
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.id", "expected string"));
  }
  SECTION("integer rejects a fractional number") {
    job["finished_at"] = 1.5;
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.finished_at", "expected integer"));
  }
  SECTION("required, through a $ref") {
    job["counts"].erase("failed");
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.counts",
                         "missing required property 'failed'"));
  }
  SECTION("enum: the American spelling is not the British one") {
    job["status"] = "canceled";
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.status", "is not one of"));
  }
  SECTION("items") {
    job["tags"] = json::array({"a", 2});
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.tags[1]", "expected string"));
  }
  SECTION("additionalProperties schema inside an anyOf") {
    job["metadata"] = json{{"k", 1}};
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.metadata",
                         "matches none of the 2 anyOf alternatives"));
  }
  SECTION("a non-null optional property without a null type rejects null when strict") {
    job["finished_at"] = nullptr;
    CHECK(HasViolationAt(validator.ValidateNamed(job, "Job"), "$.finished_at",
                         "expected integer, got null"));
  }
  SECTION("a non-identifier key is quoted in the path") {
    job["metadata"] = json{{"a key", 1}};
    const auto violations = validator.ValidateNamed(job, "Job");
    CHECK(HasViolationAt(violations, "$.metadata", "$.metadata[\"a key\"]: expected string"));
  }
}

TEST_CASE("null is accepted where the schema says so in each of its spellings", "[sim][schema]") {
  const JsonSchemaValidator validator = Strict();
  CHECK(validator.Validate(nullptr, json{{"type", json::array({"string", "null"})}}).empty());
  CHECK(validator.Validate(nullptr, json{{"type", "string"}, {"nullable", true}}).empty());
  CHECK(validator.ValidateNamed(json{{"code", nullptr}, {"message", "m"}}, "Error").empty());
  CHECK_FALSE(validator.Validate(nullptr, json{{"type", "string"}}).empty());
  CHECK_FALSE(validator.Validate(nullptr, json{{"type", "string"}, {"nullable", false}}).empty());
}

TEST_CASE("the null-for-optional option accepts null only for optional properties",
          "[sim][schema]") {
  const JsonSchemaValidator lenient(Components(), {.null_allowed_for_optional_properties = true});
  json job = json::parse(R"({"id": "j1", "object": "job", "status": "running",
      "finished_at": null, "counts": null})");
  CHECK(lenient.ValidateNamed(job, "Job").empty());
  job["status"] = nullptr;
  CHECK(HasViolationAt(lenient.ValidateNamed(job, "Job"), "$.status", "expected string"));
}

TEST_CASE("closed objects reject a misspelled property", "[sim][schema]") {
  const json job = json::parse(R"({"id": "j1", "object": "job", "status": "running",
      "canceled_at": 1})");
  CHECK(Strict().ValidateNamed(job, "Job").empty());
  const JsonSchemaValidator closed(Components(), {.reject_unknown_properties = true});
  CHECK(HasViolationAt(closed.ValidateNamed(job, "Job"), "$.canceled_at", "property not declared"));
}

TEST_CASE("allOf members are checked together and close over their union", "[sim][schema]") {
  const json schema = json::parse(R"({"allOf": [
      {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
      {"type": "object", "properties": {"b": {"type": "integer"}}, "required": ["b"]}]})");
  const JsonSchemaValidator closed(Components(), {.reject_unknown_properties = true});
  CHECK(closed.Validate(json{{"a", "x"}, {"b", 1}}, schema).empty());
  CHECK(HasViolationAt(closed.Validate(json{{"a", "x"}}, schema), "$", "'b'"));
  CHECK(HasViolationAt(closed.Validate(json{{"a", "x"}, {"b", 1}, {"c", 2}}, schema), "$.c",
                       "property not declared"));
}

TEST_CASE("oneOf requires exactly one matching alternative", "[sim][schema]") {
  const json schema =
      json::parse(R"({"oneOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]})");
  const JsonSchemaValidator validator = Strict();
  CHECK(validator.Validate("s", schema).empty());
  CHECK(HasViolationAt(validator.Validate(2, schema), "$", "matches 2 oneOf alternatives"));
  CHECK(HasViolationAt(validator.Validate(true, schema), "$", "matches none of the 3"));
}

TEST_CASE("const, bounds and lengths are enforced", "[sim][schema]") {
  const JsonSchemaValidator validator = Strict();
  CHECK(validator.Validate("list", json{{"const", "list"}}).empty());
  CHECK_FALSE(validator.Validate("lists", json{{"const", "list"}}).empty());
  const json bounded = json::parse(R"({"type": "integer", "minimum": 3600, "maximum": 7200})");
  CHECK(validator.Validate(3600, bounded).empty());
  CHECK_FALSE(validator.Validate(3599, bounded).empty());
  CHECK_FALSE(validator.Validate(7201, bounded).empty());
  const json short_string = json::parse(R"({"type": "string", "maxLength": 2})");
  CHECK(validator.Validate("\xc3\xa9\xc3\xa9", short_string).empty());  // two code points
  CHECK_FALSE(validator.Validate("abc", short_string).empty());
}

TEST_CASE("keywords the validator does not implement are reported, not skipped", "[sim][schema]") {
  const JsonSchemaValidator validator = Strict();
  CHECK(HasViolationAt(validator.Validate("x", json{{"type", "string"}, {"pattern", "^y$"}}), "$",
                       "unsupported schema keyword 'pattern'"));
  CHECK(HasViolationAt(validator.Validate(1, json{{"$ref", "#/components/schemas/Nope"}}), "$",
                       "unresolvable $ref"));
  CHECK(HasViolationAt(validator.ValidateNamed(1, "Nope"), "$", "unresolvable $ref"));
  CHECK(
      HasViolationAt(validator.Validate(1, json{{"type", "int"}}), "$", "unknown type name 'int'"));
}

TEST_CASE("a $ref cycle that consumes no input is reported instead of recursing forever",
          "[sim][schema]") {
  const JsonSchemaValidator validator(
      json{{"Loop", {{"allOf", json::array({{{"$ref", "#/components/schemas/Loop"}}})}}}}, {});
  CHECK(HasViolationAt(validator.ValidateNamed(1, "Loop"), "$", "(a $ref cycle?)"));
}

TEST_CASE("YAML scalars are typed by the core schema: quoted stays a string", "[sim][schema]") {
  const auto converted = YamlToJson(
      "a: \"null\"\nb: null\nc: 3600\nd: '12'\ne: true\nf: 1.5\ng: text\nh: [x, 'y']\ni: -7\n");
  REQUIRE(converted.ok());
  const json& value = *converted;
  CHECK(value["a"] == "null");
  CHECK(value["b"].is_null());
  CHECK(value["c"] == 3600);
  CHECK(value["c"].is_number_integer());
  CHECK(value["d"] == "12");
  CHECK(value["e"] == true);
  CHECK(value["f"] == 1.5);
  CHECK(value["g"] == "text");
  CHECK(value["h"] == json::array({"x", "y"}));
  CHECK(value["i"] == -7);
}

TEST_CASE("a malformed YAML document is an InvalidArgument, not an exception", "[sim][schema]") {
  const auto converted = YamlToJson("a: [1, 2\n");
  REQUIRE_FALSE(converted.ok());
  CHECK(converted.status().code() == base::StatusCode::kInvalidArgument);
  const auto document = OpenApiDocument::Parse("openapi: 3.1.0\npaths: {}\n");
  REQUIRE_FALSE(document.ok());
  CHECK(document.status().message().find("components.schemas") != std::string::npos);
}

TEST_CASE("the response schema of a path and method is found by its status code", "[sim][schema]") {
  const auto document = OpenApiDocument::Parse(R"(
openapi: 3.1.0
paths:
  /batches/{batch_id}:
    get:
      responses:
        "200":
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Batch"
components:
  schemas:
    Batch: {type: object}
)");
  REQUIRE(document.ok());
  const auto schema = document->ResponseSchema("/batches/{batch_id}", "get", "200");
  REQUIRE(schema.ok());
  CHECK((*schema)["$ref"] == "#/components/schemas/Batch");
  CHECK(document->ResponseSchema("/batches/{batch_id}", "post", "200").status().code() ==
        base::StatusCode::kNotFound);
  CHECK(document->component_schemas().contains("Batch"));
}

}  // namespace
}  // namespace batchlog::sim::testing
