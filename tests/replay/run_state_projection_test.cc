// Unit tests of the run-state projection, one scenario per event type, with hand-built
// events (tests/support/event_sequence_generator.h).
#include "replay/run_state_projection.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "replay/replayer.h"
#include "replay/snapshot_codec.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using Catch::Matchers::Contains;
using testing::EventSequenceBuilder;

const std::vector<std::string> kIds = {"a", "b", "c"};

base::Status FoldAll(RunState& state, const std::vector<v1::Event>& events) {
  for (const v1::Event& event : events) BATCHLOG_RETURN_IF_ERROR(Apply(state, event));
  return base::Status::Ok();
}

// RunStarted; requests a, b, c planned in wf/stage_1.
EventSequenceBuilder PlannedRun() {
  EventSequenceBuilder log;
  log.RunStarted();
  std::uint64_t ordinal = 0;
  for (const std::string& id : kIds) log.RequestPlanned("wf", "stage_1", id, ordinal++);
  return log;
}

// ... and batch b1 holding all three at attempt 1, submitted and ended.
EventSequenceBuilder EndedBatchRun() {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  return log;
}

RunState FoldedRunState(const std::vector<v1::Event>& events) {
  RunState state;
  REQUIRE(FoldAll(state, events).ok());
  return state;
}

// Applies `event` to a state folded from `before` and checks it is DataLoss naming the
// event's seq and that the state did not change.
void RequireImpossible(const std::vector<v1::Event>& before, const v1::Event& event,
                       const std::string& words) {
  RunState state = FoldedRunState(before);
  const RunState unchanged = state;
  const base::Status status = Apply(state, event);
  CAPTURE(status.ToString());
  REQUIRE(status.code() == base::StatusCode::kDataLoss);
  CHECK_THAT(status.message(), Contains("seq " + std::to_string(event.seq()) + ":"));
  CHECK_THAT(status.message(), Contains(words));
  CHECK(state == unchanged);
}

RequestStatus StatusOf(const RunState& state, std::string_view custom_id) {
  const std::uint32_t stage = state.FindStage("wf", "stage_1");
  REQUIRE(stage != kNoIndex);
  const std::uint32_t request = state.FindRequest(stage, custom_id);
  REQUIRE(request != kNoIndex);
  return state.lifecycle.requests.status[request];
}

TEST_CASE("RunStarted starts the run and records its metadata", "[replay][run_state]") {
  EventSequenceBuilder log("run-7");
  log.RunStarted();
  const RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.run_status == RunStatus::kRunning);
  CHECK(state.lifecycle.run_id == "run-7");
  CHECK(state.run_name == "generated");
  CHECK(state.random_seed == 7);
  CHECK(state.counters.events == 1);
}

TEST_CASE("an event before RunStarted is DataLoss at its seq", "[replay][run_state]") {
  EventSequenceBuilder log;
  log.RequestPlanned("wf", "stage_1", "a");
  RequireImpossible({}, log.events()[0], "first event is not RunStarted");
}

TEST_CASE("a second RunStarted is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.RunStarted();
  RequireImpossible({log.events()[0]}, log.events()[1], "already started");
}

TEST_CASE("an event of another run is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  v1::Event& stranger = log.RequestPlanned("wf", "stage_1", "d");
  stranger.set_run_id("other-run");
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "other-run");
}

TEST_CASE("RequestPlanned interns the custom_id in its stage with its ordinal",
          "[replay][run_state]") {
  const RunState state = FoldedRunState(PlannedRun().events());
  const std::uint32_t stage = state.FindStage("wf", "stage_1");
  REQUIRE(stage != kNoIndex);
  const std::uint32_t b = state.FindRequest(stage, "b");
  REQUIRE(b == 1);
  CHECK(state.request_ordinal[b] == 1);
  CHECK(state.lifecycle.requests.status[b] == RequestStatus::kPlanned);
  CHECK(state.lifecycle.requests.attempt[b] == 0);
  CHECK(state.lifecycle.stage_records[stage].requests == 3);
  CHECK(state.counters.requests_planned == 3);
}

TEST_CASE("the same custom_id in two stages is two requests", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.RequestPlanned("wf", "stage_2", "a");
  log.RequestPlanned("other-wf", "stage_1", "a");
  const RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.requests.size() == 5);
  CHECK(state.FindRequest(state.FindStage("wf", "stage_2"), "a") == 3);
  CHECK(state.FindRequest(state.FindStage("other-wf", "stage_1"), "a") == 4);
}

