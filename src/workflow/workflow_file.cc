#include "src/workflow/workflow_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "src/workflow/did_you_mean.h"
#include "src/workflow/json_text.h"
#include "src/workflow/yaml_support.h"

namespace batchlog::workflow {
namespace {

using yaml::Entry;
using yaml::Mapping;
using yaml::Source;

constexpr std::string_view kTopKeys[] = {"run_name", "providers", "defaults", "workflows"};
constexpr std::string_view kProviderKeys[] = {"kind", "base_url", "api_key_env", "extra_headers",
                                              "anthropic_version"};
constexpr std::string_view kPolicyKeys[] = {"retry",         "poll",  "batch_limits",
                                            "error_classes", "quota", "prices"};
constexpr std::string_view kWorkflowKeys[] = {
    "name",  "dataset", "id_field",     "variants",      "epochs", "custom_id", "stages",
    "retry", "poll",    "batch_limits", "error_classes", "quota",  "prices"};
constexpr std::string_view kStageKeys[] = {"name",         "provider",      "endpoint", "body",
                                           "from",         "start",         "retry",    "poll",
                                           "batch_limits", "error_classes", "quota",    "prices"};
constexpr std::string_view kRetryKeys[] = {"max_retries", "initial_delay_s", "multiplier",
                                           "max_delay_s", "jitter"};
constexpr std::string_view kPollKeys[] = {"initial_s", "max_s"};
constexpr std::string_view kBatchLimitKeys[] = {"max_requests", "max_bytes"};
constexpr std::string_view kErrorClassKeys[] = {"retryable", "permanent", "unknown_default"};
constexpr std::string_view kQuotaKeys[] = {"enqueued_tokens", "warn_fraction"};
constexpr std::string_view kPriceKeys[] = {"input_per_million", "output_per_million",
                                           "batch_discount", "cached_input_per_million",
                                           "cache_write_input_per_million"};
constexpr std::string_view kKinds[] = {"openai", "anthropic", "openai_compatible"};
constexpr std::string_view kStartModes[] = {"after_stage", "as_ready"};
constexpr std::string_view kOpenAiEndpoints[] = {"/v1/chat/completions", "/v1/completions",
                                                 "/v1/responses", "/v1/embeddings",
                                                 "/v1/moderations"};
// Names a stage may not take: they are template placeholder roots.
constexpr std::string_view kReservedStageNames[] = {"sample", "variant", "epoch", "id",
                                                    "custom_id"};
constexpr std::uint32_t kEpochsMax = 10'000;
constexpr std::uint64_t kMaxRetriesMax = 100;
constexpr std::size_t kNameBytesMax = 64;

bool IsNameChar(char c, bool allow_dot) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || (allow_dot && c == '.');
}

bool IsName(std::string_view text, bool allow_dot) {
  if (text.empty() || text.size() > kNameBytesMax) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) { return IsNameChar(c, allow_dot); });
}

bool IsEnvName(std::string_view text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9')) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return IsNameChar(c, false) && c != '-'; });
}

bool IsHeaderName(std::string_view text) {
  static constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return IsNameChar(c, false) || kTokenPunctuation.find(c) != std::string_view::npos;
  });
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string FormatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Where a resolved field was set, to name it when two fields disagree.
struct SetAt {
  std::string place;  // "file:line:col: key.path"; empty for built-in values
  std::uint64_t order = 0;
};

// The policies in force at one level (built-in, defaults, workflow, stage), before the
// provider's batch limits are known.
struct PolicySet {
  RetryPolicy retry;
  PollPolicy poll;
  std::optional<std::uint64_t> max_requests;
  std::optional<std::uint64_t> max_bytes;
  ErrorClassPolicy error_classes;
  QuotaPolicy quota;
  PriceTable prices;
  SetAt initial_delay_at;
  SetAt max_delay_at;
  SetAt poll_initial_at;
  SetAt poll_max_at;
  SetAt max_requests_at;
  SetAt max_bytes_at;
};

class Parser {
 public:
  Parser(std::string_view text, const std::filesystem::path& path)
      : text_(text), path_(path), source_(path.string()) {}

  base::Result<WorkflowFile> Parse();

 private:
  base::Status ParseProviders(const Entry& entry, WorkflowFile& file);
  base::Status ParseWorkflow(const YAML::Node& node, std::uint32_t index, const WorkflowFile& file,
                             const PolicySet& defaults, Workflow& workflow);
  base::Status ParseStage(const YAML::Node& node, const std::string& path, std::uint32_t index,
                          const std::vector<std::string>& stage_names, const WorkflowFile& file,
                          const PolicySet& inherited, Workflow& workflow);
  base::Status ParseBody(const Entry& entry, const std::string& path, const Stage& stage,
                         const Workflow& workflow, const std::vector<std::string>& stage_names,
                         Stage& out);
  base::Status EmitBody(const YAML::Node& node, const YAML::Mark& mark, const std::string& path,
                        RequestTemplate::Builder& builder);

  base::Status ApplyPolicies(const Mapping& level, PolicySet& set);
  base::Status ApplyRetry(const Entry& entry, const std::string& path, PolicySet& set);
  base::Status ApplyPoll(const Entry& entry, const std::string& path, PolicySet& set);
  base::Status ApplyBatchLimits(const Entry& entry, const std::string& path, PolicySet& set);
  base::Status ApplyErrorClasses(const Entry& entry, const std::string& path, PolicySet& set);
  base::Status ApplyQuota(const Entry& entry, const std::string& path, PolicySet& set);
  base::Status ApplyPrices(const Entry& entry, const std::string& path, PolicySet& set);
  base::Status CheckOrdered(double low, const SetAt& low_at, std::string_view low_name, double high,
                            const SetAt& high_at, std::string_view high_name);
  base::Status ResolveBatchLimits(const PolicySet& set, const Stage& stage, BatchLimits& out);

