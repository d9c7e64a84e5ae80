#include "tests/orchestrator/engine_test_support.h"

#include <fstream>
#include <sstream>

#include <httplib.h>
#include <catch2/catch.hpp>

#include "src/orchestrator/run_reader.h"
#include "src/sim/fault_plan.h"
#include "tests/support/workflow_yaml.h"

namespace batchlog::orchestrator::testing {

EngineHarness::EngineHarness(const std::string& fault_plan_yaml)
    : dir_("batchlog-engine"),
      clock_(std::make_unique<base::FakeClock>(base::FromUnixMicros(1'800'000'000'000'000))),
      random_(std::make_unique<base::SeededRandom>(11)) {
  sim::EmulatorOptions options;
  options.seed = 42;
  options.clock = clock_.get();
  options.threads = 4;
  options.lifecycle.validating_s = 1;
  options.lifecycle.processing_s_base = 1;
  options.lifecycle.processing_s_per_request = 0.01;
  options.lifecycle.finalizing_s = 1;
  options.lifecycle.cancelling_s = 1;
  options.lifecycle.window_s = 120;  // expiries come after a couple of minutes
  if (!fault_plan_yaml.empty()) {
    auto plan = sim::FaultPlan::Parse(fault_plan_yaml);
    REQUIRE(plan.ok());
    options.fault_plan = std::move(plan).value();
  }
  auto emulator = sim::Emulator::Start(options);
  REQUIRE(emulator.ok());
  emulator_ = std::move(emulator).value();
}

std::filesystem::path EngineHarness::Write(const std::string& name,
                                           const std::string& content) const {
  const std::filesystem::path path = dir_.path() / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::filesystem::path EngineHarness::WriteDataset(const std::string& name, int count) const {
  std::ostringstream out;
  for (int i = 0; i < count; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "q%03d", i);
    out << R"({"id": ")" << id << R"(", "problem": "What is )" << i << " plus " << i << R"(?"})"
        << "\n";
  }
  return Write(name, out.str());
}

RunRequest EngineHarness::Request() const {
  RunRequest request;
  request.store_root = store();
  request.setup.base_url_override = emulator_->base_url();
  request.setup.lookup_env = [](const std::string&) -> std::optional<std::string> {
    return "sk-engine-test";
  };
  request.setup.clock = clock_.get();
  request.setup.random = random_.get();
  request.seed = 7;
  request.manifest_min_interval_s = 0;
  return request;
}

nlohmann::json EngineHarness::Stats() const {
  httplib::Client client("127.0.0.1", emulator_->port());
  const auto response = client.Get("/_sim/stats");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return nlohmann::json::parse(response->body);
}

std::string EngineHarness::ManifestFileText(const RunOutcome& outcome) const {
  std::ifstream in(outcome.manifest_path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json EngineHarness::ManifestFile(const RunOutcome& outcome) const {
  return nlohmann::json::parse(ManifestFileText(outcome));
}

std::vector<events::v1::Event> EventsOf(const EngineHarness& harness, const std::string& run_id) {
  auto reader = RunReader::Open(harness.store(), run_id);
  REQUIRE(reader.ok());
  std::vector<events::v1::Event> events;
  REQUIRE(reader
              ->VisitEvents(1, reader->last_seq(),
                            [&](const events::v1::Event& event) {
                              events.push_back(event);
                              return true;
                            })
              .ok());
  return events;
}

std::string WorkflowYaml(const std::string& dataset, bool two_stages,
                         const std::string& stage_1_provider, const std::string& extra_stage_1) {
  batchlog::testing::WorkflowYamlSpec spec;
  spec.dataset = dataset;
  spec.two_stages = two_stages;
  spec.stage_1_provider = stage_1_provider;
  spec.extra_stage_1 = extra_stage_1;
  return batchlog::testing::WorkflowYaml(spec);
}

}  // namespace batchlog::orchestrator::testing