TEST_CASE("a custom_id planned twice in a stage is DataLoss naming its seq",
          "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.RequestPlanned("wf", "stage_1", "b");  // seq 5
  const auto check = [](const base::Status& status) {
    CAPTURE(status.ToString());
    CHECK(status.code() == base::StatusCode::kDataLoss);
    CHECK_THAT(status.message(), Contains("seq 5:") && Contains("\"b\", already planned"));
  };
  SECTION("found by the next request lookup") {
    log.BatchPlanned("b1", "wf", "stage_1", {"a"}, 1);
    RunState state;
    const std::vector<v1::Event>& events = log.events();
    for (std::size_t i = 0; i + 1 < events.size(); ++i) REQUIRE(Apply(state, events[i]).ok());
    check(Apply(state, events.back()));
  }
  SECTION("found when a fold ends") {
    Projections projections;
    Replayer replayer(projections);
    VectorEventSource source(log.events());
    check(replayer.Fold(source));
  }
  SECTION("found within a window of planned requests") {
    for (std::size_t i = 0; i < kPlannedCheckWindow; ++i) {
      log.RequestPlanned("wf", "stage_1", "more-" + std::to_string(i));
    }
    RunState state;
    base::Status status;
    for (const v1::Event& event : log.events()) {
      status = Apply(state, event);
      if (!status.ok()) break;
    }
    check(status);
  }
}

TEST_CASE("BatchPlanned puts its requests in flight at their attempt", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  v1::Event& planned = log.BatchPlanned("b1", "wf", "stage_1", {"a", "c"}, 1);
  planned.mutable_batch_planned()->set_provider("anthropic");
  const RunState state = FoldedRunState(log.events());
  const std::uint32_t batch = state.FindBatch("b1");
  REQUIRE(batch == 0);
  const BatchRecord& record = state.lifecycle.batches.records[batch];
  CHECK(record.phase == BatchPhase::kPlanned);
  CHECK(record.planned_seq == log.last_seq());
  CHECK(record.member_count == 2);
  CHECK(state.lifecycle.providers.id(record.provider) == "anthropic");
  CHECK(StatusOf(state, "a") == RequestStatus::kInFlight);
  CHECK(StatusOf(state, "b") == RequestStatus::kPlanned);
  CHECK(state.lifecycle.requests.attempt[0] == 1);
  CHECK(state.lifecycle.requests.last_batch[0] == batch);
  CHECK(state.lifecycle.stage_records[0].max_attempt == 1);
}

TEST_CASE("an impossible BatchPlanned is DataLoss and changes nothing", "[replay][run_state]") {
  struct Case {
    const char* name;
    const char* batch_key;
    const char* stage;
    std::vector<std::string> ids;
    std::vector<std::uint32_t> attempts;
    const char* words;
  };
  const Case c =
      GENERATE(Case{"unknown stage", "b2", "stage_9", {"a"}, {1}, "unknown stage"},
               Case{"unknown custom_id", "b2", "stage_1", {"a", "zz"}, {1, 1}, "unknown custom_id"},
               Case{"listed twice", "b2", "stage_1", {"a", "b", "a"}, {1, 1, 1}, "twice"},
               Case{"attempt count mismatch", "b2", "stage_1", {"a", "b"}, {1}, "attempts"},
               Case{"attempt zero", "b2", "stage_1", {"b"}, {0}, "attempt 0"},
               Case{"no requests", "b2", "stage_1", {}, {}, "no requests"},
               Case{"batch_key reused", "b1", "stage_1", {"b"}, {1}, "already planned"},
               Case{"request already in flight", "b2", "stage_1", {"b", "a"}, {1, 1}, "in_flight"});
  CAPTURE(c.name);
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", {"a"}, 1);
  v1::Event& event = log.Append();
  v1::BatchPlanned* planned = event.mutable_batch_planned();
  planned->set_batch_key(c.batch_key);
  planned->set_workflow("wf");
  planned->set_stage(c.stage);
  for (const std::string& id : c.ids) planned->add_custom_ids(id);
  for (const std::uint32_t attempt : c.attempts) planned->add_attempts(attempt);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, c.words);
}

