#include "src/orchestrator/dataset_digests.h"

#include <string>

#include "src/orchestrator/run_started.h"

namespace batchlog::orchestrator {

void AddDatasetDigests(const RunSetup& setup, events::v1::RunStarted& started) {
  const auto& workflows = setup.file().workflows;
  for (std::size_t i = 0; i < workflows.size() && i < setup.datasets().size(); ++i) {
    const workflow::Dataset& dataset = setup.datasets()[i];
    events::v1::DatasetDigest* digest = started.add_datasets();
    digest->set_workflow(workflows[i].name);
    digest->set_path(dataset.path().string());
    digest->set_sha256(Sha256Hex(dataset.bytes()));
    digest->set_bytes(dataset.bytes().size());
  }
}

base::Status CheckDatasetsUnchanged(std::string_view run_id,
                                    const events::v1::RunStarted& started,
                                    const RunSetup& setup) {
  const auto& workflows = setup.file().workflows;
  for (const events::v1::DatasetDigest& recorded : started.datasets()) {
    for (std::size_t i = 0; i < workflows.size() && i < setup.datasets().size(); ++i) {
      if (workflows[i].name != recorded.workflow()) continue;
      const workflow::Dataset& dataset = setup.datasets()[i];
      const std::string sha256 = Sha256Hex(dataset.bytes());
      if (sha256 == recorded.sha256()) continue;
      return base::FailedPreconditionError(
          "run '" + std::string(run_id) + "': the dataset of workflow '" + recorded.workflow() +
          "' changed since the run started: " + dataset.path().string() + " now holds " +
          std::to_string(dataset.bytes().size()) + " bytes (sha256 " + sha256.substr(0, 12) +
          "...), the run recorded " + std::to_string(recorded.bytes()) + " bytes from " +
          recorded.path() + " (sha256 " + recorded.sha256().substr(0, 12) +
          "...). Its requests are built from the recorded file: put it back to resume, or "
          "start a new run (or `batchlog fork`) for the new data");
    }
  }
  return base::Status::Ok();
}

}  // namespace batchlog::orchestrator
