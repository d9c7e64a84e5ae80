// The executor's cache of bodies planned but not yet submitted: a body is handed out once,
// exactly as kept, and nothing past the cap is kept (those are read from the log).
#include "src/orchestrator/unsent_bodies.h"

#include <catch2/catch.hpp>

#include <string>

namespace batchlog::orchestrator {
namespace {

TEST_CASE("a kept body is taken once, byte for byte", "[orchestrator][unsent_bodies]") {
  UnsentBodies bodies;
  std::string body = R"({"model":"m","messages":[{"role":"user","content":"Paraphrase: 7"}]})";
  const std::string expected = body;
  bodies.Keep(12, body);
  CHECK(bodies.size() == 1);
  CHECK(bodies.bytes() == expected.size());

  std::string out = "stale";
  CHECK_FALSE(bodies.Take(13, out));  // another seq: not kept
  CHECK(out == "stale");
  REQUIRE(bodies.Take(12, out));
  CHECK(out == expected);
  CHECK(bodies.size() == 0);
  CHECK(bodies.bytes() == 0);
  CHECK_FALSE(bodies.Take(12, out));  // handed out once: a retry reads the log
}

TEST_CASE("bodies past the cap are not kept and stay with the caller",
          "[orchestrator][unsent_bodies]") {
  UnsentBodies bodies(10);
  std::string first(6, 'a');
  std::string second(6, 'b');
  std::string third(4, 'c');
  bodies.Keep(1, first);
  bodies.Keep(2, second);  // 12 > 10: left in place
  bodies.Keep(3, third);   // 10: fits exactly
  CHECK(second == std::string(6, 'b'));
  CHECK(bodies.size() == 2);
  CHECK(bodies.bytes() == 10);
  std::string out;
  CHECK_FALSE(bodies.Take(2, out));
  REQUIRE(bodies.Take(1, out));
  CHECK(out == std::string(6, 'a'));
  // Room again once taken.
  bodies.Keep(2, second);
  REQUIRE(bodies.Take(2, out));
  CHECK(out == std::string(6, 'b'));
}

}  // namespace
}  // namespace batchlog::orchestrator