TEST_CASE("an attempt going backwards is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestFailed("b1", "a", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.ResultsIngested("b1");
  log.RetryScheduled("wf", "stage_1", {"a"}, 2, 0);
  log.BatchPlanned("b2", "wf", "stage_1", {"a"}, 2);
  log.BatchSubmitted("b2", "batch_2");
  log.BatchEnded("b2");
  log.RequestFailed("b2", "a", 2, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RetryScheduled("wf", "stage_1", {"a"}, 3, 0);
  log.BatchPlanned("b3", "wf", "stage_1", {"a"}, 1);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "back from attempt 2 to 1");

  EventSequenceBuilder again = EndedBatchRun();
  again.RequestFailed("b1", "a", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  again.RetryScheduled("wf", "stage_1", {"a"}, 1, 0);
  std::vector<v1::Event> retry = again.Take();
  const v1::Event backwards = retry.back();
  retry.pop_back();
  RequireImpossible(retry, backwards, "back from attempt 1 to 1");
}

TEST_CASE("FileUploaded records the file of a planned batch", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  v1::FileUploaded* uploaded = log.Append().mutable_file_uploaded();
  uploaded->set_batch_key("b1");
  uploaded->set_planned_seq(log.last_seq() - 1);
  uploaded->set_file_id("file-1");
  const RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.batches.records[0].file_id == "file-1");
  CHECK(state.counters.files_uploaded == 1);
}

TEST_CASE("BatchSubmitted records the provider batch id and closes the submit intent",
          "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  CHECK(FoldedRunState(log.events()).OpenIntents() ==
        std::vector<OpenIntent>{{OpenIntent::Kind::kAwaitingSubmit, 0}});
  log.BatchSubmitted("b1", "batch_abc").mutable_batch_submitted()->set_adopted(true);
  const RunState state = FoldedRunState(log.events());
  const BatchRecord& record = state.lifecycle.batches.records[0];
  CHECK(record.phase == BatchPhase::kSubmitted);
  CHECK(record.provider_batch_id == "batch_abc");
  CHECK(record.adopted);
  CHECK(state.counters.batches_adopted == 1);
  CHECK(state.OpenIntents() == std::vector<OpenIntent>{{OpenIntent::Kind::kAwaitingEnd, 0}});
}

TEST_CASE("a BatchSubmitted for an unplanned batch_key is DataLoss naming the seq",
          "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchSubmitted("never-planned", "batch_x");
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "unplanned batch_key \"never-planned\"");
}

TEST_CASE("an outcome naming another planned_seq is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1").mutable_batch_submitted()->set_planned_seq(2);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "planned at seq 5");
}

TEST_CASE("a batch event in the wrong phase is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  SECTION("a poll before the batch was submitted") {
    v1::BatchPolled* polled = log.Append().mutable_batch_polled();
    polled->set_batch_key("b1");
    polled->set_status(v1::BATCH_STATUS_IN_PROGRESS);
  }
  SECTION("an end before the batch was submitted") { log.BatchEnded("b1"); }
  SECTION("ingestion before the batch ended") {
    log.BatchSubmitted("b1", "batch_1");
    log.ResultsIngested("b1");
  }
  SECTION("a second submission") {
    log.BatchSubmitted("b1", "batch_1");
    log.BatchSubmitted("b1", "batch_1");
  }
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "in phase");
}

TEST_CASE("SubmitRejected closes the batch and returns its requests to planned",
          "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  v1::SubmitRejected* rejected = log.Append().mutable_submit_rejected();
  rejected->set_batch_key("b1");
  rejected->set_http_status(400);
  RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.batches.records[0].phase == BatchPhase::kRejected);
  CHECK(StatusOf(state, "a") == RequestStatus::kPlanned);
  CHECK(state.OpenIntents().empty());
  CHECK(state.counters.submits_rejected == 1);
  // The provider never saw them: they may go again at the same attempt, in a new batch.
  log.BatchPlanned("b2", "wf", "stage_1", kIds, 1);
  state = FoldedRunState(log.events());
  CHECK(StatusOf(state, "a") == RequestStatus::kInFlight);
  CHECK(state.lifecycle.requests.last_batch[0] == 1);
}

TEST_CASE("BatchPolled records the last known status", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1");
  v1::BatchPolled* polled = log.Append().mutable_batch_polled();
  polled->set_batch_key("b1");
  polled->set_status(v1::BATCH_STATUS_FINALIZING);
  const RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.batches.records[0].status == v1::BATCH_STATUS_FINALIZING);
  CHECK(state.counters.polls == 1);
}

