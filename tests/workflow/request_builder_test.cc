#include "src/workflow/request_builder.h"

#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/workflow/workflow_test_util.h"

namespace batchlog::workflow {
namespace {

using nlohmann::json;
using testing::Edit;
using testing::kSmallWorkflow;
using testing::WorkflowDir;
using testing::WriteFile;

struct Loaded {
  WorkflowFile file;
  Dataset dataset;
};

Loaded Load(const WorkflowDir& dir, std::string_view yaml) {
  base::Result<WorkflowFile> file = dir.Parse(yaml);
  INFO(file.status().ToString());
  REQUIRE(file.ok());
  const Workflow& workflow = file->workflows[0];
  base::Result<Dataset> dataset = ReadDataset(workflow.dataset, workflow.id_field);
  INFO(dataset.status().ToString());
  REQUIRE(dataset.ok());
  return Loaded{std::move(file).value(), std::move(dataset).value()};
}

TEST_CASE("stage 1 plans one request per sample, variant and epoch in dataset order",
          "[workflow][builder]") {
  WorkflowDir dir;
  WriteFile(dir.path() / "data.jsonl",
            "{\"id\": \"a\", \"q\": \"one\"}\n{\"id\": \"b\", \"q\": \"two\"}\n"
            "{\"id\": 3, \"q\": \"three\"}\n");
  const std::string yaml =
      Edit(std::string(kSmallWorkflow), "    dataset: data.jsonl\n",
           "    dataset: data.jsonl\n    variants: [plain, fancy]\n    epochs: 2\n");
  const Loaded loaded = Load(dir, Edit(yaml, "\"{{sample.q}}\"", "\"{{sample.q}} {{variant}}\""));
  const Workflow& workflow = loaded.file.workflows[0];
  const base::Result<std::vector<PlannedRequest>> planned =
      PlanStage1(loaded.file, workflow, workflow.stages[0], loaded.dataset);
  REQUIRE(planned.ok());
  REQUIRE(planned->size() == 3 * 2 * 2);

  std::set<std::string> custom_ids;
  for (std::size_t i = 0; i < planned->size(); ++i) {
    const PlannedRequest& request = (*planned)[i];
    CAPTURE(i, request.custom_id);
    CHECK(request.ordinal == i);
    CHECK(request.ordinal ==
          (request.sample_index * 2u + request.variant_index) * 2u + request.epoch);
    CHECK(request.stage_index == 0);
    CHECK(request.variant == workflow.variants[request.variant_index]);
    CHECK(IsValidCustomId(request.custom_id));
    CHECK(custom_ids.insert(request.custom_id).second);
    CHECK(request.model == "m");
    CHECK(request.source_custom_id.empty());
    CHECK(request.estimated_input_tokens == (request.body_json.size() + 3) / 4);
  }
  const PlannedRequest& sixth = (*planned)[6];  // sample 1 ("b"), variant fancy, epoch 0
  CHECK(sixth.sample_index == 1);
  CHECK(sixth.variant == "fancy");
  CHECK(sixth.epoch == 0);
  CHECK(sixth.custom_id.rfind("b_fancy_e0_", 0) == 0);
  CHECK(json::parse(sixth.body_json)["messages"][0]["content"] == "two fancy");
  CHECK((*planned)[11].custom_id.rfind("3_fancy_e1_", 0) == 0);
}

TEST_CASE("planning twice gives the same requests", "[workflow][builder]") {
  WorkflowDir dir;
  const Loaded loaded = Load(dir, kSmallWorkflow);
  const Workflow& workflow = loaded.file.workflows[0];
  const auto first = PlanStage1(loaded.file, workflow, workflow.stages[0], loaded.dataset);
  const auto second = PlanStage1(loaded.file, workflow, workflow.stages[0], loaded.dataset);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  REQUIRE(first->size() == second->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    CHECK((*first)[i].custom_id == (*second)[i].custom_id);
    CHECK((*first)[i].body_json == (*second)[i].body_json);
  }
  CHECK((*first)[0].custom_id == "a_e0_ac803b");
}

TEST_CASE("a template field no sample has is refused before any request is planned",
          "[workflow][builder]") {
  WorkflowDir dir;
  // The missing field is in stage 2, which is planned much later: still refused now.
  const Loaded loaded =
      Load(dir, Edit(std::string(kSmallWorkflow), "\"{{s1.text}}\"", "\"{{sample.answer}}\""));
  const Workflow& workflow = loaded.file.workflows[0];
  const auto planned = PlanStage1(loaded.file, workflow, workflow.stages[0], loaded.dataset);
  REQUIRE_FALSE(planned.ok());
  CHECK(planned.status().message() ==
        dir.Where(":14:74: workflows[0].stages[1].body.messages[0].content: template field "
                  "{{sample.answer}} is in no sample of ") +
            (dir.path() / "data.jsonl").string() + " (2 samples)");
  CHECK(CheckWorkflowAgainstDataset(workflow, loaded.dataset).message() ==
        planned.status().message());
}

TEST_CASE("custom ids that collide after sanitizing are refused naming both samples",
          "[workflow][builder]") {
  WorkflowDir dir;
  WriteFile(dir.path() / "data.jsonl",
            "{\"id\": \"a.b\", \"q\": \"x\"}\n{\"id\": \"c\", \"q\": \"y\"}\n"
            "{\"id\": \"a/b\", \"q\": \"z\"}\n");
  const Loaded loaded = Load(dir, Edit(std::string(kSmallWorkflow), "    dataset: data.jsonl\n",
                                       "    dataset: data.jsonl\n    custom_id: \"{id}\"\n"));
  const Workflow& workflow = loaded.file.workflows[0];
  const auto planned = PlanStage1(loaded.file, workflow, workflow.stages[0], loaded.dataset);
  REQUIRE_FALSE(planned.ok());
  const std::string data = (dir.path() / "data.jsonl").string();
  CHECK(planned.status().message() ==
        dir.Where(":8:16: workflows[0].custom_id: custom_id 'a-b' is produced by both sample "
                  "'a.b' (") +
            data + ":1, epoch 0) and sample 'a/b' (" + data +
            ":3, epoch 0); add {hash6} to the format or make the ids differ in letters, "
            "digits, '_' or '-'");

  // With {hash6} the same ids stay distinct.
  const Loaded hashed = Load(dir, kSmallWorkflow);
  const Workflow& hashed_workflow = hashed.file.workflows[0];
  const auto ok =
      PlanStage1(hashed.file, hashed_workflow, hashed_workflow.stages[0], hashed.dataset);
  REQUIRE(ok.ok());
  CHECK((*ok)[0].custom_id == "a-b_e0_65d7fb");
  CHECK((*ok)[2].custom_id == "a-b_e0_f3c68c");
}

TEST_CASE("a later stage's request keeps its source's custom_id and reads its answer",
          "[workflow][builder]") {
  WorkflowDir dir;
  const Loaded loaded = Load(dir, kSmallWorkflow);
  const Workflow& workflow = loaded.file.workflows[0];
  const auto planned = PlanStage1(loaded.file, workflow, workflow.stages[0], loaded.dataset);
  REQUIRE(planned.ok());
  const PlannedRequest& source = (*planned)[1];
  const std::string response =
      R"({"choices": [{"message": {"role": "assistant", "content": "deux"}}]})";
  const StageAnswer answer{"s1", response};
  const base::Result<PlannedRequest> built = BuildFromResult(
      workflow, workflow.stages[1], source, loaded.dataset, StageAnswers(&answer, 1));
  REQUIRE(built.ok());
  CHECK(built->custom_id == source.custom_id);
  CHECK(built->source_custom_id == source.custom_id);
  CHECK(built->ordinal == source.ordinal);
  CHECK(built->sample_index == 1);
  CHECK(built->stage_index == 1);
  CHECK(built->model == "c");
  CHECK(built->body_json ==
        R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":"deux"}]})");
  CHECK(built->estimated_input_tokens == (built->body_json.size() + 3) / 4);

  const base::Result<PlannedRequest> missing =
      BuildFromResult(workflow, workflow.stages[1], source, loaded.dataset, {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "custom_id " + source.custom_id + ": stage 's1' answer: not given to the request builder");
}

}  // namespace
}  // namespace batchlog::workflow
