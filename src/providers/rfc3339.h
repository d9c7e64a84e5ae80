// RFC 3339 timestamps as Anthropic sends them ("2026-03-01T09:00:00.123456Z",
// "2026-03-01T10:00:00+01:00"), to Unix microseconds. Fractions beyond microseconds are
// truncated. nullopt for anything else.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace batchlog::providers {

std::optional<std::int64_t> ParseRfc3339Micros(std::string_view text);

}  // namespace batchlog::providers
