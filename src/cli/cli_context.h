// What every subcommand shares: the global options, and the one way a command reports an
// error (one line on stderr) and turns a Status into the process exit code.
//
// Exit codes (docs/cli.md): 0 ok; 2 usage; 3 not found (store, run, seq); 4 data loss (a
// damaged log); 5 invalid input or precondition (not a store, newer format, bad file);
// 6 unavailable or out of resources (disk full, provider down); 1 anything else.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "src/base/status.h"

namespace batchlog::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitDataLoss = 4;
inline constexpr int kExitInvalidInput = 5;
inline constexpr int kExitUnavailable = 6;
// run/resume/demo stopped by SIGINT or SIGTERM before the run ended; it is resumable
// (128 + SIGINT, as a shell reports an interrupted command).
inline constexpr int kExitStopped = 130;

struct CliContext {
  // The store directory: --store, else $BATCHLOG_STORE, else ./.batchlog.
  std::filesystem::path store = ".batchlog";
  // Set by the subcommand that ran.
  int exit_code = kExitOk;
};

int ExitCodeFor(const base::Status& status);

// Prints "batchlog: error: <message>" on one line to stderr and returns the exit code.
int ReportError(const base::Status& status);

// A usage error (exit 2), which no Status code stands for: prints "batchlog: error:
// <message> (see batchlog <command> --help)" on one line and returns kExitUsage.
int ReportUsageError(std::string_view message, const CLI::App& command);

// Reports a CLI11 parse error as ReportUsageError does. CLI11's own text is two lines and
// names the wrong thing for an unknown subcommand ("A subcommand is required"). `app` is
// the root app the error came out of. Returns kExitUsage.
int ReportParseError(const CLI::App& app, const CLI::ParseError& error);

// Refuses an empty value: `--run-id ""` is a slip, never a request for the default.
CLI::Validator NonEmpty();

// A seq: digits only. CLI11 would read "-5" into a uint64_t as 2^64 - 5.
CLI::Validator Seq();

// A point of a run's history: a seq, an RFC 3339 UTC timestamp, or `latest`.
CLI::Validator HistoryPoint();

// kUnavailable "<what>: <the OS's reason for error_number>" (an errno value).
base::Status OsError(std::string_view what, int error_number);

}  // namespace batchlog::cli
