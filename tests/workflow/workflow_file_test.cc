#include "src/workflow/workflow_file.h"

#include <string>

#include <catch2/catch.hpp>

#include "tests/workflow/workflow_test_util.h"

namespace batchlog::workflow {
namespace {

using testing::Edit;
using testing::kSmallWorkflow;
using testing::WorkflowDir;
using testing::WriteFile;

// The example of issue 5, verbatim but for one wrapped line (the column limit).
constexpr std::string_view kIssueExample = R"(run_name: math-paraphrase-eval
providers:
  openai: {kind: openai, base_url: "https://api.openai.com/v1", api_key_env: OPENAI_API_KEY}
  claude: {kind: anthropic, api_key_env: ANTHROPIC_API_KEY}
defaults:
  retry: {max_retries: 2, initial_delay_s: 30, multiplier: 2, max_delay_s: 300, jitter: 0.2}
  poll: {initial_s: 15, max_s: 300}
workflows:
  - name: math-paraphrase
    dataset: data/math.jsonl          # one JSON object per line
    id_field: id
    variants: [original, paraphrase]  # optional fan-out; also epochs: N
    custom_id: "{id}_{variant}_e{epoch}_{hash6}"
    stages:
      - name: stage_1
        provider: openai
        endpoint: /v1/chat/completions
        body: {model: gpt-4o-mini, max_tokens: 256,
               messages: [{role: user, content: "Paraphrase: {{sample.problem}}"}]}
      - name: stage_2
        from: stage_1                 # one request per successful stage_1 result
        start: after_stage            # or as_ready: build from each result as it arrives
        provider: claude
        body: {model: claude-sonnet-4-5, max_tokens: 64,
               messages: [{role: user,
                           content: "Score 0-10: {{sample.problem}} / {{stage_1.text}}"}]}
)";

std::string ErrorOf(const base::Result<WorkflowFile>& parsed) {
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == base::StatusCode::kInvalidArgument);
  return parsed.status().message();
}

