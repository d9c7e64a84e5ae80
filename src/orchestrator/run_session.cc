#include "src/orchestrator/run_session.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

#include "replay/manifest_projection.h"
#include "src/base/random.h"
#include "src/orchestrator/cancel.h"
#include "src/orchestrator/dataset_digests.h"
#include "src/orchestrator/line_diff.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/manifest_file.h"
#include "src/orchestrator/run_started.h"
#include "src/store/store.h"

namespace batchlog::orchestrator {
namespace {

std::string DefaultRunId(std::string_view run_name, base::Timestamp now) {
  const std::time_t seconds = static_cast<std::time_t>(base::ToUnixMicros(now) / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);
  std::string id;
  for (const char c : run_name.substr(0, 40)) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    id.push_back(safe ? c : '-');
  }
  if (id.empty() || id.front() == '.') id.insert(id.begin(), 'r');
  return id + "-" + stamp;
}

// A positive whole number from the environment; nullopt when unset or not one.
std::optional<std::uint64_t> PositiveEnv(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return std::nullopt;
  std::uint64_t value = 0;
  const char* end = text + std::strlen(text);
  const auto [last, error] = std::from_chars(text, end, value);
  if (error != std::errc() || last != end || value == 0) return std::nullopt;
  return value;
}

std::unique_ptr<base::Random> MakeRandom(std::uint64_t seed) {
  if (seed == 0) return std::make_unique<base::SystemRandom>();
  return std::make_unique<base::SeededRandom>(seed);
}

// `replayed_from_snapshot_seq`: the snapshot `projections` were replayed from, when they were
// (RunLoopOptions); unset for a run just started.
base::Result<RunOutcome> Drive(store::Store& store, std::unique_ptr<store::EventLog> log,
                               replay::Projections projections, std::unique_ptr<RunSetup> setup,
                               const RunRequest& request, std::uint64_t seed,
                               std::optional<std::uint64_t> replayed_from_snapshot_seq) {
  RunOutcome outcome;
  outcome.run_id = log->run_id();
  outcome.manifest_path = ManifestPath(store.root(), outcome.run_id);
  std::unique_ptr<base::Random> random = MakeRandom(seed);
  ExecutorDeps deps =
      setup->MakeExecutorDeps(*log, projections, *random, store.RunDir(outcome.run_id) / "spool");
  RunLoopOptions loop;
  loop.replayed_from_snapshot_seq = replayed_from_snapshot_seq;
  // Test knobs (docs/operations.md "Kill points"): small steps and frequent snapshots let
  // the crash suite reach the mid-ingest, plan-requests-step and snapshot kill points on
  // a small run.
  if (const auto events = PositiveEnv("BATCHLOG_EVENTS_PER_STEP")) {
    deps.events_per_step = *events;
  }
  if (const auto every = PositiveEnv("BATCHLOG_SNAPSHOT_EVERY")) {
    loop.snapshot_every_events = *every;
  }
  Executor executor(std::move(deps));
  loop.manifest_path = outcome.manifest_path;
  loop.manifest_min_interval_s = request.manifest_min_interval_s;
  loop.stop = request.stop;
  if (request.on_progress) {
    loop.on_round = [&](const replay::Projections& p, const Decision&) { request.on_progress(p); };
  }
  // meta.json: the small facts `batchlog runs` lists without opening the log, refreshed
  // with the manifest file while the run goes and once more at its end.
  auto metadata = store.ReadRunMetadata(outcome.run_id);
  const auto refresh_metadata = [&](const replay::Projections& now) {
    if (!metadata.ok()) return;
    metadata->status = std::string(replay::RunStatusName(now.run_state.lifecycle.run_status));
    metadata->last_seq = now.last_seq;
    metadata->synced_seq = log->synced_seq();
    metadata->updated_at_unix_us = base::ToUnixMicros(request.setup.clock->Now());
    store.WriteRunMetadata(*metadata).IgnoreError();  // informational only
  };
  loop.on_manifest_written = refresh_metadata;
  const base::Status status = RunUntilDone(executor, setup->policies(), *request.setup.clock, loop);
  outcome.status = executor.projections().run_state.lifecycle.run_status;
  outcome.last_seq = executor.projections().last_seq;
  refresh_metadata(executor.projections());
  // After a failed write RocksDB refuses (or, in an assertion-enabled build, aborts on)
  // any further sync: flush only a log that is healthy.
  if (status.ok() || status.code() == base::StatusCode::kCancelled) {
    BATCHLOG_RETURN_IF_ERROR(log->Flush());
  }
  if (status.code() == base::StatusCode::kCancelled) {
    outcome.stopped = true;
    return outcome;
  }
  BATCHLOG_RETURN_IF_ERROR(status);
  return outcome;
}

// The workflow file a run goes on with: the text of RunStarted, or of the latest
// WorkflowFileChanged (RunState::config_seq).
struct RecordedConfig {
  std::string path;
  std::string text;
  std::string sha256;
};

// The event at `seq`, which the caller knows must be there (it holds the run's `what`).
base::Result<events::v1::Event> ReadEventAt(const store::EventLog& log, std::uint64_t seq,
                                            std::string_view what) {
  auto reader = log.NewReader({.from_seq = seq, .to_seq = seq});
  if (reader->Next()) return reader->event();
  if (!reader->status().ok()) return reader->status();
  return base::DataLossError("run '" + log.run_id() + "': no event at seq " +
                             std::to_string(seq) + ", which holds its " + std::string(what));
}

// The workflow file an event records (a RunStarted or a WorkflowFileChanged).
base::Result<RecordedConfig> RecordedConfigOf(const store::EventLog& log,
                                              const events::v1::Event& event) {
  if (event.has_run_started()) {
    const events::v1::RunStarted& started = event.run_started();
    return RecordedConfig{started.config_path(), started.config_text(), started.config_sha256()};
  }
  if (event.has_workflow_file_changed()) {
    const events::v1::WorkflowFileChanged& changed = event.workflow_file_changed();
    return RecordedConfig{changed.config_path(), changed.config_text(), changed.config_sha256()};
  }
  return base::DataLossError("run '" + log.run_id() + "': seq " + std::to_string(event.seq()) +
                             " is neither RunStarted nor WorkflowFileChanged");
}

// The workflow file recorded at `seq` (a RunStarted or a WorkflowFileChanged).
base::Result<RecordedConfig> ReadRecordedConfigAt(const store::EventLog& log, std::uint64_t seq) {
  BATCHLOG_ASSIGN_OR_RETURN(const events::v1::Event event, ReadEventAt(log, seq, "workflow file"));
  return RecordedConfigOf(log, event);
}

base::Result<RecordedConfig> ReadRecordedConfig(const store::EventLog& log,
                                                const replay::Projections& projections) {
  return ReadRecordedConfigAt(log, std::max<std::uint64_t>(projections.run_state.config_seq, 1));
}

base::Result<std::unique_ptr<RunSetup>> BuildSetup(const RecordedConfig& config,
                                                   const RunSetupOptions& options) {
  BATCHLOG_ASSIGN_OR_RETURN(workflow::WorkflowFile file,
                            workflow::ParseWorkflowFile(config.text, config.path));
  return RunSetup::Build(std::move(file), options);
}

// A run's setup built on another thread while its log replays: building it reads the
// workflow's datasets, which for a 1M-sample workflow takes about as long as the replay.
// It is built from the file recorded at seq 1 and used only if that is still the file in
// force once the replay says which one is (a WorkflowFileChanged makes it be built again).
class EarlySetup {
 public:
  EarlySetup(const store::EventLog& log, const RunSetupOptions& options) {
    base::Result<events::v1::Event> first = ReadEventAt(log, 1, "RunStarted");
    if (!first.ok()) return;  // an empty log: the caller reports it
    first_ = std::move(first).value();
    base::Result<RecordedConfig> config = RecordedConfigOf(log, *first_);
    if (!config.ok()) return;  // Take reports it
    config_ = std::move(config).value();
    try {
      setup_ = std::async(std::launch::async,
                          [this, &options] { return BuildSetup(config_, options); });
    } catch (const std::system_error&) {
      // No thread to be had: the caller builds the setup itself.
    }
  }
  EarlySetup(const EarlySetup&) = delete;
  EarlySetup& operator=(const EarlySetup&) = delete;
  ~EarlySetup() {
    if (setup_.valid()) setup_.wait();  // the task reads config_ and the options
  }

