// WorkflowFile: a parsed and checked workflow file (YAML), the input of `batchlog run`
// (docs/workflow-file.md lists every key, its default and where it may be set).
//
// Parsing resolves everything a consumer needs: providers with their defaults, every
// stage's policies (stage over workflow over `defaults` over the built-in values), the
// dataset path (relative to the file's directory), compiled body templates, and the
// custom_id format. It refuses, naming "file:line:column: key.path: what", unknown keys
// (with a suggestion), duplicate keys, wrong types, bad numbers, unknown provider names,
// duplicate workflow or stage names, a `from` that does not name an earlier stage,
// template placeholders that cannot resolve, a custom_id format that can collide, batch
// limits above the provider's, and a dataset file that does not exist. Checks that need
// the dataset's contents (template fields no sample has, custom_id collisions) run in the
// request builder, still before any request is sent.
//
// Thread-safety: immutable after parsing; safe to share. Stage::body is shared by copies.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/workflow/custom_id.h"
#include "src/workflow/policies.h"
#include "src/workflow/request_template.h"

namespace batchlog::workflow {

struct ProviderEntry {
  std::string name;  // the key under `providers`
  ProviderKind kind = ProviderKind::kOpenAi;
  // Empty: the provider's public API. Required for openai_compatible.
  std::string base_url;
  // Environment variable holding the key. Default OPENAI_API_KEY (openai,
  // openai_compatible) or ANTHROPIC_API_KEY (anthropic). The key itself is never read here.
  std::string api_key_env;
  std::map<std::string, std::string> extra_headers;
  // anthropic only: the anthropic-version header, default "2023-06-01"; empty otherwise.
  std::string anthropic_version;
};

// When a later stage starts building requests from its `from` stage's results.
enum class StartMode : std::uint8_t {
  kAfterStage,  // once every request of the `from` stage is final
  kAsReady,     // from each successful result as soon as it is ingested
};
std::string_view StartModeName(StartMode mode);  // "after_stage" / "as_ready"

struct Stage {
  std::string name;
  std::uint32_t index = 0;           // 0 for the first stage of its workflow
  std::string provider;              // a ProviderEntry name
  std::uint32_t provider_index = 0;  // into WorkflowFile::providers
  ProviderKind provider_kind = ProviderKind::kOpenAi;
  // OpenAI kinds: the batch line's `url`, default /v1/chat/completions. Anthropic:
  // always /v1/messages (informational).
  std::string endpoint;
  std::shared_ptr<const RequestTemplate> body;       // never null after parsing
  AnswerFormat answer_format = AnswerFormat::kNone;  // how later stages read its answers
  // The stage this one builds from: empty / nullopt for the first stage; a later stage
  // without `from` builds from the stage before it.
  std::string from;
  std::optional<std::uint32_t> from_index;
  StartMode start = StartMode::kAfterStage;
  // Resolved policies.
  RetryPolicy retry;
  PollPolicy poll;
  BatchLimits batch_limits;
  ErrorClassPolicy error_classes;
  QuotaPolicy quota;
  PriceTable prices;
  std::string place;  // "file:line:col" of the stage's entry, for messages
};

struct Workflow {
  std::string name;
  std::uint32_t index = 0;
  std::filesystem::path dataset;  // resolved: relative paths are joined to the file's dir
  std::string id_field = "id";
  std::vector<std::string> variants;  // empty: no variants
  std::uint32_t epochs = 1;           // epochs are numbered 0 .. epochs-1
  CustomIdFormat custom_id;
  std::vector<Stage> stages;    // at least one
  std::string place;            // "file:line:col" of the workflow's entry
  std::string custom_id_place;  // "file:line:col: workflows[i].custom_id" (or the entry's)

  // max(1, variants.size()): requests per sample and epoch.
  std::uint32_t variant_count() const;
  const Stage* FindStage(std::string_view stage_name) const;
};

struct WorkflowFile {
  std::filesystem::path path;            // as given; messages use it
  std::string source_text;               // the file's bytes, e.g. for RunStarted's config text
  std::string run_name;                  // default: the file name without its extension
  std::vector<ProviderEntry> providers;  // in file order
  std::vector<Workflow> workflows;       // in file order; at least one

  const ProviderEntry* FindProvider(std::string_view provider_name) const;
  const Workflow* FindWorkflow(std::string_view workflow_name) const;
};

// Reads and parses `path`. NotFound when it cannot be read; InvalidArgument (see above).
base::Result<WorkflowFile> LoadWorkflowFile(const std::filesystem::path& path);

// Parses `yaml_text`; `path` names the file in messages and anchors relative dataset paths.
base::Result<WorkflowFile> ParseWorkflowFile(std::string_view yaml_text,
                                             const std::filesystem::path& path);

}  // namespace batchlog::workflow
