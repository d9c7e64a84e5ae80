// Decide: every rule of the pure decider on hand-built logs (no provider, no store).
#include "src/orchestrator/decide.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/event_sequence_generator.h"

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;
using testing::EventSequenceBuilder;

const std::vector<std::string> kIds = {"a", "b", "c"};

replay::RunState Fold(const EventSequenceBuilder& log) {
  replay::RunState state;
  for (const v1::Event& event : log.events()) REQUIRE(replay::Apply(state, event).ok());
  return state;
}

std::vector<StagePolicy> TwoStages(bool as_ready = false) {
  StagePolicy first;
  first.workflow = "wf";
  first.stage = "stage_1";
  first.provider = "openai";
  first.expected_requests = kIds.size();
  StagePolicy second = first;
  second.stage = "stage_2";
  second.upstream = 0;
  second.expected_requests = 0;
  second.as_ready = as_ready;
  return {first, second};
}

template <typename T>
std::vector<T> All(const Decision& decision) {
  std::vector<T> out;
  for (const Command& command : decision.commands) {
    if (const T* typed = std::get_if<T>(&command)) out.push_back(*typed);
  }
  return out;
}

struct Fixture {
  std::vector<StagePolicy> policies = TwoStages();
  SessionFacts session;
  std::int64_t now_us = 0;
  std::vector<std::uint32_t> body_bytes;  // per request index: the quota's estimates

  Decision Run(const EventSequenceBuilder& log) {
    const replay::RunState state = Fold(log);
    if (now_us == 0) now_us = log.now_unix_us();
    return Decide({state, policies, session, now_us, body_bytes});
  }
};

EventSequenceBuilder Planned() {
  EventSequenceBuilder log;
  log.RunStarted();
  std::uint64_t ordinal = 0;
  for (const std::string& id : kIds) log.RequestPlanned("wf", "stage_1", id, ordinal++);
  return log;
}

EventSequenceBuilder Ended() {
  EventSequenceBuilder log = Planned();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  return log;
}

TEST_CASE("a started run plans the first stage's requests", "[orchestrator][decide]") {
  Fixture f;
  EventSequenceBuilder log;
  log.RunStarted();
  const Decision decision = f.Run(log);
  const auto plans = All<PlanRequests>(decision);
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].policy == 0);
  CHECK(plans[0].sources.empty());
  CHECK(All<PlanBatch>(decision).empty());
  CHECK_FALSE(decision.done);
}

TEST_CASE("planned requests go into batches of at most batch_max_requests at attempt 1",
          "[orchestrator][decide]") {
  Fixture f;
  f.policies[0].batch_max_requests = 2;
  const Decision decision = f.Run(Planned());
  CHECK(All<PlanRequests>(decision).empty());
  const auto batches = All<PlanBatch>(decision);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].requests == std::vector<std::uint32_t>{0, 1});
  CHECK(batches[1].requests == std::vector<std::uint32_t>{2});
  CHECK(batches[0].attempts == std::vector<std::uint16_t>{1, 1});
}

TEST_CASE("a planned batch is submitted, reconciled first when an earlier process planned it",
          "[orchestrator][decide]") {
  EventSequenceBuilder log = Planned();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  Fixture f;
  auto submits = All<SubmitBatch>(f.Run(log));
  REQUIRE(submits.size() == 1);
  CHECK(submits[0].reconcile);
  f.session.planned_here.insert(0);
  submits = All<SubmitBatch>(f.Run(log));
  REQUIRE(submits.size() == 1);
  CHECK_FALSE(submits[0].reconcile);
}

TEST_CASE("a submitted batch is polled when its poll is due and waited for otherwise",
          "[orchestrator][decide]") {
  EventSequenceBuilder log = Planned();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1");
  Fixture f;
  CHECK(All<PollBatch>(f.Run(log)).size() == 1);
  f.session.next_poll_us[0] = log.now_unix_us() + 5'000'000;
  const Decision waiting = f.Run(log);
  CHECK(waiting.commands.empty());
  REQUIRE(waiting.wake_at_us.has_value());
  CHECK(*waiting.wake_at_us == log.now_unix_us() + 5'000'000);
}

TEST_CASE("an ended batch is ingested", "[orchestrator][decide]") {
  Fixture f;
  const auto ingests = All<IngestBatch>(f.Run(Ended()));
  REQUIRE(ingests.size() == 1);
  CHECK(ingests[0].batch == 0);
}

