// JsonText: a JSON value as text, laid out exactly as nlohmann's dump() lays it out, with
// one difference: a floating-point number is written in its shortest form that reads back
// to the same double (std::to_chars). nlohmann's Grisu2 is not always shortest: a cost of
// 0.00899565 came out as 0.008995649999999999 (the same double, in 17 digits), about one
// value in 600; manifests are read by people.
//
// Like dump(indent, ' ', false, error_handler_t::replace): `indent` < 0 is compact, else
// pretty-printed with that many spaces per level; invalid UTF-8 in strings is replaced by
// U+FFFD; NaN and infinities are null. Integral doubles keep a ".0", as nlohmann writes
// them, so the type of a number survives a round trip.
//
// Pure function; thread-safe.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace batchlog::replay {

std::string JsonText(const nlohmann::ordered_json& value, int indent = -1);

}  // namespace batchlog::replay
