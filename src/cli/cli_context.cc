#include "src/cli/cli_context.h"

#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

#include "src/orchestrator/time_travel.h"

namespace batchlog::cli {
namespace {

// One line: a message that spans lines would break scripts that read stderr line-wise.
void PrintErrorLine(std::string line) {
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "batchlog: error: %s\n", line.c_str());
}

// "batchlog events" for the events subcommand; the root's own name is argv[0].
std::string CommandPath(const CLI::App& command) {
  const CLI::App* parent = command.get_parent();
  if (parent == nullptr) return "batchlog";
  return CommandPath(*parent) + " " + command.get_name();
}

// The deepest command the parse got to: the one whose --help explains what went wrong.
// (What a subcommand does not know falls through to the top level, so that --store works
// after it; the error still concerns the command the user typed.)
const CLI::App& CommandAtFault(const CLI::App& app) {
  const std::vector<CLI::App*> parsed = app.get_subcommands();
  return parsed.empty() ? app : CommandAtFault(*parsed.back());
}

// Digits only: CLI11 would read "-5" into a uint64_t as 2^64 - 5.
bool IsSeqText(const std::string& value) {
  return !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
}

// "unknown option '--bogus'", "unexpected argument 'x'", or all of them when several.
std::string DescribeExtras(const std::vector<std::string>& extras) {
  if (extras.size() == 1) {
    const std::string& extra = extras.front();
    return (extra.starts_with("-") ? "unknown option '" : "unexpected argument '") + extra + "'";
  }
  std::string text = "unexpected arguments";
  for (std::size_t i = 0; i < extras.size(); ++i) {
    text += (i == 0 ? " '" : ", '") + extras[i] + "'";
  }
  return text;
}

}  // namespace

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
  PrintErrorLine(status.message());
  return ExitCodeFor(status);
}

int ReportUsageError(std::string_view message, const CLI::App& command) {
  PrintErrorLine(std::string(message) + " (see " + CommandPath(command) + " --help)");
  return kExitUsage;
}

int ReportParseError(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App& command = CommandAtFault(app);
  const std::vector<std::string> extras = app.remaining(/*recurse=*/true);
  // No subcommand parsed: the first word left over is what the user took for one.
  if (app.get_subcommands().empty() && dynamic_cast<const CLI::RequiredError*>(&error)) {
    if (extras.empty()) return ReportUsageError("a subcommand is required", command);
    const std::string& first = extras.front();
    return ReportUsageError(first.starts_with("-") ? "unknown option '" + first + "'"
                                                   : "unknown subcommand '" + first + "'",
                            command);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&error) && !extras.empty()) {
    return ReportUsageError(DescribeExtras(extras), command);
  }
  return ReportUsageError(error.what(), command);
}

CLI::Validator NonEmpty() {
  return CLI::Validator(
      [](const std::string& value) {
        return value.empty() ? std::string("must not be empty") : std::string();
      },
      "");
}

CLI::Validator Seq() {
  return CLI::Validator(
      [](const std::string& value) {
        return IsSeqText(value) ? std::string()
                                : "must be a seq (a whole number, 0 or more), not '" + value + "'";
      },
      "");
}

CLI::Validator HistoryPoint() {
  return CLI::Validator(
      [](const std::string& value) {
        if (IsSeqText(value) || value == "latest" || orchestrator::ParseTimestamp(value)) {
          return std::string();
        }
        return "must be a seq (a whole number, 0 or more), an RFC 3339 UTC timestamp (e.g. "
               "2026-11-28T17:30:00Z) or `latest`, not '" + value + "'";
      },
      "");
}

base::Status OsError(std::string_view what, int error_number) {
  return base::UnavailableError(std::string(what) + ": " +
                                std::generic_category().message(error_number));
}

}  // namespace batchlog::cli