TEST_CASE("BatchEnded needs a terminal status", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1");
  SECTION("a terminal status ends the batch and opens the ingest intent") {
    log.BatchEnded("b1", v1::BATCH_STATUS_EXPIRED);
    const RunState state = FoldedRunState(log.events());
    CHECK(state.lifecycle.batches.records[0].phase == BatchPhase::kEnded);
    CHECK(state.lifecycle.batches.records[0].status == v1::BATCH_STATUS_EXPIRED);
    CHECK(state.counters.batches_ended_unsuccessfully == 1);
    CHECK(state.OpenIntents() == std::vector<OpenIntent>{{OpenIntent::Kind::kAwaitingIngest, 0}});
  }
  SECTION("a running status is DataLoss") {
    log.BatchEnded("b1", v1::BATCH_STATUS_IN_PROGRESS);
    std::vector<v1::Event> events = log.Take();
    const v1::Event last = events.back();
    events.pop_back();
    RequireImpossible(events, last, "non-terminal");
  }
}

TEST_CASE("RequestSucceeded settles the request", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestSucceeded("b1", "b", 1, 10, 5);
  const RunState state = FoldedRunState(log.events());
  CHECK(StatusOf(state, "b") == RequestStatus::kSucceeded);
  CHECK(state.lifecycle.batches.records[0].results == 1);
  CHECK(state.counters.results_succeeded == 1);
  CHECK(state.lifecycle.stage_records[0].by_status[2] == 1);
}

TEST_CASE("an impossible result is DataLoss naming its seq", "[replay][run_state]") {
  struct Case {
    const char* name;
    const char* batch_key;
    const char* custom_id;
    std::uint32_t attempt;
    const char* words;
  };
  const Case c = GENERATE(Case{"unknown batch", "b9", "a", 1, "unplanned batch_key"},
                          Case{"unknown custom_id", "b1", "zz", 1, "unknown custom_id"},
                          Case{"wrong attempt", "b1", "a", 2, "at attempt 2"});
  CAPTURE(c.name);
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestSucceeded(c.batch_key, c.custom_id, c.attempt);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, c.words);
}

TEST_CASE("a result for a request that is not in the batch is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", {"a"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  log.RequestSucceeded("b1", "b", 1);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "not in batch");
}

TEST_CASE("a re-ingested result is ignored and a contradicting one is DataLoss",
          "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestSucceeded("b1", "a", 1, 10, 5);
  log.RequestSucceeded("b1", "a", 1, 10, 5);
  const RunState state = FoldedRunState(log.events());
  CHECK(state.counters.results_succeeded == 1);
  CHECK(state.counters.results_duplicate == 1);
  CHECK(state.lifecycle.batches.records[0].results == 1);
  log.RequestFailed("b1", "a", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "contradicts");
}

TEST_CASE("a permanent failure is final and a retryable one waits for a decision",
          "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestFailed("b1", "a", 1, "content_policy_violation", v1::ERROR_CLASS_PERMANENT);
  log.RequestFailed("b1", "b", 1, "rate_limit_exceeded", v1::ERROR_CLASS_RETRYABLE);
  const RunState state = FoldedRunState(log.events());
  CHECK(StatusOf(state, "a") == RequestStatus::kFailedFinal);
  CHECK(StatusOf(state, "b") == RequestStatus::kFailedRetryableWaiting);
  const RequestTable& requests = state.lifecycle.requests;
  CHECK(state.lifecycle.error_codes.id(requests.last_error[0]) == "content_policy_violation");
  CHECK(requests.abandon_reason(0) == v1::ABANDON_REASON_PERMANENT);
  CHECK(state.lifecycle.error_codes.id(requests.last_error[1]) == "rate_limit_exceeded");
  CHECK(state.counters.results_failed == 2);
}

TEST_CASE("ResultsIngested returns unprocessed requests to planned at the same attempt",
          "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.BatchPlanned("b1", "wf", "stage_1", kIds, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1", v1::BATCH_STATUS_FAILED);
  log.RequestSucceeded("b1", "c", 1);
  log.ResultsIngested("b1");
  RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.batches.records[0].phase == BatchPhase::kIngested);
  CHECK(StatusOf(state, "a") == RequestStatus::kPlanned);
  CHECK(StatusOf(state, "c") == RequestStatus::kSucceeded);
  CHECK(state.lifecycle.requests.attempt[0] == 1);
  CHECK(state.OpenIntents().empty());
  log.BatchPlanned("b2", "wf", "stage_1", {"a", "b"}, 1);
  state = FoldedRunState(log.events());
  CHECK(StatusOf(state, "b") == RequestStatus::kInFlight);
}

