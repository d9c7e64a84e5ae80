#include "tests/sim/json_schema_validator.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

namespace batchlog::sim::testing {
namespace {

using nlohmann::json;

// Deep enough for any real schema; only a $ref cycle that consumes no input reaches it.
constexpr int kDepthMax = 64;
// How many violations of each failed anyOf/oneOf alternative a message quotes.
constexpr std::size_t kAlternativeViolationsQuoted = 3;

constexpr std::string_view kAnnotationKeywords[] = {
    "description", "title",    "example",   "examples",      "format",       "deprecated",
    "default",     "readOnly", "writeOnly", "discriminator", "externalDocs", "$comment"};

constexpr std::string_view kSupportedKeywords[] = {
    "type",      "nullable", "properties", "required", "additionalProperties",
    "items",     "enum",     "const",      "$ref",     "anyOf",
    "oneOf",     "allOf",    "minimum",    "maximum",  "minLength",
    "maxLength", "minItems", "maxItems"};

bool Contains(const auto& list, std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  const auto is_start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!is_start(key.front())) return false;
  return std::all_of(key.begin(), key.end(),
                     [&](char c) { return is_start(c) || (c >= '0' && c <= '9'); });
}

std::string MemberPath(const std::string& path, std::string_view key) {
  if (IsIdentifier(key)) return path + "." + std::string(key);
  return path + "[" + json(std::string(key)).dump() + "]";
}

std::string ElementPath(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

bool IsIntegral(const json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double number = value.get<double>();
  return std::isfinite(number) && std::trunc(number) == number;
}

// The JSON type of a value in schema vocabulary ("integer" for integral numbers).
std::string_view TypeOf(const json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "boolean";
  if (value.is_object()) return "object";
  if (value.is_array()) return "array";
  if (value.is_string()) return "string";
  return IsIntegral(value) ? "integer" : "number";
}

bool MatchesType(const json& value, std::string_view type) {
  if (type == "number") return value.is_number();
  if (type == "integer") return IsIntegral(value);
  return TypeOf(value) == type;
}

bool IsKnownType(std::string_view type) {
  constexpr std::string_view kTypes[] = {"null",   "boolean", "object", "array",
                                         "string", "number",  "integer"};
  return Contains(kTypes, type);
}

// Length in Unicode code points, as JSON schema counts it: UTF-8 continuation bytes do not
// start a code point.
std::size_t CodePointCount(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string Shorten(const json& value) {
  std::string text = value.dump();
  constexpr std::size_t kQuotedMax = 80;
  if (text.size() > kQuotedMax) text = text.substr(0, kQuotedMax) + "...";
  return text;
}

void Add(std::vector<SchemaViolation>& violations, const std::string& path, std::string message) {
  violations.push_back(SchemaViolation{path, std::move(message)});
}

}  // namespace

std::string FormatViolations(const std::vector<SchemaViolation>& violations) {
  std::string text;
  for (const SchemaViolation& violation : violations) {
    text += violation.path + ": " + violation.message + "\n";
  }
  return text;
}

JsonSchemaValidator::JsonSchemaValidator(nlohmann::json component_schemas,
                                         SchemaValidatorOptions options)
    : component_schemas_(std::move(component_schemas)), options_(options) {}

std::vector<SchemaViolation> JsonSchemaValidator::ValidateNamed(const nlohmann::json& instance,
                                                                std::string_view name) const {
  return Validate(instance, json{{"$ref", "#/components/schemas/" + std::string(name)}});
}

std::vector<SchemaViolation> JsonSchemaValidator::Validate(const nlohmann::json& instance,
                                                           const nlohmann::json& schema) const {
  std::vector<SchemaViolation> violations;
  ValidateAt(instance, schema, "$", 0, /*open=*/false, violations);
  return violations;
}

const nlohmann::json* JsonSchemaValidator::Resolve(std::string_view ref) const {
  constexpr std::string_view kPrefix = "#/components/schemas/";
  if (ref.substr(0, kPrefix.size()) != kPrefix) return nullptr;
  const std::string name(ref.substr(kPrefix.size()));
  if (!component_schemas_.is_object()) return nullptr;
  const auto it = component_schemas_.find(name);
  return it == component_schemas_.end() ? nullptr : &*it;
}

void JsonSchemaValidator::CollectDeclaredProperties(const nlohmann::json& schema, int depth,
                                                    std::vector<std::string>& names) const {
  if (!schema.is_object() || depth > kDepthMax) return;
  if (const auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
    if (const json* target = Resolve(ref->get<std::string>())) {
      CollectDeclaredProperties(*target, depth + 1, names);
    }
  }
  if (const auto properties = schema.find("properties");
      properties != schema.end() && properties->is_object()) {
    for (const auto& [name, unused] : properties->items()) names.push_back(name);
  }
  if (const auto all_of = schema.find("allOf"); all_of != schema.end() && all_of->is_array()) {
    for (const json& member : *all_of) CollectDeclaredProperties(member, depth + 1, names);
  }
}

void JsonSchemaValidator::ValidateAt(const nlohmann::json& instance, const nlohmann::json& schema,
                                     const std::string& path, int depth, bool open,
                                     std::vector<SchemaViolation>& violations) const {
  if (depth > kDepthMax) {
    Add(violations, path,
        "schema nesting deeper than " + std::to_string(kDepthMax) + " (a $ref cycle?)");
    return;
  }
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) Add(violations, path, "the schema `false` admits no value");
    return;
  }
  if (!schema.is_object()) {
    Add(violations, path, "malformed schema (not an object): " + Shorten(schema));
    return;
  }
  for (const auto& [keyword, unused] : schema.items()) {
    if (keyword.rfind("x-", 0) == 0 || Contains(kAnnotationKeywords, keyword) ||
        Contains(kSupportedKeywords, keyword)) {
      continue;
    }
    Add(violations, path, "unsupported schema keyword '" + keyword + "'");
  }

