#include "src/orchestrator/executor.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include <spdlog/spdlog.h>

#include "replay/snapshot_codec.h"
#include "src/orchestrator/backoff.h"
#include "src/orchestrator/enqueued_tokens.h"
#include "src/orchestrator/kill_point.h"
#include "src/orchestrator/snapshot_retention.h"
#include "src/providers/results_parser.h"

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;
using replay::kNoIndex;
using replay::RequestStatus;

v1::BatchStatus ToEventStatus(providers::BatchState state) {
  return static_cast<v1::BatchStatus>(static_cast<int>(state));
}

v1::ErrorClass ToEventClass(providers::ErrorClass error_class) {
  switch (error_class) {
    case providers::ErrorClass::kRetryable:
      return v1::ERROR_CLASS_RETRYABLE;
    case providers::ErrorClass::kPermanent:
      return v1::ERROR_CLASS_PERMANENT;
    case providers::ErrorClass::kOperatorAction:
      return v1::ERROR_CLASS_OPERATOR_ACTION;
    case providers::ErrorClass::kCancelled:
      return v1::ERROR_CLASS_CANCELLED;
  }
  return v1::ERROR_CLASS_UNKNOWN;
}

void CopyCounts(const providers::RequestCounts& from, v1::RequestCounts& to) {
  to.set_total(from.total);
  to.set_processing(from.processing);
  to.set_succeeded(from.succeeded);
  to.set_failed(from.failed);
  to.set_cancelled(from.cancelled);
  to.set_expired(from.expired);
}

void CopyUsage(const providers::TokenUsage& from, v1::Usage& to) {
  to.set_input_tokens(from.input_tokens);
  to.set_output_tokens(from.output_tokens);
  to.set_cached_input_tokens(from.cached_input_tokens);
  to.set_cache_write_input_tokens(from.cache_write_input_tokens);
}

// Provider-independent file names for spool paths.
std::string FileSafe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return out;
}

struct CreateRefusal {
  providers::ErrorClass error_class;
  std::string why;  // for a person, when the class is kOperatorAction
  // Retryable only a few times in a row (kHardLookupFailuresToStop): a cause that a short
  // wait cures or nothing does. Rate limits and overload are waited out however long.
  bool bounded = false;
};

// What a refused upload or create means for its batch. The classifier's verdict, except:
// a 404 or 405 says the provider has no such path (a base_url without its /v1), which no
// batch cures; OpenAI's "Cannot find file" for the file just uploaded (param file_id or
// input_file_id) passes with a short wait (provider-apis 1.11).
CreateRefusal ClassifyCreateRefusal(const providers::ApiError& error,
                                    providers::ErrorClass verdict) {
  if (error.http_status == 404 || error.http_status == 405) {
    return {providers::ErrorClass::kOperatorAction,
            "so the provider has no such path: check the provider's base_url (it usually ends "
            "in /v1)"};
  }
  if (error.http_status == 400 && (error.param == "input_file_id" || error.param == "file_id")) {
    return {providers::ErrorClass::kRetryable, "", /*bounded=*/true};
  }
  return {verdict, verdict == providers::ErrorClass::kOperatorAction
                       ? "which no retry cures until someone acts on billing, quota or "
                         "credentials"
                       : ""};
}

}  // namespace

Executor::Executor(ExecutorDeps deps)
    : deps_(std::move(deps)),
      replayer_(*deps_.projections),
      holds_in_a_row_(deps_.policies->size(), 0),
      batch_failures_in_a_row_(deps_.policies->size(), 0),
      lone_batch_failures_in_a_row_(deps_.policies->size(), 0) {
  session_.hold_until_us.assign(deps_.policies->size(), 0);
}

std::int64_t Executor::NowUs() const { return base::ToUnixMicros(deps_.clock->Now()); }

std::string_view Executor::WorkflowOf(std::uint32_t stage) const {
  return lifecycle().workflow_name(lifecycle().stage_records[stage].workflow);
}

std::string_view Executor::StageName(std::uint32_t stage) const {
  return lifecycle().stage_name(stage);
}

std::size_t Executor::PolicyOfStage(std::uint32_t stage) const {
  const std::vector<StagePolicy>& policies = *deps_.policies;
  for (std::size_t policy = 0; policy < policies.size(); ++policy) {
    if (policies[policy].workflow == WorkflowOf(stage) &&
        policies[policy].stage == StageName(stage)) {
      return policy;
    }
  }
  return policies.size();
}

base::Result<providers::BatchProvider*> Executor::ProviderOf(std::uint32_t batch) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::string_view name = lifecycle().providers.id(record.provider);
  const auto found = deps_.providers.find(name);
  if (found == deps_.providers.end()) {
    return base::FailedPreconditionError(
        "batch " + std::string(lifecycle().batches.keys.id(batch)) + " was sent to provider '" +
        std::string(name) + "', which the workflow file no longer defines");
  }
  return found->second;
}

base::Result<events::v1::Event> Executor::ReadEventAt(std::uint64_t seq) const {
  auto reader = deps_.log->NewReader({.from_seq = seq, .to_seq = seq});
  if (!reader->Next()) {
    if (!reader->status().ok()) return reader->status();
    return base::DataLossError("run " + deps_.log->run_id() + ": no event at seq " +
                               std::to_string(seq));
  }
  return reader->event();
}

base::Status Executor::Commit(std::vector<store::PendingEvent>& events,
                              store::Durability durability) {
  if (events.empty()) return base::Status::Ok();
  const std::int64_t now = NowUs();
  store::StepBatch step;
  step.events = std::move(events);
  step.durability = durability;
  for (store::PendingEvent& pending : step.events) pending.event.set_recorded_at_unix_us(now);
  BATCHLOG_RETURN_IF_ERROR(deps_.log->Append(step).status());
  for (store::PendingEvent& pending : step.events) {
    // Our own event refused by the fold is a bug in the executor: stop, loudly.
    BATCHLOG_RETURN_IF_ERROR(
        replayer_.Apply(pending.event).WithContext("folding the event just appended"));
    if (pending.event.has_request_planned() && !pending.blob.empty()) {
      unsent_bodies_.Keep(pending.event.seq(), pending.blob);
    }
  }
  events = std::move(step.events);
  event_pool_.Recycle(events);
  return base::Status::Ok();
}

base::Status Executor::CommitOne(events::v1::Event event, store::Durability durability,
                                 std::string blob) {
  std::vector<store::PendingEvent> events(1);
  events[0].event = std::move(event);
  events[0].blob = std::move(blob);
  return Commit(events, durability);
}

base::Status Executor::Execute(const Command& command) {
  return std::visit([this](const auto& c) { return Do(c); }, command);
}

base::Status Executor::FailRun(std::string_view reason, std::string_view code) {
  v1::Event event;
  event.mutable_run_failed()->set_reason(std::string(reason));
  event.mutable_run_failed()->set_code(std::string(code));
  return CommitOne(std::move(event), store::Durability::kSynced);
}

