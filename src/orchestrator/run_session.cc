#include "src/orchestrator/run_session.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "replay/manifest_projection.h"
#include "src/base/random.h"
#include "src/orchestrator/cancel.h"
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

base::Result<RunOutcome> Drive(store::Store& store, std::unique_ptr<store::EventLog> log,
                               replay::Projections projections, std::unique_ptr<RunSetup> setup,
                               const RunRequest& request, std::uint64_t seed) {
  RunOutcome outcome;
  outcome.run_id = log->run_id();
  outcome.manifest_path = ManifestPath(store.root(), outcome.run_id);
  std::unique_ptr<base::Random> random = MakeRandom(seed);
  ExecutorDeps deps =
      setup->MakeExecutorDeps(*log, projections, *random, store.RunDir(outcome.run_id) / "spool");
  RunLoopOptions loop;
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
  const base::Status status = RunUntilDone(executor, setup->policies(), *request.setup.clock, loop);
  outcome.status = executor.projections().run_state.lifecycle.run_status;
  outcome.last_seq = executor.projections().last_seq;

  // meta.json: the small facts `batchlog runs` lists without opening the log.
  auto metadata = store.ReadRunMetadata(outcome.run_id);
  if (metadata.ok()) {
    metadata->status = std::string(replay::RunStatusName(outcome.status));
    metadata->last_seq = outcome.last_seq;
    metadata->updated_at_unix_us = base::ToUnixMicros(request.setup.clock->Now());
    store.WriteRunMetadata(*metadata).IgnoreError();  // informational only
  }
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
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store,
                            store::Store::Open(request.store_root, true, request.store_options));
  const std::string run_id = request.run_id.empty()
                                 ? DefaultRunId(file.run_name, request.setup.clock->Now())
                                 : request.run_id;
  BATCHLOG_RETURN_IF_ERROR(store::ValidateRunId(run_id));
  std::unique_ptr<store::EventLog> log;
  if (store.ReadRunMetadata(run_id).ok()) {
    BATCHLOG_ASSIGN_OR_RETURN(log, store.OpenRun(run_id, store::OpenMode::kReadWrite));
    if (log->last_seq() > 0) {
      log.reset();
      return ResumeRun(run_id, request);
    }
    // Created, but stopped before RunStarted was recorded: start it now.
  }

  const std::string run_name = file.run_name;
  // Everything is checked before the run exists: bad input records nothing.
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunSetup> setup,
                            RunSetup::Build(std::move(file), request.setup));

  store::RunMetadata metadata;
  metadata.run_id = run_id;
  metadata.run_name = run_name;
  metadata.created_at_unix_us = base::ToUnixMicros(request.setup.clock->Now());
  metadata.status = "running";
  if (log == nullptr) {
    BATCHLOG_ASSIGN_OR_RETURN(log, store.CreateRun(metadata));
  }

  const std::uint64_t seed = request.seed != 0 ? request.seed : base::SystemRandom().NextU64();
  replay::Projections projections;
  {
    store::StepBatch step;
    events::v1::Event& event = step.events.emplace_back().event;
    event.set_recorded_at_unix_us(metadata.created_at_unix_us);
    *event.mutable_run_started() = MakeRunStarted(setup->file(), workflow_path, seed);
    BATCHLOG_RETURN_IF_ERROR(log->Append(step).status());
    BATCHLOG_ASSIGN_OR_RETURN(projections, ReplayLog(*log));
  }
  return Drive(store, std::move(log), std::move(projections), std::move(setup), request, seed);
}

base::Result<RunOutcome> ResumeRun(std::string_view run_id, const RunRequest& request) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store,
                            store::Store::Open(request.store_root, false, request.store_options));
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<store::EventLog> log,
                            store.OpenRun(run_id, store::OpenMode::kReadWrite));
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections, ReplayLog(*log));
  if (projections.last_seq == 0) {
    return base::FailedPreconditionError(
        "run '" + std::string(run_id) + "' was created but stopped before it started (its log "
        "is empty): start it with `batchlog run WORKFLOW --run-id " + std::string(run_id) + "`");
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
    const std::string manifest = replay::RenderManifestJson(projections.manifest);
    std::ifstream in(outcome.manifest_path, std::ios::binary);
    const std::string on_disk((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    if (on_disk != manifest) {
      BATCHLOG_RETURN_IF_ERROR(WriteFileAtomically(outcome.manifest_path, manifest));
    }
    return outcome;  // final: nothing to do, nothing else changed
  }
  auto reader = log->NewReader({.from_seq = 1, .to_seq = 1});
  if (!reader->Next() || !reader->event().has_run_started()) {
    if (!reader->status().ok()) return reader->status();
    return base::DataLossError("run '" + std::string(run_id) + "': seq 1 is not RunStarted");
  }
  const events::v1::RunStarted started = reader->event().run_started();
  reader.reset();
  BATCHLOG_ASSIGN_OR_RETURN(
      workflow::WorkflowFile file,
      workflow::ParseWorkflowFile(started.config_text(), started.config_path()));
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunSetup> setup,
                            RunSetup::Build(std::move(file), request.setup));
  // The seed recorded at the start keeps a resumed run's draws independent of the machine;
  // draws already made are in the log, never redrawn.
  const std::uint64_t seed = started.random_seed() ^ projections.last_seq;
  return Drive(store, std::move(log), std::move(projections), std::move(setup), request, seed);
}

}  // namespace batchlog::orchestrator
