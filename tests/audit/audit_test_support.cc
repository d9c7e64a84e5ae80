#include "tests/audit/audit_test_support.h"

#include <httplib.h>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace batchlog::orchestrator::testing {

std::string AuditWorkflowYaml(const std::string& dataset, bool two_stages,
                              const std::string& stage_2_prompt) {
  std::string yaml = R"(run_name: audit-test
providers:
  oa: {kind: openai, api_key_env: TEST_OPENAI_KEY}
  an: {kind: anthropic, api_key_env: TEST_ANTHROPIC_KEY}
defaults:
  retry: {max_retries: 2, initial_delay_s: 1, multiplier: 2, max_delay_s: 10, jitter: 0.2}
  poll: {initial_s: 0.5, max_s: 2}
  prices:
    gpt-4o-mini: {input_per_million: 0.15, output_per_million: 0.6}
    claude-sonnet-4-5: {input_per_million: 3, output_per_million: 15, batch_discount: 0.5}
workflows:
  - name: math
    dataset: )" + dataset + R"(
    custom_id: "{id}"
    stages:
      - name: stage_1
        provider: oa
        body:
          model: gpt-4o-mini
          max_tokens: 64
          messages: [{role: user, content: "Paraphrase: {{sample.problem}}"}]
)";
  if (two_stages) {
    yaml += R"(      - name: stage_2
        from: stage_1
        provider: an
        body:
          model: claude-sonnet-4-5
          max_tokens: 16
          messages: [{role: user, content: ")" + stage_2_prompt + R"("}]
)";
  }
  return yaml;
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
