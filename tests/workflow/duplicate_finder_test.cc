#include "src/workflow/duplicate_finder.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace batchlog::workflow {
namespace {

std::optional<std::pair<std::size_t, std::size_t>> Find(const std::vector<std::string>& keys) {
  return FindFirstDuplicate(keys.size(),
                            [&](std::size_t index, std::string& out) { out = keys[index]; });
}

TEST_CASE("distinct keys have no duplicate, at any size", "[workflow][duplicates]") {
  CHECK_FALSE(Find({}).has_value());
  CHECK_FALSE(Find({"only"}).has_value());
  std::vector<std::string> keys;
  for (int i = 0; i < 100'000; ++i) keys.push_back("k" + std::to_string(i));
  CHECK_FALSE(Find(keys).has_value());
}

TEST_CASE("the duplicate met first in order is reported, with its first occurrence",
          "[workflow][duplicates]") {
  std::vector<std::string> keys;
  for (int i = 0; i < 50'000; ++i) keys.push_back("k" + std::to_string(i));
  keys[40'000] = "k5";   // repeats index 5 late
  keys[30'000] = "k17";  // repeats index 17 earlier: this one is met first
  keys[30'001] = "k17";
  const auto found = Find(keys);
  REQUIRE(found.has_value());
  CHECK(*found == std::pair<std::size_t, std::size_t>{17, 30'000});
  CHECK(Find({"a", "b", "a", "b"}) == std::pair<std::size_t, std::size_t>{0, 2});
}

}  // namespace
}  // namespace batchlog::workflow
