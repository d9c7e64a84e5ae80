#include "src/orchestrator/run_summary.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace batchlog::orchestrator {
namespace {

std::string Amount(double amount) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.6f", replay::RoundCost(amount));
  return text;
}

}  // namespace

RunSummary SummarizeManifestJson(std::string_view manifest_json) {
  RunSummary summary;
  const nlohmann::json manifest = nlohmann::json::parse(manifest_json, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object()) return summary;
  const auto number = [](const nlohmann::json& object, const char* key) -> std::uint64_t {
    const auto found = object.find(key);
    return found != object.end() && found->is_number_unsigned() ? found->get<std::uint64_t>()
                                                                : 0;
  };
  summary.generated_at_seq = number(manifest, "generated_at_seq");
  if (const auto cost = manifest.find("cost"); cost != manifest.end() && cost->is_object()) {
    const auto total = cost->find("total");
    if (total != cost->end() && total->is_number()) summary.cost = total->get<double>();
  }
  const auto workflows = manifest.find("workflows");
  if (workflows == manifest.end() || !workflows->is_object()) return summary;
  for (const auto& [workflow, stages] : workflows->items()) {
    if (!stages.is_object()) continue;
    for (const auto& [stage, fields] : stages.items()) {
      if (!fields.is_object()) continue;
      summary.requests += number(fields, "total_requests");
      summary.succeeded += number(fields, "succeeded");
      const auto failed = fields.find("final_failed_ids");
      if (failed != fields.end() && failed->is_array()) summary.failed += failed->size();
    }
  }
  summary.known = true;
  return summary;
}

RunSummary ReadRunSummary(const std::filesystem::path& store_root, std::string_view run_id) {
  std::ifstream in(store_root / "runs" / std::string(run_id) / "manifest.json",
                   std::ios::binary);
  if (!in) return RunSummary{};
  std::ostringstream text;
  text << in.rdbuf();
  return SummarizeManifestJson(text.str());
}

std::string RenderCostLine(const replay::Projections& projections) {
  const replay::ManifestCost cost = replay::ComputeCost(projections);
  const replay::Lifecycle& lifecycle = projections.run_state.lifecycle;
  std::string out = "cost " + Amount(cost.total);
  std::string parts;
  std::uint64_t unpriced = 0;
  for (std::uint32_t stage = 0; stage < cost.stages.size(); ++stage) {
    const replay::StageCost& stage_cost = cost.stages[stage];
    unpriced += stage_cost.unpriced_input_tokens + stage_cost.unpriced_output_tokens;
    if (!parts.empty()) parts += ", ";
    parts += std::string(lifecycle.workflow_name(lifecycle.stage_records[stage].workflow)) + "/" +
             std::string(lifecycle.stage_name(stage)) + " " + Amount(stage_cost.total);
  }
  if (!parts.empty()) out += " (" + parts + ")";
  if (unpriced != 0) {
    out += "; " + std::to_string(unpriced) + " tokens of models without a price";
  }
  const replay::ForkProvenance& fork = projections.manifest.forked_from;
  if (!fork.source_run_id.empty()) {
    out += "; carried-over stages were paid by run " + fork.source_run_id;
  }
  return out + "\n";
}

}  // namespace batchlog::orchestrator
