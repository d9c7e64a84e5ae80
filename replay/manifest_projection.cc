#include "replay/manifest_projection.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <nlohmann/json.hpp>

#include "replay/json_text.h"

namespace batchlog::replay {
namespace {

using events::v1::Event;
using Json = nlohmann::ordered_json;

bool IsCarried(const ManifestState& state, const Lifecycle& lifecycle, std::uint32_t stage) {
  const std::string_view workflow =
      lifecycle.workflow_name(lifecycle.stage_records[stage].workflow);
  const std::string_view name = lifecycle.stage_name(stage);
  for (const CarriedStageRecord& carried : state.forked_from.carried) {
    if (carried.workflow == workflow && carried.stage == name) return true;
  }
  return false;
}

void SyncStages(ManifestState& state, const Lifecycle& lifecycle) {
  const std::size_t stages = lifecycle.stage_records.size();
  if (state.usage.size() == stages && state.stage_carried.size() == stages) return;
  state.usage.resize(stages);
  while (state.stage_carried.size() < stages) {
    const auto stage = static_cast<std::uint32_t>(state.stage_carried.size());
    state.stage_carried.push_back(IsCarried(state, lifecycle, stage) ? 1 : 0);
  }
}

// The slot of (stage, model, attempt), created when new. Results come in long runs of one
// batch, so the last slot is tried first.
CostSlot& SlotOf(ManifestState& state, std::uint32_t stage, std::uint32_t model,
                 std::uint16_t attempt) {
  std::uint32_t& cached = state.caches.slot;
  const auto matches = [&](const CostSlot& slot) {
    return slot.stage == stage && slot.model == model && slot.attempt == attempt;
  };
  if (cached < state.cost_slots.size() && matches(state.cost_slots[cached])) {
    return state.cost_slots[cached];
  }
  for (std::uint32_t i = 0; i < state.cost_slots.size(); ++i) {
    if (matches(state.cost_slots[i])) {
      cached = i;
      return state.cost_slots[i];
    }
  }
  cached = static_cast<std::uint32_t>(state.cost_slots.size());
  return state.cost_slots.emplace_back(
      CostSlot{.stage = stage, .model = model, .attempt = attempt});
}

// Adds a result's tokens: always to the stage's usage; to its cost when the attempt was
// billed in this run (header comment, "Cost").
void AddUsage(ManifestState& state, const Lifecycle& lifecycle, std::uint32_t request,
              const events::v1::Usage& usage, std::uint32_t attempt, bool billed) {
  const std::uint32_t stage = lifecycle.requests.stage(request);
  StageUsage& stage_usage = state.usage[stage];
  stage_usage.input_tokens += usage.input_tokens();
  stage_usage.output_tokens += usage.output_tokens();
  stage_usage.cached_input_tokens += usage.cached_input_tokens();
  stage_usage.cache_write_input_tokens += usage.cache_write_input_tokens();
  if (!billed || state.stage_carried[stage] != 0) return;
  if (usage.input_tokens() == 0 && usage.output_tokens() == 0 &&
      usage.cached_input_tokens() == 0 && usage.cache_write_input_tokens() == 0) {
    return;
  }
  const std::uint16_t model =
      request < state.request_model.size() ? state.request_model[request] : kNoModel;
  CostSlot& slot = SlotOf(state, stage, model == kNoModel ? kNoIndex : model,
                          static_cast<std::uint16_t>(std::min<std::uint32_t>(attempt, 0xffff)));
  slot.input_tokens += usage.input_tokens();
  slot.output_tokens += usage.output_tokens();
  slot.cached_input_tokens += usage.cached_input_tokens();
  slot.cache_write_input_tokens += usage.cache_write_input_tokens();
}

// Cancelled and expired requests cost nothing, whatever usage their line carried.
bool Billed(const events::v1::RequestFailed& failed) {
  if (failed.error_class() == events::v1::ERROR_CLASS_CANCELLED) return false;
  return failed.code() != "expired" && failed.code() != "batch_expired";
}

void ApplyRunStarted(ManifestState& state, const events::v1::RunStarted& started) {
  state.prices.clear();
  for (const events::v1::ModelPrice& price : started.prices()) {
    state.prices.push_back(StagePrice{.workflow = price.workflow(),
                                      .stage = price.stage(),
                                      .model = price.model(),
                                      .input_per_million = price.input_per_million(),
                                      .output_per_million = price.output_per_million(),
                                      .batch_discount = price.batch_discount(),
                                      .cached_input_per_million = price.cached_input_per_million(),
                                      .has_cached_price = price.has_cached_input_per_million(),
                                      .cached_in_input = price.cached_in_input(),
                                      .cache_write_input_per_million =
                                          price.cache_write_input_per_million(),
                                      .has_cache_write_price =
                                          price.has_cache_write_input_per_million()});
  }
  ForkProvenance& fork = state.forked_from;
  fork = ForkProvenance{};
  if (started.has_forked_from()) {
    const events::v1::ForkSource& source = started.forked_from();
    fork.source_run_id = source.source_run_id();
    fork.source_seq = source.source_seq();
    fork.from_stage = source.from_stage();
    for (const events::v1::CarriedStage& carried : source.carried_stages()) {
      fork.carried.push_back(CarriedStageRecord{.workflow = carried.workflow(),
                                                .stage = carried.stage(),
                                                .source_completed_seq =
                                                    carried.source_completed_seq()});
    }
  }
}

// Records the model of the request just planned (the last one of the lifecycle).
base::Status TrackModel(ManifestState& state, std::string_view model, std::uint64_t seq) {
  std::uint16_t index = kNoModel;
  if (!model.empty()) {
    std::uint32_t& cached = state.caches.model;
    if (cached == kNoIndex || cached >= state.models.size() || state.models.id(cached) != model) {
      cached = state.models.Intern(0, model).first;
      if (cached == kNoIndex) {
        return base::ResourceExhaustedError("seq " + std::to_string(seq) +
                                            ": the model table is full");
      }
    }
    // Beyond 65534 distinct models a request's model is not tracked (its tokens are unpriced).
    if (cached < kNoModel) index = static_cast<std::uint16_t>(cached);
  }
  state.request_model.push_back(index);
  return base::Status::Ok();
}

// A result the leader has just tracked: its tokens, unless it was a re-ingested duplicate.
template <typename Result>
void ApplyResult(ManifestState& state, const Lifecycle& leader, const Result& result,
                 bool billed) {
  if (leader.last_result_duplicate || leader.last_result_request == kNoIndex) return;
  AddUsage(state, leader, leader.last_result_request, result.usage(), result.attempt(), billed);
}

// What the render needs per stage beyond the lifecycle's counters, from one request scan.
struct StageSummary {
  std::vector<std::uint32_t> final_failed;
  std::uint32_t total_failures = 0;
  std::uint32_t recovered_by_retry = 0;
  bool exhausted = false;
  bool retry_pending = false;
};

std::vector<StageSummary> Summarize(const Lifecycle& lifecycle) {
  std::vector<StageSummary> summaries(lifecycle.stage_records.size());
  const RequestTable& requests = lifecycle.requests;
  for (std::uint32_t request = 0; request < requests.size(); ++request) {
    StageSummary& summary = summaries[requests.stage(request)];
    const RequestStatus status = requests.status[request];
    const bool failed_ever = (requests.flags[request] & kFailedEver) != 0;
    if (failed_ever) ++summary.total_failures;
    switch (status) {
      case RequestStatus::kSucceeded:
        if (failed_ever) ++summary.recovered_by_retry;
        break;
      case RequestStatus::kFailedFinal:
        summary.final_failed.push_back(request);
        if (requests.abandon_reason(request) == events::v1::ABANDON_REASON_EXHAUSTED) {
          summary.exhausted = true;
        }
        break;
      case RequestStatus::kFailedRetryableWaiting:
      case RequestStatus::kRetryScheduled:
        summary.retry_pending = true;
        break;
      case RequestStatus::kPlanned:
      case RequestStatus::kInFlight:
        if (requests.attempt[request] > 1) summary.retry_pending = true;
        break;
    }
  }
  for (StageSummary& summary : summaries) {
    std::sort(summary.final_failed.begin(), summary.final_failed.end(),
              [&requests](std::uint32_t a, std::uint32_t b) {
                return requests.custom_id(a) < requests.custom_id(b);
              });
  }
  return summaries;
}

std::string_view RetryStatus(const StageSummary& summary, const StageRecord& record) {
  // Retries still to come outrank a request that already ran out of them: the stage's
  // retrying is not over while any request waits for, or runs, another attempt.
  if (summary.retry_pending) return "in_progress";
  if (summary.exhausted) return "exhausted";
  if (record.max_attempt > 1) return "completed";
  return "not_needed";
}

Json RenderStageCost(const StageCost& cost) {
  Json out = Json::object();
  out["total"] = RoundCost(cost.total);
  Json by_attempt = Json::object();
  for (const auto& [attempt, amount] : cost.by_attempt) {
    by_attempt[std::to_string(attempt)] = RoundCost(amount);
  }
  out["by_attempt"] = std::move(by_attempt);
  out["unpriced_tokens"] = Json::object();
  out["unpriced_tokens"]["input_tokens"] = cost.unpriced_input_tokens;
  out["unpriced_tokens"]["output_tokens"] = cost.unpriced_output_tokens;
  return out;
}

const CarriedStageRecord* CarriedRecord(const ManifestState& state, const Lifecycle& lifecycle,
                                        std::uint32_t stage) {
  if (stage >= state.stage_carried.size() || state.stage_carried[stage] == 0) return nullptr;
  const std::string_view workflow =
      lifecycle.workflow_name(lifecycle.stage_records[stage].workflow);
  for (const CarriedStageRecord& carried : state.forked_from.carried) {
    if (carried.workflow == workflow && carried.stage == lifecycle.stage_name(stage)) {
      return &carried;
    }
  }
  return nullptr;
}

Json RenderStage(const ManifestState& state, const Lifecycle& lifecycle, std::uint32_t stage,
                 const StageSummary& summary, const StageCost& cost) {
  const RequestTable& requests = lifecycle.requests;
  const StageRecord& record = lifecycle.stage_records[stage];
  const auto count = [&record](RequestStatus status) {
    return record.by_status[static_cast<std::size_t>(status)];
  };

  Json final_failed_ids = Json::array();
  Json errors = Json::object();
  for (const std::uint32_t request : summary.final_failed) {
    const std::string custom_id(requests.custom_id(request));
    final_failed_ids.push_back(custom_id);
    const std::uint32_t error = requests.last_error[request];
    errors[custom_id] = error != kNoIndex && error < lifecycle.error_codes.size()
                            ? std::string(lifecycle.error_codes.id(error))
                            : std::string(AbandonReasonName(requests.abandon_reason(request)));
  }
  Json batch_ids = Json::array();
  Json retry_batch_ids = Json::array();
  for (const BatchRecord& batch : lifecycle.batches.records) {
    if (batch.stage != stage || batch.provider_batch_id.empty()) continue;
    (batch.max_attempt > 1 ? retry_batch_ids : batch_ids).push_back(batch.provider_batch_id);
  }
  const StageUsage usage = stage < state.usage.size() ? state.usage[stage] : StageUsage{};

  Json out = Json::object();
  out["total_requests"] = record.requests;
  out["succeeded"] = count(RequestStatus::kSucceeded);
  out["final_failed_ids"] = std::move(final_failed_ids);
  out["total_failures"] = summary.total_failures;
  out["recovered_by_retry"] = summary.recovered_by_retry;
  out["retry_attempts"] = record.max_attempt > 1 ? record.max_attempt - 1 : 0;
  out["retry_status"] = RetryStatus(summary, record);
  out["batch_ids"] = std::move(batch_ids);
  out["retry_batch_ids"] = std::move(retry_batch_ids);
  out["errors"] = std::move(errors);
  out["usage"] = Json::object();
  out["usage"]["input_tokens"] = usage.input_tokens;
  out["usage"]["output_tokens"] = usage.output_tokens;
  out["usage"]["cached_input_tokens"] = usage.cached_input_tokens;
  out["usage"]["cache_write_input_tokens"] = usage.cache_write_input_tokens;
  out["in_flight"] = count(RequestStatus::kInFlight);
  out["waiting_retry"] =
      count(RequestStatus::kFailedRetryableWaiting) + count(RequestStatus::kRetryScheduled);
  out["cost"] = RenderStageCost(cost);
  if (const CarriedStageRecord* carried = CarriedRecord(state, lifecycle, stage)) {
    out["carried_from"] = Json::object();
    out["carried_from"]["run_id"] = state.forked_from.source_run_id;
    out["carried_from"]["seq"] = carried->source_completed_seq;
  }
  return out;
}

// The manifest's fold: one switch, every event the leader has just applied.
base::Status ApplyEvent(ManifestState& state, const Event& event, const Lifecycle& leader) {
  const std::uint64_t seq = event.seq();
  switch (event.payload_case()) {
    case Event::kRunStarted:
      ApplyRunStarted(state, event.run_started());
      break;
    case Event::kRequestPlanned:
      SyncStages(state, leader);
      BATCHLOG_RETURN_IF_ERROR(TrackModel(state, event.request_planned().model(), seq));
      break;
    case Event::kRequestSucceeded:
      ApplyResult(state, leader, event.request_succeeded(), true);
      break;
    case Event::kRequestFailed:
      ApplyResult(state, leader, event.request_failed(), Billed(event.request_failed()));
      break;
    case Event::kStageCompleted:
      SyncStages(state, leader);  // a stage may complete without requests
      break;
    case Event::kBatchPlanned:
    case Event::kFileUploaded:
    case Event::kBatchSubmitted:
    case Event::kSubmitRejected:
    case Event::kBatchPolled:
    case Event::kBatchEnded:
    case Event::kResultsIngested:
    case Event::kRetryScheduled:
    case Event::kRequestsAbandoned:
    case Event::kRunCompleted:
    case Event::kRunFailed:
    case Event::kRunCancelled:
    case Event::kRunResumed:
      break;  // the leader's lifecycle holds all the manifest needs of these
    case Event::kQuotaWarning:
    case Event::kWorkflowFileChanged:
      break;  // operational state and configuration, not part of the manifest
    case Event::PAYLOAD_NOT_SET:
      break;  // the leader decided whether it may be ignored
  }
  state.generated_at_seq = seq;
  return base::Status::Ok();
}

}  // namespace

std::string_view AbandonReasonName(events::v1::AbandonReason reason) {
  switch (reason) {
    case events::v1::ABANDON_REASON_PERMANENT:
      return "permanent";
    case events::v1::ABANDON_REASON_EXHAUSTED:
      return "exhausted";
    case events::v1::ABANDON_REASON_CANCELLED:
      return "cancelled";
    case events::v1::ABANDON_REASON_UPSTREAM_FAILED:
      return "upstream_failed";
    case events::v1::ABANDON_REASON_BATCH_FAILED:
      return "batch_failed";
    case events::v1::ABANDON_REASON_TOO_LARGE:
      return "request_too_large";
    case events::v1::ABANDON_REASON_UNSPECIFIED:
    case events::v1::AbandonReason_INT_MIN_SENTINEL_DO_NOT_USE_:
    case events::v1::AbandonReason_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "abandoned";
}

base::Status ApplyFollowing(ManifestState& state, const Event& event, const Lifecycle& leader) {
  return ApplyEvent(state, event, leader);
}

void RecomputeDerived(ManifestState& state, const Lifecycle& lifecycle) {
  state.stage_carried.clear();
  SyncStages(state, lifecycle);
}

double RoundCost(double amount) { return std::round(amount * 1e9) / 1e9; }

namespace {

// What one slot's tokens cost at `price` (header comment, "Cost").
double SlotAmount(const CostSlot& slot, const StagePrice& price) {
  std::uint64_t uncached = slot.input_tokens;
  std::uint64_t cached = 0;  // billed at the cached rate; without one, as input_tokens says
  if (price.has_cached_price) {
    cached = slot.cached_input_tokens;
    if (price.cached_in_input) {  // OpenAI: cached tokens are part of input_tokens
      cached = std::min(cached, uncached);
      uncached -= cached;
    }
  }
  // Cache writes are reported beside input_tokens; without their own rate, input's.
  const double write_rate = price.has_cache_write_price ? price.cache_write_input_per_million
                                                        : price.input_per_million;
  return (static_cast<double>(uncached) * price.input_per_million +
          static_cast<double>(cached) * price.cached_input_per_million +
          static_cast<double>(slot.cache_write_input_tokens) * write_rate +
          static_cast<double>(slot.output_tokens) * price.output_per_million) /
         1e6 * (1.0 - price.batch_discount);
}

}  // namespace

ManifestCost ComputeCost(const ManifestState& state, const Lifecycle& lifecycle) {
  ManifestCost cost;
  cost.stages.resize(lifecycle.stage_records.size());
  cost.workflows.assign(lifecycle.workflows.size(), 0.0);
  for (const CostSlot& slot : state.cost_slots) {
    if (slot.stage >= cost.stages.size()) continue;
    StageCost& stage = cost.stages[slot.stage];
    const std::uint32_t workflow = lifecycle.stage_records[slot.stage].workflow;
    const StagePrice* price = nullptr;
    if (slot.model != kNoIndex && slot.model < state.models.size()) {
      const std::string_view model = state.models.id(slot.model);
      for (const StagePrice& candidate : state.prices) {
        if (candidate.model == model && candidate.stage == lifecycle.stage_name(slot.stage) &&
            candidate.workflow == lifecycle.workflow_name(workflow)) {
          price = &candidate;
          break;
        }
      }
    }
    if (price == nullptr) {
      stage.unpriced_input_tokens += slot.input_tokens;
      stage.unpriced_output_tokens += slot.output_tokens;
      continue;
    }
    const double amount = SlotAmount(slot, *price);
    stage.total += amount;
    auto at = std::lower_bound(
        stage.by_attempt.begin(), stage.by_attempt.end(), slot.attempt,
        [](const std::pair<std::uint16_t, double>& entry, std::uint16_t attempt) {
          return entry.first < attempt;
        });
    if (at == stage.by_attempt.end() || at->first != slot.attempt) {
      at = stage.by_attempt.insert(at, {slot.attempt, 0.0});
    }
    at->second += amount;
    cost.workflows[workflow] += amount;
    cost.total += amount;
  }
  return cost;
}

std::string RenderManifestJson(const ManifestState& state, const Lifecycle& lifecycle) {
  const std::vector<StageSummary> summaries = Summarize(lifecycle);
  const ManifestCost cost = ComputeCost(state, lifecycle);
  Json workflows = Json::object();
  Json workflow_costs = Json::object();
  for (std::uint32_t workflow = 0; workflow < lifecycle.workflows.size(); ++workflow) {
    Json stages = Json::object();
    for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
      if (lifecycle.stage_records[stage].workflow != workflow) continue;
      stages[std::string(lifecycle.stage_name(stage))] =
          RenderStage(state, lifecycle, stage, summaries[stage], cost.stages[stage]);
    }
    workflows[std::string(lifecycle.workflow_name(workflow))] = std::move(stages);
    workflow_costs[std::string(lifecycle.workflow_name(workflow))] =
        RoundCost(cost.workflows[workflow]);
  }
  Json manifest = Json::object();
  manifest["run_id"] = lifecycle.run_id;
  manifest["generated_at_seq"] = state.generated_at_seq;
  manifest["status"] = RunStatusName(lifecycle.run_status);
  if (!state.forked_from.source_run_id.empty()) {
    manifest["forked_from"] = Json::object();
    manifest["forked_from"]["run_id"] = state.forked_from.source_run_id;
    manifest["forked_from"]["seq"] = state.forked_from.source_seq;
    manifest["forked_from"]["from_stage"] = state.forked_from.from_stage;
  }
  manifest["cost"] = Json::object();
  manifest["cost"]["total"] = RoundCost(cost.total);
  manifest["cost"]["by_workflow"] = std::move(workflow_costs);
  manifest["workflows"] = std::move(workflows);
  std::string out = JsonText(manifest, 2);
  out += '\n';
  return out;
}

}  // namespace batchlog::replay
