// RFC 3339 rendering of recorded times, e.g. "2026-11-28T13:07:46.123456Z" (always UTC).
#pragma once

#include <cstdint>
#include <string>

namespace batchlog::base {

std::string FormatUnixMicrosUtc(std::int64_t unix_us);

}  // namespace batchlog::base