TEST_CASE("the issue's example workflow file parses into providers, workflows and stages",
          "[workflow][file]") {
  WorkflowDir dir;
  WriteFile(dir.path() / "data" / "math.jsonl", "{\"id\": 1, \"problem\": \"1+1\"}\n");
  const base::Result<WorkflowFile> parsed = dir.Parse(kIssueExample);
  REQUIRE(parsed.ok());
  const WorkflowFile& file = *parsed;
  CHECK(file.run_name == "math-paraphrase-eval");
  CHECK(file.source_text == kIssueExample);

  REQUIRE(file.providers.size() == 2);
  CHECK(file.providers[0].name == "openai");
  CHECK(file.providers[0].kind == ProviderKind::kOpenAi);
  CHECK(file.providers[0].base_url == "https://api.openai.com/v1");
  CHECK(file.providers[0].api_key_env == "OPENAI_API_KEY");
  CHECK(file.providers[0].anthropic_version.empty());
  CHECK(file.providers[1].name == "claude");
  CHECK(file.providers[1].kind == ProviderKind::kAnthropic);
  CHECK(file.providers[1].base_url.empty());
  CHECK(file.providers[1].api_key_env == "ANTHROPIC_API_KEY");
  CHECK(file.providers[1].anthropic_version == "2023-06-01");

  REQUIRE(file.workflows.size() == 1);
  const Workflow& workflow = file.workflows[0];
  CHECK(workflow.name == "math-paraphrase");
  CHECK(workflow.dataset == dir.path() / "data/math.jsonl");
  CHECK(workflow.id_field == "id");
  CHECK(workflow.variants == std::vector<std::string>{"original", "paraphrase"});
  CHECK(workflow.variant_count() == 2);
  CHECK(workflow.epochs == 1);
  CHECK(workflow.custom_id.format() == "{id}_{variant}_e{epoch}_{hash6}");
  REQUIRE(workflow.stages.size() == 2);

  const Stage& stage_1 = workflow.stages[0];
  CHECK(stage_1.name == "stage_1");
  CHECK(stage_1.index == 0);
  CHECK(stage_1.provider == "openai");
  CHECK(stage_1.provider_index == 0);
  CHECK(stage_1.provider_kind == ProviderKind::kOpenAi);
  CHECK(stage_1.endpoint == "/v1/chat/completions");
  CHECK(stage_1.answer_format == AnswerFormat::kOpenAiChat);
  CHECK(stage_1.from.empty());
  CHECK_FALSE(stage_1.from_index.has_value());
  CHECK(stage_1.retry == RetryPolicy{2, 30, 2, 300, 0.2});
  CHECK(stage_1.poll == PollPolicy{15, 300});
  CHECK(stage_1.batch_limits == BatchLimits{50'000, 200'000'000});
  REQUIRE(stage_1.body != nullptr);
  CHECK(stage_1.body->source_text() ==
        R"({"model":"gpt-4o-mini","max_tokens":256,"messages":[{"role":"user","content":)"
        R"("Paraphrase: {{sample.problem}}"}]})");

  const Stage& stage_2 = workflow.stages[1];
  CHECK(stage_2.name == "stage_2");
  CHECK(stage_2.provider_index == 1);
  CHECK(stage_2.endpoint == "/v1/messages");
  CHECK(stage_2.answer_format == AnswerFormat::kAnthropicMessages);
  CHECK(stage_2.from == "stage_1");
  CHECK(stage_2.from_index == 0u);
  CHECK(stage_2.start == StartMode::kAfterStage);
  CHECK(stage_2.batch_limits == BatchLimits{100'000, 256'000'000});
  CHECK(stage_2.body->AnswerStages() == std::vector<std::string>{"stage_1"});
  CHECK(stage_2.error_classes.unknown_default == ErrorClass::kRetryable);
  CHECK_FALSE(stage_2.quota.EnqueuedTokenLimit("claude-sonnet-4-5").has_value());
}

TEST_CASE("durations are seconds and accept fractions", "[workflow][file]") {
  WorkflowDir dir;
  const std::string yaml = Edit(std::string(kSmallWorkflow), "run_name: t\n",
                                "run_name: t\n"
                                "defaults:\n"
                                "  retry: {initial_delay_s: 0.05, max_delay_s: 1.5, jitter: 0,"
                                " multiplier: 1.5}\n"
                                "  poll: {initial_s: 0.05, max_s: .25}\n");
  const base::Result<WorkflowFile> parsed = dir.Parse(yaml);
  REQUIRE(parsed.ok());
  const Stage& stage = parsed->workflows[0].stages[0];
  CHECK(stage.retry.initial_delay_s == 0.05);
  CHECK(stage.retry.max_delay_s == 1.5);
  CHECK(stage.retry.jitter == 0.0);
  CHECK(stage.retry.multiplier == 1.5);
  CHECK(stage.retry.max_retries == 2);  // built-in, untouched
  CHECK(stage.poll.initial_s == 0.05);
  CHECK(stage.poll.max_s == 0.25);
}

TEST_CASE("a stage's policies override its workflow's, which override defaults and built-ins",
          "[workflow][file]") {
  WorkflowDir dir;
  std::string yaml = Edit(std::string(kSmallWorkflow), "run_name: t\n",
                          "run_name: t\n"
                          "defaults:\n"
                          "  retry: {max_retries: 5, initial_delay_s: 10}\n"
                          "  poll: {initial_s: 1, max_s: 60}\n"
                          "  batch_limits: {max_requests: 1000}\n"
                          "  error_classes: {retryable: [x_code], permanent: [y_code]}\n"
                          "  quota: {enqueued_tokens: 5000, warn_fraction: 0.5}\n"
                          "  prices: {m: {input_per_million: 1, output_per_million: 2}}\n");
  yaml = Edit(yaml, "    stages:\n",
              "    retry: {max_retries: 4}\n"
              "    poll: {max_s: 30}\n"
              "    error_classes: {permanent: [x_code], unknown_default: permanent}\n"
              "    quota: {enqueued_tokens: {m: 700}}\n"
              "    stages:\n");
  yaml = Edit(yaml, "        provider: claude\n",
              "        provider: claude\n"
              "        retry: {max_retries: 1, jitter: 0.5}\n"
              "        batch_limits: {max_bytes: 1000000}\n"
              "        error_classes: {retryable: [x_code]}\n"
              "        prices: {c: {input_per_million: 3, output_per_million: 4,"
              " batch_discount: 0, cached_input_per_million: 0.3,"
              " cache_write_input_per_million: 3.75}}\n");
  const base::Result<WorkflowFile> parsed = dir.Parse(yaml);
  REQUIRE(parsed.ok());
  const Stage& s1 = parsed->workflows[0].stages[0];
  const Stage& s2 = parsed->workflows[0].stages[1];

  // Stage 1 inherits workflow over defaults over built-in, field by field.
  CHECK(s1.retry == RetryPolicy{4, 10, 2, 300, 0.2});
  CHECK(s1.poll == PollPolicy{1, 30});
  CHECK(s1.batch_limits == BatchLimits{1000, 200'000'000});
  CHECK(s1.error_classes.Override("x_code") == ErrorClass::kPermanent);
  CHECK(s1.error_classes.Override("y_code") == ErrorClass::kPermanent);
  CHECK_FALSE(s1.error_classes.Override("z_code").has_value());
  CHECK(s1.error_classes.unknown_default == ErrorClass::kPermanent);
  CHECK(s1.quota.EnqueuedTokenLimit("m") == 700u);
  CHECK_FALSE(s1.quota.EnqueuedTokenLimit("other").has_value());  // the mapping replaced 5000
  CHECK(s1.quota.warn_fraction == 0.5);
  CHECK(s1.prices.at("m") == ModelPrice{1, 2, 0.5, std::nullopt, std::nullopt});
  CHECK(s1.prices.count("c") == 0);

  // Stage 2 overrides some fields again.
  CHECK(s2.retry == RetryPolicy{1, 10, 2, 300, 0.5});
  CHECK(s2.batch_limits == BatchLimits{1000, 1'000'000});
  CHECK(s2.error_classes.Override("x_code") == ErrorClass::kRetryable);
  CHECK(s2.error_classes.Override("y_code") == ErrorClass::kPermanent);
  CHECK(s2.prices.at("c") == ModelPrice{3, 4, 0, 0.3, 3.75});
  CHECK(s2.prices.at("m") == ModelPrice{1, 2, 0.5, std::nullopt, std::nullopt});
}

TEST_CASE("a single enqueued_tokens number limits every model", "[workflow][file]") {
  WorkflowDir dir;
  const std::string yaml = Edit(std::string(kSmallWorkflow), "run_name: t\n",
                                "run_name: t\ndefaults: {quota: {enqueued_tokens: 90000}}\n");
  const base::Result<WorkflowFile> parsed = dir.Parse(yaml);
  REQUIRE(parsed.ok());
  CHECK(parsed->workflows[0].stages[0].quota.EnqueuedTokenLimit("any") == 90000u);
  CHECK(parsed->workflows[0].stages[0].quota.warn_fraction == 0.8);
}

TEST_CASE("a later stage without from builds from the stage before it", "[workflow][file]") {
  WorkflowDir dir;
  const base::Result<WorkflowFile> parsed = dir.Parse(kSmallWorkflow);
  REQUIRE(parsed.ok());
  CHECK(parsed->workflows[0].stages[1].from == "s1");
  CHECK(parsed->workflows[0].stages[1].from_index == 0u);
  CHECK(parsed->run_name == "t");
}

TEST_CASE("the run name defaults to the file name without its extension", "[workflow][file]") {
  WorkflowDir dir;
  const base::Result<WorkflowFile> parsed =
      dir.Parse(Edit(std::string(kSmallWorkflow), "run_name: t\n", ""));
  REQUIRE(parsed.ok());
  CHECK(parsed->run_name == "math");
}

TEST_CASE("LoadWorkflowFile reads the file and reports a missing one as NotFound",
          "[workflow][file]") {
  WorkflowDir dir;
  WriteFile(dir.file(), kSmallWorkflow);
  const base::Result<WorkflowFile> loaded = LoadWorkflowFile(dir.file());
  REQUIRE(loaded.ok());
  CHECK(loaded->path == dir.file());
  const base::Result<WorkflowFile> missing = LoadWorkflowFile(dir.path() / "absent.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == base::StatusCode::kNotFound);
}

struct BadFile {
  std::string_view what;
  std::string_view from;
  std::string_view to;
  std::string_view expected;  // the message after "<dir>/math.yaml"
};

TEST_CASE("every validation error names file, line, column and key", "[workflow][file]") {
  const BadFile cases[] = {
      {"unknown stage key", "        provider: claude\n", "        provder: claude\n",
       ":13:9: workflows[0].stages[1]: unknown key 'provder' (did you mean 'provider'?)"},
      {"unknown top-level key", "workflows:\n", "workflow:\n",
       ":5:1: unknown key 'workflow' (did you mean 'workflows'?)"},
      {"unknown provider key", "  claude: {kind: anthropic}\n",
       "  claude: {kind: anthropic, version: x}\n",
       ":4:29: providers.claude: unknown key 'version' (allowed: kind base_url api_key_env "
       "extra_headers anthropic_version)"},
      {"unknown provider reference", "        provider: claude\n", "        provider: claud\n",
       ":13:19: workflows[0].stages[1].provider: no provider named 'claud' (did you mean "
       "'claude'?)"},
      {"unknown provider kind", "{kind: anthropic}", "{kind: antropic}",
       ":4:18: providers.claude.kind: unknown kind 'antropic' (did you mean 'anthropic'?) "
       "(openai, anthropic or openai_compatible)"},
      {"duplicate stage name", "      - name: s2\n", "      - name: s1\n",
       ":12:15: workflows[0].stages[1].name: duplicate stage name 's1' (first at "},
      {"from naming a later stage", "        provider: openai\n",
       "        provider: openai\n        from: s2\n",
       ":11:9: workflows[0].stages[0]: the first stage builds from the dataset; 'from' is for "
       "later stages"},
      {"from naming itself", "        provider: claude\n",
       "        provider: claude\n        from: s2\n",
       ":14:15: workflows[0].stages[1].from: a stage cannot build from itself"},
      {"from naming no stage", "        provider: claude\n",
       "        provider: claude\n        from: s0\n",
       ":14:15: workflows[0].stages[1].from: no earlier stage named 's0'"},
      {"start on the first stage", "        provider: openai\n",
       "        provider: openai\n        start: as_ready\n",
       ":11:9: workflows[0].stages[0]: 'start' applies to a stage built from another"},
      {"bad start mode", "        provider: claude\n",
       "        provider: claude\n        start: asready\n",
       ":14:16: workflows[0].stages[1].start: expected after_stage or as_ready, got 'asready' "
       "(did you mean 'as_ready'?)"},
      {"negative delay", "run_name: t\n",
       "run_name: t\ndefaults:\n  retry: {initial_delay_s: -1}\n",
       ":3:28: defaults.retry.initial_delay_s: must be in [0, inf), got -1"},
      {"negative cached input price", "run_name: t\n",
       "run_name: t\ndefaults:\n  prices: {m: {input_per_million: 1, output_per_million: 2,"
       " cached_input_per_million: -1}}\n",
       ":3:87: defaults.prices.m.cached_input_per_million: must be in [0, inf), got -1"},
      {"negative cache-write price", "run_name: t\n",
       "run_name: t\ndefaults:\n  prices: {m: {input_per_million: 1, output_per_million: 2,"
       " cache_write_input_per_million: -0.5}}\n",
       ":3:92: defaults.prices.m.cache_write_input_per_million: must be in [0, inf), got -0.5"},
      {"jitter of one", "run_name: t\n", "run_name: t\ndefaults:\n  retry: {jitter: 1}\n",
       ":3:19: defaults.retry.jitter: must be in [0, 1), got 1"},
      {"multiplier below one", "run_name: t\n",
       "run_name: t\ndefaults:\n  retry: {multiplier: 0.5}\n",
       ":3:23: defaults.retry.multiplier: must be in [1, inf), got 0.5"},
      {"max_retries not a number", "run_name: t\n",
       "run_name: t\ndefaults:\n  retry: {max_retries: two}\n",
       ":3:24: defaults.retry.max_retries: expected a whole number in [0, 100], got 'two'"},
      {"zero poll interval", "run_name: t\n", "run_name: t\ndefaults:\n  poll: {initial_s: 0}\n",
       ":3:21: defaults.poll.initial_s: must be in (0, inf), got 0"},
      {"poll max below initial", "        provider: claude\n",
       "        provider: claude\n        poll: {max_s: 10}\n",
       ":14:23: workflows[0].stages[1].poll.max_s: max_s (10) must not be below initial_s (15, "
       "built-in default)"},
      {"retry cap below initial delay", "    stages:\n",
       "    retry: {max_delay_s: 5}\n    stages:\n",
       ":8:26: workflows[0].retry.max_delay_s: max_delay_s (5) must not be below "
       "initial_delay_s (30, built-in default)"},
      {"batch limit above the provider's", "        provider: openai\n",
       "        provider: openai\n        batch_limits: {max_requests: 50001}\n",
       ":11:38: workflows[0].stages[0].batch_limits.max_requests: 50001 is above the openai "
       "limit of 50000 requests per batch (stage 's1', provider 'openai')"},
      {"byte limit above the provider's, set in defaults", "run_name: t\n",
       "run_name: t\ndefaults: {batch_limits: {max_bytes: 256000001}}\n",
       ":2:38: defaults.batch_limits.max_bytes: 256000001 is above the openai limit of "
       "200000000 bytes per batch (stage 's1', provider 'openai')"},
      {"missing dataset file", "    dataset: data.jsonl\n", "    dataset: nope.jsonl\n",
       ":7:14: workflows[0].dataset: dataset file 'nope.jsonl' not found (looked for "},
      {"dataset that is a directory", "    dataset: data.jsonl\n", "    dataset: .\n",
       ":7:14: workflows[0].dataset: dataset file '.' is not a regular file ("},
      {"template reading a later stage", "content: \"{{sample.q}}\"", "content: \"{{s2.text}}\"",
       ":11:59: workflows[0].stages[0].body.messages[0].content: {{s2.text}}: stage 's2' is "
       "not earlier than 's1'"},
      {"unknown placeholder", "content: \"{{sample.q}}\"", "content: \"{{sampel.q}}\"",
       ":11:59: workflows[0].stages[0].body.messages[0].content: unknown placeholder "
       "{{sampel.q}} (did you mean 'sample'?)"},
      {"variant without variants", "content: \"{{sample.q}}\"", "content: \"{{variant}}\"",
       ":11:59: workflows[0].stages[0].body.messages[0].content: {{variant}}: the workflow "
       "has no variants"},
      {"custom_id omitting the variant", "    dataset: data.jsonl\n",
       "    dataset: data.jsonl\n    variants: [a, b]\n    custom_id: \"{id}_e{epoch}\"\n",
       ":9:16: workflows[0].custom_id: '{id}_e{epoch}' omits {variant} while the workflow has "
       "2 variants, so they can get the same custom_id"},
      {"custom_id omitting the epoch", "    dataset: data.jsonl\n",
       "    dataset: data.jsonl\n    epochs: 3\n    custom_id: \"{id}_{hash6}\"\n",
       ":9:16: workflows[0].custom_id: '{id}_{hash6}' omits {epoch} while epochs is 3"},
      {"custom_id omitting the id", "    dataset: data.jsonl\n",
       "    dataset: data.jsonl\n    custom_id: \"x_{hash6}\"\n",
       ":8:16: workflows[0].custom_id: 'x_{hash6}' omits {id}, so two samples can get the "
       "same custom_id"},
      {"duplicate key", "  claude: {kind: anthropic}\n",
       "  claude: {kind: anthropic}\n  openai: {kind: openai}\n",
       ":5:3: providers: duplicate key 'openai' (first at line 3)"},
      {"duplicate workflow name", "workflows:\n",
       "workflows:\n  - {name: w, dataset: data.jsonl, stages: [{name: x, provider: openai, "
       "body: {model: m, messages: []}}]}\n",
       ":7:5: workflows[1].name: duplicate workflow name 'w' (first at "},
      {"YAML syntax error", "  openai: {kind: openai}\n", "  openai: {kind: openai\n",
       ":4:9: YAML syntax error: "},
      {"a key in the request body", "{model: m, messages", "{model: m, \"{{id}}\": 1, messages",
       ":11:26: workflows[0].stages[0].body.{{id}}: placeholders may appear only in string "
       "values, not in keys ('{{id}}')"},
      {"a model that is not a string", "{model: m, messages", "{model: [m], messages",
       ":11:16: workflows[0].stages[0].body.model: the model must be a string"},
      {"anthropic body without max_tokens", "{model: c, max_tokens: 5, ", "{model: c, ",
       ":14:15: workflows[0].stages[1].body: missing key 'max_tokens' (required for anthropic "
       "/v1/messages)"},
      {"a key in extra_headers", "  openai: {kind: openai}\n",
       "  openai: {kind: openai, extra_headers: {Authorization: x}}\n",
       ":3:42: providers.openai.extra_headers: keys never go in the workflow file"},
      {"a code both retryable and permanent", "run_name: t\n",
       "run_name: t\ndefaults:\n  error_classes: {retryable: [a, b], permanent: [b]}\n",
       ":3:50: defaults.error_classes.permanent: 'b' is listed as both retryable and permanent"},
      {"a number JSON cannot hold", "{model: m, messages", "{model: m, temperature: .inf, messages",
       ":11:39: workflows[0].stages[0].body.temperature: '.inf' has no JSON form"},
      {"anthropic endpoint", "        provider: claude\n",
       "        provider: claude\n        endpoint: /v1/chat/completions\n",
       ":14:19: workflows[0].stages[1].endpoint: an anthropic provider always calls "
       "/v1/messages; leave endpoint out"},
      {"epochs of zero", "    dataset: data.jsonl\n", "    dataset: data.jsonl\n    epochs: 0\n",
       ":8:13: workflows[0].epochs: expected a whole number in [1, 10000], got '0'"},
  };
  for (const BadFile& bad : cases) {
    CAPTURE(bad.what);
    WorkflowDir dir;
    const std::string message =
        ErrorOf(dir.Parse(Edit(std::string(kSmallWorkflow), bad.from, bad.to)));
    CAPTURE(message);
    CHECK(message.rfind(dir.Where(bad.expected), 0) == 0);
  }
}

TEST_CASE("an openai_compatible provider needs a base_url and defaults to OPENAI_API_KEY",
          "[workflow][file]") {
  WorkflowDir dir;
  const std::string missing = ErrorOf(
      dir.Parse(Edit(std::string(kSmallWorkflow), "{kind: openai}", "{kind: openai_compatible}")));
  CHECK(missing == dir.Where(":3:3: providers.openai: an openai_compatible provider needs a "
                             "base_url"));
  const base::Result<WorkflowFile> parsed =
      dir.Parse(Edit(std::string(kSmallWorkflow), "{kind: openai}",
                     "{kind: openai_compatible, base_url: \"http://localhost:8000/v1\","
                     " extra_headers: {X-Team: eval}}"));
  REQUIRE(parsed.ok());
  CHECK(parsed->providers[0].kind == ProviderKind::kOpenAiCompatible);
  CHECK(parsed->providers[0].api_key_env == "OPENAI_API_KEY");
  CHECK(parsed->providers[0].extra_headers.at("X-Team") == "eval");
  CHECK(parsed->workflows[0].stages[0].batch_limits == BatchLimits{50'000, 200'000'000});
}

TEST_CASE("a base_url holding credentials is refused without echoing them",
          "[workflow][file]") {
  WorkflowDir dir;
  for (const std::string url : {"http://user:S3cretPw@127.0.0.1:8000/v1",
                                "https://token@api.example.com/v1"}) {
    CAPTURE(url);
    const std::string message = ErrorOf(dir.Parse(Edit(
        std::string(kSmallWorkflow), "{kind: openai}",
        "{kind: openai_compatible, base_url: \"" + url + "\"}")));
    CHECK(message.find("holds credentials") != std::string::npos);
    CHECK(message.find("S3cretPw") == std::string::npos);
    CHECK(message.find("token@") == std::string::npos);
  }
  // An @ in the path or query is not a credential.
  CHECK(dir.Parse(Edit(std::string(kSmallWorkflow), "{kind: openai}",
                       "{kind: openai_compatible, base_url: \"http://localhost:8000/v1/@team\"}"))
            .ok());
}

TEST_CASE("a template may read only ancestors through from", "[workflow][file]") {
  WorkflowDir dir;
  const std::string three_stages =
      std::string(kSmallWorkflow) +
      "      - name: s3\n"
      "        from: s1\n"
      "        provider: openai\n"
      "        body: {model: m, messages: [{role: user, content: \"{{s2.text}}\"}]}\n";
  const std::string message = ErrorOf(dir.Parse(three_stages));
  CHECK(message == dir.Where(":18:59: workflows[0].stages[2].body.messages[0].content: "
                             "{{s2.text}}: stage 's2' is not an ancestor of 's3' through "
                             "`from`, so its result may not exist for this request"));
  const base::Result<WorkflowFile> parsed =
      dir.Parse(Edit(three_stages, "\"{{s2.text}}\"}]}\n", "\"{{s1.text}}\"}]}\n"));
  REQUIRE(parsed.ok());
  CHECK(parsed->workflows[0].stages[2].from_index == 0u);
}

TEST_CASE("body scalars follow the YAML 1.2 core schema", "[workflow][file]") {
  WorkflowDir dir;
  const base::Result<WorkflowFile> parsed = dir.Parse(
      Edit(std::string(kSmallWorkflow), "{model: m, messages",
           "{model: m, a: 007, b: +5, c: 0x1F, d: 1.50, e: .5, f: \"12\", g: yes, h: ~, i: True,"
           " j: !!str 3, k: 1e3, messages"));
  REQUIRE(parsed.ok());
  CHECK(parsed->workflows[0].stages[0].body->source_text() ==
        R"({"model":"m","a":7,"b":5,"c":31,"d":1.50,"e":0.5,"f":"12","g":"yes","h":null,)"
        R"("i":true,"j":"3","k":1e3,"messages":[{"role":"user","content":"{{sample.q}}"}]})");
}

}  // namespace
}  // namespace batchlog::workflow
