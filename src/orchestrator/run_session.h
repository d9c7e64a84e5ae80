// Starting and resuming runs: what `batchlog run` and `batchlog resume` do.
//
// StartRun validates everything before anything is recorded (the workflow file, the
// datasets, the templates against them, the provider entries and their keys), so bad
// input is refused before any request is sent. It then creates the run in the store,
// records RunStarted (the workflow file's text, its SHA-256, the seed) and runs the loop.
//
// ResumeRun reopens a stopped run for writing (a second writer is refused, naming the
// run), replays its log (snapshot + tail), rebuilds the setup from the config text that
// RunStarted recorded, and continues the loop: open intents first (design.md "Crash
// resumption"). A run that already reached a final status is left untouched.
//
// Thread-safety: blocking calls; one run per call.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "replay/projections.h"
#include "src/base/result.h"
#include "src/orchestrator/run_loop.h"
#include "src/orchestrator/run_setup.h"
#include "src/store/store.h"

namespace batchlog::orchestrator {

struct RunRequest {
  std::filesystem::path store_root;
  std::string run_id;  // StartRun: empty = "<run_name>-<UTC time>"; an existing run resumes
  RunSetupOptions setup;
  std::uint64_t seed = 0;  // jitter draws; 0 = from the system's random source
  const std::atomic<bool>* stop = nullptr;
  std::function<void(const replay::Projections&)> on_progress;
  double manifest_min_interval_s = 1.0;
  store::StoreOptions store_options;  // e.g. a fault-injecting RocksDB env in tests
  // StartRun of an existing run whose recorded workflow file differs from the given one:
  // false refuses with what changed; true records a WorkflowFileChanged and goes on with it.
  bool allow_changed_workflow = false;
  // StartRun: the providers are an emulator living in this process (`batchlog demo`);
  // recorded, so that ResumeRun refuses the run.
  bool in_process_emulator = false;
};

struct RunOutcome {
  std::string run_id;
  std::filesystem::path manifest_path;
  replay::RunStatus status = replay::RunStatus::kNotStarted;
  std::uint64_t last_seq = 0;
  bool stopped = false;  // a stop request ended the loop; the run is resumable
};

base::Result<RunOutcome> StartRun(const std::filesystem::path& workflow_path,
                                  const RunRequest& request);
base::Result<RunOutcome> ResumeRun(std::string_view run_id, const RunRequest& request);

// Creates an empty store at `store_root` unless one is there (errors as store::Store::Open).
base::Status EnsureStore(const std::filesystem::path& store_root);

// The manifest file of a run: STORE/runs/<id>/manifest.json.
std::filesystem::path ManifestPath(const std::filesystem::path& store_root,
                                   std::string_view run_id);

}  // namespace batchlog::orchestrator
