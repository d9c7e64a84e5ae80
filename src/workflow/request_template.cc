#include "src/workflow/request_template.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include <simdjson.h>

#include "src/base/json_string.h"
#include "src/workflow/did_you_mean.h"
#include "src/workflow/json_text.h"

namespace batchlog::workflow {
namespace {

namespace od = simdjson::ondemand;

static_assert(Dataset::kPaddingBytes >= simdjson::SIMDJSON_PADDING);

// One On-Demand parser per thread: rendering is a hot loop and a parser's buffers are
// worth reusing, while a template stays shareable across threads.
od::parser& ThreadParser() {
  thread_local od::parser parser;
  return parser;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view TrimJson(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

// Starts iterating `json`, in place when padded, else through a copy in `copy`.
simdjson::simdjson_result<od::document> Iterate(std::string_view json, bool padded,
                                                std::string& copy) {
  if (padded) {
    return ThreadParser().iterate(json.data(), json.size(),
                                  json.size() + simdjson::SIMDJSON_PADDING);
  }
  copy.assign(json);
  copy.resize(json.size() + simdjson::SIMDJSON_PADDING, '\0');
  return ThreadParser().iterate(copy.data(), json.size(), copy.size());
}

enum class Lookup : std::uint8_t { kFound, kAbsent, kBroken };

// The text of `value` as a placeholder inserts it (see the header).
Lookup ValueText(od::value value, std::string& out) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return Lookup::kBroken;
  switch (type) {
    case od::json_type::string: {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) return Lookup::kBroken;
      out.assign(text);
      return Lookup::kFound;
    }
    case od::json_type::null:
      out.clear();
      return Lookup::kFound;
    case od::json_type::number:
    case od::json_type::boolean:
      out.assign(TrimJson(value.raw_json_token()));
      return Lookup::kFound;
    case od::json_type::object:
    case od::json_type::array: {
      std::string_view raw;
      if (simdjson::to_json_string(value).get(raw) != simdjson::SUCCESS) return Lookup::kBroken;
      out.assign(raw);
      return Lookup::kFound;
    }
  }
  return Lookup::kBroken;
}

Lookup PointerText(od::document& document, std::string_view pointer, std::string& out) {
  od::value value;
  const simdjson::error_code error = document.at_pointer(pointer).get(value);
  if (error == simdjson::NO_SUCH_FIELD || error == simdjson::INDEX_OUT_OF_BOUNDS ||
      error == simdjson::INCORRECT_TYPE) {
    return Lookup::kAbsent;
  }
  if (error != simdjson::SUCCESS) return Lookup::kBroken;
  return ValueText(value, out);
}

// Concatenates `text` of the entries of `array` whose "type" is `wanted_type`.
simdjson::error_code AppendTypedTexts(od::array array, std::string_view wanted_type,
                                      std::string& out) {
  for (auto element : array) {
    od::object block;
    if (element.get_object().get(block) != simdjson::SUCCESS) continue;
    std::string_view type;
    if (block["type"].get_string().get(type) != simdjson::SUCCESS || type != wanted_type) {
      continue;
    }
    std::string_view text;
    SIMDJSON_TRY(block["text"].get_string().get(text));
    out += text;
  }
  return simdjson::SUCCESS;
}

// The answer text of a parsed body; a message saying what is missing on failure.
base::Status AnswerText(od::document& document, AnswerFormat format, std::string& out) {
  out.clear();
  document.rewind();
  switch (format) {
    case AnswerFormat::kNone:
      return base::InvalidArgumentError("this endpoint's responses have no answer text");
    case AnswerFormat::kOpenAiChat:
    case AnswerFormat::kOpenAiCompletions: {
      const std::string_view pointer =
          format == AnswerFormat::kOpenAiChat ? "/choices/0/message/content" : "/choices/0/text";
      od::value value;
      if (document.at_pointer(pointer).get(value) != simdjson::SUCCESS) {
        return base::InvalidArgumentError("the response has no " + std::string(pointer));
      }
      if (value.is_null()) return base::Status();
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) {
        return base::InvalidArgumentError(std::string(pointer) + " is not a string");
      }
      out.assign(text);
      return base::Status();
    }
    case AnswerFormat::kOpenAiResponses: {
      od::array output;
      if (document["output"].get_array().get(output) != simdjson::SUCCESS) {
        return base::InvalidArgumentError("the response has no output array");
      }
      for (auto element : output) {
        od::object item;
        if (element.get_object().get(item) != simdjson::SUCCESS) continue;
        std::string_view type;
        if (item["type"].get_string().get(type) != simdjson::SUCCESS || type != "message") {
          continue;
        }
        od::array content;
        if (item["content"].get_array().get(content) != simdjson::SUCCESS) continue;
        if (AppendTypedTexts(content, "output_text", out) != simdjson::SUCCESS) {
          return base::InvalidArgumentError("an output_text part has no text string");
        }
      }
      return base::Status();
    }
    case AnswerFormat::kAnthropicMessages: {
      od::array content;
      if (document["content"].get_array().get(content) != simdjson::SUCCESS) {
        return base::InvalidArgumentError("the response has no content array");
      }
      if (AppendTypedTexts(content, "text", out) != simdjson::SUCCESS) {
        return base::InvalidArgumentError("a text block has no text string");
      }
      return base::Status();
    }
  }
  return base::InvalidArgumentError("unknown answer format");
}

bool IsValidPointer(std::string_view pointer) {
  if (pointer.empty()) return true;
  if (pointer.front() != '/') return false;
  for (std::size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '~' &&
        (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))) {
      return false;
    }
  }
  return true;
}

