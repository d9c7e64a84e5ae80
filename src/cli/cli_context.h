// What every subcommand shares: the global options, and the one way a command reports an
// error (one line on stderr) and turns a Status into the process exit code.
//
// Exit codes (docs/cli.md): 0 ok; 2 usage; 3 not found (store, run, seq); 4 data loss (a
// damaged log); 5 invalid input or precondition (not a store, newer format, bad file);
// 6 unavailable or out of resources (disk full, provider down); 1 anything else.
#pragma once

#include <filesystem>
#include <string>

#include "src/base/status.h"

namespace batchlog::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitDataLoss = 4;
inline constexpr int kExitInvalidInput = 5;
inline constexpr int kExitUnavailable = 6;

struct CliContext {
  // The store directory: --store, else $BATCHLOG_STORE, else ./.batchlog.
  std::filesystem::path store = ".batchlog";
  // Set by the subcommand that ran.
  int exit_code = kExitOk;
};

int ExitCodeFor(const base::Status& status);

// Prints "batchlog: error: <message>" on one line to stderr and returns the exit code.
int ReportError(const base::Status& status);

}  // namespace batchlog::cli
