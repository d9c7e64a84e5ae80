#include "src/cli/cli_context.h"

#include <cstdio>

namespace batchlog::cli {

int ExitCodeFor(const base::Status& status) {
  using base::StatusCode;
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kDataLoss:
      return kExitDataLoss;
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAlreadyExists:
      return kExitInvalidInput;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kDeadlineExceeded:
      return kExitUnavailable;
    case StatusCode::kAborted:
    case StatusCode::kCancelled:
    case StatusCode::kUnimplemented:
    case StatusCode::kInternal:
    case StatusCode::kOutcomeUnknown:
      return kExitFailure;
  }
  return kExitFailure;
}

int ReportError(const base::Status& status) {
  // One line: a message that spans lines would break scripts that read stderr line-wise.
  std::string line = status.message();
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "batchlog: error: %s\n", line.c_str());
  return ExitCodeFor(status);
}

}  // namespace batchlog::cli