  base::Result<double> Number(const Entry& entry, const std::string& path, double minimum,
                              bool minimum_inclusive, double maximum, bool maximum_inclusive);
  SetAt SetHere(const Entry& entry, const std::string& path) {
    return SetAt{source_.Where(entry.ValueMark()) + ": " + path, ++order_};
  }

  std::string_view text_;
  std::filesystem::path path_;
  Source source_;
  std::uint64_t order_ = 0;
};

base::Result<WorkflowFile> Parser::Parse() {
  if (const std::size_t bad = FindInvalidUtf8(text_); bad != std::string_view::npos) {
    const std::string_view before = text_.substr(0, bad);
    YAML::Mark mark;
    mark.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n');
    mark.column =
        static_cast<int>(line_start == std::string_view::npos ? bad : bad - line_start - 1);
    return source_.Error(mark, "", "the file is not valid UTF-8");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text_));
  } catch (const YAML::Exception& error) {
    return source_.Error(error.mark, "", "YAML syntax error: " + error.msg);
  }
  const YAML::Mark start;
  if (!root.IsMap()) {
    return source_.Error(start, "",
                         "the workflow file must be a mapping with the keys "
                         "providers and workflows");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const Mapping top, Mapping::Open(source_, root, start, "", kTopKeys));

  WorkflowFile file;
  file.path = path_;
  file.source_text = std::string(text_);
  file.run_name = path_.stem().string();
  if (const Entry* run_name = top.Find("run_name")) {
    BATCHLOG_ASSIGN_OR_RETURN(file.run_name, yaml::ReadString(source_, *run_name, "run_name"));
    if (!IsName(file.run_name, true)) {
      return source_.Error(
          run_name->ValueMark(), "run_name",
          "must be 1-64 letters, digits, '_', '-' or '.', got " + Quoted(file.run_name));
    }
  }

  const Entry* providers = top.Find("providers");
  if (providers == nullptr) return source_.Error(start, "", "missing key 'providers'");
  BATCHLOG_RETURN_IF_ERROR(ParseProviders(*providers, file));

  PolicySet defaults;
  if (const Entry* entry = top.Find("defaults")) {
    BATCHLOG_ASSIGN_OR_RETURN(
        const Mapping level,
        Mapping::Open(source_, entry->value, entry->ValueMark(), "defaults", kPolicyKeys));
    BATCHLOG_RETURN_IF_ERROR(ApplyPolicies(level, defaults));
  }

  const Entry* workflows = top.Find("workflows");
  if (workflows == nullptr) return source_.Error(start, "", "missing key 'workflows'");
  if (!workflows->value.IsSequence() || workflows->value.size() == 0) {
    return source_.Error(workflows->ValueMark(), "workflows", "expected a non-empty list");
  }
  std::uint32_t index = 0;
  for (const YAML::Node& node : workflows->value) {
    Workflow workflow;
    BATCHLOG_RETURN_IF_ERROR(ParseWorkflow(node, index, file, defaults, workflow));
    for (const Workflow& earlier : file.workflows) {
      if (earlier.name == workflow.name) {
        return base::InvalidArgumentError(workflow.place + ": workflows[" + std::to_string(index) +
                                          "].name: duplicate workflow "
                                          "name " +
                                          Quoted(workflow.name) + " (first at " + earlier.place +
                                          ")");
      }
    }
    file.workflows.push_back(std::move(workflow));
    ++index;
  }
  return file;
}

base::Status Parser::ParseProviders(const Entry& entry, WorkflowFile& file) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const Mapping providers,
      Mapping::Open(source_, entry.value, entry.ValueMark(), "providers", {}));
  if (providers.entries().empty()) {
    return source_.Error(entry.ValueMark(), "providers", "at least one provider is needed");
  }
  for (const Entry& item : providers.entries()) {
    const std::string path = providers.PathOf(item.key);
    if (!IsName(item.key, true)) {
      return source_.Error(
          item.key_node.Mark(), "providers",
          "a provider name is 1-64 letters, digits, '_', '-' or '.', got " + Quoted(item.key));
    }
    BATCHLOG_ASSIGN_OR_RETURN(
        const Mapping fields,
        Mapping::Open(source_, item.value, item.ValueMark(), path, kProviderKeys));
    ProviderEntry provider;
    provider.name = item.key;
    const Entry* kind = fields.Find("kind");
    if (kind == nullptr) {
      return source_.Error(item.key_node.Mark(), path,
                           "missing key 'kind' (openai, anthropic or openai_compatible)");
    }
    BATCHLOG_ASSIGN_OR_RETURN(const std::string kind_text,
                              yaml::ReadString(source_, *kind, path + ".kind"));
    if (kind_text == "openai") {
      provider.kind = ProviderKind::kOpenAi;
    } else if (kind_text == "anthropic") {
      provider.kind = ProviderKind::kAnthropic;
    } else if (kind_text == "openai_compatible") {
      provider.kind = ProviderKind::kOpenAiCompatible;
    } else {
      return source_.Error(kind->ValueMark(), path + ".kind",
                           "unknown kind " + Quoted(kind_text) + DidYouMean(kind_text, kKinds) +
                               " (openai, anthropic or openai_compatible)");
    }
    if (const Entry* base_url = fields.Find("base_url")) {
      BATCHLOG_ASSIGN_OR_RETURN(provider.base_url,
                                yaml::ReadString(source_, *base_url, path + ".base_url"));
      if (provider.base_url.rfind("http://", 0) != 0 &&
          provider.base_url.rfind("https://", 0) != 0) {
        return source_.Error(
            base_url->ValueMark(), path + ".base_url",
            "expected an http:// or https:// URL, got " + Quoted(provider.base_url));
      }
      // The file is recorded verbatim in the log: a user:password@ in the URL would be a
      // secret in the log, the manifest's run and every export. Not echoed here either.
      const std::string_view url = provider.base_url;
      const std::size_t authority = url.find("://") + 3;
      const std::size_t authority_end = url.find_first_of("/?#", authority);
      if (url.substr(authority, authority_end - authority).find('@') != std::string_view::npos) {
        return source_.Error(base_url->ValueMark(), path + ".base_url",
                             "the URL holds credentials (user:password@host); keys come from "
                             "the environment (api_key_env), never from the workflow file");
      }
    } else if (provider.kind == ProviderKind::kOpenAiCompatible) {
      return source_.Error(item.key_node.Mark(), path,
                           "an openai_compatible provider needs a base_url");
    }
    provider.api_key_env =
        provider.kind == ProviderKind::kAnthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
    if (const Entry* env = fields.Find("api_key_env")) {
      BATCHLOG_ASSIGN_OR_RETURN(provider.api_key_env,
                                yaml::ReadString(source_, *env, path + ".api_key_env"));
      if (!IsEnvName(provider.api_key_env)) {
        return source_.Error(
            env->ValueMark(), path + ".api_key_env",
            "expected an environment variable name, got " + Quoted(provider.api_key_env));
      }
    }
    if (const Entry* headers = fields.Find("extra_headers")) {
      const std::string headers_path = path + ".extra_headers";
      BATCHLOG_ASSIGN_OR_RETURN(
          const Mapping header_map,
          Mapping::Open(source_, headers->value, headers->ValueMark(), headers_path, {}));
      for (const Entry& header : header_map.entries()) {
        const std::string header_path = header_map.PathOf(header.key);
        if (!IsHeaderName(header.key)) {
          return source_.Error(header.key_node.Mark(), headers_path,
                               "not an HTTP header name: " + Quoted(header.key));
        }
        const std::string lower = Lower(header.key);
        if (lower == "authorization" || lower == "x-api-key" || lower == "api-key") {
          return source_.Error(header.key_node.Mark(), headers_path,
                               "keys never go in the workflow file (it is recorded in the "
                               "run's log); name the environment variable in api_key_env");
        }
        BATCHLOG_ASSIGN_OR_RETURN(std::string value,
                                  yaml::ReadString(source_, header, header_path));
        provider.extra_headers[header.key] = std::move(value);
      }
    }
    if (provider.kind == ProviderKind::kAnthropic) provider.anthropic_version = "2023-06-01";
    if (const Entry* version = fields.Find("anthropic_version")) {
      if (provider.kind != ProviderKind::kAnthropic) {
        return source_.Error(version->key_node.Mark(), path,
                             "anthropic_version applies only to kind anthropic");
      }
      BATCHLOG_ASSIGN_OR_RETURN(provider.anthropic_version,
                                yaml::ReadString(source_, *version, path + ".anthropic_version"));
      if (provider.anthropic_version.empty()) {
        return source_.Error(version->ValueMark(), path + ".anthropic_version",
                             "must not be empty");
      }
    }
    file.providers.push_back(std::move(provider));
  }
  return base::Status();
}

