#include "tests/support/workflow_yaml.h"

namespace batchlog::testing {

std::string WorkflowYaml(const WorkflowYamlSpec& spec) {
  std::string yaml = "run_name: " + spec.run_name + R"(
providers:
  oa: {kind: openai, api_key_env: )" + spec.key_env_prefix + R"(_OPENAI_KEY}
  an: {kind: anthropic, api_key_env: )" + spec.key_env_prefix + R"(_ANTHROPIC_KEY}
defaults:
  retry: )" + spec.retry + R"(
  poll: )" + spec.poll + "\n" + spec.extra_defaults + R"(workflows:
  - name: math
    dataset: )" + spec.dataset + R"(
    custom_id: "{id}"
    stages:
      - name: stage_1
        provider: )" + spec.stage_1_provider + "\n" + spec.extra_stage_1 + R"(        body:
          model: gpt-4o-mini
          max_tokens: 64
          messages: [{role: user, content: "Paraphrase: {{sample.problem}}"}]
)";
  if (spec.two_stages) {
    yaml += R"(      - name: stage_2
        from: stage_1
        provider: an
        body:
          model: claude-sonnet-4-5
          max_tokens: 16
          messages: [{role: user, content: ")" + spec.stage_2_prompt + R"("}]
)";
  }
  return yaml;
}

}  // namespace batchlog::testing