base::Status Executor::WriteSnapshot() {
  if (deps_.projections->last_seq == 0) return base::Status::Ok();
  store::StepBatch step;
  step.snapshot = replay::EncodeSnapshot(*deps_.projections);
  step.durability = store::Durability::kSynced;
  // Older snapshots beyond the retention set go in the same WriteBatch (snapshot_retention.h).
  BATCHLOG_ASSIGN_OR_RETURN(const std::vector<std::uint64_t> listed, deps_.log->SnapshotSeqs());
  if (listed.empty() || listed.back() < deps_.projections->last_seq) {
    step.drop_snapshots = SnapshotsToDrop(listed);
  }
  KillPoint("before-snapshot");
  BATCHLOG_RETURN_IF_ERROR(deps_.log->Append(step).status());
  KillPoint("after-snapshot");
  return base::Status::Ok();
}

// --- planning -----------------------------------------------------------------------------

base::Status Executor::Do(const PlanRequests& command) {
  const StagePolicy& policy = (*deps_.policies)[command.policy];
  const replay::RunState& state = deps_.projections->run_state;
  std::vector<store::PendingEvent> step;
  auto add = [&](NewRequest request) -> base::Status {
    store::PendingEvent& pending = event_pool_.Add(step, v1::Event::kRequestPlanned);
    v1::RequestPlanned* planned = pending.event.mutable_request_planned();
    planned->set_workflow(policy.workflow);
    planned->set_stage(policy.stage);
    planned->set_custom_id(std::move(request.custom_id));
    planned->set_ordinal(request.ordinal);
    planned->set_source_custom_id(std::move(request.source_custom_id));
    planned->set_estimated_input_tokens(request.estimated_input_tokens);
    planned->set_model(std::move(request.model));
    pending.blob = std::move(request.body_json);
    if (step.size() >= deps_.events_per_step) {
      BATCHLOG_RETURN_IF_ERROR(Commit(step, store::Durability::kSynced));
      KillPoint("plan-requests-step");
    }
    return base::Status::Ok();
  };

  if (!policy.upstream) {
    BATCHLOG_ASSIGN_OR_RETURN(std::vector<NewRequest> requests,
                              deps_.requests->FirstStageRequests(command.policy));
    const std::uint32_t stage = state.FindStage(policy.workflow, policy.stage);
    for (NewRequest& request : requests) {
      // A resumed run planned part of the stage already.
      if (stage != kNoIndex && state.FindRequest(stage, request.custom_id) != kNoIndex) continue;
      BATCHLOG_RETURN_IF_ERROR(add(std::move(request)));
    }
    return Commit(step, store::Durability::kSynced);
  }

  // Later stage: one request per upstream success, from the answers of every earlier stage.
  std::vector<std::size_t> chain;  // earlier policies, nearest first
  for (auto up = policy.upstream; up; up = (*deps_.policies)[*up].upstream) chain.push_back(*up);
  std::vector<std::uint32_t> chain_stages;
  for (const std::size_t earlier : chain) {
    const StagePolicy& earlier_policy = (*deps_.policies)[earlier];
    chain_stages.push_back(state.FindStage(earlier_policy.workflow, earlier_policy.stage));
  }
  const replay::Lifecycle& lc = lifecycle();
  // The earlier answers are read a chunk of sources at a time, in one forward scan of the
  // blobs in seq order (ReadBlobs), instead of a point lookup each: the answers of a batch
  // were ingested together, so their blobs are mostly adjacent.
  const std::size_t chunk = std::max<std::size_t>(1, deps_.events_per_step);
  std::vector<std::string> answers_read;  // [source in chunk * chain.size() + link]
  std::vector<std::pair<std::uint64_t, std::size_t>> wanted;  // (result seq, slot)
  std::vector<std::uint64_t> seqs;
  for (std::size_t begin = 0; begin < command.sources.size(); begin += chunk) {
    const std::size_t end = std::min(command.sources.size(), begin + chunk);
    answers_read.assign((end - begin) * chain.size(), std::string());
    std::vector<bool> answered((end - begin) * chain.size(), false);
    wanted.clear();
    for (std::size_t i = begin; i < end; ++i) {
      const std::string_view source_id = lc.requests.custom_id(command.sources[i]);
      for (std::size_t link = 0; link < chain.size(); ++link) {
        const std::uint32_t stage = chain_stages[link];
        const std::uint32_t request =
            stage == kNoIndex ? kNoIndex : state.FindRequest(stage, source_id);
        if (request == kNoIndex) continue;
        const std::uint64_t seq = deps_.projections->stage_inputs.result_seq[request];
        if (seq == 0) continue;
        wanted.emplace_back(seq, (i - begin) * chain.size() + link);
      }
    }
    std::sort(wanted.begin(), wanted.end());
    seqs.clear();
    for (const auto& [seq, slot] : wanted) seqs.push_back(seq);
    std::size_t next = 0;
    BATCHLOG_RETURN_IF_ERROR(
        deps_.log->ReadBlobs(seqs, [&](std::uint64_t /*seq*/, std::string_view blob) {
          const std::size_t slot = wanted[next++].second;
          answers_read[slot].assign(blob.data(), blob.size());
          answered[slot] = true;
          return base::Status::Ok();
        }));
    for (std::size_t i = begin; i < end; ++i) {
      const std::uint32_t source = command.sources[i];
      std::vector<EarlierAnswer> answers;
      for (std::size_t link = 0; link < chain.size(); ++link) {
        const std::size_t slot = (i - begin) * chain.size() + link;
        if (answered[slot])
          answers.push_back({(*deps_.policies)[chain[link]].stage, answers_read[slot]});
      }
      BATCHLOG_ASSIGN_OR_RETURN(
          NewRequest request,
          deps_.requests->LaterStageRequest(command.policy, lc.requests.custom_id(source),
                                            state.request_ordinal[source], answers));
      BATCHLOG_RETURN_IF_ERROR(add(std::move(request)));
    }
  }
  return Commit(step, store::Durability::kSynced);
}

base::Status Executor::Do(const PlanBatch& command) {
  const StagePolicy& policy = (*deps_.policies)[command.policy];
  if (command.requests.empty()) return base::Status::Ok();
  const replay::Lifecycle& lc = lifecycle();
  v1::Event event;
  v1::BatchPlanned* planned = event.mutable_batch_planned();
  const std::uint16_t attempt = *std::max_element(command.attempts.begin(), command.attempts.end());
  char index[16];
  std::snprintf(index, sizeof(index), "%06u", lc.batches.size());
  planned->set_batch_key(policy.workflow + ":" + policy.stage + ":a" + std::to_string(attempt) +
                         ":b" + index);
  planned->set_workflow(policy.workflow);
  planned->set_stage(policy.stage);
  planned->set_provider(policy.provider);
  planned->set_endpoint(policy.endpoint);
  planned->set_model(policy.model);
  std::uint64_t bytes = 0;
  std::uint64_t tokens = 0;
  for (std::size_t i = 0; i < command.requests.size(); ++i) {
    const std::uint32_t request = command.requests[i];
    const std::uint32_t body_bytes = deps_.projections->stage_inputs.body_bytes[request];
    const std::uint64_t line_bytes =
        PlannedLineBytes(body_bytes, lc.requests.custom_id(request).size());
    if (i > 0 && bytes + line_bytes > policy.batch_max_bytes) break;  // the rest: next batch
    bytes += line_bytes;
    tokens += EstimatedTokensOfBody(body_bytes);
    planned->add_custom_ids(std::string(lc.requests.custom_id(request)));
    planned->add_attempts(command.attempts[i]);
  }
  planned->set_input_bytes(bytes);
  planned->set_estimated_input_tokens(tokens);
  const std::uint32_t batch = lc.batches.size();
  BATCHLOG_RETURN_IF_ERROR(CommitOne(std::move(event), store::Durability::kSynced));
  session_.planned_here.insert(batch);
  KillPoint("after-batch-planned");
  return base::Status::Ok();
}

