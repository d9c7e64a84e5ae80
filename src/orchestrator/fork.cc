#include "src/orchestrator/fork.h"

#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "src/base/random.h"
#include "src/orchestrator/dataset_digests.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/run_reader.h"
#include "src/orchestrator/run_started.h"
#include "src/store/store.h"

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;
using StageName = std::pair<std::string, std::string>;  // (workflow, stage)

// Events per appended step while copying (group commit).
constexpr std::size_t kCopyEventsPerStep = 10'000;

std::string DefaultForkId(const std::string& source, base::Timestamp now) {
  const std::time_t seconds = static_cast<std::time_t>(base::ToUnixMicros(now) / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);
  return source.substr(0, 40) + "-fork-" + stamp;
}

struct CarriedPlan {
  std::vector<StageName> stages;  // in file order
  std::vector<v1::CarriedStage> provenance;
};

// The stages before `from_stage` in each forked workflow, checked against the source.
base::Result<CarriedPlan> PlanCarriedStages(const workflow::WorkflowFile& file,
                                            const ForkOptions& options,
                                            const replay::Projections& source,
                                            const RunReader& reader) {
  CarriedPlan plan;
  bool stage_found = false;
  for (const workflow::Workflow& flow : file.workflows) {
    if (!options.workflow.empty() && flow.name != options.workflow) continue;
    const workflow::Stage* from = flow.FindStage(options.from_stage);
    if (from == nullptr) continue;
    stage_found = true;
    for (std::uint32_t index = 0; index < from->index; ++index) {
      plan.stages.push_back({flow.name, flow.stages[index].name});
    }
  }
  if (!stage_found) {
    return base::InvalidArgumentError(
        "no workflow" + (options.workflow.empty() ? std::string() : " '" + options.workflow + "'") +
        " of the workflow file has a stage '" + options.from_stage + "'");
  }
  if (plan.stages.empty()) {
    return base::InvalidArgumentError("'" + options.from_stage +
                                      "' is the first stage: a fork from it carries nothing "
                                      "over; start a new run with `batchlog run` instead");
  }
  const replay::Lifecycle& lifecycle = source.run_state.lifecycle;
  for (const auto& [workflow, stage] : plan.stages) {
    const std::uint32_t index = lifecycle.FindStage(workflow, stage);
    if (index == replay::kNoIndex || !lifecycle.stage_records[index].completed) {
      return base::FailedPreconditionError(
          "stage " + workflow + "/" + stage + " of run '" + reader.run_id() + "' is not " +
          "completed, so its results are not final: a fork carries over completed stages only");
    }
    // The stage's last decision is its StageCompleted (nothing decides about a completed
    // stage); checked by reading it.
    std::uint64_t completed_seq = 0;
    for (const replay::IndexedSeq& decision : source.audit_index.decisions) {
      if (decision.owner == index) completed_seq = decision.seq;
    }
    bool confirmed = false;
    BATCHLOG_RETURN_IF_ERROR(reader.VisitEvents(
        completed_seq, completed_seq, [&](const v1::Event& event) {
          confirmed = event.has_stage_completed() &&
                      event.stage_completed().workflow() == workflow &&
                      event.stage_completed().stage() == stage;
          return false;
        }));
    if (!confirmed) {
      return base::DataLossError("run '" + reader.run_id() + "': the StageCompleted of " +
                                 workflow + "/" + stage + " is not where its index says");
    }
    v1::CarriedStage& carried = plan.provenance.emplace_back();
    carried.set_workflow(workflow);
    carried.set_stage(stage);
    carried.set_source_completed_seq(completed_seq);
  }
  return plan;
}