base::Status Parser::ParseWorkflow(const YAML::Node& node, std::uint32_t index,
                                   const WorkflowFile& file, const PolicySet& defaults,
                                   Workflow& workflow) {
  const std::string path = "workflows[" + std::to_string(index) + "]";
  BATCHLOG_ASSIGN_OR_RETURN(const Mapping fields,
                            Mapping::Open(source_, node, node.Mark(), path, kWorkflowKeys));
  workflow.index = index;
  workflow.place = source_.Where(node.Mark());

  const Entry* name = fields.Find("name");
  if (name == nullptr) return source_.Error(node.Mark(), path, "missing key 'name'");
  BATCHLOG_ASSIGN_OR_RETURN(workflow.name, yaml::ReadString(source_, *name, path + ".name"));
  if (!IsName(workflow.name, true)) {
    return source_.Error(
        name->ValueMark(), path + ".name",
        "a workflow name is 1-64 letters, digits, '_', '-' or '.', got " + Quoted(workflow.name));
  }

  const Entry* dataset = fields.Find("dataset");
  if (dataset == nullptr) return source_.Error(node.Mark(), path, "missing key 'dataset'");
  BATCHLOG_ASSIGN_OR_RETURN(const std::string dataset_text,
                            yaml::ReadString(source_, *dataset, path + ".dataset"));
  if (dataset_text.empty()) {
    return source_.Error(dataset->ValueMark(), path + ".dataset", "must not be empty");
  }
  const std::filesystem::path dataset_path(dataset_text);
  workflow.dataset = dataset_path.is_absolute() ? dataset_path : path_.parent_path() / dataset_path;
  std::error_code error;
  if (!std::filesystem::is_regular_file(workflow.dataset, error)) {
    const bool exists = std::filesystem::exists(workflow.dataset, error);
    return source_.Error(dataset->ValueMark(), path + ".dataset",
                         "dataset file " + Quoted(dataset_text) +
                             (exists ? " is not a regular file (" : " not found (looked for ") +
                             workflow.dataset.string() + ")");
  }

  if (const Entry* id_field = fields.Find("id_field")) {
    BATCHLOG_ASSIGN_OR_RETURN(workflow.id_field,
                              yaml::ReadString(source_, *id_field, path + ".id_field"));
    if (workflow.id_field.empty()) {
      return source_.Error(id_field->ValueMark(), path + ".id_field", "must not be empty");
    }
  }

  if (const Entry* variants = fields.Find("variants")) {
    BATCHLOG_ASSIGN_OR_RETURN(const std::vector<yaml::ListItem> items,
                              yaml::ReadStringList(source_, *variants, path + ".variants"));
    if (items.empty()) {
      return source_.Error(variants->ValueMark(), path + ".variants",
                           "an empty list; leave the key out for no variants");
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (items[j].text == items[i].text) {
          return source_.Error(items[i].mark, path + ".variants[" + std::to_string(i) + "]",
                               "duplicate variant " + Quoted(items[i].text));
        }
      }
      workflow.variants.push_back(items[i].text);
    }
  }

  if (const Entry* epochs = fields.Find("epochs")) {
    BATCHLOG_ASSIGN_OR_RETURN(
        const std::uint64_t value,
        yaml::ReadUnsigned(source_, *epochs, path + ".epochs", 1, kEpochsMax));
    workflow.epochs = static_cast<std::uint32_t>(value);
  }

  std::string format(CustomIdFormat::DefaultFormat(!workflow.variants.empty()));
  workflow.custom_id_place = workflow.place + ": " + path;
  const Entry* custom_id = fields.Find("custom_id");
  if (custom_id != nullptr) {
    BATCHLOG_ASSIGN_OR_RETURN(format, yaml::ReadString(source_, *custom_id, path + ".custom_id"));
    workflow.custom_id_place = source_.Where(custom_id->ValueMark()) + ": " + path + ".custom_id";
  }
  base::Result<CustomIdFormat> parsed =
      CustomIdFormat::Parse(format, workflow.variants.size(), workflow.epochs);
  if (!parsed.ok()) {
    return base::InvalidArgumentError(workflow.custom_id_place + ": " + parsed.status().message());
  }
  workflow.custom_id = std::move(parsed).value();

  PolicySet policies = defaults;
  BATCHLOG_RETURN_IF_ERROR(ApplyPolicies(fields, policies));

  const Entry* stages = fields.Find("stages");
  if (stages == nullptr) return source_.Error(node.Mark(), path, "missing key 'stages'");
  if (!stages->value.IsSequence() || stages->value.size() == 0) {
    return source_.Error(stages->ValueMark(), path + ".stages", "expected a non-empty list");
  }
  // Stage names first, so a message about a later stage can say it is later.
  std::vector<std::string> stage_names;
  for (const YAML::Node& stage : stages->value) {
    const YAML::Node stage_name = stage.IsMap() ? stage["name"] : YAML::Node();
    stage_names.push_back(stage_name.IsDefined() && stage_name.IsScalar() ? stage_name.Scalar()
                                                                          : std::string());
  }
  std::uint32_t stage_index = 0;
  for (const YAML::Node& stage : stages->value) {
    BATCHLOG_RETURN_IF_ERROR(ParseStage(stage,
                                        path + ".stages[" + std::to_string(stage_index) + "]",
                                        stage_index, stage_names, file, policies, workflow));
    ++stage_index;
  }
  return base::Status();
}

