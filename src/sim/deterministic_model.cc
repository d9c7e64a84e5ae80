#include "src/sim/deterministic_model.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/sim/sim_hash.h"

namespace batchlog::sim {
namespace {

constexpr std::int64_t kTokensPerMessageOverhead = 3;
constexpr std::size_t kBytesPerToken = 4;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The text of a content field: a string, or the "text" of each text block joined by "\n".
std::string ContentText(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& block : content) {
    if (!block.is_object()) continue;
    const auto text = block.find("text");
    if (text == block.end() || !text->is_string()) continue;
    if (!out.empty()) out += '\n';
    out += text->get<std::string>();
  }
  return out;
}

std::int64_t CapTokens(const nlohmann::json& body) {
  for (const char* key : {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
    const auto it = body.find(key);
    if (it != body.end() && it->is_number_integer()) return it->get<std::int64_t>();
  }
  return -1;
}

// Cuts `text` to at most `size` bytes without splitting a UTF-8 sequence.
void CutUtf8(std::string& text, std::size_t size) {
  if (text.size() <= size) return;
  std::size_t end = size;
  // Step back over continuation bytes to the start of the sequence that straddles `size`.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
}

}  // namespace

std::int64_t EstimateTokens(std::string_view text) {
  return static_cast<std::int64_t>((text.size() + kBytesPerToken - 1) / kBytesPerToken);
}

std::int64_t ScoreOf(std::string_view prompt) {
  return static_cast<std::int64_t>(Fnv1a(prompt) % 11);
}

std::string AnswerText(std::string_view prompt) {
  const std::string_view trimmed = Trim(prompt);
  const std::string lower = Lower(trimmed);
  if (lower.find("score") != std::string::npos) {
    return "score: " + std::to_string(ScoreOf(prompt));
  }
  constexpr std::string_view kParaphrase = "paraphrase:";
  if (lower.rfind(kParaphrase, 0) == 0) {
    std::string rest(Trim(trimmed.substr(kParaphrase.size())));
    if (!rest.empty())
      rest[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(rest[0])));
    return "In other words, " + rest;
  }
  return "Answer: " + std::string(trimmed);
}

std::string PromptOf(const nlohmann::json& body) {
  if (!body.is_object()) return {};
  if (const auto messages = body.find("messages"); messages != body.end() && messages->is_array()) {
    for (auto it = messages->rbegin(); it != messages->rend(); ++it) {
      if (!it->is_object()) continue;
      const auto role = it->find("role");
      if (role == it->end() || !role->is_string() || *role != "user") continue;
      const auto content = it->find("content");
      return content == it->end() ? std::string() : ContentText(*content);
    }
    return {};
  }
  if (const auto prompt = body.find("prompt"); prompt != body.end()) {
    if (prompt->is_string()) return prompt->get<std::string>();
    if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_string()) {
      return (*prompt)[0].get<std::string>();
    }
    return {};
  }
  if (const auto input = body.find("input"); input != body.end()) {
    if (input->is_string()) return input->get<std::string>();
    if (input->is_array()) {
      for (auto it = input->rbegin(); it != input->rend(); ++it) {
        if (it->is_object() && it->value("role", "") == "user") {
          const auto content = it->find("content");
          return content == it->end() ? std::string() : ContentText(*content);
        }
      }
    }
  }
  return {};
}

CachePrefix CachePrefixOf(const nlohmann::json& body, std::int64_t input_tokens) {
  CachePrefix prefix;
  if (!body.is_object()) return prefix;
  // The blocks walked so far; they are serialized for the hash only at a marked block, so
  // the emulator's create path pays nothing for the many requests without cache_control.
  std::vector<const nlohmann::json*> walked;
  std::int64_t tokens = 0;
  const auto mark = [&] {
    std::string named;  // the model and every block up to the marked one
    if (const auto model = body.find("model"); model != body.end()) named = model->dump();
    for (const nlohmann::json* block : walked) named += block->dump();
    prefix.tokens = std::min(tokens, input_tokens);
    prefix.hash = Fnv1a(named);
  };
  // Adds a content field's blocks; a string content has no cache_control.
  const auto walk = [&](const nlohmann::json& content) {
    if (content.is_string()) {
      tokens += EstimateTokens(content.get_ref<const std::string&>());
      walked.push_back(&content);
      return;
    }
    if (!content.is_array()) return;
    for (const auto& block : content) {
      if (!block.is_object()) continue;
      if (const auto text = block.find("text"); text != block.end() && text->is_string()) {
        tokens += EstimateTokens(text->get_ref<const std::string&>());
      }
      walked.push_back(&block);
      if (block.contains("cache_control")) mark();
    }
  };
  if (const auto system = body.find("system"); system != body.end()) walk(*system);
  if (const auto messages = body.find("messages");
      messages != body.end() && messages->is_array()) {
    for (const auto& message : *messages) {
      tokens += kTokensPerMessageOverhead;
      if (!message.is_object()) continue;
      if (const auto content = message.find("content"); content != message.end()) walk(*content);
    }
  }
  return prefix;
}

ModelAnswer AnswerRequest(const nlohmann::json& body) {
  ModelAnswer answer;
  const std::string prompt = PromptOf(body);
  answer.text = AnswerText(prompt);

  std::int64_t input_tokens = 0;
  if (body.is_object()) {
    if (const auto system = body.find("system"); system != body.end()) {
      input_tokens += EstimateTokens(ContentText(*system));
    }
    if (const auto messages = body.find("messages");
        messages != body.end() && messages->is_array()) {
      for (const auto& message : *messages) {
        input_tokens += kTokensPerMessageOverhead;
        if (message.is_object()) {
          if (const auto content = message.find("content"); content != message.end()) {
            input_tokens += EstimateTokens(ContentText(*content));
          }
        }
      }
    } else {
      input_tokens += EstimateTokens(prompt);
    }
  }
  answer.input_tokens = std::max<std::int64_t>(input_tokens, 1);

  const std::int64_t cap = body.is_object() ? CapTokens(body) : -1;
  if (cap >= 0 && EstimateTokens(answer.text) > cap) {
    CutUtf8(answer.text, static_cast<std::size_t>(cap) * kBytesPerToken);
    answer.truncated = true;
  }
  answer.output_tokens = EstimateTokens(answer.text);
  return answer;
}

}  // namespace batchlog::sim