// Copies the carried stages' events of the source (seqs 1..source_seq) into `log`, after
// its RunStarted (seq 1).
base::Status CopyCarriedEvents(const RunReader& reader, std::uint64_t source_seq,
                               const std::set<StageName>& stages, store::EventLog& log,
                               std::int64_t now_us, std::uint64_t& copied) {
  std::set<std::string> batch_keys;
  std::map<std::uint64_t, std::uint64_t> planned_seq;  // source BatchPlanned seq -> fork seq
  std::uint64_t next_seq = log.last_seq() + 1;
  std::vector<store::PendingEvent> step;
  base::Status status;
  const auto flush = [&]() -> base::Status {
    if (step.empty()) return base::Status::Ok();
    store::StepBatch batch;
    batch.events = std::move(step);
    batch.durability = store::Durability::kSynced;
    step.clear();
    return log.Append(batch).status();
  };
  const auto remap = [&planned_seq](std::uint64_t seq) {
    const auto found = planned_seq.find(seq);
    return found == planned_seq.end() ? std::uint64_t{0} : found->second;
  };
  BATCHLOG_RETURN_IF_ERROR(reader.VisitEvents(1, source_seq, [&](const v1::Event& event) {
    bool keep = false;
    switch (event.payload_case()) {
      case v1::Event::kRequestPlanned:
        keep = stages.contains({event.request_planned().workflow(),
                                event.request_planned().stage()});
        break;
      case v1::Event::kBatchPlanned:
        keep = stages.contains({event.batch_planned().workflow(), event.batch_planned().stage()});
        if (keep) {
          batch_keys.insert(event.batch_planned().batch_key());
          planned_seq[event.seq()] = next_seq;
        }
        break;
      case v1::Event::kFileUploaded:
        keep = batch_keys.contains(event.file_uploaded().batch_key());
        break;
      case v1::Event::kBatchSubmitted:
        keep = batch_keys.contains(event.batch_submitted().batch_key());
        break;
      case v1::Event::kSubmitRejected:
        keep = batch_keys.contains(event.submit_rejected().batch_key());
        break;
      case v1::Event::kBatchPolled:
        keep = batch_keys.contains(event.batch_polled().batch_key());
        break;
      case v1::Event::kBatchEnded:
        keep = batch_keys.contains(event.batch_ended().batch_key());
        break;
      case v1::Event::kRequestSucceeded:
        keep = batch_keys.contains(event.request_succeeded().batch_key());
        break;
      case v1::Event::kRequestFailed:
        keep = batch_keys.contains(event.request_failed().batch_key());
        break;
      case v1::Event::kResultsIngested:
        keep = batch_keys.contains(event.results_ingested().batch_key());
        break;
      case v1::Event::kRetryScheduled:
        keep = stages.contains({event.retry_scheduled().workflow(),
                                event.retry_scheduled().stage()});
        break;
      case v1::Event::kRequestsAbandoned:
        keep = stages.contains({event.requests_abandoned().workflow(),
                                event.requests_abandoned().stage()});
        break;
      case v1::Event::kStageCompleted:
        keep = stages.contains({event.stage_completed().workflow(),
                                event.stage_completed().stage()});
        break;
      case v1::Event::kRunStarted:
      case v1::Event::kQuotaWarning:
      case v1::Event::kRunCompleted:
      case v1::Event::kRunFailed:
      case v1::Event::kRunCancelled:
      case v1::Event::kRunResumed:
      case v1::Event::kWorkflowFileChanged:
      case v1::Event::PAYLOAD_NOT_SET:
        break;
    }
    if (!keep) return true;
    store::PendingEvent& pending = step.emplace_back();
    pending.event = event;
    pending.event.clear_seq();
    pending.event.clear_run_id();
    pending.event.clear_blob_bytes();
    pending.event.set_recorded_at_unix_us(now_us);
    // Outcomes name their intent by seq: the fork's seq of the copied BatchPlanned.
    v1::Event& copy = pending.event;
    if (copy.has_file_uploaded()) {
      copy.mutable_file_uploaded()->set_planned_seq(remap(event.file_uploaded().planned_seq()));
    } else if (copy.has_batch_submitted()) {
      copy.mutable_batch_submitted()->set_planned_seq(
          remap(event.batch_submitted().planned_seq()));
    } else if (copy.has_submit_rejected()) {
      copy.mutable_submit_rejected()->set_planned_seq(
          remap(event.submit_rejected().planned_seq()));
    } else if (copy.has_batch_ended()) {
      copy.mutable_batch_ended()->set_planned_seq(remap(event.batch_ended().planned_seq()));
    } else if (copy.has_results_ingested()) {
      copy.mutable_results_ingested()->set_planned_seq(
          remap(event.results_ingested().planned_seq()));
    }
    if (event.blob_bytes() > 0) {
      auto blob = reader.ReadBlob(event.seq());
      if (!blob.ok()) {
        status = blob.status();
        return false;
      }
      pending.blob = std::move(blob).value();
    }
    ++next_seq;
    ++copied;
    if (step.size() >= kCopyEventsPerStep) {
      status = flush();
      if (!status.ok()) return false;
    }
    return true;
  }));
  BATCHLOG_RETURN_IF_ERROR(status);
  return flush();
}

}  // namespace