  // OpenAPI 3.0 `nullable: true` adds null to whatever the rest of the schema admits.
  if (instance.is_null() && schema.value("nullable", false)) return;

  if (const auto ref = schema.find("$ref"); ref != schema.end()) {
    const json* target = ref->is_string() ? Resolve(ref->get<std::string>()) : nullptr;
    if (target == nullptr) {
      Add(violations, path, "unresolvable $ref " + Shorten(*ref));
    } else {
      ValidateAt(instance, *target, path, depth + 1, open, violations);
    }
  }

  if (const auto type = schema.find("type"); type != schema.end()) {
    std::vector<std::string> types;
    if (type->is_string()) {
      types.push_back(type->get<std::string>());
    } else if (type->is_array()) {
      for (const json& name : *type) {
        if (name.is_string()) types.push_back(name.get<std::string>());
      }
    }
    if (types.empty()) {
      Add(violations, path, "malformed `type`: " + Shorten(*type));
      return;
    }
    bool matched = false;
    std::string expected;
    for (const std::string& name : types) {
      if (!IsKnownType(name)) Add(violations, path, "unknown type name '" + name + "'");
      matched = matched || MatchesType(instance, name);
      expected += (expected.empty() ? "" : " or ") + name;
    }
    if (!matched) {
      // The remaining keywords would only restate the mismatch.
      Add(violations, path,
          "expected " + expected + ", got " + std::string(TypeOf(instance)) + " " +
              Shorten(instance));
      return;
    }
  }

  if (const auto values = schema.find("enum"); values != schema.end()) {
    const bool listed =
        values->is_array() && std::find(values->begin(), values->end(), instance) != values->end();
    if (!listed) {
      Add(violations, path, "value " + Shorten(instance) + " is not one of " + Shorten(*values));
    }
  }
  if (const auto constant = schema.find("const");
      constant != schema.end() && *constant != instance) {
    Add(violations, path,
        "value " + Shorten(instance) + " is not the constant " + Shorten(*constant));
  }

  if (instance.is_number()) {
    const double number = instance.get<double>();
    if (const auto minimum = schema.find("minimum");
        minimum != schema.end() && minimum->is_number() && number < minimum->get<double>()) {
      Add(violations, path, Shorten(instance) + " is below the minimum " + Shorten(*minimum));
    }
    if (const auto maximum = schema.find("maximum");
        maximum != schema.end() && maximum->is_number() && number > maximum->get<double>()) {
      Add(violations, path, Shorten(instance) + " is above the maximum " + Shorten(*maximum));
    }
  }
  if (instance.is_string()) {
    const std::size_t length = CodePointCount(instance.get<std::string>());
    if (const auto min_length = schema.find("minLength"); min_length != schema.end() &&
                                                          min_length->is_number_unsigned() &&
                                                          length < min_length->get<std::size_t>()) {
      Add(violations, path, "string shorter than minLength " + Shorten(*min_length));
    }
    if (const auto max_length = schema.find("maxLength"); max_length != schema.end() &&
                                                          max_length->is_number_unsigned() &&
                                                          length > max_length->get<std::size_t>()) {
      Add(violations, path, "string longer than maxLength " + Shorten(*max_length));
    }
  }
  if (instance.is_array()) {
    if (const auto min_items = schema.find("minItems");
        min_items != schema.end() && min_items->is_number_unsigned() &&
        instance.size() < min_items->get<std::size_t>()) {
      Add(violations, path, "array has fewer than minItems " + Shorten(*min_items));
    }
    if (const auto max_items = schema.find("maxItems");
        max_items != schema.end() && max_items->is_number_unsigned() &&
        instance.size() > max_items->get<std::size_t>()) {
      Add(violations, path, "array has more than maxItems " + Shorten(*max_items));
    }
    if (const auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < instance.size(); ++i) {
        ValidateAt(instance[i], *items, ElementPath(path, i), depth + 1, /*open=*/false,
                   violations);
      }
    }
  }
  if (instance.is_object()) ValidateObject(instance, schema, path, depth, open, violations);
  ValidateAlternatives(instance, schema, path, depth, violations);
}

