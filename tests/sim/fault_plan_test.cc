// FaultPlan: parsing (YAML and JSON) and the pure decision functions.
#include <cstdlib>
#include <map>

#include <catch2/catch.hpp>

#include "src/sim/fault_plan.h"

namespace batchlog::sim {
namespace {

std::uint64_t TestSeed() {
  const char* env = std::getenv("BATCHLOG_SEED");
  const std::uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 7;
  UNSCOPED_INFO("BATCHLOG_SEED=" << seed);
  return seed;
}

FaultPlan ParseOrDie(const std::string& text) {
  auto plan = FaultPlan::Parse(text);
  INFO(plan.status().ToString());
  REQUIRE(plan.ok());
  return std::move(plan).value();
}

TEST_CASE("a YAML fault plan parses every section", "[sim][fault_plan]") {
  const FaultPlan plan = ParseOrDie(R"(
request_faults:
  rates: {rate_limit: 0.1, server_error: 0.05, content_filter: 0.01}
  transient_attempts_max: 2
  always_fail:
    bad-1: invalid_request
batch_faults:
  - kind: expire
    api: openai
    batches: [2]
    completed_fraction: 0.25
control_faults:
  - operation: create
    kind: drop_response
    calls: [1]
  - operation: get
    kind: rate_limit
    rate: 0.5
    retry_after_s: 3
)");
  const auto& requests = plan.request_faults();
  CHECK(requests.rates[static_cast<std::size_t>(OutcomeKind::kRateLimit)] == Approx(0.1));
  CHECK(requests.rates[static_cast<std::size_t>(OutcomeKind::kServerError)] == Approx(0.05));
  CHECK(requests.transient_attempts_max == 2);
  CHECK(requests.always_fail.at("bad-1") == OutcomeKind::kInvalidRequest);
  REQUIRE(plan.batch_rules().size() == 1);
  CHECK(plan.batch_rules()[0].kind == BatchFaultKind::kExpire);
  CHECK(plan.batch_rules()[0].api == Api::kOpenAi);
  CHECK(plan.batch_rules()[0].completed_fraction == Approx(0.25));
  REQUIRE(plan.control_rules().size() == 2);
  CHECK(plan.control_rules()[1].retry_after_s == 3);
}

TEST_CASE("a JSON fault plan parses like the YAML one", "[sim][fault_plan]") {
  const FaultPlan plan = ParseOrDie(R"({"request_faults": {"always_fail": [
      {"custom_id": "x", "kind": "timeout"}]},
      "control_faults": [{"operation": "download", "kind": "truncate",
                          "calls": 1, "truncate_fraction": 0.3}]})");
  CHECK(plan.request_faults().always_fail.at("x") == OutcomeKind::kTimeout);
  REQUIRE(plan.control_rules().size() == 1);
  CHECK(plan.control_rules()[0].kind == ControlFaultKind::kTruncate);
  CHECK(plan.control_rules()[0].truncate_fraction == Approx(0.3));
}

TEST_CASE("an empty fault plan injects nothing", "[sim][fault_plan]") {
  const FaultPlan plan = ParseOrDie("");
  const std::uint64_t seed = TestSeed();
  for (int i = 0; i < 1000; ++i) {
    CHECK(plan.DecideRequestOutcome(seed, "id-" + std::to_string(i), 1) == OutcomeKind::kNone);
  }
  CHECK(plan.DecideBatchFault(seed, Api::kOpenAi, 1).kind == BatchFaultKind::kNone);
  CHECK(plan.DecideControlFault(seed, Api::kOpenAi, Operation::kCreate, 1).kind ==
        ControlFaultKind::kNone);
}

