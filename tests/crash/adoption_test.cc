// Anthropic reconciliation (design.md "Crash resumption"): a batch planned before a crash is
// looked up by creation window and request count. The batch found is adopted only when its
// results hold the planned custom_ids; one that holds other requests is recorded as a
// rejected adoption and the requests are submitted again.
#include <string>

#include <catch2/catch.hpp>
#include <httplib.h>

#include "tests/crash/crash_harness.h"

namespace batchlog::crash {
namespace {

TEST_CASE("a batch created before the crash is found by window and count and adopted",
          "[crash][adoption]") {
  const Scenario& scenario = AnthropicThenAnthropic();
  CrashHarness harness(scenario, "adopt");
  REQUIRE(harness.Run("after-create-returned:1").exit_code == kKilledExit);
  const ChildResult resumed = harness.Resume();
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const CrashHarness::LogFacts facts = harness.ReadLog();
  CHECK(facts.adopted == 1);
  CHECK(facts.adoptions_rejected == 0);
  CheckAgainstOracle(harness, scenario);
}

TEST_CASE("a batch of other requests matching window and count is rejected as an adoption "
          "and the requests are resubmitted",
          "[crash][adoption]") {
  const Scenario& scenario = AnthropicThenAnthropic();
  CrashHarness harness(scenario, "reject");
  // The first batch (four requests) is planned, never created.
  REQUIRE(harness.Run("after-batch-planned:1").exit_code == kKilledExit);

  // Someone else creates a batch of four other requests in the window.
  std::string body = R"({"requests":[)";
  for (int i = 0; i < 4; ++i) {
    if (i > 0) body += ",";
    body += R"({"custom_id":"other-)" + std::to_string(i) +
            R"(","params":{"model":"claude-sonnet-4-5","max_tokens":16,)"
            R"("messages":[{"role":"user","content":"hello"}]}})";
  }
  body += "]}";
  httplib::Client client(harness.base_url());
  const httplib::Headers headers = {{"x-api-key", "sk-someone-else"},
                                    {"anthropic-version", "2023-06-01"}};
  const auto created = client.Post("/v1/messages/batches", headers, body, "application/json");
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 200);

  const ChildResult resumed = harness.Resume();
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const CrashHarness::LogFacts facts = harness.ReadLog();
  CHECK(facts.adoptions_rejected == 1);
  CHECK(facts.adopted == 0);
  CHECK(resumed.err.find("not adopted") != std::string::npos);
  // The foreign batch's requests were never taken for ours; ours ran exactly once.
  CheckAgainstOracle(harness, scenario);
  const ChildResult events = harness.Batchlog({"events", harness.run_id(), "--json"});
  CHECK(events.out.find("adoption_rejected") != std::string::npos);
}

}  // namespace
}  // namespace batchlog::crash
