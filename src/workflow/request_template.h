// RequestTemplate: a stage's request body (a JSON object) compiled once, rendered once per
// request (docs/workflow-file.md, "Templates").
//
// Placeholders appear inside JSON string values as {{ ... }}:
//   {{sample.FIELD}}, {{sample.a.b.0}}   a field of the sample (dots walk objects; a number
//                                        indexes an array); {{sample}} is the whole sample
//   {{variant}} {{epoch}} {{id}} {{custom_id}}
//   {{STAGE.text}}                       the answer text of an earlier stage's result
//   {{STAGE.json:/json/pointer}}         a value inside that result's raw response body;
//                                        {{STAGE.json:}} is the whole body
//   {{"{{"}}                             a literal "{{"
// The inserted text is JSON-escaped. A string value is inserted as its text; a number or
// boolean as its JSON text; an object or array as its JSON text as written in the source;
// null and (for sample fields) an absent field as the empty text. The value always lands inside
// a JSON string: a body value written "{{sample.max_tokens}}" renders as the string "256",
// never the number 256.
//
// STAGE must be an ancestor of the rendering stage through `from` (so its result exists
// for every request built); anything else is refused when compiling, as are unknown
// placeholders, placeholders in keys, and {{variant}} in a workflow without variants.
// A sample field that no sample has is refused by CheckSampleFields before any request.
//
// Thread-safety: a compiled RequestTemplate is immutable and may be shared; Render keeps
// its per-call state in the caller's RenderScratch (one per thread) and a thread-local
// JSON parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/workflow/dataset_reader.h"
#include "src/workflow/policies.h"

namespace batchlog::workflow {

// Where a stage's answer text lives in its raw response body.
enum class AnswerFormat : std::uint8_t {
  kNone,               // no answer text (embeddings, moderations, unknown endpoints)
  kOpenAiChat,         // choices[0].message.content (null -> "")
  kOpenAiCompletions,  // choices[0].text
  kOpenAiResponses,    // output[type=message].content[type=output_text].text, concatenated
  kAnthropicMessages,  // content[type=text].text, concatenated
};

AnswerFormat AnswerFormatFor(ProviderKind kind, std::string_view endpoint);

// The answer text of one raw response body (OpenAI response.body, Anthropic
// result.message). InvalidArgument when the body is not JSON or lacks the answer.
base::Result<std::string> ExtractAnswerText(AnswerFormat format, std::string_view body);

// One earlier stage's raw response body for the request being rendered. The views must
// stay valid for the Render call only.
struct StageAnswer {
  std::string_view stage;
  std::string_view response_body;
};
using StageAnswers = std::span<const StageAnswer>;

// A stage the template may read: an ancestor through `from`.
struct ReferableStage {
  std::string name;
  AnswerFormat answer_format = AnswerFormat::kNone;
};

// What a template may refer to; given when compiling.
struct TemplateScope {
  std::string stage_name;                    // the stage this body belongs to
  std::vector<std::string> workflow_stages;  // every stage of the workflow, in order
  std::vector<ReferableStage> referable;     // ancestors through `from`
  bool has_variants = false;
};

// The inputs of one rendering. sample_json_padded says that sample_json is followed by at
// least Dataset::kPaddingBytes readable bytes (true for Dataset samples), so it is parsed
// in place; otherwise it is copied first.
struct RenderInput {
  std::string_view sample_json;
  bool sample_json_padded = false;
  std::string_view id;
  std::string_view variant;  // empty without variants
  std::uint32_t epoch = 0;
  std::string_view custom_id;
  StageAnswers answers;  // earlier stages' bodies; only those the template reads are used
};

// Per-thread scratch for Render: the resolved values, a copy buffer, and the values of the
// last padded sample rendered, so rendering the variants and epochs of one Dataset sample
// parses it once. A scratch must not outlive the Dataset whose samples it rendered.
class RenderScratch {
 public:
  RenderScratch() = default;

 private:
  friend class RequestTemplate;
  std::vector<std::string> values_;
  std::string padded_;
  const void* cached_template_ = nullptr;
  const char* cached_sample_data_ = nullptr;
  std::size_t cached_sample_size_ = 0;
};

class RequestTemplate {
 public:
  class Builder;

