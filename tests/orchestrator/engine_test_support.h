// A harness for end-to-end engine tests: an in-process emulator and the engine sharing one
// fake clock (the engine's sleeps advance it, so batch lifecycles take no wall time), a
// temp dir with a workflow file and a dataset, and helpers to read the run back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/orchestrator/run_session.h"
#include "src/sim/emulator.h"
#include "tests/support/temp_dir.h"

namespace batchlog::orchestrator::testing {

class EngineHarness {
 public:
  // `fault_plan_yaml` as docs/emulator.md describes; empty = no faults.
  explicit EngineHarness(const std::string& fault_plan_yaml = "");

  // Writes `name` under the temp dir.
  std::filesystem::path Write(const std::string& name, const std::string& content) const;
  // A dataset of `count` samples {"id": "qNNN", "problem": "What is N plus N?"}.
  std::filesystem::path WriteDataset(const std::string& name, int count) const;

  // The request StartRun/ResumeRun get: store under the temp dir, every provider at the
  // emulator, a fake key, the fake clock, a fixed seed.
  RunRequest Request() const;

  base::Result<RunOutcome> Run(const std::filesystem::path& workflow) const {
    return StartRun(workflow, Request());
  }
  base::Result<RunOutcome> Resume(const std::string& run_id) const {
    return ResumeRun(run_id, Request());
  }

  // GET /_sim/stats.
  nlohmann::json Stats() const;
  // The manifest file of a run, parsed.
  nlohmann::json ManifestFile(const RunOutcome& outcome) const;
  std::string ManifestFileText(const RunOutcome& outcome) const;

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path store() const { return dir_.path() / "store"; }
  base::FakeClock& clock() { return *clock_; }

 private:
  batchlog::testing::TempDir dir_;
  std::unique_ptr<base::FakeClock> clock_;
  std::unique_ptr<base::SeededRandom> random_;
  std::unique_ptr<sim::Emulator> emulator_;
};

// Every event of the run's log, in seq order (the run must not be running).
std::vector<events::v1::Event> EventsOf(const EngineHarness& harness, const std::string& run_id);

// A workflow file text: defaults with sub-second polls and retries, one or two stages.
std::string WorkflowYaml(const std::string& dataset, bool two_stages,
                         const std::string& stage_1_provider = "oa",
                         const std::string& extra_stage_1 = "");

}  // namespace batchlog::orchestrator::testing
