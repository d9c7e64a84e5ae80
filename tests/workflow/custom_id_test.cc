#include "src/workflow/custom_id.h"

#include <set>
#include <string>

#include <catch2/catch.hpp>

namespace batchlog::workflow {
namespace {

CustomIdFormat ParseFormat(std::string_view format, std::size_t variants, std::uint32_t epochs) {
  base::Result<CustomIdFormat> parsed = CustomIdFormat::Parse(format, variants, epochs);
  INFO(parsed.status().ToString());
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

std::string ParseError(std::string_view format, std::size_t variants, std::uint32_t epochs) {
  const base::Result<CustomIdFormat> parsed = CustomIdFormat::Parse(format, variants, epochs);
  REQUIRE_FALSE(parsed.ok());
  return parsed.status().message();
}

TEST_CASE("custom ids are stable: pinned values for fixed inputs", "[workflow][custom_id]") {
  // FNV-1a 64 of "sample_005\0original\0" "0", computed independently.
  CHECK(CustomIdHash("sample_005", "original", 0) == 0xf3c3c9f228029912ull);
  CHECK(CustomIdHash("a", "", 0) == 0xac803b820e4fce54ull);
  const CustomIdFormat with_variants = ParseFormat(CustomIdFormat::DefaultFormat(true), 2, 1);
  CHECK(with_variants.format() == "{id}_{variant}_e{epoch}_{hash6}");
  CHECK(with_variants.Format("sample_005", "original", 0).value() ==
        "sample_005_original_e0_f3c3c9");
  CHECK(with_variants.Format("m001", "formal", 0).value() == "m001_formal_e0_1591b6");
  const CustomIdFormat plain = ParseFormat(CustomIdFormat::DefaultFormat(false), 0, 1);
  CHECK(plain.format() == "{id}_e{epoch}_{hash6}");
  CHECK(plain.Format("a", "", 0).value() == "a_e0_ac803b");
}

TEST_CASE("custom ids are provider-valid whatever the id holds", "[workflow][custom_id]") {
  const CustomIdFormat format = ParseFormat("{id}_{variant}_e{epoch}_{hash6}", 2, 3);
  const std::string odd_ids[] = {"a b/c",
                                 "café",
                                 "x\"y\\z",
                                 "tab\tnew\nline",
                                 "-_-",
                                 std::string(100, 'q'),
                                 std::string(300, '\xE2')};
  std::set<std::string> seen;
  for (const std::string& id : odd_ids) {
    for (const std::string_view variant : {"one", "two words"}) {
      for (std::uint32_t epoch = 0; epoch < 3; ++epoch) {
        const std::string custom_id = format.Format(id, variant, epoch).value();
        CAPTURE(id, variant, epoch, custom_id);
        CHECK(IsValidCustomId(custom_id));
        CHECK(seen.insert(custom_id).second);
      }
    }
  }
  CHECK(format.Format("a b/c", "one", 0).value().rfind("a-b-c_one_e0_", 0) == 0);
}

TEST_CASE("a long id is cut to fit 64 characters only when {hash6} keeps it distinct",
          "[workflow][custom_id]") {
  const CustomIdFormat hashed = ParseFormat("{id}_e{epoch}_{hash6}", 0, 1);
  const std::string long_a = std::string(70, 'x') + "a";
  const std::string long_b = std::string(70, 'x') + "b";
  const std::string id_a = hashed.Format(long_a, "", 0).value();
  const std::string id_b = hashed.Format(long_b, "", 0).value();
  CHECK(id_a.size() == kCustomIdBytesMax);
  CHECK(id_a != id_b);
  CHECK(id_a.substr(0, 54) == std::string(54, 'x'));

  const CustomIdFormat unhashed = ParseFormat("{id}_e{epoch}", 0, 1);
  const base::Result<std::string> refused = unhashed.Format(long_a, "", 0);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message() ==
        "the custom_id of id '" + long_a +
            "' would be 74 characters, over the limit of 64; add {hash6} to the format so "
            "long ids can be shortened");
}

TEST_CASE("a custom_id format that can collide is refused", "[workflow][custom_id]") {
  CHECK(ParseError("{hash6}_e{epoch}", 0, 1) ==
        "'{hash6}_e{epoch}' omits {id}, so two samples can get the same custom_id");
  CHECK(ParseError("{id}_e{epoch}_{hash6}", 2, 1) ==
        "'{id}_e{epoch}_{hash6}' omits {variant} while the workflow has 2 variants, so they "
        "can get the same custom_id");
  CHECK(ParseError("{id}_{hash6}", 0, 2) ==
        "'{id}_{hash6}' omits {epoch} while epochs is 2, so the epochs of a sample can get "
        "the same custom_id");
  CHECK(ParseError("{id}_{variant}", 0, 1) ==
        "'{id}_{variant}' uses {variant} but the workflow has no variants");
  CHECK(ParseError("{id}_{sample}", 0, 1) ==
        "unknown placeholder '{sample}' (allowed: {id}, {variant}, {epoch}, {hash6})");
  CHECK(ParseError("{id}.{epoch}", 0, 1) ==
        "character '.' is not allowed in a custom_id (allowed: letters, digits, '_' and '-')");
  CHECK(ParseError("{id", 0, 1) == "'{' at offset 0 is not closed");
  CHECK(ParseError("", 0, 1) == "the custom_id format is empty");
  // One variant or one epoch cannot collide without its placeholder.
  CHECK(CustomIdFormat::Parse("{id}", 1, 1).ok());
}

TEST_CASE("IsValidCustomId follows ^[a-zA-Z0-9_-]{1,64}$", "[workflow][custom_id]") {
  CHECK(IsValidCustomId("a"));
  CHECK(IsValidCustomId("Az09_-"));
  CHECK(IsValidCustomId(std::string(64, 'a')));
  CHECK_FALSE(IsValidCustomId(""));
  CHECK_FALSE(IsValidCustomId(std::string(65, 'a')));
  CHECK_FALSE(IsValidCustomId("a.b"));
  CHECK_FALSE(IsValidCustomId("a b"));
}

}  // namespace
}  // namespace batchlog::workflow