void JsonSchemaValidator::ValidateObject(const nlohmann::json& instance,
                                         const nlohmann::json& schema, const std::string& path,
                                         int depth, bool open,
                                         std::vector<SchemaViolation>& violations) const {
  std::vector<std::string> required;
  if (const auto names = schema.find("required"); names != schema.end() && names->is_array()) {
    for (const json& name : *names) {
      if (!name.is_string()) continue;
      required.push_back(name.get<std::string>());
      if (!instance.contains(required.back())) {
        Add(violations, path, "missing required property '" + required.back() + "'");
      }
    }
  }

  const auto properties = schema.find("properties");
  const bool has_properties = properties != schema.end() && properties->is_object();
  if (has_properties) {
    for (const auto& [name, property_schema] : properties->items()) {
      const auto value = instance.find(name);
      if (value == instance.end()) continue;
      if (value->is_null() && options_.null_allowed_for_optional_properties &&
          !Contains(required, name)) {
        continue;
      }
      ValidateAt(*value, property_schema, MemberPath(path, name), depth + 1, /*open=*/false,
                 violations);
    }
  }

  const auto additional = schema.find("additionalProperties");
  const bool closed_by_option = additional == schema.end() && !open &&
                                options_.reject_unknown_properties &&
                                (has_properties || schema.contains("allOf"));
  if (additional == schema.end() && !closed_by_option) return;
  if (additional != schema.end() && additional->is_boolean() && additional->get<bool>()) return;

  std::vector<std::string> declared;
  CollectDeclaredProperties(schema, depth, declared);
  for (const auto& [name, value] : instance.items()) {
    if (Contains(declared, name)) continue;
    if (additional != schema.end() && additional->is_object()) {
      ValidateAt(value, *additional, MemberPath(path, name), depth + 1, /*open=*/false, violations);
    } else {
      Add(violations, MemberPath(path, name), "property not declared by the schema");
    }
  }
}

void JsonSchemaValidator::ValidateAlternatives(const nlohmann::json& instance,
                                               const nlohmann::json& schema,
                                               const std::string& path, int depth,
                                               std::vector<SchemaViolation>& violations) const {
  if (const auto all_of = schema.find("allOf"); all_of != schema.end()) {
    if (!all_of->is_array()) {
      Add(violations, path, "malformed allOf (not an array)");
    } else {
      // Members are open: the schema holding the allOf closes the union of their properties.
      for (const json& member : *all_of) {
        ValidateAt(instance, member, path, depth + 1, /*open=*/true, violations);
      }
    }
  }
  for (const std::string_view keyword : {std::string_view("anyOf"), std::string_view("oneOf")}) {
    const auto alternatives = schema.find(std::string(keyword));
    if (alternatives == schema.end()) continue;
    if (!alternatives->is_array() || alternatives->empty()) {
      Add(violations, path, "malformed " + std::string(keyword) + " (not a non-empty array)");
      continue;
    }
    std::size_t matches = 0;
    std::string reasons;
    for (std::size_t i = 0; i < alternatives->size(); ++i) {
      std::vector<SchemaViolation> sub;
      ValidateAt(instance, (*alternatives)[i], path, depth + 1, /*open=*/false, sub);
      if (sub.empty()) {
        ++matches;
        continue;
      }
      reasons += " [#" + std::to_string(i) + ":";
      for (std::size_t j = 0; j < sub.size() && j < kAlternativeViolationsQuoted; ++j) {
        reasons += " " + sub[j].path + ": " + sub[j].message + ";";
      }
      reasons += "]";
    }
    if (matches == 0) {
      Add(violations, path,
          "matches none of the " + std::to_string(alternatives->size()) + " " +
              std::string(keyword) + " alternatives:" + reasons);
    } else if (keyword == "oneOf" && matches > 1) {
      Add(violations, path,
          "matches " + std::to_string(matches) + " oneOf alternatives, exactly one allowed");
    }
  }
}

}  // namespace batchlog::sim::testing