// --- submission ---------------------------------------------------------------------------

std::filesystem::path Executor::SpoolPathOf(std::string_view batch_key) const {
  return deps_.spool_dir / FileSafe(batch_key);
}

base::Result<providers::SubmitSpec> Executor::BuildSubmitSpec(std::uint32_t batch) {
  const replay::Lifecycle& lc = lifecycle();
  const replay::BatchRecord& record = lc.batches.records[batch];
  const std::size_t policy = PolicyOfStage(record.stage);
  providers::SubmitSpec spec;
  spec.run_id = deps_.log->run_id();
  spec.batch_key = std::string(lc.batches.keys.id(batch));
  spec.workflow = std::string(WorkflowOf(record.stage));
  spec.stage = std::string(StageName(record.stage));
  spec.attempt = record.max_attempt;
  if (policy < deps_.policies->size()) spec.endpoint = (*deps_.policies)[policy].endpoint;
  spec.requests.resize(record.member_count);
  // Bodies in seq order, read in one forward scan of the payloads.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order(record.member_count);
  for (std::uint32_t i = 0; i < record.member_count; ++i) {
    const std::uint32_t request = lc.batches.members[record.member_begin + i];
    order[i] = {deps_.projections->stage_inputs.planned_seq[request], i};
    spec.requests[i].custom_id = std::string(lc.requests.custom_id(request));
  }
  std::sort(order.begin(), order.end());
  // Bodies this process planned come from memory; the rest from the log (unsent_bodies.h).
  std::vector<std::uint64_t> seqs;
  std::vector<std::uint32_t> read_into;
  for (const auto& [seq, index] : order) {
    if (unsent_bodies_.Take(seq, spec.requests[index].body_json)) continue;
    seqs.push_back(seq);
    read_into.push_back(index);
  }
  std::size_t next = 0;
  BATCHLOG_RETURN_IF_ERROR(
      deps_.log->ReadBlobs(seqs, [&](std::uint64_t, std::string_view blob) -> base::Status {
        spec.requests[read_into[next++]].body_json.assign(blob);
        return base::Status::Ok();
      }));
  return spec;
}

base::Status Executor::Adopt(std::uint32_t batch, const providers::BatchInfo& info) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  v1::Event event;
  v1::BatchSubmitted* submitted = event.mutable_batch_submitted();
  submitted->set_batch_key(std::string(lifecycle().batches.keys.id(batch)));
  submitted->set_planned_seq(record.planned_seq);
  submitted->set_provider_batch_id(info.id);
  submitted->set_adopted(true);
  submitted->set_provider_created_at_unix_us(info.created_at_unix_us);
  spdlog::info("batch {} adopted: provider batch {} was created before the restart",
               submitted->batch_key(), info.id);
  BATCHLOG_RETURN_IF_ERROR(CommitOne(std::move(event), store::Durability::kSynced));
  SchedulePoll(batch, true);
  return base::Status::Ok();
}

std::vector<std::string> Executor::ClaimedProviderIds() const {
  std::vector<std::string> ids = rejected_candidates_;
  for (const replay::BatchRecord& record : lifecycle().batches.records) {
    if (!record.provider_batch_id.empty()) ids.push_back(record.provider_batch_id);
  }
  for (const auto& [batch, candidate] : candidates_) ids.push_back(candidate.id);
  return ids;
}