TEST_CASE("fault plan mistakes are InvalidArgument naming the key", "[sim][fault_plan]") {
  const auto check = [](const std::string& text, const std::string& needle) {
    auto plan = FaultPlan::Parse(text);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.status().code() == base::StatusCode::kInvalidArgument);
    INFO(plan.status().message());
    CHECK(plan.status().message().find(needle) != std::string::npos);
  };
  check("requests_faults: {}", "requests_faults");
  check("request_faults: {rates: {rate_limt: 0.1}}", "rate_limt");
  check("request_faults: {rates: {rate_limit: 0.7, server_error: 0.7}}", "sum");
  check("request_faults: {rates: {timeout: 1.5}}", "[0, 1]");
  check("control_faults: [{operation: poll, kind: slow}]", "poll");
  check("control_faults: [{operation: get, kind: explode}]", "explode");
  check("batch_faults: [{kind: expire, batches: [0]}]", "1-based");
  check("batch_faults: [{kind: expire, api: gemini}]", "gemini");
  check("request_faults: [1, 2", "fault plan");
}

TEST_CASE("a request outcome is a pure function of seed, custom_id and attempt",
          "[sim][fault_plan]") {
  FaultPlan plan;
  plan.mutable_request_faults().rates[static_cast<std::size_t>(OutcomeKind::kServerError)] = 0.5;
  const std::uint64_t seed = TestSeed();
  int differing_seeds = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string id = "req-" + std::to_string(i);
    CHECK(plan.DecideRequestOutcome(seed, id, 1) == plan.DecideRequestOutcome(seed, id, 1));
    if (plan.DecideRequestOutcome(seed, id, 1) != plan.DecideRequestOutcome(seed + 1, id, 1)) {
      ++differing_seeds;
    }
  }
  CHECK(differing_seeds > 50);
}

TEST_CASE("outcome rates are honoured over many custom_ids", "[sim][fault_plan]") {
  FaultPlan plan;
  auto& rates = plan.mutable_request_faults().rates;
  rates[static_cast<std::size_t>(OutcomeKind::kRateLimit)] = 0.2;
  rates[static_cast<std::size_t>(OutcomeKind::kInvalidRequest)] = 0.1;
  const std::uint64_t seed = TestSeed();
  std::map<OutcomeKind, int> counts;
  constexpr int kDraws = 20'000;
  for (int i = 0; i < kDraws; ++i) {
    ++counts[plan.DecideRequestOutcome(seed, "c" + std::to_string(i), 1)];
  }
  CHECK(counts[OutcomeKind::kRateLimit] / double(kDraws) == Approx(0.2).margin(0.02));
  CHECK(counts[OutcomeKind::kInvalidRequest] / double(kDraws) == Approx(0.1).margin(0.02));
  CHECK(counts[OutcomeKind::kNone] / double(kDraws) == Approx(0.7).margin(0.02));
}

TEST_CASE("transient kinds stop striking after transient_attempts_max", "[sim][fault_plan]") {
  FaultPlan plan;
  plan.mutable_request_faults().rates[static_cast<std::size_t>(OutcomeKind::kRateLimit)] = 1.0;
  plan.mutable_request_faults().transient_attempts_max = 2;
  const std::uint64_t seed = TestSeed();
  CHECK(plan.DecideRequestOutcome(seed, "a", 1) == OutcomeKind::kRateLimit);
  CHECK(plan.DecideRequestOutcome(seed, "a", 2) == OutcomeKind::kRateLimit);
  CHECK(plan.DecideRequestOutcome(seed, "a", 3) == OutcomeKind::kNone);

  FaultPlan permanent;
  permanent.mutable_request_faults().rates[static_cast<std::size_t>(OutcomeKind::kInvalidRequest)] =
      1.0;
  permanent.mutable_request_faults().transient_attempts_max = 1;
  CHECK(permanent.DecideRequestOutcome(seed, "a", 5) == OutcomeKind::kInvalidRequest);
}

