// Dataset: the samples of a workflow's JSONL file, in file order, and ReadDataset, which
// reads and checks it (docs/workflow-file.md, "The dataset").
//
// Rules: one JSON object per line; blank lines are skipped (but counted, so line numbers
// match an editor's); a UTF-8 byte order mark at the start is skipped. Each object must
// have the id field at its top level, a non-empty string or an integer (an integer id is
// used as its decimal text, so 7 and "7" are the same id). Ids are unique. Every error
// names the file and the 1-based line, e.g. "data/math.jsonl:7: not valid JSON (...)".
//
// Ownership: a Dataset owns one buffer holding the file; each Sample::json views it. The
// views stay valid as long as the Dataset lives, moves included (the buffer never moves).
// Each Sample::json is followed by at least kPaddingBytes readable bytes inside the buffer,
// so simdjson can parse it in place.
//
// Thread-safety: immutable after construction; safe to read from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"

namespace batchlog::workflow {

struct Sample {
  std::string id;          // the id field's value (integers as decimal text)
  std::uint32_t line = 0;  // 1-based line number in the file
  std::string_view json;   // the object's JSON text, trimmed, inside the Dataset's buffer
};

class Dataset {
 public:
  // Bytes readable after every Sample::json (>= simdjson's SIMDJSON_PADDING).
  static constexpr std::size_t kPaddingBytes = 64;

  Dataset(Dataset&&) noexcept = default;
  Dataset& operator=(Dataset&&) noexcept = default;
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  // The path used in messages (as given to ReadDataset / ParseDataset).
  const std::filesystem::path& path() const { return path_; }
  const std::string& id_field() const { return id_field_; }

  std::size_t size() const { return samples_.size(); }
  const Sample& operator[](std::size_t index) const { return samples_[index]; }
  const std::vector<Sample>& samples() const { return samples_; }

  // "data/math.jsonl:7", for messages about one sample.
  std::string Where(std::size_t index) const;

  // The file's bytes as read (without the padding).
  std::string_view bytes() const { return {buffer_.get(), buffer_bytes_}; }

 private:
  friend base::Result<Dataset> ReadDataset(const std::filesystem::path&, std::string_view);
  friend base::Result<Dataset> ParseDataset(std::string_view, const std::filesystem::path&,
                                            std::string_view);
  Dataset() = default;
  // Splits and checks the buffer (bytes + kPaddingBytes zeros), taking ownership of it.
  static base::Result<Dataset> FromBuffer(std::unique_ptr<char[]> buffer, std::size_t bytes,
                                          const std::filesystem::path& path,
                                          std::string_view id_field);

  std::filesystem::path path_;
  std::string id_field_;
  std::unique_ptr<char[]> buffer_;  // file bytes + kPaddingBytes zero bytes
  std::size_t buffer_bytes_ = 0;
  std::vector<Sample> samples_;
};

// Reads `path` (JSONL). NotFound when the file cannot be opened; InvalidArgument, naming
// file and line, for a broken line, a missing or malformed id, or a duplicate id (naming
// both lines); InvalidArgument when the file holds no sample.
base::Result<Dataset> ReadDataset(const std::filesystem::path& path, std::string_view id_field);

// The same checks over text already in memory; `path_for_messages` names it in errors.
base::Result<Dataset> ParseDataset(std::string_view jsonl,
                                   const std::filesystem::path& path_for_messages,
                                   std::string_view id_field);

}  // namespace batchlog::workflow