  // Compiles a JSON object text (tests and tools; the workflow file compiles from YAML
  // through Builder). `place` prefixes every message, e.g. "stage_2.body".
  static base::Result<RequestTemplate> FromJson(std::string_view json_object,
                                                std::string_view place, const TemplateScope& scope);

  RequestTemplate() = default;

  // Renders the compact body JSON into `body_json` and the rendered top-level "model"
  // string into `model` (empty when the body has none). InvalidArgument, naming the
  // custom_id, the placeholder and its place, when an earlier stage's answer is missing or
  // lacks what the placeholder asks for.
  base::Status Render(const RenderInput& input, RenderScratch& scratch, std::string& body_json,
                      std::string& model) const;

  // Refuses a {{sample.FIELD}} that no sample of `dataset` has (present with null counts as
  // having it), naming the placeholder's place and the dataset.
  base::Status CheckSampleFields(const Dataset& dataset) const;

  // Stages whose answers Render needs, in order of first use.
  std::vector<std::string> AnswerStages() const;

  // The top-level "model" as the quota names it: the literal model, or a templated model
  // with its placeholders as written (e.g. "gpt-{{variant}}"); empty when there is none.
  std::string QuotaModel() const;

  // The body with placeholders left in as written, for messages and docs.
  const std::string& source_text() const { return source_text_; }

 private:
  enum class SourceKind : std::uint8_t {
    kSampleField,
    kSampleWhole,
    kVariant,
    kEpoch,
    kId,
    kCustomId,
    kStageText,
    kStageJson,
  };
  struct Placeholder {
    SourceKind kind = SourceKind::kVariant;
    std::string text;     // between the braces, trimmed: "sample.problem"
    std::string pointer;  // JSON pointer for kSampleField / kStageJson
    std::uint32_t answer_slot = 0;
    std::string place;
  };
  struct AnswerSource {
    std::string stage;
    AnswerFormat format = AnswerFormat::kNone;
  };
  // Literal text (JSON-escaped for the body, raw for the model), then a placeholder or -1.
  struct Piece {
    std::string text;
    std::int32_t placeholder = -1;
  };

  base::Status ResolveSample(const RenderInput& input, RenderScratch& scratch) const;
  base::Status ResolveAnswers(const RenderInput& input, RenderScratch& scratch) const;
  void AppendValue(const Piece& piece, const RenderInput& input, const RenderScratch& scratch,
                   bool escape, std::string& out) const;

  std::vector<Placeholder> placeholders_;
  std::vector<AnswerSource> answer_sources_;
  std::vector<Piece> body_pieces_;
  std::vector<Piece> model_pieces_;
  bool reads_sample_ = false;
  std::string source_text_;
};

// Builds a RequestTemplate from a stream of JSON events (the YAML reader drives it). Each
// `place` is "file:line:col: key.path" and prefixes any message about that value.
class RequestTemplate::Builder {
 public:
  explicit Builder(TemplateScope scope);

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // An object key. Refuses placeholders in keys and duplicate keys.
  base::Status Key(std::string_view key, std::string_view place);
  // A string value, which may hold placeholders.
  base::Status String(std::string_view text, std::string_view place);
  // A number, true, false or null, already as JSON text.
  void Literal(std::string_view json_scalar);

  // The template. Refuses a body that is not an object or whose top-level "model" is
  // present but not a string; `body_place` prefixes those messages.
  base::Result<RequestTemplate> Finish(std::string_view body_place);

 private:
  struct Frame {
    bool is_object = false;
    std::size_t count = 0;
    std::vector<std::string> keys;
  };
  void BeforeValue(bool is_string);
  void Flush();
  base::Result<std::int32_t> AddPlaceholder(std::string_view inner, std::string_view place);

  TemplateScope scope_;
  RequestTemplate template_;
  std::vector<Frame> stack_;
  std::string pending_;  // literal JSON not yet closed into a piece
  bool root_seen_ = false;
  bool root_is_object_ = false;
  bool expect_model_ = false;
  std::string model_place_;
  std::string model_error_place_;
};

}  // namespace batchlog::workflow