  // The setup of the file in force per the replayed projections: the one built early when
  // that is still the file of seq 1, else built now from the recorded one.
  // The run's first event (its RunStarted), read once for the setup and the checks.
  base::Result<events::v1::Event> FirstEvent(const store::EventLog& log) const {
    if (first_.has_value()) return *first_;
    return ReadEventAt(log, 1, "RunStarted");
  }

  base::Result<std::unique_ptr<RunSetup>> Take(const store::EventLog& log,
                                               const replay::Projections& projections,
                                               const RunSetupOptions& options) {
    if (setup_.valid() && projections.run_state.config_seq <= 1) return setup_.get();
    BATCHLOG_ASSIGN_OR_RETURN(const RecordedConfig config, ReadRecordedConfig(log, projections));
    return BuildSetup(config, options);
  }

 private:
  std::optional<events::v1::Event> first_;
  RecordedConfig config_;
  std::future<base::Result<std::unique_ptr<RunSetup>>> setup_;
};

// Every workflow/stage the log has must still be in the new file: the log's requests and
// batches belong to them.
base::Status CheckKeepsRecordedStages(const replay::RunState& state, const RunSetup& setup,
                                      const std::filesystem::path& workflow_path) {
  const replay::Lifecycle& lifecycle = state.lifecycle;
  for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
    const std::string_view workflow =
        lifecycle.workflow_name(lifecycle.stage_records[stage].workflow);
    const std::string_view name = lifecycle.stage_name(stage);
    bool found = false;
    for (const StagePolicy& policy : setup.policies()) {
      found = found || (policy.workflow == workflow && policy.stage == name);
    }
    if (!found) {
      return base::InvalidArgumentError(
          workflow_path.string() + ": the run '" + lifecycle.run_id + "' has requests of " +
          std::string(workflow) + "/" + std::string(name) +
          ", which this file no longer has; a changed file must keep every recorded stage");
    }
  }
  return base::Status::Ok();
}