constexpr std::string_view kPlaceholderHelp =
    "allowed: sample.FIELD, sample, variant, epoch, id, custom_id, STAGE.text, "
    "STAGE.json:/pointer";

std::string Located(std::string_view place, std::string_view message) {
  return std::string(place) + ": " + std::string(message);
}

}  // namespace

AnswerFormat AnswerFormatFor(ProviderKind kind, std::string_view endpoint) {
  switch (kind) {
    case ProviderKind::kAnthropic:
      return AnswerFormat::kAnthropicMessages;
    case ProviderKind::kOpenAi:
    case ProviderKind::kOpenAiCompatible:
      if (endpoint == "/v1/chat/completions") return AnswerFormat::kOpenAiChat;
      if (endpoint == "/v1/completions") return AnswerFormat::kOpenAiCompletions;
      if (endpoint == "/v1/responses") return AnswerFormat::kOpenAiResponses;
      return AnswerFormat::kNone;
  }
  return AnswerFormat::kNone;
}

base::Result<std::string> ExtractAnswerText(AnswerFormat format, std::string_view body) {
  std::string copy;
  od::document document;
  if (Iterate(body, false, copy).get(document) != simdjson::SUCCESS) {
    return base::InvalidArgumentError("the response body is not valid JSON");
  }
  std::string text;
  BATCHLOG_RETURN_IF_ERROR(AnswerText(document, format, text));
  return text;
}

// ---------------------------------------------------------------------------------------
// Builder

RequestTemplate::Builder::Builder(TemplateScope scope) : scope_(std::move(scope)) {}

void RequestTemplate::Builder::BeforeValue(bool is_string) {
  if (stack_.empty()) {
    root_seen_ = true;
  } else if (!stack_.back().is_object) {
    if (stack_.back().count++ > 0) {
      pending_ += ',';
      template_.source_text_ += ',';
    }
  }
  if (expect_model_ && !is_string) model_error_place_ = model_place_;
  expect_model_ = false;
}

void RequestTemplate::Builder::BeginObject() {
  const bool is_root = stack_.empty();
  BeforeValue(false);
  if (is_root) root_is_object_ = true;
  stack_.push_back(Frame{true, 0, {}});
  pending_ += '{';
  template_.source_text_ += '{';
}

void RequestTemplate::Builder::EndObject() {
  BATCHLOG_CHECK(!stack_.empty() && stack_.back().is_object);
  stack_.pop_back();
  pending_ += '}';
  template_.source_text_ += '}';
}

