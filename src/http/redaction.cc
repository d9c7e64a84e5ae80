#include "src/http/redaction.h"

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

void ScrubSecret(std::string& text, const base::Secret& secret) {
  const std::string_view value = secret.RevealForHeader();
  if (value.empty()) return;
  std::size_t at = text.find(value);
  while (at != std::string::npos) {
    text.replace(at, value.size(), kRedacted);
    at = text.find(value, at + kRedacted.size());
  }
}

}  // namespace batchlog::http
