// The request builder: turns a workflow's dataset into stage 1's requests, and an earlier
// stage's successful result into a later stage's request (docs/workflow-file.md).
//
// Request order ("ordinal") is dataset order: for sample s, variant v, epoch e,
//   ordinal = (s * variant_count + v) * epochs + e.
// A later stage's request keeps the custom_id and ordinal of its source request: custom_ids
// are scoped by stage, so one sample's requests share one id across stages and attempts.
//
// estimated_input_tokens is ceil(body bytes / 4) of the rendered body JSON: cheap, and it
// deliberately over-counts (JSON syntax, the model name) so quota holds err early.
//
// Thread-safety: free functions over immutable inputs; callable from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/workflow/dataset_reader.h"
#include "src/workflow/request_template.h"
#include "src/workflow/workflow_file.h"

namespace batchlog::workflow {

struct PlannedRequest {
  std::string custom_id;
  std::uint64_t ordinal = 0;  // dataset order, see above
  std::uint32_t stage_index = 0;
  std::uint32_t sample_index = 0;   // into the Dataset
  std::uint32_t variant_index = 0;  // 0 without variants
  std::string variant;              // empty without variants
  std::uint32_t epoch = 0;          // 0 .. epochs-1
  std::string body_json;            // compact JSON: OpenAI `body`, Anthropic `params`
  std::string model;                // the rendered body.model
  std::uint64_t estimated_input_tokens = 0;
  std::string source_custom_id;  // the request this one was built from; empty for stage 1
};

// ceil(body_json.size() / 4).
std::uint64_t EstimateInputTokens(std::string_view body_json);

// The checks that need the dataset, for every stage of `workflow`, all before any request
// exists: a template field that no sample has, a custom_id that cannot be made valid, and
// two requests with the same custom_id (naming both samples and their lines).
// InvalidArgument naming the place in the workflow file.
base::Status CheckWorkflowAgainstDataset(const Workflow& workflow, const Dataset& dataset);

// Receives each planned request; may move from its fields. A non-OK Status stops planning
// and is returned.
using PlannedRequestSink = std::function<base::Status(PlannedRequest& request)>;

// Stage 1's requests in ordinal order, one at a time, for callers that write them out as
// they go (a million requests need not be held at once). Runs CheckWorkflowAgainstDataset
// first, so `sink` sees nothing when the workflow and dataset disagree. `stage` must be
// workflow.stages[0].
base::Status ForEachStage1Request(const WorkflowFile& file, const Workflow& workflow,
                                  const Stage& stage, const Dataset& dataset,
                                  const PlannedRequestSink& sink);

// The same, collected into a vector.
base::Result<std::vector<PlannedRequest>> PlanStage1(const WorkflowFile& file,
                                                     const Workflow& workflow, const Stage& stage,
                                                     const Dataset& dataset);

// The request of `stage` (index >= 1) built from `source`, the request of the same
// custom_id in stage.from, given the raw response bodies of the earlier stages the body
// reads (see RequestTemplate::AnswerStages). InvalidArgument, naming the custom_id, when an
// answer is missing or lacks what a placeholder asks for.
base::Result<PlannedRequest> BuildFromResult(const Workflow& workflow, const Stage& stage,
                                             const PlannedRequest& source, const Dataset& dataset,
                                             StageAnswers answers);

}  // namespace batchlog::workflow
