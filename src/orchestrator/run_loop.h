// RunLoop: the orchestrator's main loop (design.md "The loop"):
//
//   while the run is not final:
//     decision = Decide(state, now)          pure
//     for each command: executor.Execute     intent synced, effect, outcome; state folded
//     write the manifest file if the log moved (rate-limited; always at stage and run end)
//     sleep until the next due time when there was nothing to do
//
// A stop request (signal) ends the loop between commands; the run stays resumable.
//
// Ownership: borrows the executor and clock. Thread-safety: one thread; `stop` may be set
// from a signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "src/base/clock.h"
#include "src/base/status.h"
#include "src/orchestrator/executor.h"

namespace batchlog::orchestrator {

struct RunLoopOptions {
  std::filesystem::path manifest_path;  // empty = no manifest file
  double manifest_min_interval_s = 1.0;
  // Longest single sleep, so a stop request is seen promptly.
  double max_sleep_s = 0.5;
  // A snapshot is written once this many events accumulated since the last one, and at
  // every stage's end.
  std::uint64_t snapshot_every_events = 200'000;
  // The seq of the snapshot the run's state was replayed from (0: none), counted as the last
  // snapshot, so a resume that folded a long tail (a kill long after the last snapshot, or
  // a snapshot of another format version) writes a new one soon and a later resume folds
  // at most about snapshot_every_events. Unset: the state's seq (a run just started).
  std::optional<std::uint64_t> replayed_from_snapshot_seq;
  const std::atomic<bool>* stop = nullptr;
  // Called after each round that changed the log (for progress output).
  std::function<void(const replay::Projections&, const Decision&)> on_round;
  // Called after each manifest file write (so at most once per manifest_min_interval_s
  // while the run goes), e.g. to refresh the run's meta.json for `batchlog runs`.
  std::function<void(const replay::Projections&)> on_manifest_written;
};

// Runs until the run is final (OK), a stop was requested (kCancelled), or an error stops it.
base::Status RunUntilDone(Executor& executor, const std::vector<StagePolicy>& policies,
                          base::Clock& clock, const RunLoopOptions& options);

}  // namespace batchlog::orchestrator
