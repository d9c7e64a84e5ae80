// Cancelling a run (`batchlog cancel RUN_ID [--resumable]`) and reopening a run that was
// cancelled resumable (`batchlog resume`).
//
// CancelRun needs the run's write lock: a run another process is writing (a `batchlog run`
// or `resume` going) is refused with kFailedPrecondition naming the run, and nothing is
// cancelled. Stop that process first (SIGINT/SIGTERM stop it between two steps and leave
// the run resumable), then cancel. Then it:
//   1. asks the provider to cancel every submitted batch that has not ended (a batch
//      planned but never recorded as submitted is looked up at the provider and, when found
//      there, cancelled too — final cancel only);
//   2. polls those batches until they end (at most `wait_s`, the clock's time) and records
//      their results through the executor as usual (BatchEnded, results, ResultsIngested):
//      work the provider finished before the cancel was paid for and is kept; its cancelled
//      requests are recorded as cancelled failures;
//   3. final (default): abandons every request not yet final (RequestsAbandoned, reason
//      cancelled) and records RunCancelled{resumable: false}; a batch still cancelling after
//      `wait_s` stays open in the log, its requests abandoned. Resumable: requires every
//      cancelled batch to have ended (else kDeadlineExceeded, nothing closed; run cancel
//      again), then records RunCancelled{resumable: true};
//   4. rewrites the manifest file and meta.json.
// A resumable run continues with `batchlog resume`: ResumeRun calls ReopenIfResumable, which
// records RunResumed; the requests the cancel stopped (final, reason cancelled, in stages
// not completed) are then planned again at the same attempt (replay/lifecycle.h), so a
// cancel never uses up a retry.
//
// Thread-safety: blocking calls; one run per call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "replay/projections.h"
#include "src/base/clock.h"
#include "src/base/result.h"
#include "src/orchestrator/run_session.h"
#include "src/store/event_log.h"

namespace batchlog::orchestrator {

struct CancelOptions {
  bool resumable = false;
  std::string reason = "cancelled by the user";
  // How long to wait for cancelled batches to end at the provider (OpenAI may take minutes).
  double wait_s = 900;
  // Interval between polls of the cancelled batches.
  double poll_s = 5;
};

struct CancelOutcome {
  std::string run_id;
  std::uint32_t cancel_requests = 0;   // batches the provider was asked to cancel
  std::uint32_t batches_ingested = 0;  // batches whose results were recorded by the cancel
  std::uint32_t batches_still_open = 0;
  std::uint64_t requests_abandoned = 0;
  bool resumable = false;
  replay::RunStatus status = replay::RunStatus::kNotStarted;
  std::uint64_t last_seq = 0;
  std::filesystem::path manifest_path;
};

// `request` supplies the store, the setup options (clock, provider overrides, keys) and
// the store options; its stop flag and progress callback are not used.
base::Result<CancelOutcome> CancelRun(std::string_view run_id, const CancelOptions& options,
                                      const RunRequest& request);

// When the projections show a run cancelled resumable, records RunResumed (synced) and
// folds it into `projections`; otherwise does nothing. `log` must be open for writing.
base::Status ReopenIfResumable(store::EventLog& log, replay::Projections& projections,
                               base::Clock& clock);

}  // namespace batchlog::orchestrator
