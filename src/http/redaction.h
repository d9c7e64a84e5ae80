// Redaction: what of an HTTP exchange may appear in a log line or a message.
//
// Header values are replaced by "[redacted]" when the header is a SecretHeader, or its name
// (case-insensitive) is one of kDefaultRedactedHeaders or of a configured extra list.
// ScrubSecret removes a secret's bytes from text that came back from a server (an error
// message that echoes the key), so nothing the transport returns or logs contains it.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/secret.h"
#include "src/http/transport.h"

namespace batchlog::http {

inline constexpr std::string_view kRedacted = "[redacted]";

inline constexpr std::array<std::string_view, 6> kDefaultRedactedHeaders = {
    "authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"};

bool IsRedactedHeader(std::string_view name, const std::vector<std::string>& extra_redacted);

// "name: value, name: [redacted], ..." for a debug log line.
std::string DescribeHeaders(const std::vector<HttpHeader>& headers,
                            const std::vector<SecretHeader>& secret_headers,
                            const std::vector<std::string>& extra_redacted);
std::string DescribeHeaders(const HttpHeaders& headers,
                            const std::vector<std::string>& extra_redacted);

// Replaces every occurrence of `secret`'s value in `text` with "[redacted]", and every
// masked echo of it (a token with "***" ending in the key's last four characters, as
// OpenAI's 401 message shows a key). No-op for an empty secret.
void ScrubSecret(std::string& text, const base::Secret& secret);

}  // namespace batchlog::http