TEST_CASE("results after ingestion are DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.ResultsIngested("b1");
  log.RequestSucceeded("b1", "a", 1);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "in phase ingested");
}

TEST_CASE("RetryScheduled groups requests until their retry is planned", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestFailed("b1", "a", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RequestFailed("b1", "b", 1, "timeout", v1::ERROR_CLASS_RETRYABLE);
  log.RequestSucceeded("b1", "c", 1);
  log.ResultsIngested("b1");
  log.RetryScheduled("wf", "stage_1", {"a"}, 2, 5'000);
  log.RetryScheduled("wf", "stage_1", {"b"}, 2, 9'000);
  RunState state = FoldedRunState(log.events());
  CHECK(StatusOf(state, "a") == RequestStatus::kRetryScheduled);
  CHECK(state.NextRetryDueUnixUs() == 5'000);
  CHECK(state.RetriesDue(4'999).empty());
  CHECK(state.RetriesDue(5'000) == std::vector<std::uint32_t>{0});
  CHECK(state.RetriesDue(9'000) == std::vector<std::uint32_t>{0, 1});
  CHECK(state.counters.retries_scheduled == 2);
  CHECK_FALSE(state.StageSettled(0));

  log.BatchPlanned("b2", "wf", "stage_1", {"a"}, 2);
  state = FoldedRunState(log.events());
  CHECK(state.retry_groups[0].pending == 0);
  CHECK(state.request_retry_group[0] == kNoIndex);
  CHECK(state.NextRetryDueUnixUs() == 9'000);
  CHECK(state.RetriesDue(10'000) == std::vector<std::uint32_t>{1});
  CHECK(state.lifecycle.stage_records[0].max_attempt == 2);
}

TEST_CASE("rescheduling moves a request to its new retry group", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestFailed("b1", "a", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RetryScheduled("wf", "stage_1", {"a"}, 2, 5'000);
  log.RetryScheduled("wf", "stage_1", {"a"}, 3, 7'000);
  const RunState state = FoldedRunState(log.events());
  CHECK(state.retry_groups[0].pending == 0);
  CHECK(state.retry_groups[1].pending == 1);
  CHECK(state.NextRetryDueUnixUs() == 7'000);
  CHECK(state.RetriesDue(6'000).empty());
}

TEST_CASE("an impossible RetryScheduled is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestSucceeded("b1", "a", 1);
  SECTION("for a succeeded request") { log.RetryScheduled("wf", "stage_1", {"a"}, 2, 0); }
  SECTION("for a request in flight") { log.RetryScheduled("wf", "stage_1", {"b"}, 2, 0); }
  SECTION("for an unknown request") { log.RetryScheduled("wf", "stage_1", {"zz"}, 2, 0); }
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "RetryScheduled");
}

TEST_CASE("RequestsAbandoned makes requests final with their reason", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestFailed("b1", "a", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);
  log.RetryScheduled("wf", "stage_1", {"a"}, 2, 0);
  log.RequestsAbandoned("wf", "stage_1", {"a"}, v1::ABANDON_REASON_CANCELLED);
  const RunState state = FoldedRunState(log.events());
  CHECK(StatusOf(state, "a") == RequestStatus::kFailedFinal);
  CHECK(state.lifecycle.requests.abandon_reason(0) == v1::ABANDON_REASON_CANCELLED);
  CHECK(state.retry_groups[0].pending == 0);
  CHECK_FALSE(state.NextRetryDueUnixUs().has_value());
  CHECK(state.counters.requests_abandoned == 1);
}

TEST_CASE("abandoning a succeeded request is DataLoss", "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestSucceeded("b1", "a", 1);
  log.RequestsAbandoned("wf", "stage_1", {"b", "a"}, v1::ABANDON_REASON_CANCELLED);
  std::vector<v1::Event> events = log.Take();
  const v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "which succeeded");
}

TEST_CASE("QuotaWarning is counted and says whether batches are held", "[replay][run_state]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.Append().mutable_quota_warning()->set_holding(true);
  const RunState state = FoldedRunState(log.events());
  CHECK(state.counters.quota_warnings == 1);
  CHECK(state.quota_holding);
}

TEST_CASE("StageCompleted marks the stage, creating it when it had no requests",
          "[replay][run_state]") {
  EventSequenceBuilder log = PlannedRun();
  log.StageCompleted("wf", "stage_1");
  log.StageCompleted("wf", "stage_2");
  const RunState state = FoldedRunState(log.events());
  CHECK(state.lifecycle.stage_records[state.FindStage("wf", "stage_1")].completed);
  const std::uint32_t empty = state.FindStage("wf", "stage_2");
  REQUIRE(empty != kNoIndex);
  CHECK(state.lifecycle.stage_records[empty].completed);
  CHECK(state.lifecycle.stage_records[empty].requests == 0);
  CHECK(state.StageSettled(empty));
}

TEST_CASE("run end events set the run status", "[replay][run_state]") {
  EventSequenceBuilder log;
  log.RunStarted();
  SECTION("completed") {
    log.RunCompleted();
    CHECK(FoldedRunState(log.events()).lifecycle.run_status == RunStatus::kCompleted);
  }
  SECTION("failed") {
    v1::RunFailed* failed = log.Append().mutable_run_failed();
    failed->set_reason("quota");
    failed->set_code("insufficient_quota");
    const RunState state = FoldedRunState(log.events());
    CHECK(state.lifecycle.run_status == RunStatus::kFailed);
    CHECK(state.end_reason == "quota");
    CHECK(state.end_code == "insufficient_quota");
  }
  SECTION("cancelled") {
    log.Append().mutable_run_cancelled()->set_resumable(true);
    const RunState state = FoldedRunState(log.events());
    CHECK(state.lifecycle.run_status == RunStatus::kCancelled);
    CHECK(state.resumable);
  }
}

TEST_CASE("an event without a known payload is DataLoss unless it may be ignored",
          "[replay][run_state]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.Append();
  std::vector<v1::Event> events = log.Take();
  v1::Event last = events.back();
  events.pop_back();
  RequireImpossible(events, last, "payload");
  last.set_reader_may_ignore(true);
  RunState state = FoldedRunState(events);
  CHECK(Apply(state, last).ok());
  CHECK(state.counters.events == 2);
}

TEST_CASE("RequestsOfStage lists a stage's requests by status in planning order",
          "[replay][run_state]") {
  EventSequenceBuilder log = EndedBatchRun();
  log.RequestSucceeded("b1", "c", 1);
  log.RequestSucceeded("b1", "a", 1);
  const RunState state = FoldedRunState(log.events());
  CHECK(state.RequestsOfStage(0, RequestStatus::kSucceeded) == std::vector<std::uint32_t>{0, 2});
  CHECK(state.RequestsOfStage(0, RequestStatus::kInFlight) == std::vector<std::uint32_t>{1});
}

TEST_CASE("memory per tracked request stays within 64 bytes", "[replay][run_state]") {
  testing::GeneratorOptions options;
  options.workflows = 2;
  options.requests_per_workflow = 20'000;
  options.max_batch_size = 1'000;
  Projections projections;
  Replayer replayer(projections);
  const std::vector<v1::Event> events = testing::GenerateRun(options, 3);
  VectorEventSource source(events);
  REQUIRE(replayer.Fold(source).ok());
  const RunState& live = projections.run_state;
  const double requests = live.lifecycle.requests.size();
  REQUIRE(requests > 40'000);
  // Live, vectors carry growth slack (capacity is counted; the ids' characters are not).
  CHECK(static_cast<double>(live.RequestBytes()) / requests <= 96);
  // Decoded from a snapshot, every array is exactly sized: the design target holds.
  const base::Result<Projections> decoded = DecodeSnapshot(EncodeSnapshot(projections));
  REQUIRE(decoded.ok());
  const double bytes_per_request =
      static_cast<double>(decoded->run_state.RequestBytes()) / requests;
  CAPTURE(bytes_per_request);
  CHECK(bytes_per_request <= 64);
  // Every projection together: the manifest and the stage inputs follow the run state's
  // lifecycle instead of keeping their own, and add only their per-request arrays (a model
  // index; the RequestPlanned and latest result seqs and the body size).
  const std::size_t follower_bytes =
      decoded->manifest.request_model.capacity() * sizeof(std::uint16_t) +
      decoded->stage_inputs.planned_seq.capacity() * sizeof(std::uint64_t) +
      decoded->stage_inputs.result_seq.capacity() * sizeof(std::uint64_t) +
      decoded->stage_inputs.body_bytes.capacity() * sizeof(std::uint32_t);
  const double all_bytes_per_request =
      static_cast<double>(decoded->run_state.RequestBytes() + follower_bytes) / requests;
  CAPTURE(all_bytes_per_request);
  CHECK(all_bytes_per_request <= 80);  // 72 here; a second lifecycle would add about 38
}

}  // namespace
}  // namespace batchlog::replay
