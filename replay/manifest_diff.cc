#include "replay/manifest_diff.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "replay/json_text.h"

namespace batchlog::replay {
namespace {

using Json = nlohmann::ordered_json;

StageCounts CountsOf(const StageRecord& record) {
  const auto count = [&record](RequestStatus status) {
    return record.by_status[static_cast<std::size_t>(status)];
  };
  return {record.requests,
          count(RequestStatus::kSucceeded),
          count(RequestStatus::kFailedFinal),
          count(RequestStatus::kInFlight),
          count(RequestStatus::kFailedRetryableWaiting) + count(RequestStatus::kRetryScheduled),
          count(RequestStatus::kPlanned)};
}

std::string ErrorOf(const Lifecycle& lifecycle, std::uint32_t request) {
  const RequestTable& requests = lifecycle.requests;
  const RequestStatus status = requests.status[request];
  if (status != RequestStatus::kFailedFinal && status != RequestStatus::kFailedRetryableWaiting &&
      status != RequestStatus::kRetryScheduled) {
    return {};
  }
  const std::uint32_t error = requests.last_error[request];
  if (error != kNoIndex && error < lifecycle.error_codes.size()) {
    return std::string(lifecycle.error_codes.id(error));
  }
  const events::v1::AbandonReason reason = requests.abandon_reason(request);
  if (reason == events::v1::ABANDON_REASON_UNSPECIFIED) return {};
  return std::string(AbandonReasonName(reason));
}

std::set<std::string> BatchIdsOf(const Lifecycle& lifecycle, std::uint32_t stage) {
  std::set<std::string> ids;
  if (stage == kNoIndex) return ids;
  for (const BatchRecord& batch : lifecycle.batches.records) {
    if (batch.stage == stage && !batch.provider_batch_id.empty()) {
      ids.insert(batch.provider_batch_id);
    }
  }
  return ids;
}

// Fills `diff` for one stage present on side B (b_stage) and/or side A (a_stage).
void DiffStage(const Lifecycle& la, const Lifecycle& lb, std::uint32_t a_stage,
               std::uint32_t b_stage, const ManifestCost& cost_a, const ManifestCost& cost_b,
               StageDiff& diff) {
  diff.in_a = a_stage != kNoIndex;
  diff.in_b = b_stage != kNoIndex;
  if (diff.in_a) {
    diff.counts_a = CountsOf(la.stage_records[a_stage]);
    diff.completed_a = la.stage_records[a_stage].completed;
    diff.cost_a = cost_a.stages[a_stage].total;
  }
  if (diff.in_b) {
    diff.counts_b = CountsOf(lb.stage_records[b_stage]);
    diff.completed_b = lb.stage_records[b_stage].completed;
    diff.cost_b = cost_b.stages[b_stage].total;
  }
  // Requests of B, matched in A.
  std::vector<std::uint8_t> seen_in_a(la.requests.size(), 0);
  if (diff.in_b) {
    for (std::uint32_t request = 0; request < lb.requests.size(); ++request) {
      if (lb.requests.stage(request) != b_stage) continue;
      const std::string_view custom_id = lb.requests.custom_id(request);
      const std::uint32_t other = diff.in_a ? la.FindRequest(a_stage, custom_id) : kNoIndex;
      const std::string to(RequestStatusName(lb.requests.status[request]));
      std::string from = "not_planned";
      if (other != kNoIndex) {
        seen_in_a[other] = 1;
        from = std::string(RequestStatusName(la.requests.status[other]));
      }
      if (from == to) continue;
      diff.changes.push_back({std::string(custom_id), from, to, ErrorOf(lb, request)});
    }
  }
  if (diff.in_a) {
    for (std::uint32_t request = 0; request < la.requests.size(); ++request) {
      if (la.requests.stage(request) != a_stage || seen_in_a[request] != 0) continue;
      diff.changes.push_back({std::string(la.requests.custom_id(request)),
                              std::string(RequestStatusName(la.requests.status[request])),
                              "not_planned", ""});
    }
  }
  const std::set<std::string> ids_a = BatchIdsOf(la, a_stage);
  for (const std::string& id : BatchIdsOf(lb, b_stage)) {
    if (!ids_a.contains(id)) diff.new_batch_ids.push_back(id);
  }
}

std::string Amount(double amount) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.6f", RoundCost(amount));
  return text;
}

}  // namespace

ManifestDiff DiffManifests(const Projections& projections_a, const Projections& projections_b) {
  const ManifestState& a = projections_a.manifest;
  const ManifestState& b = projections_b.manifest;
  const Lifecycle& la = projections_a.run_state.lifecycle;
  const Lifecycle& lb = projections_b.run_state.lifecycle;
  const ManifestCost cost_a = ComputeCost(a, la);
  const ManifestCost cost_b = ComputeCost(b, lb);
  ManifestDiff diff;
  diff.run_id = lb.run_id.empty() ? la.run_id : lb.run_id;
  diff.seq_a = a.generated_at_seq;
  diff.seq_b = b.generated_at_seq;
  diff.status_a = std::string(RunStatusName(la.run_status));
  diff.status_b = std::string(RunStatusName(lb.run_status));
  diff.cost_a = cost_a.total;
  diff.cost_b = cost_b.total;
  std::vector<std::uint8_t> a_done(la.stage_records.size(), 0);
  for (std::uint32_t stage = 0; stage < lb.stage_records.size(); ++stage) {
    StageDiff& out = diff.stages.emplace_back();
    out.workflow = std::string(lb.workflow_name(lb.stage_records[stage].workflow));
    out.stage = std::string(lb.stage_name(stage));
    const std::uint32_t other = la.FindStage(out.workflow, out.stage);
    if (other != kNoIndex) a_done[other] = 1;
    DiffStage(la, lb, other, stage, cost_a, cost_b, out);
  }
  for (std::uint32_t stage = 0; stage < la.stage_records.size(); ++stage) {
    if (a_done[stage] != 0) continue;
    StageDiff& out = diff.stages.emplace_back();
    out.workflow = std::string(la.workflow_name(la.stage_records[stage].workflow));
    out.stage = std::string(la.stage_name(stage));
    DiffStage(la, lb, stage, kNoIndex, cost_a, cost_b, out);
  }
  return diff;
}