void RequestTemplate::Builder::BeginArray() {
  BeforeValue(false);
  stack_.push_back(Frame{false, 0, {}});
  pending_ += '[';
  template_.source_text_ += '[';
}

void RequestTemplate::Builder::EndArray() {
  BATCHLOG_CHECK(!stack_.empty() && !stack_.back().is_object);
  stack_.pop_back();
  pending_ += ']';
  template_.source_text_ += ']';
}

base::Status RequestTemplate::Builder::Key(std::string_view key, std::string_view place) {
  BATCHLOG_CHECK(!stack_.empty() && stack_.back().is_object);
  Frame& frame = stack_.back();
  if (key.find("{{") != std::string_view::npos) {
    return base::InvalidArgumentError(Located(
        place,
        "placeholders may appear only in string values, not in keys ('" + std::string(key) + "')"));
  }
  if (std::find(frame.keys.begin(), frame.keys.end(), key) != frame.keys.end()) {
    return base::InvalidArgumentError(Located(place, "duplicate key '" + std::string(key) + "'"));
  }
  frame.keys.emplace_back(key);
  if (frame.count++ > 0) {
    pending_ += ',';
    template_.source_text_ += ',';
  }
  base::AppendJsonString(pending_, key);
  pending_ += ':';
  base::AppendJsonString(template_.source_text_, key);
  template_.source_text_ += ':';
  expect_model_ = stack_.size() == 1 && key == "model";
  if (expect_model_) model_place_ = std::string(place);
  return base::Status();
}

void RequestTemplate::Builder::Literal(std::string_view json_scalar) {
  BeforeValue(false);
  pending_ += json_scalar;
  template_.source_text_ += json_scalar;
}

void RequestTemplate::Builder::Flush() {
  // The caller pushes the placeholder index into the piece it gets back.
  template_.body_pieces_.push_back(Piece{std::move(pending_), -1});
  pending_.clear();
}

base::Status RequestTemplate::Builder::String(std::string_view text, std::string_view place) {
  const bool is_model = expect_model_;
  BeforeValue(true);
  pending_ += '"';
  base::AppendJsonString(template_.source_text_, text);
  std::string model_literal;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t open = text.find("{{", i);
    if (open == std::string_view::npos) {
      base::AppendJsonEscaped(pending_, text.substr(i));
      if (is_model) model_literal += text.substr(i);
      break;
    }
    base::AppendJsonEscaped(pending_, text.substr(i, open - i));
    if (is_model) model_literal += text.substr(i, open - i);
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return base::InvalidArgumentError(
          Located(place, "'{{' at offset " + std::to_string(open) +
                             " is not closed by '}}' (write {{\"{{\"}} for a literal '{{')"));
    }
    const std::string_view inner = Trim(text.substr(open + 2, close - open - 2));
    i = close + 2;
    if (inner.size() >= 2 && inner.front() == '"' && inner.back() == '"') {
      const std::string_view literal = inner.substr(1, inner.size() - 2);
      base::AppendJsonEscaped(pending_, literal);
      if (is_model) model_literal += literal;
      continue;
    }
    BATCHLOG_ASSIGN_OR_RETURN(const std::int32_t index, AddPlaceholder(inner, place));
    Flush();
    template_.body_pieces_.back().placeholder = index;
    if (is_model) {
      template_.model_pieces_.push_back(Piece{std::move(model_literal), index});
      model_literal.clear();
    }
  }
  pending_ += '"';
  if (is_model) template_.model_pieces_.push_back(Piece{std::move(model_literal), -1});
  return base::Status();
}

