#include "src/workflow/dataset_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <simdjson.h>

#include "src/workflow/duplicate_finder.h"

namespace batchlog::workflow {
namespace {

static_assert(Dataset::kPaddingBytes >= simdjson::SIMDJSON_PADDING,
              "samples are parsed in place, which needs simdjson's padding after them");

base::Status LineError(const std::filesystem::path& path, std::uint64_t line,
                       std::string_view message) {
  return base::InvalidArgumentError(path.string() + ":" + std::to_string(line) + ": " +
                                    std::string(message));
}

std::string_view TypeName(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY:
      return "an array";
    case simdjson::dom::element_type::OBJECT:
      return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
      return "an integer";
    case simdjson::dom::element_type::DOUBLE:
      return "a non-integer number";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "an unknown value";
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

std::string Dataset::Where(std::size_t index) const {
  return path_.string() + ":" + std::to_string(samples_[index].line);
}

base::Result<Dataset> Dataset::FromBuffer(std::unique_ptr<char[]> buffer, std::size_t bytes,
                                          const std::filesystem::path& path,
                                          std::string_view id_field) {
  if (id_field.empty()) return base::InvalidArgumentError("id_field must not be empty");
  Dataset dataset;
  dataset.path_ = path;
  dataset.id_field_ = std::string(id_field);
  dataset.buffer_ = std::move(buffer);
  dataset.buffer_bytes_ = bytes;

  const char* const data = dataset.buffer_.get();
  std::size_t position = 0;
  if (bytes >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) position = 3;

  // One DOM parse per line: it validates the whole line (a lazy On-Demand pass would not
  // notice damage after the id), and maps every error to its line number for free.
  // One pass over the bytes to size the vector beats regrowing it a million times.
  dataset.samples_.reserve(static_cast<std::size_t>(std::count(data, data + bytes, '\n')) + 1);
  simdjson::dom::parser parser;
  std::uint64_t line = 0;
  while (position < bytes) {
    ++line;
    const void* newline = std::memchr(data + position, '\n', bytes - position);
    const std::size_t end =
        newline == nullptr ? bytes
                           : static_cast<std::size_t>(static_cast<const char*>(newline) - data);
    std::size_t begin = position;
    std::size_t stop = end;
    position = end + 1;
    while (begin < stop && IsBlank(data[begin])) ++begin;
    while (stop > begin && IsBlank(data[stop - 1])) --stop;
    if (begin == stop) continue;
    if (line > UINT32_MAX) return LineError(path, line, "too many lines (more than 2^32)");

    simdjson::dom::element document;
    if (const auto error = parser.parse(data + begin, stop - begin, false).get(document)) {
      if (error == simdjson::NUMBER_ERROR || error == simdjson::NUMBER_OUT_OF_RANGE) {
        return LineError(path, line,
                         "not valid JSON, or a number batchlog cannot read: integers must fit "
                         "in 64 bits and other numbers in a double; write such a number as a "
                         "string (" + std::string(simdjson::error_message(error)) + ")");
      }
      return LineError(path, line,
                       std::string("not valid JSON (") + simdjson::error_message(error) + ")");
    }
    simdjson::dom::object object;
    if (document.get_object().get(object) != simdjson::SUCCESS) {
      return LineError(
          path, line,
          "expected one JSON object per line, got " + std::string(TypeName(document.type())));
    }
    simdjson::dom::element id_value;
    if (object.at_key(id_field).get(id_value) != simdjson::SUCCESS) {
      return LineError(path, line, "no id field '" + dataset.id_field_ + "'");
    }
    Sample sample;
    sample.line = static_cast<std::uint32_t>(line);
    sample.json = std::string_view(data + begin, stop - begin);
    switch (id_value.type()) {
      case simdjson::dom::element_type::STRING:
        sample.id = std::string(id_value.get_string().value_unsafe());
        if (sample.id.empty()) {
          return LineError(path, line, "id field '" + dataset.id_field_ + "' is empty");
        }
        break;
      case simdjson::dom::element_type::INT64:
        sample.id = std::to_string(id_value.get_int64().value_unsafe());
        break;
      case simdjson::dom::element_type::UINT64:
        sample.id = std::to_string(id_value.get_uint64().value_unsafe());
        break;
      default:
        return LineError(path, line,
                         "id field '" + dataset.id_field_ +
                             "' must be a string or an integer, got " +
                             std::string(TypeName(id_value.type())));
    }
    dataset.samples_.push_back(std::move(sample));
  }
  if (dataset.samples_.empty()) {
    return base::InvalidArgumentError(path.string() + ": the dataset holds no sample");
  }

  const auto duplicate = FindFirstDuplicate(
      dataset.samples_.size(),
      [&](std::size_t index, std::string& out) { out.assign(dataset.samples_[index].id); });
  if (duplicate.has_value()) {
    const Sample& first = dataset.samples_[duplicate->first];
    const Sample& second = dataset.samples_[duplicate->second];
    return LineError(
        path, second.line,
        "duplicate id '" + second.id + "' (first at line " + std::to_string(first.line) + ")");
  }
  return dataset;
}

base::Result<Dataset> ReadDataset(const std::filesystem::path& path, std::string_view id_field) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int open_errno = errno;
    std::string message =
        path.string() + ": cannot open the dataset (" + std::strerror(open_errno) + ")";
    // Missing: not found; there but unreadable (permissions): invalid input, like a bad file.
    if (open_errno == ENOENT) return base::NotFoundError(std::move(message));
    return base::InvalidArgumentError(std::move(message));
  }
  std::string error;
  std::unique_ptr<char[]> buffer;
  std::size_t bytes = 0;
  if (std::fseek(file, 0, SEEK_END) != 0) {
    error = "cannot seek";
  } else {
    const long size = std::ftell(file);
    if (size < 0 || std::fseek(file, 0, SEEK_SET) != 0) {
      error = "cannot size";
    } else {
      bytes = static_cast<std::size_t>(size);
      buffer = std::make_unique_for_overwrite<char[]>(bytes + Dataset::kPaddingBytes);
      std::memset(buffer.get() + bytes, 0, Dataset::kPaddingBytes);
      if (bytes > 0 && std::fread(buffer.get(), 1, bytes, file) != bytes) error = "short read";
    }
  }
  std::fclose(file);
  if (!error.empty()) {
    return base::UnavailableError(path.string() + ": cannot read the dataset (" + error + ")");
  }
  return Dataset::FromBuffer(std::move(buffer), bytes, path, id_field);
}

base::Result<Dataset> ParseDataset(std::string_view jsonl,
                                   const std::filesystem::path& path_for_messages,
                                   std::string_view id_field) {
  auto buffer = std::make_unique_for_overwrite<char[]>(jsonl.size() + Dataset::kPaddingBytes);
  if (!jsonl.empty()) std::memcpy(buffer.get(), jsonl.data(), jsonl.size());
  std::memset(buffer.get() + jsonl.size(), 0, Dataset::kPaddingBytes);
  return Dataset::FromBuffer(std::move(buffer), jsonl.size(), path_for_messages, id_field);
}

}  // namespace batchlog::workflow