base::Status Executor::VerifyCandidate(std::uint32_t batch, providers::BatchProvider& provider) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  const std::string candidate_id = candidates_.at(batch).id;
  auto info = provider.GetBatch(candidate_id);
  if (!info.ok() || !providers::IsTerminal(info->state)) {
    if (!info.ok()) {
      spdlog::warn("batch {}: cannot poll candidate {}: {}", batch_key, candidate_id,
                   info.status().message());
    }
    SchedulePoll(batch, false);
    return base::Status::Ok();
  }
  const std::filesystem::path spool = SpoolPathOf(batch_key).concat(".candidate");
  auto downloaded = provider.DownloadResults(*info, spool);
  if (!downloaded.ok()) {
    spdlog::warn("batch {}: results of candidate {} not downloaded: {}", batch_key, candidate_id,
                 downloaded.status().message());
    SchedulePoll(batch, false);
    return base::Status::Ok();
  }
  // The candidate is ours when its results name exactly the planned members.
  std::vector<std::string> members;
  members.reserve(record.member_count);
  for (std::uint32_t i = 0; i < record.member_count; ++i) {
    const std::uint32_t request = lifecycle().batches.members[record.member_begin + i];
    members.emplace_back(lifecycle().requests.custom_id(request));
  }
  std::sort(members.begin(), members.end());
  std::vector<std::string> seen;
  for (const std::filesystem::path& file : downloaded->files) {
    auto parsed = providers::ParseResultsFile(
        provider.kind(), file, [&](const providers::ResultLine& line) -> base::Status {
          seen.emplace_back(line.custom_id);
          return base::Status::Ok();
        });
    if (!parsed.ok()) {
      std::error_code ignored;
      std::filesystem::remove_all(spool, ignored);
      return parsed.status().WithContext("results of candidate " + candidate_id);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(spool, ignored);
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  candidates_.erase(batch);
  if (seen == members) return Adopt(batch, *info);

  // Not ours: record the rejected adoption; the requests return to planned and go into a
  // new batch (the provider never ran them for us).
  rejected_candidates_.push_back(candidate_id);
  std::string example;
  for (const std::string& id : seen) {
    if (!std::binary_search(members.begin(), members.end(), id)) {
      example = id;
      break;
    }
  }
  v1::Event event;
  v1::SubmitRejected* rejected = event.mutable_submit_rejected();
  rejected->set_batch_key(batch_key);
  rejected->set_planned_seq(record.planned_seq);
  rejected->set_error_type("batchlog");
  rejected->set_error_code("adoption_rejected");
  rejected->set_message("provider batch " + candidate_id +
                        ", found by creation window and request count, holds other requests (" +
                        std::to_string(seen.size()) + " custom_ids" +
                        (example.empty() ? std::string() : ", e.g. '" + example + "'") +
                        "): not adopted; its requests are submitted again");
  rejected->set_error_class(v1::ERROR_CLASS_RETRYABLE);
  spdlog::warn("batch {}: {}", batch_key, rejected->message());
  session_.next_poll_us.erase(batch);
  return CommitOne(std::move(event), store::Durability::kSynced);
}

void Executor::HoldStage(std::size_t policy, double retry_after_s, std::string_view why,
                         std::uint32_t at_least_n) {
  if (policy >= deps_.policies->size()) return;
  const std::uint32_t holds = std::max(++holds_in_a_row_[policy], at_least_n);
  const RetryDelay delay = ComputeRetryDelay((*deps_.policies)[policy].retry, holds,
                                             deps_.random->NextUnit(), retry_after_s);
  session_.hold_until_us[policy] = NowUs() + SecondsToMicros(delay.delay_s);
  spdlog::warn("{}/{}: {}; new batches held for {:.1f} s", (*deps_.policies)[policy].workflow,
               (*deps_.policies)[policy].stage, why, delay.delay_s);
}

bool Executor::OtherBatchInFlight(std::uint32_t batch) const {
  const replay::BatchTable& batches = lifecycle().batches;
  const std::uint32_t provider = batches.records[batch].provider;
  for (std::uint32_t other = 0; other < batches.size(); ++other) {
    const replay::BatchRecord& record = batches.records[other];
    if (other != batch && record.provider == provider &&
        record.phase == replay::BatchPhase::kSubmitted) {
      return true;
    }
  }
  return false;
}

void Executor::BatchFailedTransiently(std::uint32_t batch, std::size_t policy,
                                      std::string_view code) {
  if (policy >= deps_.policies->size()) return;
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  const std::uint32_t in_a_row = ++batch_failures_in_a_row_[policy];
  std::uint32_t& lone = lone_batch_failures_in_a_row_[policy];
  if (!OtherBatchInFlight(batch) && ++lone >= kLoneBatchFailuresToStop) {
    const StagePolicy& stage = (*deps_.policies)[policy];
    StopRun(base::FailedPreconditionError(
        stage.workflow + "/" + stage.stage + ": batch " + batch_key + " failed as a whole with " +
        std::string(code) + "; the stage's batches failed so " + std::to_string(lone) +
        " times in a row with no other batch of their provider in flight: the same "
        "requests resubmitted as a batch of this size fail the same way (a batch alone "
        "larger than the provider's limit, such as the organisation's enqueued-token "
        "limit). Its requests stay planned, no attempt spent. Lower the stage's "
        "batch_limits (max_requests, max_bytes) or raise the limit, then `batchlog resume " +
        deps_.log->run_id() + "` (with --allow-changed-workflow after editing the file)"));
    return;
  }
  HoldStage(policy, 0, "batch " + batch_key + " failed as a whole (" + std::string(code) + ")",
            in_a_row);
}

base::Status Executor::Reject(std::uint32_t batch, const providers::ApiError& error) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::uint32_t stage = record.stage;
  const std::size_t policy = PolicyOfStage(stage);
  BATCHLOG_ASSIGN_OR_RETURN(providers::BatchProvider * provider, ProviderOf(batch));
  providers::ErrorFacts facts;
  facts.provider = provider->kind();
  facts.http_status = error.http_status;
  facts.error_type = error.type;
  facts.error_code = error.code;
  const providers::Classification verdict =
      policy < deps_.classifiers.size() && deps_.classifiers[policy] != nullptr
          ? deps_.classifiers[policy]->Classify(facts)
          : providers::ErrorClassifier().Classify(facts);

  const std::string batch_key(lifecycle().batches.keys.id(batch));
  std::vector<std::uint32_t> members(
      lifecycle().batches.members.begin() + record.member_begin,
      lifecycle().batches.members.begin() + record.member_begin + record.member_count);
  std::vector<store::PendingEvent> step(1);
  v1::SubmitRejected* rejected = step[0].event.mutable_submit_rejected();
  rejected->set_batch_key(batch_key);
  rejected->set_planned_seq(record.planned_seq);
  rejected->set_http_status(error.http_status);
  rejected->set_error_type(error.type);
  rejected->set_error_code(error.code);
  rejected->set_message(error.message);
  rejected->set_retry_after_s(error.retry_after_s.value_or(0));
  const CreateRefusal refusal = ClassifyCreateRefusal(error, verdict.error_class);
  rejected->set_error_class(ToEventClass(refusal.error_class));
  rejected->set_unknown_code(verdict.unknown && refusal.error_class == verdict.error_class);
  const bool retryable =
      refusal.error_class == providers::ErrorClass::kRetryable &&
      (!refusal.bounded || ++refusals_in_a_row_[policy] < kHardLookupFailuresToStop);
  // Billing, quota or credentials, a path the provider does not have, or a refusal that
  // did not pass with waiting: every create would be refused the same way until someone
  // acts, and the requests are not at fault. They stay planned (the fold returns them) and
  // the run stops; `resume` submits them again, no attempt spent.
  const bool operator_action =
      refusal.error_class == providers::ErrorClass::kOperatorAction ||
      (refusal.error_class == providers::ErrorClass::kRetryable && !retryable);
  if (!retryable) refusals_in_a_row_.erase(policy);
  if (!retryable && !operator_action) {
    // A create refused for good (e.g. a malformed input file): the batch-level failure
    // path. Its requests are abandoned, never resubmitted.
    v1::RequestsAbandoned* abandoned = step.emplace_back().event.mutable_requests_abandoned();
    abandoned->set_workflow(std::string(WorkflowOf(stage)));
    abandoned->set_stage(std::string(StageName(stage)));
    for (const std::uint32_t request : members) {
      abandoned->add_custom_ids(std::string(lifecycle().requests.custom_id(request)));
    }
    abandoned->set_reason(v1::ABANDON_REASON_BATCH_FAILED);
  }
  spdlog::warn("batch {} rejected by the provider: HTTP {} {} ({})", batch_key, error.http_status,
               error.code.empty() ? error.type : error.code, error.message);
  BATCHLOG_RETURN_IF_ERROR(Commit(step, store::Durability::kSynced));
  if (retryable) HoldStage(policy, error.retry_after_s.value_or(0), "batch create rejected");
  if (operator_action) {
    const std::string cause =
        refusal.error_class == providers::ErrorClass::kRetryable
            ? "refused " + std::to_string(kHardLookupFailuresToStop) + " times in a row, waiting "
              "between tries"
            : refusal.why;
    StopRun(base::FailedPreconditionError(
        "batch " + batch_key + ": the provider refused to create it with " + verdict.code +
        " (HTTP " + std::to_string(error.http_status) + ": " + error.message + "), " + cause +
        "; its requests stay planned, no attempt spent. Fix the cause, then `batchlog resume " +
        deps_.log->run_id() + "`"));
  }
  return base::Status::Ok();
}