base::Result<std::int32_t> RequestTemplate::Builder::AddPlaceholder(std::string_view inner,
                                                                    std::string_view place) {
  for (std::size_t k = 0; k < template_.placeholders_.size(); ++k) {
    if (template_.placeholders_[k].text == inner) return static_cast<std::int32_t>(k);
  }
  Placeholder placeholder;
  placeholder.text = std::string(inner);
  placeholder.place = std::string(place);
  const std::string shown = "{{" + std::string(inner) + "}}";
  if (inner == "sample") {
    placeholder.kind = SourceKind::kSampleWhole;
  } else if (inner.substr(0, 7) == "sample.") {
    placeholder.kind = SourceKind::kSampleField;
    std::string_view path = inner.substr(7);
    while (true) {
      const std::size_t dot = path.find('.');
      const std::string_view segment = path.substr(0, dot);
      if (segment.empty()) {
        return base::InvalidArgumentError(
            Located(place, shown + ": empty field name in the sample path"));
      }
      placeholder.pointer += '/';
      for (const char c : segment) {
        if (c == '~') {
          placeholder.pointer += "~0";
        } else if (c == '/') {
          placeholder.pointer += "~1";
        } else {
          placeholder.pointer += c;
        }
      }
      if (dot == std::string_view::npos) break;
      path.remove_prefix(dot + 1);
    }
  } else if (inner == "variant") {
    if (!scope_.has_variants) {
      return base::InvalidArgumentError(Located(place, shown + ": the workflow has no variants"));
    }
    placeholder.kind = SourceKind::kVariant;
  } else if (inner == "epoch") {
    placeholder.kind = SourceKind::kEpoch;
  } else if (inner == "id") {
    placeholder.kind = SourceKind::kId;
  } else if (inner == "custom_id") {
    placeholder.kind = SourceKind::kCustomId;
  } else {
    const std::size_t dot = inner.find('.');
    const std::string_view root = inner.substr(0, dot);
    const auto referable = std::find_if(scope_.referable.begin(), scope_.referable.end(),
                                        [&](const ReferableStage& s) { return s.name == root; });
    if (referable == scope_.referable.end()) {
      const auto& all = scope_.workflow_stages;
      const auto named = std::find(all.begin(), all.end(), root);
      const auto self = std::find(all.begin(), all.end(), scope_.stage_name);
      if (root == scope_.stage_name) {
        return base::InvalidArgumentError(
            Located(place, shown + ": a stage cannot read its own answer"));
      }
      if (named != all.end() && self != all.end() && named > self) {
        return base::InvalidArgumentError(Located(place, shown + ": stage '" + std::string(root) +
                                                             "' is not earlier than '" +
                                                             scope_.stage_name + "'"));
      }
      if (named != all.end()) {
        return base::InvalidArgumentError(
            Located(place, shown + ": stage '" + std::string(root) + "' is not an ancestor of '" +
                               scope_.stage_name +
                               "' through `from`, so its result may not exist for this request"));
      }
      std::vector<std::string_view> candidates = {"sample", "variant", "epoch", "id", "custom_id"};
      for (const ReferableStage& stage : scope_.referable) candidates.push_back(stage.name);
      return base::InvalidArgumentError(Located(place, "unknown placeholder " + shown +
                                                           DidYouMean(root, candidates) + " (" +
                                                           std::string(kPlaceholderHelp) + ")"));
    }
    const std::string_view field =
        dot == std::string_view::npos ? std::string_view() : inner.substr(dot + 1);
    if (field == "text") {
      if (referable->answer_format == AnswerFormat::kNone) {
        return base::InvalidArgumentError(
            Located(place, shown + ": stage '" + referable->name +
                               "' uses an endpoint whose responses have no answer text; use {{" +
                               referable->name + ".json:/pointer}}"));
      }
      placeholder.kind = SourceKind::kStageText;
    } else if (field.substr(0, 5) == "json:") {
      placeholder.kind = SourceKind::kStageJson;
      placeholder.pointer = std::string(field.substr(5));
      if (!IsValidPointer(placeholder.pointer)) {
        return base::InvalidArgumentError(
            Located(place, shown + ": '" + placeholder.pointer +
                               "' is not a JSON pointer (empty, or '/' then tokens; '~' only as ~0 "
                               "or ~1)"));
      }
    } else {
      return base::InvalidArgumentError(Located(place, shown + ": a stage placeholder is {{" +
                                                           referable->name + ".text}} or {{" +
                                                           referable->name + ".json:/pointer}}"));
    }
    std::uint32_t slot = 0;
    while (slot < template_.answer_sources_.size() &&
           template_.answer_sources_[slot].stage != referable->name) {
      ++slot;
    }
    if (slot == template_.answer_sources_.size()) {
      template_.answer_sources_.push_back(AnswerSource{referable->name, referable->answer_format});
    }
    placeholder.answer_slot = slot;
  }
  if (placeholder.kind == SourceKind::kSampleField ||
      placeholder.kind == SourceKind::kSampleWhole) {
    template_.reads_sample_ = true;
  }
  template_.placeholders_.push_back(std::move(placeholder));
  return static_cast<std::int32_t>(template_.placeholders_.size() - 1);
}

