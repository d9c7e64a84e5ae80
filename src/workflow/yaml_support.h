// Helpers for reading the workflow file with yaml-cpp: located errors, checked mappings,
// typed scalars, and the YAML 1.2 core-schema resolution of plain scalars used when a body
// mapping becomes JSON. Private to src/workflow (the orchestrator never sees yaml-cpp).
//
// Every error reads "file:line:col: key.path: what" with 1-based line and column.
// yaml-cpp gives a null value (an empty `key:`) the mark of whatever follows it, so errors
// about a null value point at its key instead.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "src/base/result.h"
#include "src/base/status.h"

namespace batchlog::workflow::yaml {

// The file being read, for messages.
class Source {
 public:
  explicit Source(std::string file) : file_(std::move(file)) {}

  // "file:line:col".
  std::string Where(const YAML::Mark& mark) const;
  // "file:line:col: path: message" (or "file:line:col: message" when path is empty).
  base::Status Error(const YAML::Mark& mark, std::string_view path, std::string_view message) const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
  // The value's mark, or the key's when the value is null.
  YAML::Mark ValueMark() const;
};

// A mapping whose keys were checked: scalars, unique, and (when `allowed` is not empty)
// among the allowed names.
class Mapping {
 public:
  // `node` must be a mapping; `mark` and `path` name it in messages.
  static base::Result<Mapping> Open(const Source& source, const YAML::Node& node,
                                    const YAML::Mark& mark, std::string path,
                                    std::span<const std::string_view> allowed);

  const Entry* Find(std::string_view key) const;
  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& path() const { return path_; }
  // path + "." + key (or just key at the top level).
  std::string PathOf(std::string_view key) const;

 private:
  std::string path_;
  std::vector<Entry> entries_;
};

// Typed reads of one entry's value. `path` is the value's key path.
base::Result<std::string> ReadString(const Source& source, const Entry& entry,
                                     const std::string& path);
// A finite number; integers and decimals, with optional sign and exponent.
base::Result<double> ReadNumber(const Source& source, const Entry& entry, const std::string& path);
// A whole number in [minimum, maximum].
base::Result<std::uint64_t> ReadUnsigned(const Source& source, const Entry& entry,
                                         const std::string& path, std::uint64_t minimum,
                                         std::uint64_t maximum);

struct ListItem {
  std::string text;
  YAML::Mark mark;
};
// A sequence of scalars (e.g. variants, error codes); each non-empty.
base::Result<std::vector<ListItem>> ReadStringList(const Source& source, const Entry& entry,
                                                   const std::string& path);

// How a plain (unquoted, untagged) scalar resolves under the YAML 1.2 core schema.
enum class PlainType : std::uint8_t { kString, kNull, kBool, kInteger, kFloat, kNonFinite };
struct ResolvedPlain {
  PlainType type = PlainType::kString;
  std::string json;  // the JSON text for kNull/kBool/kInteger/kFloat, normalized
};
ResolvedPlain ResolvePlainScalar(std::string_view text);

// "a sequence", "a mapping", "a scalar", "null": for "expected X, got Y" messages.
std::string_view NodeTypeName(const YAML::Node& node);

}  // namespace batchlog::workflow::yaml