base::Status Parser::ParseStage(const YAML::Node& node, const std::string& path,
                                std::uint32_t index, const std::vector<std::string>& stage_names,
                                const WorkflowFile& file, const PolicySet& inherited,
                                Workflow& workflow) {
  BATCHLOG_ASSIGN_OR_RETURN(const Mapping fields,
                            Mapping::Open(source_, node, node.Mark(), path, kStageKeys));
  Stage stage;
  stage.index = index;
  stage.place = source_.Where(node.Mark());

  const Entry* name = fields.Find("name");
  if (name == nullptr) return source_.Error(node.Mark(), path, "missing key 'name'");
  BATCHLOG_ASSIGN_OR_RETURN(stage.name, yaml::ReadString(source_, *name, path + ".name"));
  if (!IsName(stage.name, false)) {
    return source_.Error(
        name->ValueMark(), path + ".name",
        "a stage name is 1-64 letters, digits, '_' or '-', got " + Quoted(stage.name));
  }
  if (std::find(std::begin(kReservedStageNames), std::end(kReservedStageNames), stage.name) !=
      std::end(kReservedStageNames)) {
    return source_.Error(name->ValueMark(), path + ".name",
                         Quoted(stage.name) + " is reserved for template placeholders");
  }
  for (const Stage& earlier : workflow.stages) {
    if (earlier.name == stage.name) {
      return source_.Error(
          name->ValueMark(), path + ".name",
          "duplicate stage name " + Quoted(stage.name) + " (first at " + earlier.place + ")");
    }
  }

  const Entry* provider = fields.Find("provider");
  if (provider == nullptr) return source_.Error(node.Mark(), path, "missing key 'provider'");
  BATCHLOG_ASSIGN_OR_RETURN(stage.provider,
                            yaml::ReadString(source_, *provider, path + ".provider"));
  const auto entry = std::find_if(file.providers.begin(), file.providers.end(),
                                  [&](const ProviderEntry& p) { return p.name == stage.provider; });
  if (entry == file.providers.end()) {
    std::vector<std::string_view> names;
    std::string listed;
    for (const ProviderEntry& p : file.providers) {
      names.push_back(p.name);
      listed += (listed.empty() ? "" : ", ") + p.name;
    }
    const std::string suggestion = DidYouMean(stage.provider, names);
    return source_.Error(provider->ValueMark(), path + ".provider",
                         "no provider named " + Quoted(stage.provider) +
                             (suggestion.empty() ? " (providers: " + listed + ")" : suggestion));
  }
  stage.provider_index = static_cast<std::uint32_t>(entry - file.providers.begin());
  stage.provider_kind = entry->kind;

  const Entry* endpoint = fields.Find("endpoint");
  if (stage.provider_kind == ProviderKind::kAnthropic) {
    stage.endpoint = "/v1/messages";
    if (endpoint != nullptr) {
      BATCHLOG_ASSIGN_OR_RETURN(const std::string text,
                                yaml::ReadString(source_, *endpoint, path + ".endpoint"));
      if (text != stage.endpoint) {
        return source_.Error(endpoint->ValueMark(), path + ".endpoint",
                             "an anthropic provider always calls /v1/messages; leave endpoint "
                             "out");
      }
    }
  } else {
    stage.endpoint = "/v1/chat/completions";
    if (endpoint != nullptr) {
      BATCHLOG_ASSIGN_OR_RETURN(stage.endpoint,
                                yaml::ReadString(source_, *endpoint, path + ".endpoint"));
      const bool known = std::find(std::begin(kOpenAiEndpoints), std::end(kOpenAiEndpoints),
                                   stage.endpoint) != std::end(kOpenAiEndpoints);
      if (stage.provider_kind == ProviderKind::kOpenAi && !known) {
        return source_.Error(endpoint->ValueMark(), path + ".endpoint",
                             "OpenAI batches accept /v1/chat/completions, /v1/completions, "
                             "/v1/responses, /v1/embeddings or /v1/moderations, got " +
                                 Quoted(stage.endpoint) +
                                 DidYouMean(stage.endpoint, kOpenAiEndpoints));
      }
      if (stage.endpoint.empty() || stage.endpoint.front() != '/') {
        return source_.Error(endpoint->ValueMark(), path + ".endpoint",
                             "expected a path starting with '/', got " + Quoted(stage.endpoint));
      }
    }
  }
  stage.answer_format = AnswerFormatFor(stage.provider_kind, stage.endpoint);

  const Entry* from = fields.Find("from");
  if (index == 0) {
    if (from != nullptr) {
      return source_.Error(from->key_node.Mark(), path,
                           "the first stage builds from the dataset; 'from' is for later "
                           "stages");
    }
  } else {
    stage.from = workflow.stages.back().name;
    stage.from_index = index - 1;
    if (from != nullptr) {
      BATCHLOG_ASSIGN_OR_RETURN(stage.from, yaml::ReadString(source_, *from, path + ".from"));
      const auto earlier = std::find_if(workflow.stages.begin(), workflow.stages.end(),
                                        [&](const Stage& s) { return s.name == stage.from; });
      if (earlier == workflow.stages.end()) {
        const bool later = std::find(stage_names.begin() + index, stage_names.end(), stage.from) !=
                           stage_names.end();
        std::vector<std::string_view> names;
        for (const Stage& s : workflow.stages) names.push_back(s.name);
        return source_.Error(
            from->ValueMark(), path + ".from",
            stage.from == stage.name ? "a stage cannot build from itself"
            : later
                ? Quoted(stage.from) + " is not earlier than " + Quoted(stage.name)
                : "no earlier stage named " + Quoted(stage.from) + DidYouMean(stage.from, names));
      }
      stage.from_index = static_cast<std::uint32_t>(earlier - workflow.stages.begin());
    }
  }

  if (const Entry* start = fields.Find("start")) {
    if (index == 0) {
      return source_.Error(start->key_node.Mark(), path,
                           "'start' applies to a stage built from another (the first stage "
                           "starts at once)");
    }
    BATCHLOG_ASSIGN_OR_RETURN(const std::string text,
                              yaml::ReadString(source_, *start, path + ".start"));
    if (text == "after_stage") {
      stage.start = StartMode::kAfterStage;
    } else if (text == "as_ready") {
      stage.start = StartMode::kAsReady;
    } else {
      return source_.Error(
          start->ValueMark(), path + ".start",
          "expected after_stage or as_ready, got " + Quoted(text) + DidYouMean(text, kStartModes));
    }
  }

  const Entry* body = fields.Find("body");
  if (body == nullptr) return source_.Error(node.Mark(), path, "missing key 'body'");
  BATCHLOG_RETURN_IF_ERROR(ParseBody(*body, path + ".body", stage, workflow, stage_names, stage));

  PolicySet policies = inherited;
  BATCHLOG_RETURN_IF_ERROR(ApplyPolicies(fields, policies));
  stage.retry = policies.retry;
  stage.poll = policies.poll;
  stage.error_classes = policies.error_classes;
  stage.quota = policies.quota;
  stage.prices = policies.prices;
  BATCHLOG_RETURN_IF_ERROR(ResolveBatchLimits(policies, stage, stage.batch_limits));
  workflow.stages.push_back(std::move(stage));
  return base::Status();
}

