// Unit tests of the manifest projection: the JSON shape of design.md "The manifest", the
// per-stage counts, and the acceptance example of the retry issue.
#include "replay/manifest_projection.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "replay/replayer.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using Catch::Matchers::Contains;
using Json = nlohmann::json;
using testing::EventSequenceBuilder;

// The manifest follows the run state: both are folded, as the Replayer does.
Projections FoldedManifest(const std::vector<v1::Event>& events) {
  Projections projections;
  Replayer replayer(projections);
  for (const v1::Event& event : events) {
    const base::Status status = replayer.Apply(event);
    INFO("seq " << event.seq() << ": " << status.ToString());
    REQUIRE(status.ok());
  }
  return projections;
}

Json Manifest(const std::vector<v1::Event>& events) {
  return Json::parse(RenderManifestJson(FoldedManifest(events)));
}

std::string SampleId(int i) {
  char id[64];
  std::snprintf(id, sizeof(id), "sample_%03d_original_e0_3f2a9c", i);
  return id;
}

// One batch: plan, submit, end; the caller adds results and ingestion.
void SubmittedBatch(EventSequenceBuilder& log, const std::string& key,
                    const std::vector<std::string>& ids, std::uint32_t attempt,
                    const std::string& workflow = "math-paraphrase") {
  log.BatchPlanned(key, workflow, "stage_1", ids, attempt);
  log.BatchSubmitted(key, "provider_" + key);
  log.BatchEnded(key);
}

TEST_CASE("the manifest of the retry acceptance example", "[replay][manifest]") {
  // 100 requests; 10 fail transiently on attempt 1, 3 of those again on attempt 2, 1 of
  // those again on attempt 3, and it is abandoned as exhausted (max_retries 2).
  EventSequenceBuilder log("run-acceptance");
  log.RunStarted();
  std::vector<std::string> all;
  for (int i = 0; i < 100; ++i) {
    all.push_back(SampleId(i));
    log.RequestPlanned("math-paraphrase", "stage_1", all.back(), static_cast<std::uint64_t>(i));
  }
  const std::vector<std::string> failed_once(all.begin(), all.begin() + 10);
  const std::vector<std::string> failed_twice = {SampleId(3), SampleId(4), SampleId(5)};
  const std::string exhausted = SampleId(5);

  SubmittedBatch(log, "b1", all, 1);
  for (int i = 0; i < 100; ++i) {
    if (i < 10) {
      log.RequestFailed("b1", all[i], 1, "rate_limit_exceeded", v1::ERROR_CLASS_RETRYABLE);
    } else {
      log.RequestSucceeded("b1", all[i], 1, 100, 10);
    }
  }
  log.ResultsIngested("b1");
  log.RetryScheduled("math-paraphrase", "stage_1", failed_once, 2, 0);

  SubmittedBatch(log, "b2", failed_once, 2);
  for (const std::string& id : failed_once) {
    if (std::find(failed_twice.begin(), failed_twice.end(), id) != failed_twice.end()) {
      log.RequestFailed("b2", id, 2, "server_error", v1::ERROR_CLASS_RETRYABLE);
    } else {
      log.RequestSucceeded("b2", id, 2, 100, 10);
    }
  }
  log.ResultsIngested("b2");
  log.RetryScheduled("math-paraphrase", "stage_1", failed_twice, 3, 0);

  SubmittedBatch(log, "b3", failed_twice, 3);
  for (const std::string& id : failed_twice) {
    if (id == exhausted) {
      log.RequestFailed("b3", id, 3, "overloaded_error", v1::ERROR_CLASS_RETRYABLE);
    } else {
      log.RequestSucceeded("b3", id, 3, 100, 10);
    }
  }
  log.ResultsIngested("b3");
  log.RequestsAbandoned("math-paraphrase", "stage_1", {exhausted}, v1::ABANDON_REASON_EXHAUSTED);
  log.StageCompleted("math-paraphrase", "stage_1");
  log.RunCompleted();

  const Json manifest = Manifest(log.events());
  CHECK(manifest["run_id"] == "run-acceptance");
  CHECK(manifest["generated_at_seq"] == log.last_seq());
  CHECK(manifest["status"] == "completed");
  const Json& stage = manifest["workflows"]["math-paraphrase"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["total_requests"] == 100);
  CHECK(stage["succeeded"] == 99);
  CHECK(stage["final_failed_ids"] == Json::array({exhausted}));
  CHECK(stage["total_failures"] == 10);
  CHECK(stage["recovered_by_retry"] == 9);
  CHECK(stage["retry_attempts"] == 2);
  CHECK(stage["retry_status"] == "exhausted");
  CHECK(stage["batch_ids"] == Json::array({"provider_b1"}));
  CHECK(stage["retry_batch_ids"] == Json::array({"provider_b2", "provider_b3"}));
  CHECK(stage["errors"] == Json::object({{exhausted, "overloaded_error"}}));
  CHECK(stage["usage"]["input_tokens"] == 99 * 100);
  CHECK(stage["usage"]["output_tokens"] == 99 * 10);
  CHECK(stage["in_flight"] == 0);
  CHECK(stage["waiting_retry"] == 0);
}

