// RunSetup: everything a run's executor borrows, built from a parsed workflow file: the
// resolved stage policies, the datasets, the request factory, one error classifier per
// stage and one provider client per provider entry. Built the same way for `run` (from
// the file) and `resume` (from the config text recorded in RunStarted), so a resumed run
// decides exactly as the original did.
//
// Ownership: owns all of it; the executor must not outlive it. Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/base/result.h"
#include "src/orchestrator/executor.h"
#include "src/orchestrator/stage_policy.h"
#include "src/orchestrator/workflow_request_factory.h"
#include "src/providers/batch_provider.h"
#include "src/providers/error_classifier.h"
#include "src/workflow/dataset_reader.h"
#include "src/workflow/workflow_file.h"

namespace batchlog::orchestrator {

struct RunSetupOptions {
  // When set, every provider entry talks to this server instead of its own base URL (the
  // demo and tests point a workflow at the emulator): OpenAI kinds at <url>/v1,
  // Anthropic at <url>/v1.
  std::string base_url_override;
  // Divides every duration the engine waits (polls, retry delays) by this factor: the demo
  // runs the example file against an emulator compressed by the same factor. 1 = as
  // written.
  double time_scale = 1.0;
  // Reads an environment variable (API keys); empty = std::getenv.
  std::function<std::optional<std::string>(const std::string&)> lookup_env;
  base::Clock* clock = nullptr;    // not owned; required
  base::Random* random = nullptr;  // not owned; required (transport jitter)
};

class RunSetup {
 public:
  // Reads the datasets, checks the templates against them and creates the provider
  // clients. Every error names its place (file:line, dataset line, provider entry).
  static base::Result<std::unique_ptr<RunSetup>> Build(workflow::WorkflowFile file,
                                                       const RunSetupOptions& options);

  const workflow::WorkflowFile& file() const { return file_; }
  const std::vector<StagePolicy>& policies() const { return policies_; }
  // One per workflow of file(), in the same order.
  const std::vector<workflow::Dataset>& datasets() const { return datasets_; }
  // Deps for an executor over `log` and `projections`; spool_dir for downloads.
  ExecutorDeps MakeExecutorDeps(store::EventLog& log, replay::Projections& projections,
                                base::Random& random, const std::filesystem::path& spool_dir);

 private:
  RunSetup() = default;

  workflow::WorkflowFile file_;
  std::vector<workflow::Dataset> datasets_;
  std::vector<StagePolicy> policies_;
  std::vector<StageLocation> locations_;
  std::vector<providers::ErrorClassifier> classifiers_;
  std::map<std::string, std::unique_ptr<providers::BatchProvider>, std::less<>> providers_;
  std::unique_ptr<WorkflowRequestFactory> factory_;
  base::Clock* clock_ = nullptr;
};

}  // namespace batchlog::orchestrator