base::Result<RequestTemplate> RequestTemplate::Builder::Finish(std::string_view body_place) {
  BATCHLOG_CHECK(stack_.empty());
  if (!root_seen_ || !root_is_object_) {
    return base::InvalidArgumentError(Located(body_place, "the body must be a JSON object"));
  }
  if (!model_error_place_.empty()) {
    return base::InvalidArgumentError(Located(model_error_place_, "the model must be a string"));
  }
  template_.body_pieces_.push_back(Piece{std::move(pending_), -1});
  pending_.clear();
  // Merge a piece without a placeholder into the next one, so Render appends fewer runs.
  std::vector<Piece> merged;
  for (Piece& piece : template_.body_pieces_) {
    if (!merged.empty() && merged.back().placeholder < 0) {
      merged.back().text += piece.text;
      merged.back().placeholder = piece.placeholder;
    } else {
      merged.push_back(std::move(piece));
    }
  }
  template_.body_pieces_ = std::move(merged);
  return std::move(template_);
}

// ---------------------------------------------------------------------------------------
// FromJson

namespace {

base::Status EmitJson(simdjson::dom::element element, const std::string& path,
                      RequestTemplate::Builder& builder) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object object;
      if (element.get_object().get(object) != simdjson::SUCCESS) break;
      builder.BeginObject();
      for (const auto field : object) {
        const std::string child = path + "." + std::string(field.key);
        BATCHLOG_RETURN_IF_ERROR(builder.Key(field.key, child));
        BATCHLOG_RETURN_IF_ERROR(EmitJson(field.value, child, builder));
      }
      builder.EndObject();
      return base::Status();
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array array;
      if (element.get_array().get(array) != simdjson::SUCCESS) break;
      builder.BeginArray();
      std::size_t index = 0;
      for (const auto item : array) {
        BATCHLOG_RETURN_IF_ERROR(
            EmitJson(item, path + "[" + std::to_string(index++) + "]", builder));
      }
      builder.EndArray();
      return base::Status();
    }
    case simdjson::dom::element_type::STRING:
      return builder.String(element.get_string().value_unsafe(), path);
    case simdjson::dom::element_type::INT64:
      builder.Literal(std::to_string(element.get_int64().value_unsafe()));
      return base::Status();
    case simdjson::dom::element_type::UINT64:
      builder.Literal(std::to_string(element.get_uint64().value_unsafe()));
      return base::Status();
    case simdjson::dom::element_type::DOUBLE: {
      char buffer[32];
      const auto result =
          std::to_chars(buffer, buffer + sizeof(buffer), element.get_double().value_unsafe());
      builder.Literal(std::string_view(buffer, static_cast<std::size_t>(result.ptr - buffer)));
      return base::Status();
    }
    case simdjson::dom::element_type::BOOL:
      builder.Literal(element.get_bool().value_unsafe() ? "true" : "false");
      return base::Status();
    case simdjson::dom::element_type::NULL_VALUE:
      builder.Literal("null");
      return base::Status();
  }
  return base::InvalidArgumentError(Located(path, "unsupported JSON value"));
}

}  // namespace

base::Result<RequestTemplate> RequestTemplate::FromJson(std::string_view json_object,
                                                        std::string_view place,
                                                        const TemplateScope& scope) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(json_object.data(), json_object.size()).get(root)) {
    return base::InvalidArgumentError(
        Located(place, std::string("not valid JSON (") + simdjson::error_message(error) + ")"));
  }
  Builder builder(scope);
  BATCHLOG_RETURN_IF_ERROR(EmitJson(root, std::string(place), builder));
  return builder.Finish(place);
}

