// WorkflowRequestFactory: the RequestFactory of a real run, backed by the workflow file and
// its datasets (src/workflow): first stages are planned from the dataset, later stages are
// rendered from the earlier stages' recorded answers.
//
// It remembers, per workflow, which dataset sample / variant / epoch each first-stage
// custom_id came from (not the bodies), so a later stage can be built after a resume
// without re-reading the log.
//
// Ownership: borrows the workflow file and datasets, which must outlive it.
// Thread-safety: one thread.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/orchestrator/request_factory.h"
#include "src/workflow/dataset_reader.h"
#include "src/workflow/request_builder.h"
#include "src/workflow/workflow_file.h"

namespace batchlog::orchestrator {

// Where a policy's stage lives in the workflow file.
struct StageLocation {
  std::size_t workflow = 0;
  std::size_t stage = 0;
};

class WorkflowRequestFactory final : public RequestFactory {
 public:
  // `datasets[i]` is the dataset of file.workflows[i]; `locations[p]` places policy p.
  WorkflowRequestFactory(const workflow::WorkflowFile& file,
                         const std::vector<workflow::Dataset>& datasets,
                         std::vector<StageLocation> locations);

  base::Result<std::vector<NewRequest>> FirstStageRequests(std::size_t policy) override;
  base::Result<NewRequest> LaterStageRequest(std::size_t policy, std::string_view source_custom_id,
                                             std::uint64_t source_ordinal,
                                             const std::vector<EarlierAnswer>& answers) override;

 private:
  base::Result<std::vector<workflow::PlannedRequest>> PlanFirstStage(std::size_t workflow);

  const workflow::WorkflowFile& file_;
  const std::vector<workflow::Dataset>& datasets_;
  std::vector<StageLocation> locations_;
  // Per workflow: first-stage requests without their bodies, and custom_id -> index.
  std::vector<std::vector<workflow::PlannedRequest>> first_stage_;
  std::vector<std::unordered_map<std::string, std::size_t>> first_stage_index_;
};

}  // namespace batchlog::orchestrator
