#include "src/orchestrator/cancel.h"

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "replay/manifest_projection.h"
#include "replay/replayer.h"
#include "src/base/random.h"
#include "src/orchestrator/backoff.h"
#include "src/orchestrator/executor.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/manifest_file.h"
#include "src/store/store.h"

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;
using replay::BatchPhase;
using replay::kNoIndex;
using replay::RequestStatus;

// Requests per RequestsAbandoned event, so one event stays a bounded size.
constexpr std::size_t kAbandonIdsPerEvent = 10'000;

// Appends one synced step and folds it into `projections`.
base::Status CommitFolded(store::EventLog& log, replay::Projections& projections,
                          std::vector<store::PendingEvent> events, std::int64_t now_us) {
  store::StepBatch step;
  step.events = std::move(events);
  step.durability = store::Durability::kSynced;
  for (store::PendingEvent& pending : step.events) pending.event.set_recorded_at_unix_us(now_us);
  BATCHLOG_RETURN_IF_ERROR(log.Append(step).status());
  replay::Replayer replayer(projections);
  for (const store::PendingEvent& pending : step.events) {
    BATCHLOG_RETURN_IF_ERROR(
        replayer.Apply(pending.event).WithContext("folding the event just appended"));
  }
  return base::Status::Ok();
}

base::Result<v1::RunStarted> ReadRunStarted(const store::EventLog& log) {
  auto reader = log.NewReader({.from_seq = 1, .to_seq = 1});
  if (!reader->Next() || !reader->event().has_run_started()) {
    if (!reader->status().ok()) return reader->status();
    return base::DataLossError("run '" + log.run_id() + "': seq 1 is not RunStarted");
  }
  return reader->event().run_started();
}

// Every request not final yet, grouped per stage into RequestsAbandoned events.
std::vector<store::PendingEvent> AbandonOpenRequests(const replay::Lifecycle& lifecycle,
                                                     std::uint64_t& abandoned) {
  std::vector<std::vector<std::uint32_t>> by_stage(lifecycle.stage_records.size());
  for (std::uint32_t request = 0; request < lifecycle.requests.size(); ++request) {
    const RequestStatus status = lifecycle.requests.status[request];
    if (status == RequestStatus::kSucceeded || status == RequestStatus::kFailedFinal) continue;
    by_stage[lifecycle.requests.stage(request)].push_back(request);
  }
  std::vector<store::PendingEvent> events;
  for (std::uint32_t stage = 0; stage < by_stage.size(); ++stage) {
    const std::vector<std::uint32_t>& requests = by_stage[stage];
    for (std::size_t begin = 0; begin < requests.size(); begin += kAbandonIdsPerEvent) {
      v1::RequestsAbandoned* event = events.emplace_back().event.mutable_requests_abandoned();
      event->set_workflow(
          std::string(lifecycle.workflow_name(lifecycle.stage_records[stage].workflow)));
      event->set_stage(std::string(lifecycle.stage_name(stage)));
      event->set_reason(v1::ABANDON_REASON_CANCELLED);
      const std::size_t end = std::min(requests.size(), begin + kAbandonIdsPerEvent);
      for (std::size_t i = begin; i < end; ++i) {
        event->add_custom_ids(std::string(lifecycle.requests.custom_id(requests[i])));
      }
      abandoned += end - begin;
    }
  }
  return events;
}

}  // namespace

base::Status ReopenIfResumable(store::EventLog& log, replay::Projections& projections,
                               base::Clock& clock) {
  const replay::RunState& state = projections.run_state;
  if (state.lifecycle.run_status != replay::RunStatus::kCancelled || !state.resumable) {
    return base::Status::Ok();
  }
  std::vector<store::PendingEvent> events(1);
  events[0].event.mutable_run_resumed()->set_reason("batchlog resume");
  spdlog::info("run {} was cancelled resumable: resuming it", log.run_id());
  return CommitFolded(log, projections, std::move(events), base::ToUnixMicros(clock.Now()));
}