// `run FILE --run-id ID` of a run that exists: the same file resumes it; a changed one is
// refused with what changed, or with allow_changed_workflow recorded and used from now on.
base::Result<RunOutcome> ContinueExisting(std::unique_ptr<store::EventLog> log,
                                          const std::filesystem::path& workflow_path,
                                          workflow::WorkflowFile file, const RunRequest& request);

}  // namespace

base::Status EnsureStore(const std::filesystem::path& store_root) {
  return store::Store::Open(store_root, true).status();
}

std::filesystem::path ManifestPath(const std::filesystem::path& store_root,
                                   std::string_view run_id) {
  return store_root / "runs" / std::string(run_id) / "manifest.json";
}

base::Result<RunOutcome> StartRun(const std::filesystem::path& workflow_path,
                                  const RunRequest& request) {
  BATCHLOG_ASSIGN_OR_RETURN(workflow::WorkflowFile file, workflow::LoadWorkflowFile(workflow_path));
  const std::string run_id = request.run_id.empty()
                                 ? DefaultRunId(file.run_name, request.setup.clock->Now())
                                 : request.run_id;
  BATCHLOG_RETURN_IF_ERROR(store::ValidateRunId(run_id));
  // A store that does not exist yet is created only once the input has passed every check
  // (bad input writes nothing, not even an empty store).
  std::optional<store::Store> store;
  if (auto existing = store::Store::Open(request.store_root, false, request.store_options);
      existing.ok()) {
    store = std::move(existing).value();
  } else if (existing.status().code() != base::StatusCode::kNotFound) {
    return existing.status();
  }
  std::unique_ptr<store::EventLog> log;
  if (store.has_value() && store->ReadRunMetadata(run_id).ok()) {
    BATCHLOG_ASSIGN_OR_RETURN(log, store->OpenRun(run_id, store::OpenMode::kReadWrite));
    if (log->last_seq() > 0) {
      return ContinueExisting(std::move(log), workflow_path, std::move(file), request);
    }
    // Created, but stopped before RunStarted was recorded: start it now.
  }

  const std::string run_name = file.run_name;
  // Everything is checked before the run exists: bad input records nothing.
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunSetup> setup,
                            RunSetup::Build(std::move(file), request.setup));
  if (!store.has_value()) {
    BATCHLOG_ASSIGN_OR_RETURN(
        store, store::Store::Open(request.store_root, true, request.store_options));
  }

  store::RunMetadata metadata;
  metadata.run_id = run_id;
  metadata.run_name = run_name;
  metadata.created_at_unix_us = base::ToUnixMicros(request.setup.clock->Now());
  metadata.status = "running";
  if (log == nullptr) {
    BATCHLOG_ASSIGN_OR_RETURN(log, store->CreateRun(metadata));
  }

  const std::uint64_t seed = request.seed != 0 ? request.seed : base::SystemRandom().NextU64();
  replay::Projections projections;
  {
    store::StepBatch step;
    events::v1::Event& event = step.events.emplace_back().event;
    event.set_recorded_at_unix_us(metadata.created_at_unix_us);
    *event.mutable_run_started() = MakeRunStarted(setup->file(), workflow_path, seed);
    AddDatasetDigests(*setup, *event.mutable_run_started());
    event.mutable_run_started()->set_in_process_emulator(request.in_process_emulator);
    BATCHLOG_RETURN_IF_ERROR(log->Append(step).status());
    BATCHLOG_ASSIGN_OR_RETURN(projections, ReplayLog(*log));
  }
  return Drive(*store, std::move(log), std::move(projections), std::move(setup), request, seed,
               std::nullopt);
}

