// JsonText: nlohmann's layout, byte for byte, with shortest round-trip doubles.
#include "replay/json_text.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace batchlog::replay {
namespace {

using OrderedJson = nlohmann::ordered_json;

std::string NlohmannText(const OrderedJson& value, int indent) {
  return value.dump(indent, ' ', false, OrderedJson::error_handler_t::replace);
}

TEST_CASE("JsonText lays a value out exactly as nlohmann's dump does", "[replay][json]") {
  OrderedJson value = OrderedJson::object();
  value["run_id"] = "r1";
  value["seq"] = 42;
  value["negative"] = -7;
  value["largest"] = std::numeric_limits<std::uint64_t>::max();
  value["smallest"] = std::numeric_limits<std::int64_t>::min();
  value["flag"] = true;
  value["none"] = nullptr;
  value["empty_object"] = OrderedJson::object();
  value["empty_array"] = OrderedJson::array();
  value["escapes"] = "quote \" backslash \\ tab \t newline \n control \x01 é";
  value["invalid_utf8"] = std::string("a\xff" "b");
  value["list"] = OrderedJson::array(
      {1, "two", OrderedJson::array({3, OrderedJson::object()}), OrderedJson::object({{"k", 2}})});
  value["nested"]["deeper"]["deepest"] = OrderedJson::array({false});
  for (const int indent : {-1, 0, 2, 4}) {
    CAPTURE(indent);
    CHECK(JsonText(value, indent) == NlohmannText(value, indent));
  }
  CHECK(JsonText(OrderedJson::object()) == "{}");
  CHECK(JsonText(OrderedJson("text")) == "\"text\"");
}

TEST_CASE("JsonText writes doubles in their shortest round-trip form", "[replay][json]") {
  // nlohmann's Grisu2 wrote this cost as 0.008995649999999999.
  CHECK(JsonText(OrderedJson(0.00899565)) == "0.00899565");
  CHECK(JsonText(OrderedJson(0.000179556)) == "0.000179556");
  CHECK(JsonText(OrderedJson(1.0)) == "1.0");  // stays a float, as nlohmann writes it
  CHECK(JsonText(OrderedJson(-2.5)) == "-2.5");
  CHECK(JsonText(OrderedJson(0.0)) == "0.0");
  CHECK(JsonText(OrderedJson(std::nan(""))) == "null");
  CHECK(JsonText(OrderedJson(std::numeric_limits<double>::infinity())) == "null");
  OrderedJson cost = OrderedJson::object();
  cost["total"] = 0.00899565;
  CHECK(JsonText(cost, 2) == "{\n  \"total\": 0.00899565\n}");
}

TEST_CASE("JsonText's doubles read back to the same value and are never longer than dump's",
          "[replay][json]") {
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<std::int64_t> nanos(0, 50'000'000'000LL);
  std::uniform_real_distribution<double> any(-1e12, 1e12);
  for (int i = 0; i < 20000; ++i) {
    // Costs as the manifest rounds them (to 1e-9), and arbitrary doubles.
    const double value =
        i % 2 == 0 ? static_cast<double>(nanos(random)) / 1e9 : any(random);
    CAPTURE(value);
    const std::string text = JsonText(OrderedJson(value));
    const OrderedJson parsed = OrderedJson::parse(text);
    REQUIRE(parsed.is_number_float());
    CHECK(parsed.get<double>() == value);
    CHECK(text.size() <= NlohmannText(OrderedJson(value), -1).size());
  }
}

}  // namespace
}  // namespace batchlog::replay