base::Status Parser::ParseBody(const Entry& entry, const std::string& path, const Stage& stage,
                               const Workflow& workflow,
                               const std::vector<std::string>& stage_names, Stage& out) {
  if (!entry.value.IsMap()) {
    return source_.Error(entry.ValueMark(), path,
                         "expected a mapping (the request body), got " +
                             std::string(yaml::NodeTypeName(entry.value)));
  }
  TemplateScope scope;
  scope.stage_name = stage.name;
  scope.workflow_stages = stage_names;
  scope.has_variants = !workflow.variants.empty();
  for (std::optional<std::uint32_t> at = stage.from_index; at.has_value();
       at = workflow.stages[*at].from_index) {
    const Stage& ancestor = workflow.stages[*at];
    scope.referable.push_back(ReferableStage{ancestor.name, ancestor.answer_format});
  }
  RequestTemplate::Builder builder(std::move(scope));
  BATCHLOG_RETURN_IF_ERROR(EmitBody(entry.value, entry.ValueMark(), path, builder));
  base::Result<RequestTemplate> compiled =
      builder.Finish(source_.Where(entry.ValueMark()) + ": " + path);
  if (!compiled.ok()) return compiled.status();

  std::vector<std::string_view> required = {"model"};
  if (stage.provider_kind == ProviderKind::kAnthropic) {
    required.push_back("max_tokens");
    required.push_back("messages");
  } else if (stage.endpoint == "/v1/chat/completions") {
    required.push_back("messages");
  }
  for (const std::string_view key : required) {
    if (!entry.value[std::string(key)].IsDefined()) {
      return source_.Error(entry.ValueMark(), path,
                           "missing key " + Quoted(key) + " (required for " +
                               std::string(ProviderKindName(stage.provider_kind)) + " " +
                               stage.endpoint + ")");
    }
  }
  out.body = std::make_shared<const RequestTemplate>(std::move(compiled).value());
  return base::Status();
}

