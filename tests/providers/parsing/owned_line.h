// OwnedLine: a ResultLine with owned strings, kept after the parser's callback returns
// (tests of src/providers/results_parser.h and results_line_scanner.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "src/providers/result_line.h"

namespace batchlog::providers {

struct OwnedLine {
  std::string custom_id;
  ResultOutcome outcome = ResultOutcome::kResponded;
  int http_status = 0;
  std::string body;
  std::string error_type;
  std::string error_code;
  std::string error_message;
  std::string finish_reason;
  TokenUsage usage;
  std::uint64_t line_number = 0;
  bool operator==(const OwnedLine&) const = default;
};

inline OwnedLine Own(const ResultLine& line) {
  return OwnedLine{std::string(line.custom_id),
                   line.outcome,
                   line.http_status,
                   std::string(line.body),
                   std::string(line.error_type),
                   std::string(line.error_code),
                   std::string(line.error_message),
                   std::string(line.finish_reason),
                   line.usage,
                   line.line_number};
}

// For Catch2's messages when two lines differ.
inline std::ostream& operator<<(std::ostream& out, const OwnedLine& line) {
  return out << "{custom_id=" << line.custom_id << " outcome=" << static_cast<int>(line.outcome)
             << " http_status=" << line.http_status << " body=" << line.body
             << " error_type=" << line.error_type << " error_code=" << line.error_code
             << " error_message=" << line.error_message << " finish_reason=" << line.finish_reason
             << " usage={" << line.usage.input_tokens << "," << line.usage.output_tokens << ","
             << line.usage.cached_input_tokens << "," << line.usage.cache_write_input_tokens
             << "} line=" << line.line_number << "}";
}

}  // namespace batchlog::providers
