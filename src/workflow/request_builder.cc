#include "src/workflow/request_builder.h"

#include <utility>

#include "src/workflow/duplicate_finder.h"

namespace batchlog::workflow {

std::uint64_t EstimateInputTokens(std::string_view body_json) {
  return (static_cast<std::uint64_t>(body_json.size()) + 3) / 4;
}

namespace {

// The (sample, variant, epoch) of an ordinal.
struct RequestKey {
  std::size_t sample = 0;
  std::uint32_t variant = 0;
  std::uint32_t epoch = 0;
};

RequestKey KeyOf(const Workflow& workflow, std::uint64_t ordinal) {
  const std::uint64_t per_sample = std::uint64_t{workflow.variant_count()} * workflow.epochs;
  const std::uint64_t within = ordinal % per_sample;
  return RequestKey{static_cast<std::size_t>(ordinal / per_sample),
                    static_cast<std::uint32_t>(within / workflow.epochs),
                    static_cast<std::uint32_t>(within % workflow.epochs)};
}

std::string_view VariantName(const Workflow& workflow, std::uint32_t variant_index) {
  return workflow.variants.empty() ? std::string_view()
                                   : std::string_view(workflow.variants[variant_index]);
}

std::string Describe(const Workflow& workflow, const Dataset& dataset, const RequestKey& key) {
  std::string text = "sample '" + dataset[key.sample].id + "' (" + dataset.Where(key.sample);
  if (!workflow.variants.empty()) {
    text += ", variant '" + std::string(VariantName(workflow, key.variant)) + "'";
  }
  return text + ", epoch " + std::to_string(key.epoch) + ")";
}

base::Status CheckCustomIds(const Workflow& workflow, const Dataset& dataset) {
  const std::uint64_t total =
      std::uint64_t{dataset.size()} * workflow.variant_count() * workflow.epochs;
  base::Status first_error;
  const auto duplicate = FindFirstDuplicate(total, [&](std::size_t ordinal, std::string& out) {
    const RequestKey key = KeyOf(workflow, ordinal);
    const base::Status status = workflow.custom_id.FormatTo(
        dataset[key.sample].id, VariantName(workflow, key.variant), key.epoch, out);
    if (!status.ok()) {
      if (first_error.ok()) {
        first_error = base::InvalidArgumentError(
            workflow.custom_id_place + ": " + dataset.Where(key.sample) + ": " + status.message());
      }
      // A unique key, so requests that failed to format never count as duplicates.
      out = "\n" + std::to_string(ordinal);
    }
  });
  // Keys are written in ordinal order while hashing, so first_error is the earliest one.
  BATCHLOG_RETURN_IF_ERROR(first_error);
  if (!duplicate.has_value()) return base::Status();
  const RequestKey first = KeyOf(workflow, duplicate->first);
  const RequestKey second = KeyOf(workflow, duplicate->second);
  std::string custom_id;
  workflow.custom_id
      .FormatTo(dataset[second.sample].id, VariantName(workflow, second.variant), second.epoch,
                custom_id)
      .IgnoreError();  // it formatted a moment ago
  return base::InvalidArgumentError(
      workflow.custom_id_place + ": custom_id '" + custom_id + "' is produced by both " +
      Describe(workflow, dataset, first) + " and " + Describe(workflow, dataset, second) +
      "; add {hash6} to the format or make the ids differ in letters, digits, '_' or '-'");
}

}  // namespace

base::Status CheckWorkflowAgainstDataset(const Workflow& workflow, const Dataset& dataset) {
  for (const Stage& stage : workflow.stages) {
    BATCHLOG_CHECK(stage.body != nullptr);
    BATCHLOG_RETURN_IF_ERROR(stage.body->CheckSampleFields(dataset));
  }
  return CheckCustomIds(workflow, dataset);
}

base::Status ForEachStage1Request(const WorkflowFile& file, const Workflow& workflow,
                                  const Stage& stage, const Dataset& dataset,
                                  const PlannedRequestSink& sink) {
  BATCHLOG_CHECK(stage.index == 0 && !workflow.stages.empty() &&
                 &stage == &workflow.stages.front());
  BATCHLOG_CHECK(stage.provider_index < file.providers.size());
  BATCHLOG_RETURN_IF_ERROR(CheckWorkflowAgainstDataset(workflow, dataset));

  RenderScratch scratch;
  PlannedRequest request;
  std::uint64_t ordinal = 0;
  for (std::size_t s = 0; s < dataset.size(); ++s) {
    const Sample& sample = dataset[s];
    for (std::uint32_t v = 0; v < workflow.variant_count(); ++v) {
      const std::string_view variant = VariantName(workflow, v);
      for (std::uint32_t epoch = 0; epoch < workflow.epochs; ++epoch) {
        request.ordinal = ordinal++;
        request.stage_index = 0;
        request.sample_index = static_cast<std::uint32_t>(s);
        request.variant_index = v;
        request.variant.assign(variant);
        request.epoch = epoch;
        BATCHLOG_RETURN_IF_ERROR(
            workflow.custom_id.FormatTo(sample.id, variant, epoch, request.custom_id));
        RenderInput input;
        input.sample_json = sample.json;
        input.sample_json_padded = true;
        input.id = sample.id;
        input.variant = variant;
        input.epoch = epoch;
        input.custom_id = request.custom_id;
        BATCHLOG_RETURN_IF_ERROR(
            stage.body->Render(input, scratch, request.body_json, request.model));
        request.estimated_input_tokens = EstimateInputTokens(request.body_json);
        BATCHLOG_RETURN_IF_ERROR(sink(request));
      }
    }
  }
  return base::Status();
}

base::Result<std::vector<PlannedRequest>> PlanStage1(const WorkflowFile& file,
                                                     const Workflow& workflow, const Stage& stage,
                                                     const Dataset& dataset) {
  std::vector<PlannedRequest> planned;
  planned.reserve(std::uint64_t{dataset.size()} * workflow.variant_count() * workflow.epochs);
  BATCHLOG_RETURN_IF_ERROR(
      ForEachStage1Request(file, workflow, stage, dataset, [&](PlannedRequest& request) {
        planned.push_back(std::move(request));
        return base::Status();
      }));
  return planned;
}

base::Result<PlannedRequest> BuildFromResult(const Workflow& workflow, const Stage& stage,
                                             const PlannedRequest& source, const Dataset& dataset,
                                             StageAnswers answers) {
  BATCHLOG_CHECK(stage.index >= 1 && stage.index < workflow.stages.size());
  BATCHLOG_CHECK(stage.body != nullptr);
  if (source.sample_index >= dataset.size()) {
    return base::InvalidArgumentError(
        "custom_id " + source.custom_id + ": sample index " + std::to_string(source.sample_index) +
        " is outside the dataset (" + std::to_string(dataset.size()) + " samples)");
  }
  const Sample& sample = dataset[source.sample_index];
  PlannedRequest request;
  request.custom_id = source.custom_id;
  request.ordinal = source.ordinal;
  request.stage_index = stage.index;
  request.sample_index = source.sample_index;
  request.variant_index = source.variant_index;
  request.variant = source.variant;
  request.epoch = source.epoch;
  request.source_custom_id = source.custom_id;

  RenderInput input;
  input.sample_json = sample.json;
  input.sample_json_padded = true;
  input.id = sample.id;
  input.variant = request.variant;
  input.epoch = request.epoch;
  input.custom_id = request.custom_id;
  input.answers = answers;
  RenderScratch scratch;
  BATCHLOG_RETURN_IF_ERROR(stage.body->Render(input, scratch, request.body_json, request.model));
  request.estimated_input_tokens = EstimateInputTokens(request.body_json);
  return request;
}

}  // namespace batchlog::workflow