TEST_CASE("a retryable failure is retried while attempts remain, then abandoned as exhausted",
          "[orchestrator][decide]") {
  EventSequenceBuilder log = Ended();
  log.RequestSucceeded("b1", "a", 1);
  log.RequestFailed("b1", "b", 1, "rate_limit_exceeded", v1::ERROR_CLASS_RETRYABLE);
  log.RequestFailed("b1", "c", 1, "content_policy_violation", v1::ERROR_CLASS_PERMANENT);
  log.ResultsIngested("b1");
  Fixture f;
  f.policies[0].retry.max_retries = 1;
  Decision decision = f.Run(log);
  auto retries = All<ScheduleRetry>(decision);
  REQUIRE(retries.size() == 1);
  CHECK(retries[0].requests == std::vector<std::uint32_t>{1});  // b only: c is permanent
  CHECK(retries[0].attempt == 2);
  CHECK(All<AbandonRequests>(decision).empty());

  // Attempt 2 fails again: 1 + max_retries attempts are used up.
  log.RetryScheduled("wf", "stage_1", {"b"}, 2, log.now_unix_us());
  log.BatchPlanned("b2", "wf", "stage_1", {"b"}, 2);
  log.BatchSubmitted("b2", "batch_2");
  log.BatchEnded("b2");
  log.RequestFailed("b2", "b", 2, "rate_limit_exceeded", v1::ERROR_CLASS_RETRYABLE);
  log.ResultsIngested("b2");
  decision = f.Run(log);
  CHECK(All<ScheduleRetry>(decision).empty());
  const auto abandoned = All<AbandonRequests>(decision);
  REQUIRE(abandoned.size() == 1);
  CHECK(abandoned[0].requests == std::vector<std::uint32_t>{1});
  CHECK(abandoned[0].reason == v1::ABANDON_REASON_EXHAUSTED);
}

TEST_CASE("a scheduled retry is batched only once it is due, holding only its requests",
          "[orchestrator][decide]") {
  EventSequenceBuilder log = Ended();
  log.RequestSucceeded("b1", "a", 1);
  log.RequestFailed("b1", "b", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RequestFailed("b1", "c", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.ResultsIngested("b1");
  const std::int64_t due = log.now_unix_us() + 30'000'000;
  log.RetryScheduled("wf", "stage_1", {"b", "c"}, 2, due);
  Fixture f;
  f.now_us = due - 1;
  Decision decision = f.Run(log);
  CHECK(All<PlanBatch>(decision).empty());
  REQUIRE(decision.wake_at_us.has_value());
  CHECK(*decision.wake_at_us == due);
  f.now_us = due;
  const auto batches = All<PlanBatch>(f.Run(log));
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].requests == std::vector<std::uint32_t>{1, 2});
  CHECK(batches[0].attempts == std::vector<std::uint16_t>{2, 2});
}

TEST_CASE("a held stage submits and batches nothing until the hold ends",
          "[orchestrator][decide]") {
  EventSequenceBuilder log = Planned();
  log.BatchPlanned("b1", "wf", "stage_1", {"a"}, 1);
  Fixture f;
  f.session.hold_until_us = {log.now_unix_us() + 10'000'000, 0};
  const Decision decision = f.Run(log);
  CHECK(All<SubmitBatch>(decision).empty());
  CHECK(All<PlanBatch>(decision).empty());
  REQUIRE(decision.wake_at_us.has_value());
  CHECK(*decision.wake_at_us == log.now_unix_us() + 10'000'000);
}

EventSequenceBuilder FirstStageDoneExceptC() {
  EventSequenceBuilder log = Ended();
  log.RequestSucceeded("b1", "a", 1);
  log.RequestSucceeded("b1", "b", 1);
  log.RequestFailed("b1", "c", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.ResultsIngested("b1");
  return log;
}

TEST_CASE("stage 2 waits for stage 1 to complete, then is built from its successes only",
          "[orchestrator][decide]") {
  Fixture f;
  EventSequenceBuilder log = FirstStageDoneExceptC();
  CHECK(All<PlanRequests>(f.Run(log)).empty());

  log.RequestsAbandoned("wf", "stage_1", {"c"}, v1::ABANDON_REASON_EXHAUSTED);
  Decision decision = f.Run(log);
  REQUIRE(All<CompleteStage>(decision).size() == 1);
  CHECK(All<CompleteStage>(decision)[0].policy == 0);
  CHECK(All<CompleteRun>(decision).empty());

  log.StageCompleted("wf", "stage_1");
  decision = f.Run(log);
  const auto plans = All<PlanRequests>(decision);
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].policy == 1);
  CHECK(plans[0].sources == std::vector<std::uint32_t>{0, 1});  // a and b, not c
}

