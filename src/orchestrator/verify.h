// VerifyRun: `batchlog verify RUN_ID`, the integrity check of one run (design.md "The log",
// "Crash resumption"). It reads the whole log and checks, each independently:
//
//   density    every seq from 1 to the last is there, once, in order, and decodes
//   replay     the log folds from scratch without an impossible event
//   snapshots  every snapshot equals the from-scratch fold at its seq, and the latest
//              snapshot plus the tail (what `resume` and every read command use) equals
//              the from-scratch fold at the end
//   pairing    every outcome (FileUploaded, BatchSubmitted, SubmitRejected, BatchEnded,
//              ResultsIngested) names, in planned_seq, the seq of its batch's BatchPlanned
//   intents    a completed run has no open intent (a batch planned, submitted or ended
//              whose outcome is missing)
//   manifest   the manifest file (STORE/runs/<id>/manifest.json) equals the manifest
//              replayed at the seq it says it was generated at; a finished run's file is
//              the one at its last seq
//
// Each failure names the run, the check and the seq it concerns. Verification never writes:
// the run is opened as a RocksDB secondary, so it may be checked while it is written (the
// checks then cover the log as it was when opened).
//
// Thread-safety: a blocking call; nothing shared.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "replay/lifecycle.h"
#include "src/base/result.h"
#include "src/store/store.h"

namespace batchlog::orchestrator {

struct VerifyFailure {
  std::string check;      // "density", "replay", "snapshots", "pairing", "intents", "manifest"
  std::uint64_t seq = 0;  // the seq it concerns; 0 = none in particular
  std::string message;
};

struct VerifyReport {
  std::string run_id;
  std::uint64_t last_seq = 0;
  replay::RunStatus status = replay::RunStatus::kNotStarted;
  std::uint64_t events_read = 0;
  std::uint64_t snapshots_checked = 0;
  std::uint64_t latest_snapshot_seq = 0;  // 0 = none
  std::uint64_t outcomes_paired = 0;
  std::uint64_t payloads_checked = 0;  // blobs read back with the size their event records
  std::uint64_t manifest_seq = 0;  // generated_at_seq of the manifest file; 0 = no file
  // The log was read and folded to its last seq; when false, the checks that need the
  // whole run (replay, snapshots, pairing, intents) are reported as not checked.
  bool replay_complete = false;
  std::vector<std::string> notes;  // facts worth a line that are not failures
  std::vector<VerifyFailure> failures;
  bool ok() const { return failures.empty(); }
};

// Errors (not failures of a check): the store or the run cannot be opened (kNotFound, ...).
base::Result<VerifyReport> VerifyRun(const std::filesystem::path& store_root,
                                     std::string_view run_id,
                                     const store::StoreOptions& options = {});

// The report as a few lines: one per check ("ok" or "FAIL ... at seq N: why"), then a
// verdict line naming the run.
std::string RenderVerifyReport(const VerifyReport& report);

}  // namespace batchlog::orchestrator
