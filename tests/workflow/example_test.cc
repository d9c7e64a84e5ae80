// The example in examples/math-paraphrase must stay valid: it is what `batchlog demo` runs.
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "src/workflow/batch_splitter.h"
#include "src/workflow/request_builder.h"
#include "src/workflow/workflow_file.h"

namespace batchlog::workflow {
namespace {

TEST_CASE("the math-paraphrase example parses, reads its dataset and plans both stages",
          "[workflow][example]") {
  const std::filesystem::path path =
      std::filesystem::path(BATCHLOG_EXAMPLES_DIR) / "math-paraphrase" / "workflow.yaml";
  const base::Result<WorkflowFile> file = LoadWorkflowFile(path);
  INFO(file.status().ToString());
  REQUIRE(file.ok());
  REQUIRE(file->workflows.size() == 1);
  const Workflow& workflow = file->workflows[0];
  REQUIRE(workflow.stages.size() == 2);
  CHECK(workflow.stages[0].provider_kind == ProviderKind::kOpenAi);
  CHECK(workflow.stages[1].provider_kind == ProviderKind::kAnthropic);
  CHECK(workflow.stages[1].retry.max_retries == 3);
  CHECK(workflow.stages[0].poll == PollPolicy{30, 600});

  const base::Result<Dataset> dataset = ReadDataset(workflow.dataset, workflow.id_field);
  INFO(dataset.status().ToString());
  REQUIRE(dataset.ok());
  CHECK(dataset->size() == 40);

  const auto planned = PlanStage1(*file, workflow, workflow.stages[0], *dataset);
  INFO(planned.status().ToString());
  REQUIRE(planned.ok());
  REQUIRE(planned->size() == 80);
  CHECK((*planned)[0].custom_id == "m001_formal_e0_1591b6");
  CHECK((*planned)[0].model == "gpt-4o-mini");

  const std::string answer =
      R"({"choices": [{"message": {"role": "assistant", "content": "In other words, ..."}}]})";
  const StageAnswer stage_1{"stage_1", answer};
  const auto judge = BuildFromResult(workflow, workflow.stages[1], (*planned)[0], *dataset,
                                     StageAnswers(&stage_1, 1));
  INFO(judge.status().ToString());
  REQUIRE(judge.ok());
  const nlohmann::json body = nlohmann::json::parse(judge->body_json);
  CHECK(body["model"] == "claude-sonnet-4-5");
  CHECK(body["system"][0]["cache_control"]["type"] == "ephemeral");  // a shared, cached prefix
  CHECK(body["messages"][0]["content"].get<std::string>().find("Paraphrase: In other words") !=
        std::string::npos);

  const auto batches =
      SplitIntoBatches(*planned, workflow.stages[0].provider_kind, workflow.stages[0].endpoint,
                       workflow.stages[0].batch_limits);
  REQUIRE(batches.ok());
  CHECK(batches->size() == 1);
}

}  // namespace
}  // namespace batchlog::workflow
