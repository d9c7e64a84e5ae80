// Secret: never shows its value except through RevealForHeader, and cannot be formatted,
// streamed or converted (the compile-fail test secret_format_must_not_compile.cc proves the
// formatting half by failing to build).
#include "src/base/secret.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace batchlog::base {
namespace {

constexpr std::string_view kKey = "sk-test-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH";

template <typename T>
concept Streamable = requires(std::ostream& out, const T& value) { out << value; };

template <typename T>
concept Concatenable = requires(const T& value) { std::string("key=") + value; };

}  // namespace

// The type-level half of "cannot be formatted": checked on every build of base_test.
static_assert(!fmt::is_formattable<Secret>::value);
static_assert(!Streamable<Secret>);
static_assert(!Concatenable<Secret>);
static_assert(!std::is_convertible_v<Secret, std::string>);
static_assert(!std::is_convertible_v<Secret, std::string_view>);
static_assert(!std::is_convertible_v<std::string, Secret>, "construction is explicit");
// Controls, so the checks above cannot pass because the concepts never match anything.
static_assert(Streamable<std::string> && Concatenable<std::string>);
static_assert(fmt::is_formattable<std::string>::value);

TEST_CASE("the redacted form never contains the value, only its size", "[base][secret]") {
  const Secret secret{std::string(kKey)};
  const std::string redacted = secret.Redacted();
  CHECK(redacted.find(kKey) == std::string::npos);
  CHECK(redacted.find("sk-") == std::string::npos);
  CHECK(redacted == "<secret: " + std::to_string(kKey.size()) + " bytes>");
  CHECK(fmt::format("key={}", secret.Redacted()).find(kKey) == std::string::npos);
}

TEST_CASE("RevealForHeader gives the exact value back", "[base][secret]") {
  const Secret secret{std::string(kKey)};
  CHECK(secret.RevealForHeader() == kKey);
  CHECK(secret.size() == kKey.size());
  CHECK_FALSE(secret.empty());
  CHECK(Secret().empty());
}

TEST_CASE("secrets are equal exactly when their values are", "[base][secret]") {
  const Secret a{std::string(kKey)};
  const Secret b{std::string(kKey)};
  const Secret other{"sk-other"};
  CHECK(a == b);
  CHECK_FALSE(a == other);
  CHECK_FALSE(a == Secret());
}

TEST_CASE("copies and moves of a secret keep its value", "[base][secret]") {
  const Secret original{std::string(kKey)};
  Secret copy = original;
  CHECK(copy == original);
  const Secret moved = std::move(copy);
  CHECK(moved.RevealForHeader() == kKey);
  Secret assigned;
  assigned = original;
  CHECK(assigned == original);
}

}  // namespace batchlog::base