TEST_CASE("as_ready builds stage 2 from each success before stage 1 completes",
          "[orchestrator][decide]") {
  Fixture f;
  f.policies = TwoStages(/*as_ready=*/true);
  EventSequenceBuilder log = FirstStageDoneExceptC();
  auto plans = All<PlanRequests>(f.Run(log));
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].sources == std::vector<std::uint32_t>{0, 1});

  log.RequestPlanned("wf", "stage_2", "a", 0);
  plans = All<PlanRequests>(f.Run(log));
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].sources == std::vector<std::uint32_t>{1});  // only b is still missing
}

TEST_CASE("the run completes when every stage has, and a final run is done",
          "[orchestrator][decide]") {
  Fixture f;
  EventSequenceBuilder log = FirstStageDoneExceptC();
  log.RequestsAbandoned("wf", "stage_1", {"c"}, v1::ABANDON_REASON_EXHAUSTED);
  log.StageCompleted("wf", "stage_1");
  log.RequestPlanned("wf", "stage_2", "a", 0);
  log.RequestPlanned("wf", "stage_2", "b", 1);
  log.BatchPlanned("s2b1", "wf", "stage_2", {"a", "b"}, 1);
  log.BatchSubmitted("s2b1", "batch_9");
  log.BatchEnded("s2b1");
  log.RequestSucceeded("s2b1", "a", 1);
  log.RequestSucceeded("s2b1", "b", 1);
  CHECK(All<CompleteStage>(f.Run(log)).empty());  // results not ingested yet
  log.ResultsIngested("s2b1");
  Decision decision = f.Run(log);
  REQUIRE(All<CompleteStage>(decision).size() == 1);
  CHECK(All<CompleteStage>(decision)[0].policy == 1);
  log.StageCompleted("wf", "stage_2");
  decision = f.Run(log);
  CHECK(All<CompleteRun>(decision).size() == 1);
  log.RunCompleted();
  decision = f.Run(log);
  CHECK(decision.done);
  CHECK(decision.commands.empty());
}

TEST_CASE("an empty first stage completes at once", "[orchestrator][decide]") {
  Fixture f;
  f.policies[0].expected_requests = 0;
  EventSequenceBuilder log;
  log.RunStarted();
  const Decision decision = f.Run(log);
  CHECK(All<PlanRequests>(decision).empty());
  REQUIRE(All<CompleteStage>(decision).size() == 1);
}

// --- the enqueued-token quota -------------------------------------------------------------

// Three planned requests of 40 estimated tokens each (160-byte bodies).
Fixture QuotaFixture(std::uint64_t quota) {
  Fixture f;
  f.policies[0].model = "gpt-4o-mini";
  f.policies[0].quota_tokens = quota;
  f.body_bytes = {160, 160, 160};
  return f;
}

void AppendQuotaWarning(EventSequenceBuilder& log, bool holding) {
  v1::QuotaWarning* warning = log.Append().mutable_quota_warning();
  warning->set_provider("openai");
  warning->set_model("gpt-4o-mini");
  warning->set_enqueued_tokens(80);
  warning->set_quota_tokens(100);
  warning->set_holding(holding);
}

TEST_CASE("with nothing enqueued a batch is cut to the quota and the rest is held",
          "[orchestrator][decide][quota]") {
  Fixture f = QuotaFixture(100);
  const Decision decision = f.Run(Planned());
  const auto batches = All<PlanBatch>(decision);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].requests == std::vector<std::uint32_t>{0, 1});
  const auto warnings = All<WarnQuota>(decision);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].holding);
  CHECK(warnings[0].enqueued_tokens == 80);
  CHECK(warnings[0].quota_tokens == 100);
}

TEST_CASE("a request over the quota on its own still goes when nothing is enqueued",
          "[orchestrator][decide][quota]") {
  Fixture f = QuotaFixture(10);
  const auto batches = All<PlanBatch>(f.Run(Planned()));
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].requests == std::vector<std::uint32_t>{0});
}