base::Status Parser::EmitBody(const YAML::Node& node, const YAML::Mark& mark,
                              const std::string& path, RequestTemplate::Builder& builder) {
  const std::string place = source_.Where(mark) + ": " + path;
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      BATCHLOG_ASSIGN_OR_RETURN(const Mapping fields, Mapping::Open(source_, node, mark, path, {}));
      builder.BeginObject();
      for (const Entry& field : fields.entries()) {
        const std::string child = fields.PathOf(field.key);
        BATCHLOG_RETURN_IF_ERROR(
            builder.Key(field.key, source_.Where(field.key_node.Mark()) + ": " + child));
        BATCHLOG_RETURN_IF_ERROR(EmitBody(field.value, field.ValueMark(), child, builder));
      }
      builder.EndObject();
      return base::Status();
    }
    case YAML::NodeType::Sequence: {
      builder.BeginArray();
      std::size_t index = 0;
      for (const YAML::Node& item : node) {
        BATCHLOG_RETURN_IF_ERROR(EmitBody(item, item.IsNull() ? mark : item.Mark(),
                                          path + "[" + std::to_string(index++) + "]", builder));
      }
      builder.EndArray();
      return base::Status();
    }
    case YAML::NodeType::Scalar: {
      const std::string& tag = node.Tag();
      const std::string& text = node.Scalar();
      // yaml-cpp tags a quoted or block scalar "!" and a plain one "?".
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return builder.String(text, place);
      const yaml::ResolvedPlain resolved = yaml::ResolvePlainScalar(text);
      auto expect = [&](std::initializer_list<yaml::PlainType> types) -> base::Status {
        if (std::find(types.begin(), types.end(), resolved.type) != types.end()) {
          return base::Status();
        }
        return source_.Error(mark, path, "the value " + Quoted(text) + " does not match " + tag);
      };
      if (tag == "tag:yaml.org,2002:int") {
        BATCHLOG_RETURN_IF_ERROR(expect({yaml::PlainType::kInteger}));
      } else if (tag == "tag:yaml.org,2002:float") {
        BATCHLOG_RETURN_IF_ERROR(expect({yaml::PlainType::kInteger, yaml::PlainType::kFloat}));
      } else if (tag == "tag:yaml.org,2002:bool") {
        BATCHLOG_RETURN_IF_ERROR(expect({yaml::PlainType::kBool}));
      } else if (tag == "tag:yaml.org,2002:null") {
        BATCHLOG_RETURN_IF_ERROR(expect({yaml::PlainType::kNull}));
      } else if (tag != "?") {
        return source_.Error(mark, path, "unsupported YAML tag " + Quoted(tag));
      }
      switch (resolved.type) {
        case yaml::PlainType::kString:
          return builder.String(text, place);
        case yaml::PlainType::kNonFinite:
          return source_.Error(mark, path,
                               Quoted(text) + " has no JSON form (no infinity or NaN in JSON)");
        case yaml::PlainType::kNull:
        case yaml::PlainType::kBool:
        case yaml::PlainType::kInteger:
        case yaml::PlainType::kFloat:
          builder.Literal(resolved.json);
          return base::Status();
      }
      return base::Status();
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      builder.Literal("null");
      return base::Status();
  }
  return base::Status();
}

// ---------------------------------------------------------------------------------------
// Policies

base::Result<double> Parser::Number(const Entry& entry, const std::string& path, double minimum,
                                    bool minimum_inclusive, double maximum,
                                    bool maximum_inclusive) {
  BATCHLOG_ASSIGN_OR_RETURN(const double value, yaml::ReadNumber(source_, entry, path));
  const bool low_ok = minimum_inclusive ? value >= minimum : value > minimum;
  const bool high_ok = maximum_inclusive ? value <= maximum : value < maximum;
  if (!low_ok || !high_ok) {
    std::string range = std::string(minimum_inclusive ? "[" : "(") + FormatNumber(minimum) + ", ";
    range += maximum == std::numeric_limits<double>::max()
                 ? "inf)"
                 : FormatNumber(maximum) + (maximum_inclusive ? "]" : ")");
    return source_.Error(entry.ValueMark(), path,
                         "must be in " + range + ", got " + entry.value.Scalar());
  }
  return value;
}

base::Status Parser::ApplyPolicies(const Mapping& level, PolicySet& set) {
  if (const Entry* e = level.Find("retry")) {
    BATCHLOG_RETURN_IF_ERROR(ApplyRetry(*e, level.PathOf("retry"), set));
  }
  if (const Entry* e = level.Find("poll")) {
    BATCHLOG_RETURN_IF_ERROR(ApplyPoll(*e, level.PathOf("poll"), set));
  }
  if (const Entry* e = level.Find("batch_limits")) {
    BATCHLOG_RETURN_IF_ERROR(ApplyBatchLimits(*e, level.PathOf("batch_limits"), set));
  }
  if (const Entry* e = level.Find("error_classes")) {
    BATCHLOG_RETURN_IF_ERROR(ApplyErrorClasses(*e, level.PathOf("error_classes"), set));
  }
  if (const Entry* e = level.Find("quota")) {
    BATCHLOG_RETURN_IF_ERROR(ApplyQuota(*e, level.PathOf("quota"), set));
  }
  if (const Entry* e = level.Find("prices")) {
    BATCHLOG_RETURN_IF_ERROR(ApplyPrices(*e, level.PathOf("prices"), set));
  }
  return base::Status();
}

base::Status Parser::CheckOrdered(double low, const SetAt& low_at, std::string_view low_name,
                                  double high, const SetAt& high_at, std::string_view high_name) {
  if (low <= high) return base::Status();
  // Name the field set last: that is the one that broke the pair.
  const bool blame_high = high_at.order > low_at.order;
  const SetAt& blamed = blame_high ? high_at : low_at;
  const SetAt& other = blame_high ? low_at : high_at;
  const std::string other_where =
      other.place.empty() ? "built-in default" : "set at " + other.place;
  return base::InvalidArgumentError(blamed.place + ": " + std::string(high_name) + " (" +
                                    FormatNumber(high) + ") must not be below " +
                                    std::string(low_name) + " (" + FormatNumber(low) + ", " +
                                    other_where + ")");
}