base::Result<RunOutcome> ResumeRun(std::string_view run_id, const RunRequest& request) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store,
                            store::Store::Open(request.store_root, false, request.store_options));
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<store::EventLog> log,
                            store.OpenRun(run_id, store::OpenMode::kReadWrite));
  if (request.store_options.recover_damaged_wal) {
    // The operator accepted a loss: say how much, as far as meta.json saw the run, and
    // record the log as it now is, so the next open does not refuse the same loss again.
    auto metadata = store.ReadRunMetadata(run_id);
    const std::uint64_t seen = metadata.ok() ? metadata->last_seq : 0;
    if (seen > log->last_seq()) {
      spdlog::warn(
          "run '{}': the log now ends at seq {}; meta.json last saw seq {}: the events in "
          "between are gone for good. Batches submitted among them are unknown to the run and "
          "their requests are submitted again: check the provider's console for batches "
          "created after the last kept event and cancel or account for them",
          std::string(run_id), log->last_seq(), seen);
    }
    if (metadata.ok() && metadata->synced_seq > log->last_seq()) {
      metadata->last_seq = log->last_seq();
      metadata->synced_seq = log->last_seq();
      BATCHLOG_RETURN_IF_ERROR(store.WriteRunMetadata(*metadata));
    }
  }
  EarlySetup early_setup(*log, request.setup);
  std::uint64_t snapshot_seq = 0;
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections,
                            ReplayLog(*log, kLatestSeq, &snapshot_seq));
  if (projections.last_seq == 0) {
    return base::FailedPreconditionError(
        "run '" + std::string(run_id) + "' was created but stopped before it started (its log "
        "is empty): start it with `batchlog run WORKFLOW --run-id " + std::string(run_id) + "`");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const events::v1::Event first, early_setup.FirstEvent(*log));
  if (first.run_started().in_process_emulator() &&
      projections.run_state.lifecycle.run_status == replay::RunStatus::kRunning) {
    return base::FailedPreconditionError(
        "run '" + std::string(run_id) + "' ran against an emulator inside the process that "
        "started it (`batchlog demo`), which is gone with it; resuming it would send its "
        "requests to the real providers. `batchlog demo` starts a new run");
  }
  // A run cancelled resumable (`batchlog cancel --resumable`) runs again (cancel.h).
  BATCHLOG_RETURN_IF_ERROR(ReopenIfResumable(*log, projections, *request.setup.clock));
  const replay::RunStatus status = projections.run_state.lifecycle.run_status;
  if (status != replay::RunStatus::kRunning) {
    RunOutcome outcome;
    outcome.run_id = std::string(run_id);
    outcome.manifest_path = ManifestPath(store.root(), run_id);
    outcome.status = status;
    outcome.last_seq = projections.last_seq;
    // The log is final; only a manifest file left behind by a crash between the closing
    // event and the last manifest write is brought up to it.
    const std::string manifest = replay::RenderManifestJson(projections);
    std::ifstream in(outcome.manifest_path, std::ios::binary);
    const std::string on_disk((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    if (on_disk != manifest) {
      BATCHLOG_RETURN_IF_ERROR(WriteFileAtomically(outcome.manifest_path, manifest));
    }
    return outcome;  // final: nothing to do, nothing else changed
  }
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunSetup> setup,
                            early_setup.Take(*log, projections, request.setup));
  BATCHLOG_RETURN_IF_ERROR(CheckDatasetsUnchanged(run_id, first.run_started(), *setup));
  // The seed recorded at the start keeps a resumed run's draws independent of the machine;
  // draws already made are in the log, never redrawn.
  const std::uint64_t seed = projections.run_state.random_seed ^ projections.last_seq;
  return Drive(store, std::move(log), std::move(projections), std::move(setup), request, seed,
               snapshot_seq);
}