TEST_CASE("the manifest JSON has the design's keys, in order, pretty-printed",
          "[replay][manifest]") {
  EventSequenceBuilder log("r1");
  log.RunStarted();
  log.RequestPlanned("wf", "stage_1", "a");
  log.BatchPlanned("b1", "wf", "stage_1", {"a"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  log.RequestSucceeded("b1", "a", 1, 3, 4);
  const std::string expected = R"({
  "run_id": "r1",
  "generated_at_seq": 6,
  "status": "running",
  "cost": {
    "total": 0.0,
    "by_workflow": {
      "wf": 0.0
    }
  },
  "workflows": {
    "wf": {
      "stage_1": {
        "total_requests": 1,
        "succeeded": 1,
        "final_failed_ids": [],
        "total_failures": 0,
        "recovered_by_retry": 0,
        "retry_attempts": 0,
        "retry_status": "not_needed",
        "batch_ids": [
          "batch_1"
        ],
        "retry_batch_ids": [],
        "errors": {},
        "usage": {
          "input_tokens": 3,
          "output_tokens": 4,
          "cached_input_tokens": 0,
          "cache_write_input_tokens": 0
        },
        "in_flight": 0,
        "waiting_retry": 0,
        "cost": {
          "total": 0.0,
          "by_attempt": {},
          "unpriced_tokens": {
            "input_tokens": 3,
            "output_tokens": 4
          }
        }
      }
    }
  }
}
)";
  CHECK(RenderManifestJson(FoldedManifest(log.events())) == expected);
}

TEST_CASE("an empty manifest names no workflows", "[replay][manifest]") {
  CHECK(RenderManifestJson(Projections{}) == R"({
  "run_id": "",
  "generated_at_seq": 0,
  "status": "not_started",
  "cost": {
    "total": 0.0,
    "by_workflow": {}
  },
  "workflows": {}
}
)");
}