base::Result<CancelOutcome> CancelRun(std::string_view run_id, const CancelOptions& options,
                                      const RunRequest& request) {
  base::Clock& clock = *request.setup.clock;
  const auto now_us = [&clock] { return base::ToUnixMicros(clock.Now()); };
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store,
                            store::Store::Open(request.store_root, false, request.store_options));
  auto opened = store.OpenRun(run_id, store::OpenMode::kReadWrite);
  if (!opened.ok()) {
    if (opened.status().code() != base::StatusCode::kFailedPrecondition) return opened.status();
    return base::FailedPreconditionError(
        "cannot cancel run '" + std::string(run_id) + "' now: " + opened.status().message() +
        ". Stop the process that runs it first (SIGINT or SIGTERM stops it between two steps "
        "and leaves it resumable), then run `batchlog cancel " + std::string(run_id) +
        "` again");
  }
  std::unique_ptr<store::EventLog> log = std::move(opened).value();
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections, ReplayLog(*log));
  const replay::RunStatus status = projections.run_state.lifecycle.run_status;
  if (status != replay::RunStatus::kRunning) {
    return base::FailedPreconditionError(
        "run '" + std::string(run_id) + "' has already ended (" +
        std::string(replay::RunStatusName(status)) + "): there is nothing to cancel");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const v1::RunStarted started, ReadRunStarted(*log));
  BATCHLOG_ASSIGN_OR_RETURN(
      workflow::WorkflowFile file,
      workflow::ParseWorkflowFile(started.config_text(), started.config_path()));
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunSetup> setup,
                            RunSetup::Build(std::move(file), request.setup));
  // Draws (poll pacing only) from the recorded seed, as resume does.
  base::SeededRandom random(started.random_seed() ^ projections.last_seq ^ 0x63616e63656cULL);
  ExecutorDeps deps = setup->MakeExecutorDeps(*log, projections, random,
                                              store.RunDir(std::string(run_id)) / "spool");
  const std::map<std::string, providers::BatchProvider*, std::less<>> providers = deps.providers;
  Executor executor(std::move(deps));

  CancelOutcome outcome;
  outcome.run_id = std::string(run_id);
  outcome.resumable = options.resumable;
  outcome.manifest_path = ManifestPath(store.root(), run_id);

  // 1. Ask the provider to cancel every batch that may still run.
  const replay::Lifecycle& lifecycle = projections.run_state.lifecycle;
  std::vector<std::uint32_t> waiting;  // batches whose results the cancel records
  // Batches the provider could not be asked about: a final cancel must not close the run
  // over them, or a batch still running there would spend money the log never sees.
  std::vector<std::uint32_t> unreached_cancels;  // submitted; the cancel call failed
  std::uint32_t unreached_lookups = 0;           // planned; the lookup failed
  std::string first_unreached;                   // the first such failure, for the message
  for (std::uint32_t batch = 0; batch < lifecycle.batches.size(); ++batch) {
    const replay::BatchRecord& record = lifecycle.batches.records[batch];
    const std::string batch_key(lifecycle.batches.keys.id(batch));
    const auto provider = providers.find(record.provider == kNoIndex
                                             ? std::string_view()
                                             : lifecycle.providers.id(record.provider));
    if (record.phase == BatchPhase::kEnded) {
      waiting.push_back(batch);  // ended, results not recorded yet: record them
      continue;
    }
    if (provider == providers.end()) continue;
    if (record.phase == BatchPhase::kSubmitted) {
      ++outcome.cancel_requests;
      auto cancelled = provider->second->CancelBatch(record.provider_batch_id);
      if (!cancelled.ok()) {
        // Often "already ended": polling tells.
        spdlog::warn("batch {}: cancel of provider batch {} failed: {}", batch_key,
                     record.provider_batch_id, cancelled.status().message());
        unreached_cancels.push_back(batch);
        if (first_unreached.empty()) first_unreached = cancelled.status().message();
      } else {
        spdlog::info("batch {}: provider batch {} cancelling", batch_key,
                     record.provider_batch_id);
      }
      waiting.push_back(batch);
    } else if (record.phase == BatchPhase::kPlanned && !options.resumable &&
               provider->second->kind() != providers::ProviderKind::kAnthropic) {
      // Planned by a process that stopped before recording the create: the batch may
      // exist at the provider (found exactly by its metadata). Stop it from spending.
      providers::FindBatchQuery query;
      query.batch_key = batch_key;
      query.run_id = std::string(run_id);
      query.request_count = record.member_count;
      auto found = provider->second->FindBatch(query);
      if (!found.ok()) {
        spdlog::warn("batch {}: cannot look it up at the provider: {}", batch_key,
                     found.status().message());
        ++unreached_lookups;
        if (first_unreached.empty()) first_unreached = found.status().message();
      } else if (found->has_value()) {
        ++outcome.cancel_requests;
        provider->second->CancelBatch((*found)->id).IgnoreError();
        spdlog::warn("batch {}: unrecorded provider batch {} cancelled at the provider",
                     batch_key, (*found)->id);
      }
    }
  }

  // 2. Wait for them to end; record their results (the work done before the cancel).
  const std::int64_t deadline = now_us() + SecondsToMicros(options.wait_s);
  for (;;) {
    bool open = false;
    for (const std::uint32_t batch : waiting) {
      if (lifecycle.batches.records[batch].phase == BatchPhase::kSubmitted) {
        BATCHLOG_RETURN_IF_ERROR(executor.Execute(PollBatch{batch}));
      }
      if (lifecycle.batches.records[batch].phase == BatchPhase::kEnded) {
        BATCHLOG_RETURN_IF_ERROR(executor.Execute(IngestBatch{batch}));
        if (lifecycle.batches.records[batch].phase == BatchPhase::kIngested) {
          ++outcome.batches_ingested;
        }
      }
      open = open || lifecycle.batches.records[batch].phase != BatchPhase::kIngested;
    }
    if (!open || now_us() >= deadline) break;
    clock.Sleep(base::Duration(
        std::max<std::int64_t>(1, std::min(SecondsToMicros(options.poll_s), deadline - now_us()))));
  }
  for (const std::uint32_t batch : waiting) {
    if (lifecycle.batches.records[batch].phase != BatchPhase::kIngested) {
      ++outcome.batches_still_open;
    }
  }

  // 3. Record the cancel.
  std::vector<store::PendingEvent> closing;
  if (options.resumable) {
    if (outcome.batches_still_open > 0) {
      return base::DeadlineExceededError(
          "run '" + std::string(run_id) + "': " + std::to_string(outcome.batches_still_open) +
          " cancelled batch(es) had not ended after " + std::to_string(options.wait_s) +
          " s; the run is not marked cancelled yet. Run `batchlog cancel --resumable " +
          std::string(run_id) + "` again later");
    }
  } else {
    // A batch whose cancel call failed and that did not end since may still be running.
    std::uint32_t unreached = unreached_lookups;
    for (const std::uint32_t batch : unreached_cancels) {
      unreached += lifecycle.batches.records[batch].phase == BatchPhase::kSubmitted ? 1 : 0;
    }
    if (unreached > 0) {
      return base::UnavailableError(
          "run '" + std::string(run_id) + "': " + std::to_string(unreached) +
          " batch(es) could not be cancelled or looked up at the provider (" + first_unreached +
          "); the run is not marked cancelled, since a batch there may still be running. Run "
          "`batchlog cancel " + std::string(run_id) + "` again once the provider answers");
    }
    closing = AbandonOpenRequests(lifecycle, outcome.requests_abandoned);
  }
  v1::RunCancelled* cancelled = closing.emplace_back().event.mutable_run_cancelled();
  cancelled->set_reason(options.reason);
  cancelled->set_resumable(options.resumable);
  BATCHLOG_RETURN_IF_ERROR(CommitFolded(*log, projections, std::move(closing), now_us()));

  // 4. The manifest file and meta.json.
  BATCHLOG_RETURN_IF_ERROR(
      WriteFileAtomically(outcome.manifest_path, replay::RenderManifestJson(projections)));
  outcome.status = lifecycle.run_status;
  outcome.last_seq = projections.last_seq;
  auto metadata = store.ReadRunMetadata(run_id);
  if (metadata.ok()) {
    metadata->status = std::string(replay::RunStatusName(outcome.status));
    metadata->last_seq = outcome.last_seq;
    metadata->updated_at_unix_us = now_us();
    store.WriteRunMetadata(*metadata).IgnoreError();  // informational only
  }
  BATCHLOG_RETURN_IF_ERROR(log->Flush());
  return outcome;
}

}  // namespace batchlog::orchestrator