base::Status Executor::Do(const SubmitBatch& command) {
  const std::uint32_t batch = command.batch;
  BATCHLOG_ASSIGN_OR_RETURN(providers::BatchProvider * provider, ProviderOf(batch));
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  const std::size_t policy = PolicyOfStage(record.stage);

  if (command.reconcile) {
    if (candidates_.contains(batch)) return VerifyCandidate(batch, *provider);
    // An earlier process planned this batch and may have created it before it stopped.
    BATCHLOG_ASSIGN_OR_RETURN(const v1::Event planned_event, ReadEventAt(record.planned_seq));
    providers::FindBatchQuery query;
    query.batch_key = batch_key;
    query.run_id = deps_.log->run_id();
    query.planned_at_unix_us = planned_event.recorded_at_unix_us();
    query.request_count = record.member_count;
    const bool by_window = provider->kind() == providers::ProviderKind::kAnthropic;
    if (by_window) query.exclude_ids = ClaimedProviderIds();
    auto found = provider->FindBatch(query);
    if (!found.ok()) {
      CallFailed(batch, policy, "look-up", found.status());
      return base::Status::Ok();
    }
    NoteProviderCall(batch, base::Status::Ok());
    if (found->has_value() && !by_window) return Adopt(batch, **found);  // metadata: exact
    if (found->has_value()) {
      spdlog::info(
          "batch {}: provider batch {} matches its creation window and request count; "
          "adopted once its results show the same custom_ids",
          batch_key, (*found)->id);
      candidates_[batch] = **found;
      return VerifyCandidate(batch, *provider);
    }
    session_.planned_here.insert(batch);  // not at the provider: submit it now
  }

  BATCHLOG_ASSIGN_OR_RETURN(providers::SubmitSpec spec, BuildSubmitSpec(batch));
  std::string file_id = record.file_id;
  if (provider->uploads_input_file() && file_id.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(deps_.spool_dir, ignored);
    const std::filesystem::path input = SpoolPathOf(batch_key).concat(".input.jsonl");
    auto uploaded = provider->UploadInput(spec, input);
    std::filesystem::remove(input, ignored);
    if (!uploaded.ok() && uploaded.status().code() == base::StatusCode::kResourceExhausted) {
      // The input file could not be written here (a full disk; a provider's 429 to an upload
      // is a rejection, not a Status): stop, resumable, rather than fill the disk again.
      StopRun(base::ResourceExhaustedError("batch " + batch_key + ": " +
                                           uploaded.status().message() +
                                           "; free space, then `batchlog resume " +
                                           deps_.log->run_id() + "`"));
      return base::Status::Ok();
    }
    if (!uploaded.ok()) {
      // An upload whose outcome is unknown leaves at worst an unused file: upload again.
      CallFailed(batch, policy, "upload",
                 uploaded.status().code() == base::StatusCode::kOutcomeUnknown
                     ? base::UnavailableError(uploaded.status().message())
                     : uploaded.status());
      return base::Status::Ok();
    }
    NoteProviderCall(batch, base::Status::Ok());
    if (uploaded->rejected) return Reject(batch, *uploaded->rejected);
    v1::Event event;
    v1::FileUploaded* file = event.mutable_file_uploaded();
    file->set_batch_key(batch_key);
    file->set_planned_seq(record.planned_seq);
    file->set_file_id(uploaded->file_id);
    file->set_bytes(uploaded->bytes);
    file_id = uploaded->file_id;
    BATCHLOG_RETURN_IF_ERROR(CommitOne(std::move(event), store::Durability::kSynced));
    KillPoint("after-file-uploaded");
  }

  KillPoint("before-create");
  auto created = provider->CreateBatch(spec, file_id);
  KillPoint("after-create-returned");
  if (!created.ok()) {
    if (created.status().code() == base::StatusCode::kOutcomeUnknown) {
      // The batch may exist: never create blindly; the next attempt looks it up first.
      // Paced like a poll: a server failing every create must not be asked in a tight loop.
      session_.planned_here.erase(batch);
      SchedulePoll(batch, false);
      spdlog::warn("batch {}: create outcome unknown ({}); reconciling", batch_key,
                   created.status().message());
      return base::Status::Ok();
    }
    CallFailed(batch, policy, "create", created.status());
    return base::Status::Ok();
  }
  NoteProviderCall(batch, base::Status::Ok());
  if (created->rejected) return Reject(batch, *created->rejected);
  if (!created->batch)
    return base::InternalError("provider create returned neither batch nor error");
  holds_in_a_row_[std::min(policy, holds_in_a_row_.size() - 1)] = 0;
  refusals_in_a_row_.erase(policy);
  v1::Event event;
  v1::BatchSubmitted* submitted = event.mutable_batch_submitted();
  submitted->set_batch_key(batch_key);
  submitted->set_planned_seq(record.planned_seq);
  submitted->set_provider_batch_id(created->batch->id);
  submitted->set_provider_created_at_unix_us(created->batch->created_at_unix_us);
  spdlog::info("batch {} submitted: {} requests, provider batch {}", batch_key, record.member_count,
               created->batch->id);
  BATCHLOG_RETURN_IF_ERROR(CommitOne(std::move(event), store::Durability::kSynced));
  SchedulePoll(batch, true);
  KillPoint("after-batch-submitted");
  return base::Status::Ok();
}

// --- polling ------------------------------------------------------------------------------