TEST_CASE("permanent failures appear in errors with their code", "[replay][manifest]") {
  EventSequenceBuilder log;
  log.RunStarted();
  for (const char* id : {"c", "a", "b"}) log.RequestPlanned("wf", "stage_1", id);
  log.BatchPlanned("b1", "wf", "stage_1", {"c", "a"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  log.RequestFailed("b1", "c", 1, "content_policy_violation", v1::ERROR_CLASS_PERMANENT);
  log.RequestFailed("b1", "a", 1, "invalid_request_error", v1::ERROR_CLASS_PERMANENT);
  log.ResultsIngested("b1");
  log.RequestsAbandoned("wf", "stage_1", {"c", "a"}, v1::ABANDON_REASON_PERMANENT);
  // b never ran: abandoned when the run was cancelled, it is reported by its reason.
  log.RequestsAbandoned("wf", "stage_1", {"b"}, v1::ABANDON_REASON_CANCELLED);
  const Json stage = Manifest(log.events())["workflows"]["wf"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["final_failed_ids"] == Json::array({"a", "b", "c"}));
  CHECK(stage["errors"] == Json::object({{"a", "invalid_request_error"},
                                         {"b", "cancelled"},
                                         {"c", "content_policy_violation"}}));
  CHECK(stage["total_failures"] == 2);
  CHECK(stage["succeeded"] == 0);
  CHECK(stage["retry_status"] == "not_needed");
}

TEST_CASE("usage is summed over every billed attempt", "[replay][manifest]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.RequestPlanned("wf", "stage_1", "a");
  log.RequestPlanned("wf", "stage_1", "b");
  SubmittedBatch(log, "b1", {"a", "b"}, 1, "wf");
  log.RequestFailed("b1", "a", 1, "content_filter", v1::ERROR_CLASS_RETRYABLE, 7, 3);
  log.RequestSucceeded("b1", "b", 1, 11, 5);
  log.RequestSucceeded("b1", "b", 1, 11, 5);  // re-ingested: counted once
  log.ResultsIngested("b1");
  log.RetryScheduled("wf", "stage_1", {"a"}, 2, 0);
  SubmittedBatch(log, "b2", {"a"}, 2, "wf");
  log.RequestSucceeded("b2", "a", 2, 13, 6);

  const Json stage = Manifest(log.events())["workflows"]["wf"]["stage_1"];
  CAPTURE(stage.dump(2));
  CHECK(stage["usage"]["input_tokens"] == 7 + 11 + 13);
  CHECK(stage["usage"]["output_tokens"] == 3 + 5 + 6);
  CHECK(stage["recovered_by_retry"] == 1);
  CHECK(stage["retry_status"] == "completed");
  CHECK(stage["batch_ids"] == Json::array({"provider_b1"}));
  CHECK(stage["retry_batch_ids"] == Json::array({"provider_b2"}));
}

// wf/stage_1's requests a and b, in batch b1 (provider batch_1), which has just ended.
void EndFirstBatchOfTwo(EventSequenceBuilder& log) {
  log.RunStarted();
  log.RequestPlanned("wf", "stage_1", "a");
  log.RequestPlanned("wf", "stage_1", "b");
  log.BatchPlanned("b1", "wf", "stage_1", {"a", "b"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
}

TEST_CASE("retry_status follows the retries of a stage", "[replay][manifest]") {
  EventSequenceBuilder log;
  EndFirstBatchOfTwo(log);
  log.RequestSucceeded("b1", "b", 1);
  const auto status = [&log]() { return Manifest(log.events())["workflows"]["wf"]["stage_1"]; };
  CHECK(status()["retry_status"] == "not_needed");
  CHECK(status()["in_flight"] == 1);
  log.RequestFailed("b1", "a", 1, "timeout", v1::ERROR_CLASS_RETRYABLE);
  CHECK(status()["retry_status"] == "in_progress");
  CHECK(status()["waiting_retry"] == 1);
  log.ResultsIngested("b1");
  log.RetryScheduled("wf", "stage_1", {"a"}, 2, 0);
  CHECK(status()["retry_status"] == "in_progress");
  CHECK(status()["waiting_retry"] == 1);
  log.BatchPlanned("b2", "wf", "stage_1", {"a"}, 2);
  CHECK(status()["retry_status"] == "in_progress");
  CHECK(status()["in_flight"] == 1);
  CHECK(status()["retry_attempts"] == 1);
  log.BatchSubmitted("b2", "batch_2");
  log.BatchEnded("b2");
  log.RequestSucceeded("b2", "a", 2);
  CHECK(status()["retry_status"] == "completed");
  CHECK(status()["retry_batch_ids"] == Json::array({"batch_2"}));
}

TEST_CASE("retry_status is in_progress while retries run, even after a request ran out",
          "[replay][manifest]") {
  EventSequenceBuilder log;
  EndFirstBatchOfTwo(log);
  log.RequestFailed("b1", "a", 1, "timeout", v1::ERROR_CLASS_RETRYABLE);
  log.RequestFailed("b1", "b", 1, "timeout", v1::ERROR_CLASS_RETRYABLE);
  log.ResultsIngested("b1");
  // a has no retries left (max_retries 0 for it, say); b is retried.
  log.RequestsAbandoned("wf", "stage_1", {"a"}, v1::ABANDON_REASON_EXHAUSTED);
  log.RetryScheduled("wf", "stage_1", {"b"}, 2, 0);
  log.BatchPlanned("b2", "wf", "stage_1", {"b"}, 2);
  log.BatchSubmitted("b2", "batch_2");
  const auto status = [&log]() { return Manifest(log.events())["workflows"]["wf"]["stage_1"]; };
  CHECK(status()["retry_status"] == "in_progress");
  log.BatchEnded("b2");
  log.RequestFailed("b2", "b", 2, "timeout", v1::ERROR_CLASS_RETRYABLE);
  log.ResultsIngested("b2");
  log.RequestsAbandoned("wf", "stage_1", {"b"}, v1::ABANDON_REASON_EXHAUSTED);
  CHECK(status()["retry_status"] == "exhausted");
}

TEST_CASE("workflows and stages appear in order of first appearance", "[replay][manifest]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.RequestPlanned("zeta", "stage_2", "x");
  log.RequestPlanned("alpha", "stage_1", "y");
  log.RequestPlanned("zeta", "stage_1", "z");
  log.StageCompleted("alpha", "stage_0");
  const std::string json = RenderManifestJson(FoldedManifest(log.events()));
  const std::size_t zeta = json.find("\"zeta\"");
  const std::size_t alpha = json.find("\"alpha\"");
  CHECK(zeta < alpha);
  CHECK(json.find("\"stage_2\"") < json.find("\"stage_1\""));
  const Json manifest = Json::parse(json);
  CHECK(manifest["workflows"]["alpha"]["stage_0"]["total_requests"] == 0);
}

TEST_CASE("an impossible event is DataLoss and leaves the manifest unchanged",
          "[replay][manifest]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.RequestPlanned("wf", "stage_1", "a");
  log.BatchSubmitted("never-planned", "batch_x");
  Projections projections;
  Replayer replayer(projections);
  REQUIRE(replayer.Apply(log.events()[0]).ok());
  REQUIRE(replayer.Apply(log.events()[1]).ok());
  const ManifestState before = projections.manifest;
  const base::Status status = replayer.Apply(log.events()[2]);
  CHECK(status.code() == base::StatusCode::kDataLoss);
  CHECK_THAT(status.message(), Contains("seq 3:"));
  CHECK(projections.manifest == before);
  CHECK(projections.manifest.generated_at_seq == 2);
}

TEST_CASE("generated_at_seq is the last applied seq, ignored events included",
          "[replay][manifest]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.Append().set_reader_may_ignore(true);
  CHECK(FoldedManifest(log.events()).manifest.generated_at_seq == 2);
}

TEST_CASE("invalid UTF-8 in an id is replaced, not thrown on", "[replay][manifest]") {
  EventSequenceBuilder log;
  log.RunStarted();
  log.RequestPlanned("wf", "stage_1", std::string("bad\xff", 4));
  log.RequestsAbandoned("wf", "stage_1", {std::string("bad\xff", 4)},
                        v1::ABANDON_REASON_UPSTREAM_FAILED);
  const std::string json = RenderManifestJson(FoldedManifest(log.events()));
  CHECK_THAT(json, Contains("upstream_failed"));
  CHECK_NOTHROW(Json::parse(json));
}

}  // namespace
}  // namespace batchlog::replay