base::Result<RunOutcome> ForkRun(const ForkOptions& options, const RunRequest& request) {
  BATCHLOG_ASSIGN_OR_RETURN(RunReader reader,
                            RunReader::Open(request.store_root, options.source_run_id));
  BATCHLOG_ASSIGN_OR_RETURN(const replay::Projections source, reader.ReplayTo(kLatestSeq));
  const std::uint64_t source_seq = source.last_seq;
  v1::RunStarted source_started;
  BATCHLOG_RETURN_IF_ERROR(reader.VisitEvents(1, 1, [&](const v1::Event& event) {
    if (event.has_run_started()) source_started = event.run_started();
    return false;
  }));
  if (source_started.config_text().empty()) {
    return base::DataLossError("run '" + options.source_run_id + "': seq 1 is not RunStarted");
  }

  std::filesystem::path config_path = options.workflow_file;
  base::Result<workflow::WorkflowFile> parsed =
      options.workflow_file.empty()
          ? workflow::ParseWorkflowFile(source_started.config_text(), source_started.config_path())
          : workflow::LoadWorkflowFile(options.workflow_file);
  if (!parsed.ok()) return parsed.status();
  workflow::WorkflowFile file = std::move(parsed).value();
  if (options.workflow_file.empty()) config_path = source_started.config_path();
  BATCHLOG_ASSIGN_OR_RETURN(const CarriedPlan plan,
                            PlanCarriedStages(file, options, source, reader));
  // Everything is checked before the fork exists (datasets, templates, provider keys).
  BATCHLOG_ASSIGN_OR_RETURN(const std::unique_ptr<RunSetup> setup,
                            RunSetup::Build(file, request.setup));

  BATCHLOG_ASSIGN_OR_RETURN(store::Store store,
                            store::Store::Open(request.store_root, false, request.store_options));
  const base::Timestamp now = request.setup.clock->Now();
  const std::string run_id =
      request.run_id.empty() ? DefaultForkId(options.source_run_id, now) : request.run_id;
  BATCHLOG_RETURN_IF_ERROR(store::ValidateRunId(run_id));
  if (store.ReadRunMetadata(run_id).ok()) {
    return base::AlreadyExistsError("run '" + run_id + "' already exists in store " +
                                    store.root().string());
  }
  store::RunMetadata metadata;
  metadata.run_id = run_id;
  metadata.run_name = file.run_name;
  metadata.created_at_unix_us = base::ToUnixMicros(now);
  metadata.status = "running";
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<store::EventLog> log, store.CreateRun(metadata));

  const std::uint64_t seed = request.seed != 0 ? request.seed : base::SystemRandom().NextU64();
  {
    store::StepBatch step;
    v1::Event& event = step.events.emplace_back().event;
    event.set_recorded_at_unix_us(metadata.created_at_unix_us);
    v1::RunStarted* started = event.mutable_run_started();
    *started = MakeRunStarted(file, config_path, seed);
    AddDatasetDigests(*setup, *started);
    v1::ForkSource* fork = started->mutable_forked_from();
    fork->set_source_run_id(options.source_run_id);
    fork->set_source_seq(source_seq);
    fork->set_from_stage(options.from_stage);
    for (const v1::CarriedStage& carried : plan.provenance) *fork->add_carried_stages() = carried;
    BATCHLOG_RETURN_IF_ERROR(log->Append(step).status());
  }
  std::uint64_t copied = 0;
  const std::set<StageName> stages(plan.stages.begin(), plan.stages.end());
  BATCHLOG_RETURN_IF_ERROR(CopyCarriedEvents(reader, source_seq, stages, *log,
                                             metadata.created_at_unix_us, copied));
  // The copy must fold like any log before the fork runs on it.
  BATCHLOG_RETURN_IF_ERROR(
      ReplayLog(*log).status().WithContext("run '" + run_id + "': the carried-over events"));
  BATCHLOG_RETURN_IF_ERROR(log->Flush());
  spdlog::info("run {} forked from run {} at seq {}: {} events of {} stage(s) carried over",
               run_id, options.source_run_id, source_seq, copied, plan.stages.size());
  log.reset();
  RunRequest resume = request;
  resume.run_id = run_id;
  return ResumeRun(run_id, resume);
}

}  // namespace batchlog::orchestrator