base::Status Parser::ApplyRetry(const Entry& entry, const std::string& path, PolicySet& set) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const Mapping fields,
      Mapping::Open(source_, entry.value, entry.ValueMark(), path, kRetryKeys));
  constexpr double kNoMax = std::numeric_limits<double>::max();
  if (const Entry* e = fields.Find("max_retries")) {
    BATCHLOG_ASSIGN_OR_RETURN(
        const std::uint64_t value,
        yaml::ReadUnsigned(source_, *e, fields.PathOf("max_retries"), 0, kMaxRetriesMax));
    set.retry.max_retries = static_cast<std::uint32_t>(value);
  }
  if (const Entry* e = fields.Find("initial_delay_s")) {
    const std::string key = fields.PathOf("initial_delay_s");
    BATCHLOG_ASSIGN_OR_RETURN(set.retry.initial_delay_s, Number(*e, key, 0, true, kNoMax, false));
    set.initial_delay_at = SetHere(*e, key);
  }
  if (const Entry* e = fields.Find("multiplier")) {
    BATCHLOG_ASSIGN_OR_RETURN(set.retry.multiplier,
                              Number(*e, fields.PathOf("multiplier"), 1, true, kNoMax, false));
  }
  if (const Entry* e = fields.Find("max_delay_s")) {
    const std::string key = fields.PathOf("max_delay_s");
    BATCHLOG_ASSIGN_OR_RETURN(set.retry.max_delay_s, Number(*e, key, 0, true, kNoMax, false));
    set.max_delay_at = SetHere(*e, key);
  }
  if (const Entry* e = fields.Find("jitter")) {
    BATCHLOG_ASSIGN_OR_RETURN(set.retry.jitter,
                              Number(*e, fields.PathOf("jitter"), 0, true, 1, false));
  }
  return CheckOrdered(set.retry.initial_delay_s, set.initial_delay_at, "initial_delay_s",
                      set.retry.max_delay_s, set.max_delay_at, "max_delay_s");
}

base::Status Parser::ApplyPoll(const Entry& entry, const std::string& path, PolicySet& set) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const Mapping fields,
      Mapping::Open(source_, entry.value, entry.ValueMark(), path, kPollKeys));
  constexpr double kNoMax = std::numeric_limits<double>::max();
  if (const Entry* e = fields.Find("initial_s")) {
    const std::string key = fields.PathOf("initial_s");
    BATCHLOG_ASSIGN_OR_RETURN(set.poll.initial_s, Number(*e, key, 0, false, kNoMax, false));
    set.poll_initial_at = SetHere(*e, key);
  }
  if (const Entry* e = fields.Find("max_s")) {
    const std::string key = fields.PathOf("max_s");
    BATCHLOG_ASSIGN_OR_RETURN(set.poll.max_s, Number(*e, key, 0, false, kNoMax, false));
    set.poll_max_at = SetHere(*e, key);
  }
  return CheckOrdered(set.poll.initial_s, set.poll_initial_at, "initial_s", set.poll.max_s,
                      set.poll_max_at, "max_s");
}

base::Status Parser::ApplyBatchLimits(const Entry& entry, const std::string& path, PolicySet& set) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const Mapping fields,
      Mapping::Open(source_, entry.value, entry.ValueMark(), path, kBatchLimitKeys));
  if (const Entry* e = fields.Find("max_requests")) {
    const std::string key = fields.PathOf("max_requests");
    BATCHLOG_ASSIGN_OR_RETURN(set.max_requests,
                              yaml::ReadUnsigned(source_, *e, key, 1, UINT64_MAX));
    set.max_requests_at = SetHere(*e, key);
  }
  if (const Entry* e = fields.Find("max_bytes")) {
    const std::string key = fields.PathOf("max_bytes");
    BATCHLOG_ASSIGN_OR_RETURN(set.max_bytes, yaml::ReadUnsigned(source_, *e, key, 1, UINT64_MAX));
    set.max_bytes_at = SetHere(*e, key);
  }
  return base::Status();
}

base::Status Parser::ApplyErrorClasses(const Entry& entry, const std::string& path,
                                       PolicySet& set) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const Mapping fields,
      Mapping::Open(source_, entry.value, entry.ValueMark(), path, kErrorClassKeys));
  // Within one level a code may take one class; across levels the later level wins.
  std::map<std::string, ErrorClass, std::less<>> level;
  for (const auto& [key, error_class] :
       {std::pair{std::string_view("retryable"), ErrorClass::kRetryable},
        std::pair{std::string_view("permanent"), ErrorClass::kPermanent}}) {
    const Entry* e = fields.Find(key);
    if (e == nullptr) continue;
    const std::string list_path = fields.PathOf(key);
    BATCHLOG_ASSIGN_OR_RETURN(const std::vector<yaml::ListItem> codes,
                              yaml::ReadStringList(source_, *e, list_path));
    for (const yaml::ListItem& code : codes) {
      const auto [it, inserted] = level.emplace(code.text, error_class);
      if (!inserted && it->second != error_class) {
        return source_.Error(code.mark, list_path,
                             Quoted(code.text) + " is listed as both retryable and permanent");
      }
    }
  }
  for (const auto& [code, error_class] : level) set.error_classes.overrides[code] = error_class;
  if (const Entry* e = fields.Find("unknown_default")) {
    const std::string key = fields.PathOf("unknown_default");
    BATCHLOG_ASSIGN_OR_RETURN(const std::string text, yaml::ReadString(source_, *e, key));
    if (text == "retryable") {
      set.error_classes.unknown_default = ErrorClass::kRetryable;
    } else if (text == "permanent") {
      set.error_classes.unknown_default = ErrorClass::kPermanent;
    } else {
      return source_.Error(e->ValueMark(), key,
                           "expected retryable or permanent, got " + Quoted(text));
    }
  }
  return base::Status();
}