TEST_CASE("a batch that would exceed the quota waits for enqueued batches to end",
          "[orchestrator][decide][quota]") {
  Fixture f = QuotaFixture(100);
  EventSequenceBuilder log = Planned();
  log.BatchPlanned("b1", "wf", "stage_1", {"a", "b"}, 1);
  log.BatchSubmitted("b1", "batch_1");

  SECTION("the hold starts: one warning that says so, no new batch") {
    const Decision decision = f.Run(log);
    CHECK(All<PlanBatch>(decision).empty());
    const auto warnings = All<WarnQuota>(decision);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].holding);
    CHECK(warnings[0].enqueued_tokens == 80);
    // It still polls what is enqueued: that is how the hold ends.
    CHECK(All<PollBatch>(decision).size() == 1);
  }
  SECTION("while the log says it holds, nothing is repeated") {
    AppendQuotaWarning(log, true);
    const Decision decision = f.Run(log);
    CHECK(All<PlanBatch>(decision).empty());
    CHECK(All<WarnQuota>(decision).empty());
  }
  SECTION("the enqueued batch ends: the held request goes and the hold's end is recorded") {
    AppendQuotaWarning(log, true);
    log.BatchEnded("b1");
    const Decision decision = f.Run(log);
    const auto batches = All<PlanBatch>(decision);
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].requests == std::vector<std::uint32_t>{2});
    const auto warnings = All<WarnQuota>(decision);
    REQUIRE(warnings.size() == 1);
    CHECK_FALSE(warnings[0].holding);
  }
  SECTION("a stage held for another reason keeps the quota hold: no release, no new hold") {
    AppendQuotaWarning(log, true);
    log.BatchEnded("b1");
    f.session.hold_until_us = {log.now_unix_us() + 60'000'000, 0};
    const Decision decision = f.Run(log);
    CHECK(All<PlanBatch>(decision).empty());
    CHECK(All<WarnQuota>(decision).empty());
    // Once that hold is over, the held request goes and the quota hold's end is recorded.
    f.session.hold_until_us = {0, 0};
    const Decision later = f.Run(log);
    CHECK(All<PlanBatch>(later).size() == 1);
    const auto warnings = All<WarnQuota>(later);
    REQUIRE(warnings.size() == 1);
    CHECK_FALSE(warnings[0].holding);
  }
  SECTION("a planned batch not yet submitted counts too") {
    EventSequenceBuilder planned_only = Planned();
    planned_only.BatchPlanned("b1", "wf", "stage_1", {"a", "b"}, 1);
    CHECK(All<PlanBatch>(f.Run(planned_only)).empty());
  }
}

TEST_CASE("a quota hold whose held requests wait for a retry that is not due stands",
          "[orchestrator][decide][quota]") {
  Fixture f = QuotaFixture(100);
  EventSequenceBuilder log = Ended();
  log.RequestSucceeded("b1", "a", 1);
  log.RequestFailed("b1", "b", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RequestSucceeded("b1", "c", 1);
  log.ResultsIngested("b1");
  AppendQuotaWarning(log, true);
  const std::int64_t due = log.now_unix_us() + 30'000'000;
  log.RetryScheduled("wf", "stage_1", {"b"}, 2, due);
  f.now_us = due - 1;
  const Decision waiting = f.Run(log);
  CHECK(All<PlanBatch>(waiting).empty());
  CHECK(All<WarnQuota>(waiting).empty());
  f.now_us = due;
  const Decision retried = f.Run(log);
  CHECK(All<PlanBatch>(retried).size() == 1);
  const auto warnings = All<WarnQuota>(retried);
  REQUIRE(warnings.size() == 1);
  CHECK_FALSE(warnings[0].holding);
}

TEST_CASE("the warning fraction is recorded once, without holding",
          "[orchestrator][decide][quota]") {
  Fixture f = QuotaFixture(140);  // 120 of 140 tokens: over 80 %, under the quota
  EventSequenceBuilder log = Planned();
  SECTION("the first time") {
    const Decision decision = f.Run(log);
    CHECK(All<PlanBatch>(decision).size() == 1);
    const auto warnings = All<WarnQuota>(decision);
    REQUIRE(warnings.size() == 1);
    CHECK_FALSE(warnings[0].holding);
    CHECK(warnings[0].enqueued_tokens == 120);
  }
  SECTION("not again once the log has one") {
    AppendQuotaWarning(log, false);
    const Decision decision = f.Run(log);
    CHECK(All<PlanBatch>(decision).size() == 1);
    CHECK(All<WarnQuota>(decision).empty());
  }
  SECTION("not under the fraction") {
    f.policies[0].quota_tokens = 1000;
    CHECK(All<WarnQuota>(f.Run(log)).empty());
  }
}

TEST_CASE("without a quota nothing is counted or held", "[orchestrator][decide][quota]") {
  Fixture f = QuotaFixture(100);
  f.policies[0].quota_tokens.reset();
  const Decision decision = f.Run(Planned());
  const auto batches = All<PlanBatch>(decision);
  REQUIRE(batches.size() == 1);
  CHECK(batches[0].requests.size() == 3);
  CHECK(All<WarnQuota>(decision).empty());
}

}  // namespace
}  // namespace batchlog::orchestrator
