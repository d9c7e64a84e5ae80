#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "src/base/json_string.h"

namespace batchlog::base {
namespace {

std::string Quoted(std::string_view text) {
  std::string out = "prefix:";
  AppendJsonString(out, text);
  return out;
}

TEST_CASE("AppendJsonString escapes quotes, backslashes and control bytes", "[base]") {
  CHECK(Quoted("") == "prefix:\"\"");
  CHECK(Quoted("plain text, 0-9") == "prefix:\"plain text, 0-9\"");
  CHECK(Quoted("say \"hi\"\\") == "prefix:\"say \\\"hi\\\"\\\\\"");
  CHECK(Quoted("a\nb\rc\td\be\ff") == "prefix:\"a\\nb\\rc\\td\\be\\ff\"");
  CHECK(Quoted(std::string("\x01\x1f\x00", 3)) == "prefix:\"\\u0001\\u001f\\u0000\"");
  // UTF-8 and DEL are copied as they are.
  CHECK(Quoted("caf\xc3\xa9 \x7f") == "prefix:\"caf\xc3\xa9 \x7f\"");
}

TEST_CASE("AppendJsonString output parses back to the same text", "[base]") {
  std::string every_byte_below_0x80;
  for (int c = 0; c < 0x80; ++c) every_byte_below_0x80 += static_cast<char>(c);
  std::string out;
  AppendJsonString(out, every_byte_below_0x80);
  CHECK(nlohmann::json::parse(out).get<std::string>() == every_byte_below_0x80);
  std::string contents;
  AppendJsonEscaped(contents, every_byte_below_0x80);
  CHECK("\"" + contents + "\"" == out);
}

}  // namespace
}  // namespace batchlog::base