TEST_CASE("always_fail custom_ids fail on every attempt", "[sim][fault_plan]") {
  FaultPlan plan;
  plan.mutable_request_faults().always_fail["doomed"] = OutcomeKind::kServerError;
  plan.mutable_request_faults().transient_attempts_max = 1;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    CHECK(plan.DecideRequestOutcome(1, "doomed", attempt) == OutcomeKind::kServerError);
    CHECK(plan.DecideRequestOutcome(1, "fine", attempt) == OutcomeKind::kNone);
  }
}

TEST_CASE("fail_first_attempts fails a custom_id on its first N attempts only",
          "[sim][fault_plan]") {
  const FaultPlan plan = ParseOrDie(R"(
request_faults:
  fail_first_attempts:
    twice: {kind: server_error, attempts: 2}
    once: {kind: rate_limit, attempts: 1}
)");
  const std::uint64_t seed = TestSeed();
  CHECK(plan.DecideRequestOutcome(seed, "twice", 1) == OutcomeKind::kServerError);
  CHECK(plan.DecideRequestOutcome(seed, "twice", 2) == OutcomeKind::kServerError);
  CHECK(plan.DecideRequestOutcome(seed, "twice", 3) == OutcomeKind::kNone);
  CHECK(plan.DecideRequestOutcome(seed, "once", 1) == OutcomeKind::kRateLimit);
  CHECK(plan.DecideRequestOutcome(seed, "once", 2) == OutcomeKind::kNone);
  CHECK(plan.DecideRequestOutcome(seed, "other", 1) == OutcomeKind::kNone);
  CHECK_FALSE(FaultPlan::Parse("request_faults: {fail_first_attempts: {x: {kind: timeout}}}")
                  .ok());
}

TEST_CASE("batch and control faults strike the nth call of their api only", "[sim][fault_plan]") {
  FaultPlan plan;
  BatchFaultRule batch_rule;
  batch_rule.kind = BatchFaultKind::kTokenLimitExceeded;
  batch_rule.api = Api::kOpenAi;
  batch_rule.batches = {2};
  plan.AddBatchRule(batch_rule);
  ControlFaultRule control_rule;
  control_rule.operation = Operation::kList;
  control_rule.kind = ControlFaultKind::kServerError;
  control_rule.calls = {1, 3};
  plan.AddControlRule(control_rule);

  CHECK(plan.DecideBatchFault(1, Api::kOpenAi, 1).kind == BatchFaultKind::kNone);
  CHECK(plan.DecideBatchFault(1, Api::kOpenAi, 2).kind == BatchFaultKind::kTokenLimitExceeded);
  CHECK(plan.DecideBatchFault(1, Api::kAnthropic, 2).kind == BatchFaultKind::kNone);
  CHECK(plan.DecideControlFault(1, Api::kAnthropic, Operation::kList, 1).kind ==
        ControlFaultKind::kServerError);
  CHECK(plan.DecideControlFault(1, Api::kOpenAi, Operation::kList, 2).kind ==
        ControlFaultKind::kNone);
  CHECK(plan.DecideControlFault(1, Api::kOpenAi, Operation::kList, 3).kind ==
        ControlFaultKind::kServerError);
  CHECK(plan.DecideControlFault(1, Api::kOpenAi, Operation::kGet, 1).kind ==
        ControlFaultKind::kNone);
}

TEST_CASE("a control fault rate strikes about that fraction of calls", "[sim][fault_plan]") {
  FaultPlan plan;
  ControlFaultRule rule;
  rule.operation = Operation::kGet;
  rule.kind = ControlFaultKind::kRateLimit;
  rule.rate = 0.3;
  plan.AddControlRule(rule);
  const std::uint64_t seed = TestSeed();
  int struck = 0;
  for (int call = 1; call <= 10'000; ++call) {
    if (plan.DecideControlFault(seed, Api::kOpenAi, Operation::kGet, call).kind !=
        ControlFaultKind::kNone) {
      ++struck;
    }
  }
  CHECK(struck / 10'000.0 == Approx(0.3).margin(0.03));
}

}  // namespace
}  // namespace batchlog::sim