base::Status Parser::ApplyQuota(const Entry& entry, const std::string& path, PolicySet& set) {
  BATCHLOG_ASSIGN_OR_RETURN(
      const Mapping fields,
      Mapping::Open(source_, entry.value, entry.ValueMark(), path, kQuotaKeys));
  if (const Entry* e = fields.Find("enqueued_tokens")) {
    const std::string key = fields.PathOf("enqueued_tokens");
    // A level that sets enqueued_tokens replaces the whole value, number or mapping.
    set.quota.enqueued_tokens.reset();
    set.quota.enqueued_tokens_per_model.clear();
    if (e->value.IsMap()) {
      BATCHLOG_ASSIGN_OR_RETURN(const Mapping models,
                                Mapping::Open(source_, e->value, e->ValueMark(), key, {}));
      for (const Entry& model : models.entries()) {
        BATCHLOG_ASSIGN_OR_RETURN(
            const std::uint64_t limit,
            yaml::ReadUnsigned(source_, model, models.PathOf(model.key), 1, UINT64_MAX));
        set.quota.enqueued_tokens_per_model[model.key] = limit;
      }
    } else {
      BATCHLOG_ASSIGN_OR_RETURN(set.quota.enqueued_tokens,
                                yaml::ReadUnsigned(source_, *e, key, 1, UINT64_MAX));
    }
  }
  if (const Entry* e = fields.Find("warn_fraction")) {
    BATCHLOG_ASSIGN_OR_RETURN(set.quota.warn_fraction,
                              Number(*e, fields.PathOf("warn_fraction"), 0, false, 1, true));
  }
  return base::Status();
}

base::Status Parser::ApplyPrices(const Entry& entry, const std::string& path, PolicySet& set) {
  BATCHLOG_ASSIGN_OR_RETURN(const Mapping models,
                            Mapping::Open(source_, entry.value, entry.ValueMark(), path, {}));
  constexpr double kNoMax = std::numeric_limits<double>::max();
  for (const Entry& model : models.entries()) {
    const std::string model_path = models.PathOf(model.key);
    BATCHLOG_ASSIGN_OR_RETURN(
        const Mapping fields,
        Mapping::Open(source_, model.value, model.ValueMark(), model_path, kPriceKeys));
    ModelPrice price;
    for (const std::string_view required : {"input_per_million", "output_per_million"}) {
      if (fields.Find(required) == nullptr) {
        return source_.Error(model.key_node.Mark(), model_path, "missing key " + Quoted(required));
      }
    }
    BATCHLOG_ASSIGN_OR_RETURN(price.input_per_million,
                              Number(*fields.Find("input_per_million"),
                                     fields.PathOf("input_per_million"), 0, true, kNoMax, false));
    BATCHLOG_ASSIGN_OR_RETURN(price.output_per_million,
                              Number(*fields.Find("output_per_million"),
                                     fields.PathOf("output_per_million"), 0, true, kNoMax, false));
    if (const Entry* e = fields.Find("batch_discount")) {
      BATCHLOG_ASSIGN_OR_RETURN(price.batch_discount,
                                Number(*e, fields.PathOf("batch_discount"), 0, true, 1, true));
    }
    if (const Entry* e = fields.Find("cached_input_per_million")) {
      BATCHLOG_ASSIGN_OR_RETURN(
          price.cached_input_per_million,
          Number(*e, fields.PathOf("cached_input_per_million"), 0, true, kNoMax, false));
    }
    if (const Entry* e = fields.Find("cache_write_input_per_million")) {
      BATCHLOG_ASSIGN_OR_RETURN(
          price.cache_write_input_per_million,
          Number(*e, fields.PathOf("cache_write_input_per_million"), 0, true, kNoMax, false));
    }
    set.prices[model.key] = price;
  }
  return base::Status();
}

base::Status Parser::ResolveBatchLimits(const PolicySet& set, const Stage& stage,
                                        BatchLimits& out) {
  const BatchLimits ceiling = ProviderBatchLimits(stage.provider_kind);
  out = ceiling;
  const std::string kind(ProviderKindName(stage.provider_kind));
  if (set.max_requests.has_value()) {
    if (*set.max_requests > ceiling.max_requests) {
      return base::InvalidArgumentError(set.max_requests_at.place + ": " +
                                        std::to_string(*set.max_requests) + " is above the " +
                                        kind + " limit of " + std::to_string(ceiling.max_requests) +
                                        " requests per batch (stage " + Quoted(stage.name) +
                                        ", provider " + Quoted(stage.provider) + ")");
    }
    out.max_requests = *set.max_requests;
  }
  if (set.max_bytes.has_value()) {
    if (*set.max_bytes > ceiling.max_bytes) {
      return base::InvalidArgumentError(
          set.max_bytes_at.place + ": " + std::to_string(*set.max_bytes) + " is above the " + kind +
          " limit of " + std::to_string(ceiling.max_bytes) + " bytes per batch (stage " +
          Quoted(stage.name) + ", provider " + Quoted(stage.provider) + ")");
    }
    out.max_bytes = *set.max_bytes;
  }
  return base::Status();
}

}  // namespace

std::string_view StartModeName(StartMode mode) {
  switch (mode) {
    case StartMode::kAfterStage:
      return "after_stage";
    case StartMode::kAsReady:
      return "as_ready";
  }
  return "unknown";
}

std::uint32_t Workflow::variant_count() const {
  return variants.empty() ? 1u : static_cast<std::uint32_t>(variants.size());
}

const Stage* Workflow::FindStage(std::string_view stage_name) const {
  for (const Stage& stage : stages) {
    if (stage.name == stage_name) return &stage;
  }
  return nullptr;
}

const ProviderEntry* WorkflowFile::FindProvider(std::string_view provider_name) const {
  for (const ProviderEntry& provider : providers) {
    if (provider.name == provider_name) return &provider;
  }
  return nullptr;
}

const Workflow* WorkflowFile::FindWorkflow(std::string_view workflow_name) const {
  for (const Workflow& workflow : workflows) {
    if (workflow.name == workflow_name) return &workflow;
  }
  return nullptr;
}

base::Result<WorkflowFile> ParseWorkflowFile(std::string_view yaml_text,
                                             const std::filesystem::path& path) {
  Parser parser(yaml_text, path);
  return parser.Parse();
}

base::Result<WorkflowFile> LoadWorkflowFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return base::NotFoundError(path.string() + ": cannot read the workflow file (" +
                               std::strerror(errno) + ")");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return base::UnavailableError(path.string() + ": cannot read the workflow file");
  }
  return ParseWorkflowFile(text.str(), path);
}

}  // namespace batchlog::workflow