namespace {

base::Result<RunOutcome> ContinueExisting(std::unique_ptr<store::EventLog> log,
                                          const std::filesystem::path& workflow_path,
                                          workflow::WorkflowFile file, const RunRequest& request) {
  const std::string run_id = log->run_id();
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections, ReplayLog(*log));
  BATCHLOG_ASSIGN_OR_RETURN(const RecordedConfig recorded, ReadRecordedConfig(*log, projections));
  const std::string diff = LineDiff(recorded.text, file.source_text);
  if (!diff.empty()) {
    if (!request.allow_changed_workflow) {
      return base::FailedPreconditionError(
          "run '" + run_id + "' was recorded with another workflow file (" + recorded.path +
          "); what changed (- recorded, + " + workflow_path.string() + "):\n" + diff +
          "Resume it as recorded with `batchlog resume " + run_id +
          "`, or pass --allow-changed-workflow to go on with the new file");
    }
    const replay::RunState& state = projections.run_state;
    const replay::RunStatus status = state.lifecycle.run_status;
    if (status != replay::RunStatus::kRunning &&
        !(status == replay::RunStatus::kCancelled && state.resumable)) {
      return base::FailedPreconditionError(
          "run '" + run_id + "' is " + std::string(replay::RunStatusName(status)) +
          ": a changed workflow file has nothing left to change; `batchlog fork " + run_id +
          " --from STAGE --workflow-file " + workflow_path.string() +
          "` runs stages again under it");
    }
    BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunSetup> checked,
                              RunSetup::Build(workflow::WorkflowFile(file), request.setup));
    BATCHLOG_RETURN_IF_ERROR(CheckKeepsRecordedStages(state, *checked, workflow_path));
    store::StepBatch step;
    events::v1::Event& event = step.events.emplace_back().event;
    event.set_recorded_at_unix_us(base::ToUnixMicros(request.setup.clock->Now()));
    events::v1::WorkflowFileChanged* changed = event.mutable_workflow_file_changed();
    std::error_code ignored;
    changed->set_config_path(std::filesystem::absolute(workflow_path, ignored).string());
    changed->set_config_text(file.source_text);
    changed->set_config_sha256(Sha256Hex(file.source_text));
    changed->set_previous_sha256(recorded.sha256);
    BATCHLOG_RETURN_IF_ERROR(log->Append(step).status());
    spdlog::warn("run '{}': going on with the changed workflow file {} (recorded)", run_id,
                 workflow_path.string());
  }
  log.reset();
  return ResumeRun(run_id, request);
}

}  // namespace

}  // namespace batchlog::orchestrator