// ---------------------------------------------------------------------------------------
// Rendering

base::Status RequestTemplate::ResolveSample(const RenderInput& input,
                                            RenderScratch& scratch) const {
  if (input.sample_json_padded && scratch.cached_template_ == this &&
      scratch.cached_sample_data_ == input.sample_json.data() &&
      scratch.cached_sample_size_ == input.sample_json.size()) {
    return base::Status();
  }
  scratch.cached_template_ = nullptr;
  od::document document;
  bool parsed = false;
  for (std::size_t k = 0; k < placeholders_.size(); ++k) {
    const Placeholder& placeholder = placeholders_[k];
    if (placeholder.kind == SourceKind::kSampleWhole) {
      scratch.values_[k].assign(TrimJson(input.sample_json));
      continue;
    }
    if (placeholder.kind != SourceKind::kSampleField) continue;
    if (!parsed) {
      if (Iterate(input.sample_json, input.sample_json_padded, scratch.padded_).get(document) !=
          simdjson::SUCCESS) {
        return base::InvalidArgumentError("sample '" + std::string(input.id) +
                                          "' is not valid JSON");
      }
      parsed = true;
    }
    // An absent field renders empty: CheckSampleFields already refused fields no sample has.
    if (PointerText(document, placeholder.pointer, scratch.values_[k]) != Lookup::kFound) {
      scratch.values_[k].clear();
    }
  }
  scratch.cached_template_ = this;
  scratch.cached_sample_data_ = input.sample_json.data();
  scratch.cached_sample_size_ = input.sample_json.size();
  return base::Status();
}

base::Status RequestTemplate::ResolveAnswers(const RenderInput& input,
                                             RenderScratch& scratch) const {
  for (std::uint32_t slot = 0; slot < answer_sources_.size(); ++slot) {
    const AnswerSource& source = answer_sources_[slot];
    const auto answer = std::find_if(input.answers.begin(), input.answers.end(),
                                     [&](const StageAnswer& a) { return a.stage == source.stage; });
    auto fail = [&](std::string_view what) {
      return base::InvalidArgumentError("custom_id " + std::string(input.custom_id) + ": stage '" +
                                        source.stage + "' answer: " + std::string(what));
    };
    if (answer == input.answers.end()) return fail("not given to the request builder");
    od::document document;
    if (Iterate(answer->response_body, false, scratch.padded_).get(document) != simdjson::SUCCESS) {
      return fail("the response body is not valid JSON");
    }
    for (std::size_t k = 0; k < placeholders_.size(); ++k) {
      const Placeholder& placeholder = placeholders_[k];
      if (placeholder.answer_slot != slot) continue;
      if (placeholder.kind == SourceKind::kStageText) {
        const base::Status status = AnswerText(document, source.format, scratch.values_[k]);
        if (!status.ok()) {
          return fail("{{" + placeholder.text + "}} (" + placeholder.place +
                      "): " + status.message());
        }
      } else if (placeholder.kind == SourceKind::kStageJson) {
        if (placeholder.pointer.empty()) {
          scratch.values_[k].assign(TrimJson(answer->response_body));
          continue;
        }
        document.rewind();
        if (PointerText(document, placeholder.pointer, scratch.values_[k]) != Lookup::kFound) {
          return fail("{{" + placeholder.text + "}} (" + placeholder.place + "): pointer '" +
                      placeholder.pointer + "' is not in the response");
        }
      }
    }
  }
  return base::Status();
}