namespace {

// The server's Retry-After carried by a failed call, in seconds; 0 when it sent none.
double RetryAfterSeconds(const base::Status& status) {
  const std::optional<base::Duration> wait = status.retry_after();
  return wait ? std::chrono::duration<double>(*wait).count() : 0.0;
}

// Causes that waiting does not cure: the provider does not know the batch or its results
// (deleted, archived, another organisation's key), or refuses the caller (401/403).
bool IsHardLookupFailure(base::StatusCode code) {
  switch (code) {
    case base::StatusCode::kNotFound:
    case base::StatusCode::kFailedPrecondition:
    case base::StatusCode::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Executor::LookupFailed(std::uint32_t batch, std::string_view what,
                            const base::Status& status) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::string_view batch_key = lifecycle().batches.keys.id(batch);
  spdlog::warn("batch {} ({}): {} failed: {}", batch_key, record.provider_batch_id, what,
               status.message());
  SchedulePoll(batch, false);
  // A provider that asked for a longer wait than the poll backoff gets it (rule 4: its
  // Retry-After wins when larger); polls and ingestion of this batch both wait.
  if (const std::optional<base::Duration> wait = status.retry_after()) {
    std::int64_t& next_us = session_.next_poll_us[batch];
    next_us = std::max(next_us, NowUs() + wait->count());
  }
  if (!IsHardLookupFailure(status.code())) {
    hard_lookup_failures_.erase(batch);
    return;
  }
  if (++hard_lookup_failures_[batch] < kHardLookupFailuresToStop) return;
  hard_lookup_failures_.erase(batch);
  StopRun(base::FailedPreconditionError(
      "batch " + std::string(batch_key) + " (provider batch " + record.provider_batch_id +
      "): " + std::string(what) + " failed " + std::to_string(kHardLookupFailuresToStop) +
      " times in a row: " + status.message() +
      ". Waiting does not cure this (a batch or results file the provider no longer has, or "
      "a key it refuses); the run stops with the batch in flight and nothing resubmitted. "
      "Check the key and the provider's console, then `batchlog resume " +
      deps_.log->run_id() + "` (or `batchlog cancel`)"));
}

void Executor::CallFailed(std::uint32_t batch, std::size_t policy, std::string_view call,
                          const base::Status& status) {
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  if (NoteProviderCall(batch, status)) {
    const std::string why =
        std::string(call) + " of batch " + batch_key + " failed: " + status.message();
    if (!ProviderAnswered(batch) && policy < deps_.policies->size() &&
        RetryAfterSeconds(status) == 0) {
      // A provider that has never answered (a wrong base_url, no network) is tried again
      // soon, so that kUnansweredCallsToStop calls take seconds, not the stage's backoff.
      session_.hold_until_us[policy] = NowUs() + SecondsToMicros(kUnansweredHoldS);
      spdlog::warn("{}; the provider has not answered yet: trying again in {:.0f} s", why,
                   kUnansweredHoldS);
      return;
    }
    HoldStage(policy, RetryAfterSeconds(status), why);
    return;
  }
  // A local failure (a malformed request, an unwritable spool, TLS refused): holding and
  // trying again would fail the same way, forever.
  StopRun(base::Status(status.code(), "batch " + batch_key + ": " + std::string(call) +
                                          " failed: " + status.message() +
                                          "; no retry cures this, so the run stops here"));
}

void Executor::StopRun(base::Status why) {
  if (stop_.ok()) stop_ = std::move(why);
}

bool Executor::ProviderAnswered(std::uint32_t batch) const {
  const std::string_view name =
      lifecycle().providers.id(lifecycle().batches.records[batch].provider);
  const auto health = provider_health_.find(name);
  return health != provider_health_.end() && health->second.answered;
}

bool Executor::NoteProviderCall(std::uint32_t batch, const base::Status& status) {
  const std::string_view name =
      lifecycle().providers.id(lifecycle().batches.records[batch].provider);
  auto health = provider_health_.find(name);
  if (health == provider_health_.end()) {
    health = provider_health_.emplace(std::string(name), ProviderHealth{}).first;
  }
  if (status.ok()) {
    health->second = ProviderHealth{.answered = true};
    return true;
  }
  const base::StatusCode code = status.code();
  const bool transient = code == base::StatusCode::kUnavailable ||
                         code == base::StatusCode::kDeadlineExceeded ||
                         code == base::StatusCode::kResourceExhausted ||
                         code == base::StatusCode::kOutcomeUnknown;
  if (transient && !health->second.answered &&
      code != base::StatusCode::kOutcomeUnknown &&
      ++health->second.failures_in_a_row >= kUnansweredCallsToStop) {
    StopRun(base::UnavailableError(
        "provider '" + std::string(name) + "' has not answered any of its first " +
        std::to_string(kUnansweredCallsToStop) + " calls (the last: " + status.message() +
        "); check its base_url, the network and the provider's status page, then `batchlog "
        "resume " + deps_.log->run_id() + "`"));
  }
  return transient;
}

void Executor::SchedulePoll(std::uint32_t batch, bool changed) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::size_t policy = PolicyOfStage(record.stage);
  const PollSchedule schedule =
      policy < deps_.policies->size() ? (*deps_.policies)[policy].poll : PollSchedule{};
  double& interval = poll_interval_s_[batch];
  interval = NextPollInterval(schedule, interval, changed);
  session_.next_poll_us[batch] = NowUs() + SecondsToMicros(interval);
}

base::Status Executor::Do(const PollBatch& command) {
  const std::uint32_t batch = command.batch;
  BATCHLOG_ASSIGN_OR_RETURN(providers::BatchProvider * provider, ProviderOf(batch));
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  auto info = provider->GetBatch(record.provider_batch_id);
  NoteProviderCall(batch, info.status());
  if (!info.ok()) {
    LookupFailed(batch, "poll", info.status());
    return base::Status::Ok();
  }
  hard_lookup_failures_.erase(batch);
  const v1::BatchStatus status = ToEventStatus(info->state);
  const auto last = last_counts_.find(batch);
  const bool changed =
      status != record.status || last == last_counts_.end() || !(last->second == info->counts);
  last_counts_[batch] = info->counts;
  if (providers::IsTerminal(info->state)) {
    v1::Event event;
    v1::BatchEnded* ended = event.mutable_batch_ended();
    ended->set_batch_key(batch_key);
    ended->set_status(status);
    ended->set_provider_status(info->provider_status);
    CopyCounts(info->counts, *ended->mutable_counts());
    ended->set_output_file_id(info->output_file_id);
    ended->set_error_file_id(info->error_file_id);
    ended->set_results_url(info->results_url);
    for (const providers::BatchErrorInfo& error : info->errors) {
      v1::BatchError* out = ended->add_errors();
      out->set_code(error.code);
      out->set_message(error.message);
      out->set_line(error.line);
      out->set_param(error.param);
    }
    ended->set_planned_seq(record.planned_seq);
    spdlog::info("batch {} ended: {} ({} succeeded, {} failed of {})", batch_key,
                 info->provider_status, info->counts.succeeded, info->counts.failed,
                 info->counts.total);
    BATCHLOG_RETURN_IF_ERROR(CommitOne(std::move(event), store::Durability::kSynced));
    session_.next_poll_us.erase(batch);
    KillPoint("after-batch-ended");
    return base::Status::Ok();
  }
  if (changed) {
    v1::Event event;
    v1::BatchPolled* polled = event.mutable_batch_polled();
    polled->set_batch_key(batch_key);
    polled->set_status(status);
    polled->set_provider_status(info->provider_status);
    CopyCounts(info->counts, *polled->mutable_counts());
    // A lost poll is harmless (the next one sees the same or newer), so no fsync.
    BATCHLOG_RETURN_IF_ERROR(CommitOne(std::move(event), store::Durability::kBuffered));
  }
  SchedulePoll(batch, changed);
  return base::Status::Ok();
}

// --- ingestion ----------------------------------------------------------------------------

base::Status Executor::IngestFiles(std::uint32_t batch, const providers::BatchInfo& info,
                                   const std::vector<std::filesystem::path>& files) {
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::uint32_t stage = record.stage;
  const std::size_t policy = PolicyOfStage(stage);
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  BATCHLOG_ASSIGN_OR_RETURN(providers::BatchProvider * provider, ProviderOf(batch));
  const providers::ErrorClassifier default_classifier;
  const providers::ErrorClassifier& classifier =
      policy < deps_.classifiers.size() && deps_.classifiers[policy] != nullptr
          ? *deps_.classifiers[policy]
          : default_classifier;
  std::uint32_t succeeded = 0;
  std::uint32_t failed = 0;
  std::uint32_t ignored = 0;
  std::uint32_t operator_action = 0;  // failures only someone can cure (billing, credentials)
  std::uint32_t unknown = 0;          // failures no classification rule knew
  std::string unknown_code;           // the first of them
  std::string operator_code;
  std::vector<store::PendingEvent> step;
  std::vector<bool> seen(lifecycle().requests.size(), false);
  for (const std::filesystem::path& file : files) {
    auto parsed = providers::ParseResultsFile(
        provider->kind(), file, [&](const providers::ResultLine& line) -> base::Status {
          const replay::RunState& state = deps_.projections->run_state;
          const std::uint32_t request = state.FindRequest(stage, line.custom_id);
          const replay::Lifecycle& lc = lifecycle();
          if (request == kNoIndex || lc.requests.last_batch[request] != batch ||
              (lc.requests.flags[request] & replay::kHasResult) != 0) {
            ++ignored;  // not ours in this batch, or already recorded (re-ingestion)
            return base::Status::Ok();
          }
          // A provider repeating a line within this ingestion is recorded once.
          if (seen[request]) {
            ++ignored;
            return base::Status::Ok();
          }
          seen[request] = true;
          const std::uint16_t attempt = lc.requests.attempt[request];
          const std::optional<providers::Classification> failure =
              classifier.ClassifyResult(provider->kind(), line);
          store::PendingEvent& pending = event_pool_.Add(
              step, failure ? v1::Event::kRequestFailed : v1::Event::kRequestSucceeded);
          pending.blob.assign(line.body);
          if (!failure) {
            v1::RequestSucceeded* ok = pending.event.mutable_request_succeeded();
            ok->set_batch_key(batch_key);
            ok->set_custom_id(std::string(line.custom_id));
            ok->set_attempt(attempt);
            CopyUsage(line.usage, *ok->mutable_usage());
            ok->set_finish_reason(std::string(line.finish_reason));
            ++succeeded;
          } else {
            v1::RequestFailed* bad = pending.event.mutable_request_failed();
            bad->set_batch_key(batch_key);
            bad->set_custom_id(std::string(line.custom_id));
            bad->set_attempt(attempt);
            bad->set_code(failure->code);
            bad->set_error_type(std::string(line.error_type));
            bad->set_message(std::string(line.error_message));
            bad->set_http_status(line.http_status);
            bad->set_error_class(ToEventClass(failure->error_class));
            bad->set_unknown_code(failure->unknown);
            CopyUsage(line.usage, *bad->mutable_usage());
            ++failed;
            if (failure->error_class == providers::ErrorClass::kOperatorAction) {
              if (operator_action++ == 0) operator_code = failure->code;
            }
            if (failure->unknown && unknown++ == 0) unknown_code = failure->code;
          }
          if (step.size() >= deps_.events_per_step) {
            BATCHLOG_RETURN_IF_ERROR(Commit(step, store::Durability::kSynced));
            KillPoint("mid-ingest");
          }
          return base::Status::Ok();
        });
    if (!parsed.ok()) return parsed.status();
  }
  // A finished batch whose files name no outcome for a member (the reference allows OpenAI
  // to write none for a request that a cancel or the expiry stopped before it started):
  // recorded as the failure the batch's end implies, in the provider's own words for it
  // (the line it would have written), so it follows the same rules as that line, and a
  // provider that keeps leaving a request out costs attempts, never an endless loop of
  // free resubmissions.
  std::uint32_t absent = 0;
  if (record.status != v1::BATCH_STATUS_FAILED) {
    const bool openai = provider->kind() == providers::ProviderKind::kOpenAi;
    providers::ErrorFacts facts;
    facts.provider = provider->kind();
    facts.outcome = providers::ResultOutcome::kErrored;
    if (record.status == v1::BATCH_STATUS_EXPIRED) {
      if (openai) facts.error_code = "batch_expired";
      else facts.outcome = providers::ResultOutcome::kExpired;
    } else if (record.status == v1::BATCH_STATUS_CANCELLED) {
      if (openai) facts.error_code = "batch_cancelled";
      else facts.outcome = providers::ResultOutcome::kCanceled;
    } else {
      facts.error_code = "missing_result";
    }
    const providers::Classification verdict = classifier.Classify(facts);
    for (std::uint32_t i = 0; i < record.member_count; ++i) {
      const std::uint32_t request = lifecycle().batches.members[record.member_begin + i];
      if ((lifecycle().requests.flags[request] & replay::kHasResult) != 0 || seen[request]) {
        continue;
      }
      store::PendingEvent& pending = event_pool_.Add(step, v1::Event::kRequestFailed);
      v1::RequestFailed* bad = pending.event.mutable_request_failed();
      bad->set_batch_key(batch_key);
      bad->set_custom_id(std::string(lifecycle().requests.custom_id(request)));
      bad->set_attempt(lifecycle().requests.attempt[request]);
      bad->set_code(verdict.code);
      bad->set_error_type("batchlog");
      bad->set_message("no result line for this request in the files of the " +
                       std::string(info.provider_status) + " batch");
      bad->set_http_status(0);
      bad->set_error_class(ToEventClass(verdict.error_class));
      bad->set_unknown_code(verdict.unknown);
      ++absent;
      ++failed;
    }
  }
  BATCHLOG_RETURN_IF_ERROR(Commit(step, store::Durability::kSynced));

  // Members of a failed batch with no result were never processed: they return to planned
  // at the same attempt (the fold does that on ResultsIngested), or are abandoned below.
  std::uint32_t missing = 0;
  std::vector<std::uint32_t> unprocessed;
  for (std::uint32_t i = 0; i < record.member_count; ++i) {
    const std::uint32_t request = lifecycle().batches.members[record.member_begin + i];
    if ((lifecycle().requests.flags[request] & replay::kHasResult) == 0) {
      ++missing;
      unprocessed.push_back(request);
    }
  }
  std::vector<store::PendingEvent> closing(1);
  v1::ResultsIngested* ingested = closing[0].event.mutable_results_ingested();
  ingested->set_batch_key(batch_key);
  ingested->set_planned_seq(record.planned_seq);
  ingested->set_succeeded(succeeded);
  ingested->set_failed(failed);
  ingested->set_missing(missing);

  bool hold = false;
  if (record.status == v1::BATCH_STATUS_FAILED && missing > 0) {
    // A batch-level failure: its own path, never counted as request-level retries.
    // Transient causes (token_limit_exceeded) resubmit the same attempt after a delay;
    // anything else (validation) abandons the requests.
    // token_limit_exceeded (the enqueued-token quota was full) is the one batch failure
    // that a later resubmission of the same input cures; validation failures are not.
    // The classifier (with the workflow file's overrides) names the transient codes. An
    // unknown code is not transient here: a batch-level resubmission spends no attempt, so
    // nothing would bound a loop of the same input failing the same way.
    bool transient = !info.errors.empty();
    for (const providers::BatchErrorInfo& error : info.errors) {
      providers::ErrorFacts facts;
      facts.provider = provider->kind();
      facts.error_code = error.code;
      const providers::Classification verdict = classifier.Classify(facts);
      if (verdict.error_class != providers::ErrorClass::kRetryable || verdict.unknown) {
        transient = false;
      }
    }
    if (transient) {
      hold = true;
    } else {
      v1::RequestsAbandoned* abandoned = closing.emplace_back().event.mutable_requests_abandoned();
      abandoned->set_workflow(std::string(WorkflowOf(stage)));
      abandoned->set_stage(std::string(StageName(stage)));
      for (const std::uint32_t request : unprocessed) {
        abandoned->add_custom_ids(std::string(lifecycle().requests.custom_id(request)));
      }
      abandoned->set_reason(v1::ABANDON_REASON_BATCH_FAILED);
    }
  }
  spdlog::info("batch {} ingested: {} succeeded, {} failed, {} unprocessed{}{}", batch_key,
               succeeded, failed, missing,
               absent > 0 ? " (" + std::to_string(absent) + " failed: no result line)" : "",
               ignored > 0 ? " (repeated lines ignored)" : "");
  BATCHLOG_RETURN_IF_ERROR(Commit(closing, store::Durability::kSynced));
  if (unknown > 0) {
    spdlog::warn("batch {}: {} failure{} with a code no classification rule knows ({}{}), "
                 "handled as {}: name it under error_classes to decide it",
                 batch_key, unknown, unknown == 1 ? "" : "s", unknown_code,
                 unknown == 1 ? "" : ", ...",
                 providers::ErrorClassName(classifier.unknown_default()));
  }
  if (hold) {
    BatchFailedTransiently(batch, policy, info.errors.front().code);
  } else if (record.status != v1::BATCH_STATUS_FAILED && policy < deps_.policies->size()) {
    batch_failures_in_a_row_[policy] = 0;
    lone_batch_failures_in_a_row_[policy] = 0;
  }
  KillPoint("after-results-ingested");
  if (operator_action > 0) {
    StopRun(base::FailedPreconditionError(
        "batch " + batch_key + ": " + std::to_string(operator_action) +
        (operator_action == 1 ? " request" : " requests") + " failed with " + operator_code +
        (operator_action == 1 ? "" : " (and the like)") +
        ", which no retry cures until someone acts on billing, quota or credentials; the " +
        "run stops here rather than spend their remaining retries on it. Fix the cause, then " +
        "`batchlog resume " + deps_.log->run_id() + "` (each such stop costs one attempt)"));
  }
  return base::Status::Ok();
}

base::Status Executor::Do(const IngestBatch& command) {
  const std::uint32_t batch = command.batch;
  BATCHLOG_ASSIGN_OR_RETURN(providers::BatchProvider * provider, ProviderOf(batch));
  const replay::BatchRecord& record = lifecycle().batches.records[batch];
  const std::string batch_key(lifecycle().batches.keys.id(batch));
  auto info = provider->GetBatch(record.provider_batch_id);
  NoteProviderCall(batch, info.status());
  if (!info.ok()) {
    LookupFailed(batch, "fetch for ingestion", info.status());
    return base::Status::Ok();
  }
  const std::filesystem::path spool = SpoolPathOf(batch_key);
  auto downloaded = provider->DownloadResults(*info, spool);
  if (!downloaded.ok() && downloaded.status().code() == base::StatusCode::kInternal) {
    // The local disk failed (the spool cannot be written): stop, resumable, rather than
    // download again and again into a full disk.
    StopRun(downloaded.status());
    return base::Status::Ok();
  }
  NoteProviderCall(batch, downloaded.status());
  if (!downloaded.ok()) {
    // Incomplete or failed download: nothing is ingested from it; fetched again later.
    LookupFailed(batch, "download of the results", downloaded.status());
    return base::Status::Ok();
  }
  hard_lookup_failures_.erase(batch);
  BATCHLOG_RETURN_IF_ERROR(IngestFiles(batch, *info, downloaded->files));
  std::error_code ignored;
  std::filesystem::remove_all(spool, ignored);
  return base::Status::Ok();
}

// --- retry decisions ----------------------------------------------------------------------

base::Status Executor::Do(const ScheduleRetry& command) {
  const StagePolicy& policy = (*deps_.policies)[command.policy];
  const RetryDelay delay =
      ComputeRetryDelay(policy.retry, command.attempt - 1u, deps_.random->NextUnit());
  v1::Event event;
  v1::RetryScheduled* scheduled = event.mutable_retry_scheduled();
  scheduled->set_workflow(policy.workflow);
  scheduled->set_stage(policy.stage);
  for (const std::uint32_t request : command.requests) {
    scheduled->add_custom_ids(std::string(lifecycle().requests.custom_id(request)));
  }
  scheduled->set_attempt(command.attempt);
  scheduled->set_not_before_unix_us(NowUs() + SecondsToMicros(delay.delay_s));
  scheduled->set_delay_s(delay.delay_s);
  scheduled->set_jitter_factor(delay.jitter_factor);
  scheduled->set_retry_after_s(delay.retry_after_s);
  spdlog::info("{}/{}: {} requests will be retried (attempt {}) in {:.1f} s", policy.workflow,
               policy.stage, command.requests.size(), command.attempt, delay.delay_s);
  return CommitOne(std::move(event), store::Durability::kSynced);
}

base::Status Executor::Do(const AbandonRequests& command) {
  const StagePolicy& policy = (*deps_.policies)[command.policy];
  v1::Event event;
  v1::RequestsAbandoned* abandoned = event.mutable_requests_abandoned();
  abandoned->set_workflow(policy.workflow);
  abandoned->set_stage(policy.stage);
  for (const std::uint32_t request : command.requests) {
    abandoned->add_custom_ids(std::string(lifecycle().requests.custom_id(request)));
  }
  abandoned->set_reason(command.reason);
  spdlog::warn("{}/{}: {} requests abandoned ({})", policy.workflow, policy.stage,
               command.requests.size(), v1::AbandonReason_Name(command.reason));
  return CommitOne(std::move(event), store::Durability::kSynced);
}

base::Status Executor::Do(const WarnQuota& command) {
  const StagePolicy& policy = (*deps_.policies)[command.policy];
  v1::Event event;
  v1::QuotaWarning* warning = event.mutable_quota_warning();
  warning->set_provider(policy.provider);
  warning->set_model(policy.model);
  warning->set_enqueued_tokens(command.enqueued_tokens);
  warning->set_quota_tokens(command.quota_tokens);
  warning->set_holding(command.holding);
  if (command.holding) {
    spdlog::warn("{}/{}: new batches held: {} estimated tokens enqueued for {} on {}, quota {}",
                 policy.workflow, policy.stage, command.enqueued_tokens, policy.model,
                 policy.provider, command.quota_tokens);
  } else {
    spdlog::warn("{}/{}: {} estimated tokens enqueued for {} on {} (quota {}); not holding",
                 policy.workflow, policy.stage, command.enqueued_tokens, policy.model,
                 policy.provider, command.quota_tokens);
  }
  return CommitOne(std::move(event), store::Durability::kSynced);
}

base::Status Executor::Do(const CompleteStage& command) {
  const StagePolicy& policy = (*deps_.policies)[command.policy];
  v1::Event event;
  v1::StageCompleted* completed = event.mutable_stage_completed();
  completed->set_workflow(policy.workflow);
  completed->set_stage(policy.stage);
  const std::uint32_t stage = deps_.projections->run_state.FindStage(policy.workflow, policy.stage);
  if (stage != kNoIndex) {
    const replay::StageRecord& record = lifecycle().stage_records[stage];
    completed->set_succeeded(record.by_status[static_cast<std::size_t>(RequestStatus::kSucceeded)]);
    completed->set_failed(record.by_status[static_cast<std::size_t>(RequestStatus::kFailedFinal)]);
  }
  spdlog::info("{}/{}: stage completed ({} succeeded, {} failed)", policy.workflow, policy.stage,
               completed->succeeded(), completed->failed());
  return CommitOne(std::move(event), store::Durability::kSynced);
}

base::Status Executor::Do(const CompleteRun&) {
  v1::Event event;
  event.mutable_run_completed()->set_workflows(lifecycle().workflows.size());
  spdlog::info("run completed");
  return CommitOne(std::move(event), store::Durability::kSynced);
}

}  // namespace batchlog::orchestrator
