// Helpers of the audit tests: a priced workflow file and a look at the emulator's batches.
#pragma once

#include <string>

#include "tests/orchestrator/engine_test_support.h"

namespace batchlog::orchestrator::testing {

// One or two stages like WorkflowYaml (stage 1 OpenAI gpt-4o-mini, stage 2 Anthropic
// claude-sonnet-4-5 judging stage 1's text with `stage_2_prompt`), with prices in
// `defaults`: gpt-4o-mini 0.15/0.6 and claude-sonnet-4-5 3/15 per million, 50 % batch
// discount.
std::string AuditWorkflowYaml(const std::string& dataset, bool two_stages,
                              const std::string& stage_2_prompt = "Score 0-10: {{stage_1.text}}");

// Batches the emulator holds (both APIs) that have not reached a terminal status.
int InFlightBatches(const EngineHarness& harness);

}  // namespace batchlog::orchestrator::testing