void RequestTemplate::AppendValue(const Piece& piece, const RenderInput& input,
                                  const RenderScratch& scratch, bool escape,
                                  std::string& out) const {
  if (piece.placeholder < 0) return;
  const auto k = static_cast<std::size_t>(piece.placeholder);
  std::string_view value;
  char epoch_buffer[16];
  switch (placeholders_[k].kind) {
    case SourceKind::kVariant:
      value = input.variant;
      break;
    case SourceKind::kEpoch: {
      const auto result =
          std::to_chars(epoch_buffer, epoch_buffer + sizeof(epoch_buffer), input.epoch);
      value = std::string_view(epoch_buffer, static_cast<std::size_t>(result.ptr - epoch_buffer));
      break;
    }
    case SourceKind::kId:
      value = input.id;
      break;
    case SourceKind::kCustomId:
      value = input.custom_id;
      break;
    case SourceKind::kSampleField:
    case SourceKind::kSampleWhole:
    case SourceKind::kStageText:
    case SourceKind::kStageJson:
      value = scratch.values_[k];
      break;
  }
  if (escape) {
    base::AppendJsonEscaped(out, value);
  } else {
    out += value;
  }
}

base::Status RequestTemplate::Render(const RenderInput& input, RenderScratch& scratch,
                                     std::string& body_json, std::string& model) const {
  if (scratch.values_.size() < placeholders_.size()) {
    scratch.values_.resize(placeholders_.size());
    scratch.cached_template_ = nullptr;
  }
  if (reads_sample_) BATCHLOG_RETURN_IF_ERROR(ResolveSample(input, scratch));
  if (!answer_sources_.empty()) {
    BATCHLOG_RETURN_IF_ERROR(ResolveAnswers(input, scratch));
  }
  body_json.clear();
  for (const Piece& piece : body_pieces_) {
    body_json += piece.text;
    AppendValue(piece, input, scratch, true, body_json);
  }
  model.clear();
  for (const Piece& piece : model_pieces_) {
    model += piece.text;
    AppendValue(piece, input, scratch, false, model);
  }
  return base::Status();
}

base::Status RequestTemplate::CheckSampleFields(const Dataset& dataset) const {
  std::vector<std::size_t> missing;
  for (std::size_t k = 0; k < placeholders_.size(); ++k) {
    if (placeholders_[k].kind == SourceKind::kSampleField) missing.push_back(k);
  }
  std::string scratch_copy;
  std::string value;
  for (std::size_t i = 0; i < dataset.size() && !missing.empty(); ++i) {
    od::document document;
    if (Iterate(dataset[i].json, true, scratch_copy).get(document) != simdjson::SUCCESS) {
      return base::InvalidArgumentError(dataset.Where(i) + ": not valid JSON");
    }
    std::erase_if(missing, [&](std::size_t k) {
      return PointerText(document, placeholders_[k].pointer, value) == Lookup::kFound;
    });
  }
  if (missing.empty()) return base::Status();
  const Placeholder& placeholder = placeholders_[missing.front()];
  std::string suggestion;
  if (dataset.size() > 0 && placeholder.pointer.find('/', 1) == std::string::npos) {
    // Offer the first sample's top-level keys as spellings.
    od::document document;
    std::vector<std::string> keys;
    if (Iterate(dataset[0].json, true, scratch_copy).get(document) == simdjson::SUCCESS) {
      od::object object;
      if (document.get_object().get(object) == simdjson::SUCCESS) {
        for (auto field : object) {
          std::string_view key;
          if (field.unescaped_key().get(key) == simdjson::SUCCESS) keys.emplace_back(key);
        }
      }
    }
    std::vector<std::string_view> candidates(keys.begin(), keys.end());
    suggestion = DidYouMean(std::string_view(placeholder.pointer).substr(1), candidates);
  }
  return base::InvalidArgumentError(
      Located(placeholder.place, "template field {{" + placeholder.text + "}} is in no sample of " +
                                     dataset.path().string() + " (" +
                                     std::to_string(dataset.size()) + " samples)" + suggestion));
}

std::string RequestTemplate::QuotaModel() const {
  std::string model;
  for (const Piece& piece : model_pieces_) {
    model += piece.text;
    if (piece.placeholder >= 0) {
      model += "{{" + placeholders_[static_cast<std::size_t>(piece.placeholder)].text + "}}";
    }
  }
  return model;
}

std::vector<std::string> RequestTemplate::AnswerStages() const {
  std::vector<std::string> stages;
  for (const AnswerSource& source : answer_sources_) stages.push_back(source.stage);
  return stages;
}

}  // namespace batchlog::workflow