std::string RenderManifestDiffText(const ManifestDiff& diff, std::size_t ids_per_transition) {
  std::string out = "run " + diff.run_id + ": seq " + std::to_string(diff.seq_a) + " -> " +
                    std::to_string(diff.seq_b) + "  status " + diff.status_a + " -> " +
                    diff.status_b + "  cost " + Amount(diff.cost_a) + " -> " +
                    Amount(diff.cost_b) + "\n";
  bool any = false;
  for (const StageDiff& stage : diff.stages) {
    const bool counts_changed = stage.counts_a != stage.counts_b;
    if (!counts_changed && stage.changes.empty() && stage.new_batch_ids.empty() &&
        stage.completed_a == stage.completed_b && stage.cost_a == stage.cost_b) {
      continue;
    }
    any = true;
    out += "\n" + stage.workflow + "/" + stage.stage;
    if (!stage.in_a) out += " (new)";
    if (!stage.in_b) out += " (absent at seq " + std::to_string(diff.seq_b) + ")";
    if (stage.completed_b && !stage.completed_a) out += " (completed)";
    out += "\n";
    for (std::size_t i = 0; i < kStageCountCount; ++i) {
      if (stage.counts_a[i] == stage.counts_b[i]) continue;
      const long long delta = static_cast<long long>(stage.counts_b[i]) - stage.counts_a[i];
      out += "  " + std::string(kStageCountNames[i]) + ": " + std::to_string(stage.counts_a[i]) +
             " -> " + std::to_string(stage.counts_b[i]) + " (" + (delta > 0 ? "+" : "") +
             std::to_string(delta) + ")\n";
    }
    if (stage.cost_a != stage.cost_b) {
      out += "  cost: " + Amount(stage.cost_a) + " -> " + Amount(stage.cost_b) + "\n";
    }
    if (!stage.new_batch_ids.empty()) {
      out += "  new provider batches:";
      for (const std::string& id : stage.new_batch_ids) out += " " + id;
      out += "\n";
    }
    // Changes grouped by transition, in order of first appearance.
    std::vector<std::pair<std::string, std::vector<const RequestChange*>>> groups;
    std::map<std::string, std::size_t> group_of;
    for (const RequestChange& change : stage.changes) {
      const std::string key = change.from + " -> " + change.to;
      const auto [it, inserted] = group_of.try_emplace(key, groups.size());
      if (inserted) groups.push_back({key, {}});
      groups[it->second].second.push_back(&change);
    }
    for (const auto& [key, changes] : groups) {
      out += "  " + key + " (" + std::to_string(changes.size()) + "):";
      const std::size_t shown = std::min(changes.size(), ids_per_transition);
      for (std::size_t i = 0; i < shown; ++i) {
        out += " " + changes[i]->custom_id;
        if (!changes[i]->error.empty()) out += " [" + changes[i]->error + "]";
      }
      if (changes.size() > shown) {
        out += " ... and " + std::to_string(changes.size() - shown) + " more";
      }
      out += "\n";
    }
  }
  if (!any) out += "\nno change\n";
  return out;
}

std::string RenderManifestDiffJson(const ManifestDiff& diff) {
  Json out = Json::object();
  out["run_id"] = diff.run_id;
  out["from_seq"] = diff.seq_a;
  out["to_seq"] = diff.seq_b;
  out["status"] = {{"from", diff.status_a}, {"to", diff.status_b}};
  out["cost"] = {{"from", RoundCost(diff.cost_a)}, {"to", RoundCost(diff.cost_b)}};
  Json stages = Json::array();
  for (const StageDiff& stage : diff.stages) {
    Json entry = Json::object();
    entry["workflow"] = stage.workflow;
    entry["stage"] = stage.stage;
    entry["present"] = {{"from", stage.in_a}, {"to", stage.in_b}};
    entry["completed"] = {{"from", stage.completed_a}, {"to", stage.completed_b}};
    Json counts = Json::object();
    for (std::size_t i = 0; i < kStageCountCount; ++i) {
      counts[kStageCountNames[i]] = {{"from", stage.counts_a[i]}, {"to", stage.counts_b[i]}};
    }
    entry["counts"] = std::move(counts);
    entry["cost"] = {{"from", RoundCost(stage.cost_a)}, {"to", RoundCost(stage.cost_b)}};
    entry["new_batch_ids"] = stage.new_batch_ids;
    Json changes = Json::array();
    for (const RequestChange& change : stage.changes) {
      Json item = {{"custom_id", change.custom_id}, {"from", change.from}, {"to", change.to}};
      if (!change.error.empty()) item["error"] = change.error;
      changes.push_back(std::move(item));
    }
    entry["changes"] = std::move(changes);
    stages.push_back(std::move(entry));
  }
  out["stages"] = std::move(stages);
  std::string text = JsonText(out, 2);
  text += '\n';
  return text;
}

}  // namespace batchlog::replay
