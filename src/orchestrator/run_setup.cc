#include "src/orchestrator/run_setup.h"

#include <utility>

#include "src/providers/provider_config.h"

namespace batchlog::orchestrator {
namespace {

providers::ProviderKind WireKind(workflow::ProviderKind kind) {
  switch (kind) {
    case workflow::ProviderKind::kAnthropic:
      return providers::ProviderKind::kAnthropic;
    case workflow::ProviderKind::kOpenAi:
    case workflow::ProviderKind::kOpenAiCompatible:
      return providers::ProviderKind::kOpenAi;
  }
  return providers::ProviderKind::kOpenAi;
}

providers::ErrorClass ClassOf(workflow::ErrorClass error_class) {
  return error_class == workflow::ErrorClass::kPermanent ? providers::ErrorClass::kPermanent
                                                         : providers::ErrorClass::kRetryable;
}

}  // namespace

base::Result<std::unique_ptr<RunSetup>> RunSetup::Build(workflow::WorkflowFile file,
                                                        const RunSetupOptions& options) {
  std::unique_ptr<RunSetup> setup(new RunSetup());
  setup->file_ = std::move(file);
  setup->clock_ = options.clock;
  const workflow::WorkflowFile& wf = setup->file_;

  for (const workflow::Workflow& flow : wf.workflows) {
    BATCHLOG_ASSIGN_OR_RETURN(workflow::Dataset dataset,
                              workflow::ReadDataset(flow.dataset, flow.id_field));
    BATCHLOG_RETURN_IF_ERROR(workflow::CheckWorkflowAgainstDataset(flow, dataset));
    const std::size_t first_policy = setup->policies_.size();
    for (const workflow::Stage& stage : flow.stages) {
      StagePolicy policy;
      policy.workflow = flow.name;
      policy.stage = stage.name;
      policy.provider = stage.provider;
      policy.endpoint = stage.endpoint;
      if (stage.from_index) policy.upstream = first_policy + *stage.from_index;
      if (!stage.from_index) {
        policy.expected_requests =
            static_cast<std::uint64_t>(dataset.size()) * flow.variant_count() * flow.epochs;
      }
      policy.as_ready = stage.start == workflow::StartMode::kAsReady;
      const double scale = options.time_scale > 0 ? options.time_scale : 1.0;
      policy.retry = {stage.retry.max_retries, stage.retry.initial_delay_s / scale,
                      stage.retry.multiplier, stage.retry.max_delay_s / scale, stage.retry.jitter};
      policy.poll = {stage.poll.initial_s / scale, stage.poll.max_s / scale};
      policy.batch_max_requests = static_cast<std::uint32_t>(stage.batch_limits.max_requests);
      policy.batch_max_bytes = stage.batch_limits.max_bytes;
      policy.model = stage.body->QuotaModel();
      policy.quota_tokens = stage.quota.EnqueuedTokenLimit(policy.model);
      policy.quota_warn_fraction = stage.quota.warn_fraction;
      setup->policies_.push_back(std::move(policy));
      setup->locations_.push_back({flow.index, stage.index});

      providers::ErrorClassifier classifier;
      classifier.set_unknown_default(ClassOf(stage.error_classes.unknown_default));
      for (const auto& [code, error_class] : stage.error_classes.overrides) {
        BATCHLOG_RETURN_IF_ERROR(classifier.SetOverride(code, ClassOf(error_class)));
      }
      setup->classifiers_.push_back(std::move(classifier));
    }
    setup->datasets_.push_back(std::move(dataset));
  }

  for (const workflow::ProviderEntry& entry : wf.providers) {
    providers::ProviderConfig config;
    config.name = entry.name;
    config.kind = WireKind(entry.kind);
    config.base_url = entry.base_url;
    if (!options.base_url_override.empty()) config.base_url = options.base_url_override + "/v1";
    config.api_key_env = entry.api_key_env;
    for (const auto& [name, value] : entry.extra_headers) {
      config.extra_headers.push_back({name, value});
    }
    if (!entry.anthropic_version.empty()) config.anthropic_version = entry.anthropic_version;
    providers::ProviderEnvironment environment;
    environment.clock = options.clock;
    environment.random = options.random;
    environment.lookup_env = options.lookup_env;
    auto provider = providers::MakeProvider(config, environment);
    if (!provider.ok()) {
      return provider.status().WithContext(wf.path.string() + ": provider '" + entry.name + "'");
    }
    setup->providers_.emplace(entry.name, std::move(provider).value());
  }
  setup->factory_ =
      std::make_unique<WorkflowRequestFactory>(setup->file_, setup->datasets_, setup->locations_);
  return setup;
}

ExecutorDeps RunSetup::MakeExecutorDeps(store::EventLog& log, replay::Projections& projections,
                                        base::Random& random,
                                        const std::filesystem::path& spool_dir) {
  ExecutorDeps deps;
  deps.log = &log;
  deps.projections = &projections;
  deps.policies = &policies_;
  for (auto& [name, provider] : providers_) deps.providers.emplace(name, provider.get());
  for (const providers::ErrorClassifier& classifier : classifiers_) {
    deps.classifiers.push_back(&classifier);
  }
  deps.requests = factory_.get();
  deps.clock = clock_;
  deps.random = &random;
  deps.spool_dir = spool_dir;
  return deps;
}

}  // namespace batchlog::orchestrator
