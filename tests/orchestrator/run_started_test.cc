// MakeRunStarted: the workflow file's prices, resolved per stage, as RunStarted records them
// for the manifest's cost.
#include <catch2/catch.hpp>

#include "src/orchestrator/run_started.h"
#include "tests/workflow/workflow_test_util.h"

namespace batchlog::orchestrator {
namespace {

using workflow::testing::Edit;
using workflow::testing::kSmallWorkflow;
using workflow::testing::WorkflowDir;

const events::v1::ModelPrice* PriceOf(const events::v1::RunStarted& started,
                                      std::string_view stage, std::string_view model) {
  for (const events::v1::ModelPrice& price : started.prices()) {
    if (price.stage() == stage && price.model() == model) return &price;
  }
  return nullptr;
}

TEST_CASE("RunStarted records cache rates with how each provider counts cached tokens",
          "[orchestrator][cost]") {
  WorkflowDir dir;
  // s1 runs on OpenAI (model m), s2 on Anthropic (model c); only m and c have cached rates
  // at the stage level, and model x is priced without one.
  const std::string yaml = Edit(
      std::string(kSmallWorkflow), "run_name: t\n",
      "run_name: t\n"
      "defaults:\n"
      "  prices:\n"
      "    m: {input_per_million: 1, output_per_million: 2, cached_input_per_million: 0.5}\n"
      "    c: {input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3,"
      " cache_write_input_per_million: 3.75}\n"
      "    x: {input_per_million: 1, output_per_million: 1}\n");
  const auto file = dir.Parse(yaml);
  REQUIRE(file.ok());
  const events::v1::RunStarted started = MakeRunStarted(*file, dir.file(), 7);

  const events::v1::ModelPrice* openai = PriceOf(started, "s1", "m");
  REQUIRE(openai != nullptr);
  REQUIRE(openai->has_cached_input_per_million());
  CHECK(openai->cached_input_per_million() == 0.5);
  CHECK(openai->cached_in_input());  // prompt_tokens includes cached_tokens

  const events::v1::ModelPrice* anthropic = PriceOf(started, "s2", "c");
  REQUIRE(anthropic != nullptr);
  CHECK(anthropic->cached_input_per_million() == 0.3);
  CHECK_FALSE(anthropic->cached_in_input());  // cache reads are reported beside input_tokens
  REQUIRE(anthropic->has_cache_write_input_per_million());
  CHECK(anthropic->cache_write_input_per_million() == 3.75);
  CHECK_FALSE(openai->has_cache_write_input_per_million());

  // Without a cached rate nothing is recorded, so the cost is what it was before the rate
  // existed (and a log written then means the same).
  const events::v1::ModelPrice* plain = PriceOf(started, "s1", "x");
  REQUIRE(plain != nullptr);
  CHECK_FALSE(plain->has_cached_input_per_million());
  CHECK_FALSE(plain->cached_in_input());
  CHECK_FALSE(plain->has_cache_write_input_per_million());
}

}  // namespace
}  // namespace batchlog::orchestrator
