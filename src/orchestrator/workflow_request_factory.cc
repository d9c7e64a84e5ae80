#include "src/orchestrator/workflow_request_factory.h"

#include <utility>

namespace batchlog::orchestrator {
namespace {

NewRequest ToNewRequest(workflow::PlannedRequest planned) {
  NewRequest request;
  request.custom_id = std::move(planned.custom_id);
  request.ordinal = planned.ordinal;
  request.body_json = std::move(planned.body_json);
  request.model = std::move(planned.model);
  request.estimated_input_tokens = planned.estimated_input_tokens;
  request.source_custom_id = std::move(planned.source_custom_id);
  return request;
}

}  // namespace

WorkflowRequestFactory::WorkflowRequestFactory(const workflow::WorkflowFile& file,
                                               const std::vector<workflow::Dataset>& datasets,
                                               std::vector<StageLocation> locations)
    : file_(file),
      datasets_(datasets),
      locations_(std::move(locations)),
      first_stage_(file.workflows.size()),
      first_stage_index_(file.workflows.size()) {}

base::Result<std::vector<workflow::PlannedRequest>> WorkflowRequestFactory::PlanFirstStage(
    std::size_t workflow_index) {
  const workflow::Workflow& flow = file_.workflows[workflow_index];
  BATCHLOG_ASSIGN_OR_RETURN(
      std::vector<workflow::PlannedRequest> planned,
      workflow::PlanStage1(file_, flow, flow.stages[0], datasets_[workflow_index]));
  std::vector<workflow::PlannedRequest>& kept = first_stage_[workflow_index];
  std::unordered_map<std::string, std::size_t>& index = first_stage_index_[workflow_index];
  kept.clear();
  index.clear();
  kept.reserve(planned.size());
  for (const workflow::PlannedRequest& request : planned) {
    workflow::PlannedRequest without_body = request;
    without_body.body_json.clear();
    without_body.body_json.shrink_to_fit();
    index.emplace(request.custom_id, kept.size());
    kept.push_back(std::move(without_body));
  }
  return planned;
}

base::Result<std::vector<NewRequest>> WorkflowRequestFactory::FirstStageRequests(
    std::size_t policy) {
  BATCHLOG_ASSIGN_OR_RETURN(std::vector<workflow::PlannedRequest> planned,
                            PlanFirstStage(locations_[policy].workflow));
  std::vector<NewRequest> out;
  out.reserve(planned.size());
  for (workflow::PlannedRequest& request : planned) out.push_back(ToNewRequest(std::move(request)));
  return out;
}

base::Result<NewRequest> WorkflowRequestFactory::LaterStageRequest(
    std::size_t policy, std::string_view source_custom_id, std::uint64_t source_ordinal,
    const std::vector<EarlierAnswer>& answers) {
  const StageLocation location = locations_[policy];
  if (first_stage_[location.workflow].empty()) {
    BATCHLOG_RETURN_IF_ERROR(PlanFirstStage(location.workflow).status());
  }
  const auto found = first_stage_index_[location.workflow].find(std::string(source_custom_id));
  const workflow::Workflow& flow = file_.workflows[location.workflow];
  if (found == first_stage_index_[location.workflow].end()) {
    return base::FailedPreconditionError(
        "workflow '" + flow.name + "': custom_id '" + std::string(source_custom_id) +
        "' is in the log but the dataset no longer yields it (was the dataset changed?)");
  }
  workflow::PlannedRequest source = first_stage_[location.workflow][found->second];
  source.ordinal = source_ordinal;
  std::vector<workflow::StageAnswer> stage_answers;
  stage_answers.reserve(answers.size());
  for (const EarlierAnswer& answer : answers) {
    stage_answers.push_back({answer.stage, answer.response_body});
  }
  BATCHLOG_ASSIGN_OR_RETURN(workflow::PlannedRequest built,
                            workflow::BuildFromResult(flow, flow.stages[location.stage], source,
                                                      datasets_[location.workflow], stage_answers));
  return ToNewRequest(std::move(built));
}

}  // namespace batchlog::orchestrator
