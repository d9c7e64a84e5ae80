// The workflow file the engine, audit and crash tests run: one workflow "math" over a
// dataset with an `id` and a `problem` field, custom_id "{id}", stage 1 paraphrasing on
// `stage_1_provider` (gpt-4o-mini) and, optionally, stage 2 judging stage 1's answer on
// Anthropic (claude-sonnet-4-5). Each suite changes only what it is about.
#pragma once

#include <string>

namespace batchlog::testing {

struct WorkflowYamlSpec {
  std::string run_name = "engine-test";
  std::string dataset = "data.jsonl";
  bool two_stages = false;
  std::string stage_1_provider = "oa";  // "oa" (kind openai) or "an" (kind anthropic)
  // API keys are read from <prefix>_OPENAI_KEY and <prefix>_ANTHROPIC_KEY.
  std::string key_env_prefix = "TEST";
  std::string retry = "{max_retries: 2, initial_delay_s: 1, multiplier: 2, max_delay_s: 10, "
                      "jitter: 0.2}";
  std::string poll = "{initial_s: 0.5, max_s: 2}";
  // More keys under `defaults:`, each line indented by two spaces.
  std::string extra_defaults;
  // More keys of stage 1, each line indented by eight spaces.
  std::string extra_stage_1;
  std::string stage_2_prompt = "Score 0-10: {{stage_1.text}}";
};

std::string WorkflowYaml(const WorkflowYamlSpec& spec);

}  // namespace batchlog::testing
