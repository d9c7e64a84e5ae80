#include "tests/audit/audit_test_support.h"

#include <httplib.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/workflow_yaml.h"

namespace batchlog::orchestrator::testing {

std::string AuditWorkflowYaml(const std::string& dataset, bool two_stages,
                              const std::string& stage_2_prompt) {
  batchlog::testing::WorkflowYamlSpec spec;
  spec.run_name = "audit-test";
  spec.dataset = dataset;
  spec.two_stages = two_stages;
  spec.stage_2_prompt = stage_2_prompt;
  spec.extra_defaults = R"(  prices:
    gpt-4o-mini: {input_per_million: 0.15, output_per_million: 0.6}
    claude-sonnet-4-5: {input_per_million: 3, output_per_million: 15, batch_discount: 0.5}
)";
  return batchlog::testing::WorkflowYaml(spec);
}

int InFlightBatches(const EngineHarness& harness) {
  const std::string base_url = harness.Request().setup.base_url_override;
  httplib::Client client(base_url);
  int open = 0;
  const httplib::Headers openai = {{"Authorization", "Bearer sk-engine-test"}};
  const auto listed = client.Get("/v1/batches?limit=100", openai);
  REQUIRE(listed);
  REQUIRE(listed->status == 200);
  const nlohmann::json openai_batches = nlohmann::json::parse(listed->body);
  for (const auto& batch : openai_batches["data"]) {
    const std::string status = batch["status"];
    if (status != "completed" && status != "failed" && status != "expired" &&
        status != "cancelled") {
      ++open;
    }
  }
  const httplib::Headers anthropic = {{"x-api-key", "sk-engine-test"},
                                      {"anthropic-version", "2023-06-01"}};
  const auto messages = client.Get("/v1/messages/batches?limit=100", anthropic);
  REQUIRE(messages);
  REQUIRE(messages->status == 200);
  const nlohmann::json anthropic_batches = nlohmann::json::parse(messages->body);
  for (const auto& batch : anthropic_batches["data"]) {
    if (batch["processing_status"] != "ended") ++open;
  }
  return open;
}

}  // namespace batchlog::orchestrator::testing
