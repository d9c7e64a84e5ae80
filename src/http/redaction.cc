#include "src/http/redaction.h"

#include <cctype>

namespace batchlog::http {

bool IsRedactedHeader(std::string_view name, const std::vector<std::string>& extra_redacted) {
  for (const std::string_view redacted : kDefaultRedactedHeaders) {
    if (EqualsIgnoreCase(name, redacted)) return true;
  }
  for (const std::string& redacted : extra_redacted) {
    if (EqualsIgnoreCase(name, redacted)) return true;
  }
  return false;
}

namespace {

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += ", ";
  out.append(name);
  out += ": ";
  out.append(value);
}

}  // namespace

std::string DescribeHeaders(const std::vector<HttpHeader>& headers,
                            const std::vector<SecretHeader>& secret_headers,
                            const std::vector<std::string>& extra_redacted) {
  std::string out;
  for (const HttpHeader& header : headers) {
    AppendHeader(out, header.name,
                 IsRedactedHeader(header.name, extra_redacted) ? kRedacted : header.value);
  }
  for (const SecretHeader& header : secret_headers) AppendHeader(out, header.name, kRedacted);
  return out;
}

std::string DescribeHeaders(const HttpHeaders& headers,
                            const std::vector<std::string>& extra_redacted) {
  std::string out;
  for (const HttpHeader& header : headers.entries()) {
    AppendHeader(out, header.name,
                 IsRedactedHeader(header.name, extra_redacted) ? kRedacted : header.value);
  }
  return out;
}

namespace {

bool IsKeyCharacter(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '*';
}

// Redacts masked echoes of `value`: a token of key characters holding "***" and ending with
// the key's last four characters, as in OpenAI's "Incorrect API key provided:
// sk-proj-abc*********************wxyz". Part of a key is still a clue to it.
void ScrubMaskedEchoes(std::string& text, std::string_view value) {
  constexpr std::size_t kShownTail = 4;
  if (value.size() < 2 * kShownTail) return;
  const std::string_view tail = value.substr(value.size() - kShownTail);
  std::size_t at = text.find("***");
  while (at != std::string::npos) {
    std::size_t begin = at;
    while (begin > 0 && IsKeyCharacter(text[begin - 1])) --begin;
    std::size_t end = at;
    while (end < text.size() && IsKeyCharacter(text[end])) ++end;
    const std::string_view token = std::string_view(text).substr(begin, end - begin);
    if (token.size() > kShownTail && token.substr(token.size() - kShownTail) == tail) {
      text.replace(begin, end - begin, kRedacted);
      end = begin + kRedacted.size();
    }
    at = text.find("***", end);
  }
}

}  // namespace

void ScrubSecret(std::string& text, const base::Secret& secret) {
  const std::string_view value = secret.RevealForHeader();
  if (value.empty()) return;
  std::size_t at = text.find(value);
  while (at != std::string::npos) {
    text.replace(at, value.size(), kRedacted);
    at = text.find(value, at + kRedacted.size());
  }
  ScrubMaskedEchoes(text, value);
}

}  // namespace batchlog::http
