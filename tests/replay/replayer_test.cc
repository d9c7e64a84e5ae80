#include "replay/replayer.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using Catch::Matchers::Contains;
using testing::EventSequenceBuilder;

std::vector<v1::Event> SmallRun() {
  EventSequenceBuilder log;
  log.RunStarted();
  log.RequestPlanned("wf", "stage_1", "a");
  log.RequestPlanned("wf", "stage_1", "b");
  log.BatchPlanned("b1", "wf", "stage_1", {"a", "b"}, 1);
  log.BatchSubmitted("b1", "batch_1");
  log.BatchEnded("b1");
  log.RequestSucceeded("b1", "a", 1, 5, 5);
  log.RequestFailed("b1", "b", 1, "invalid_request_error", v1::ERROR_CLASS_PERMANENT);
  log.ResultsIngested("b1");
  log.RunCompleted();
  return log.Take();
}

// A source that yields some events and then fails, as a store reader over a damaged log.
class FailingSource final : public EventSource {
 public:
  FailingSource(const std::vector<v1::Event>& events, std::size_t good)
      : events_(events), good_(good) {}
  const v1::Event* Next() override { return next_ < good_ ? &events_[next_++] : nullptr; }
  base::Status status() const override {
    return next_ < good_
               ? base::Status::Ok()
               : base::DataLossError("run r: seq " + std::to_string(good_ + 1) + ": bad checksum");
  }

 private:
  const std::vector<v1::Event>& events_;
  std::size_t good_;
  std::size_t next_ = 0;
};

TEST_CASE("Fold applies every event of a source in order", "[replay][replayer]") {
  const std::vector<v1::Event> events = SmallRun();
  Projections projections;
  Replayer replayer(projections);
  VectorEventSource source(events);
  REQUIRE(replayer.Fold(source).ok());
  CHECK(projections.last_seq == events.size());
  CHECK(projections.manifest.generated_at_seq == events.size());
  CHECK(projections.run_state.counters.events == events.size());
  CHECK(projections.run_state.lifecycle.run_status == RunStatus::kCompleted);
}

TEST_CASE("a seq gap given to Apply is DataLoss naming the seq", "[replay][replayer]") {
  const std::vector<v1::Event> events = SmallRun();
  Projections projections;
  Replayer replayer(projections);
  REQUIRE(replayer.Apply(events[0]).ok());
  const base::Status gap = replayer.Apply(events[2]);
  CHECK(gap.code() == base::StatusCode::kDataLoss);
  CHECK_THAT(gap.message(), Contains("seq 3:") && Contains("expected seq 2"));
  CHECK(projections.last_seq == 1);
  const base::Status repeat = replayer.Apply(events[0]);
  CHECK(repeat.code() == base::StatusCode::kDataLoss);
  CHECK_THAT(repeat.message(), Contains("seq 1:"));
  CHECK(replayer.Apply(events[1]).ok());
}

TEST_CASE("Fold stops at the first impossible event", "[replay][replayer]") {
  std::vector<v1::Event> events = SmallRun();
  events[4].mutable_batch_submitted()->set_batch_key("b-unknown");
  Projections projections;
  Replayer replayer(projections);
  VectorEventSource source(events);
  const base::Status status = replayer.Fold(source);
  CHECK(status.code() == base::StatusCode::kDataLoss);
  CHECK_THAT(status.message(), Contains("seq 5:") && Contains("b-unknown"));
  CHECK(projections.last_seq == 4);
}

TEST_CASE("Fold returns the failure of its source", "[replay][replayer]") {
  const std::vector<v1::Event> events = SmallRun();
  Projections projections;
  Replayer replayer(projections);
  FailingSource source(events, 3);
  const base::Status status = replayer.Fold(source);
  CHECK(status.code() == base::StatusCode::kDataLoss);
  CHECK_THAT(status.message(), Contains("bad checksum"));
  CHECK(projections.last_seq == 3);
}

TEST_CASE("VectorEventSource serves a range of its vector", "[replay][replayer]") {
  const std::vector<v1::Event> events = SmallRun();
  VectorEventSource source(events, 2, 4);
  const v1::Event* first = source.Next();
  REQUIRE(first != nullptr);
  CHECK(first->seq() == 3);
  REQUIRE(source.Next() != nullptr);
  CHECK(source.Next() == nullptr);
  CHECK(source.status().ok());
  VectorEventSource past_end(events, 5, 100);
  int count = 0;
  while (past_end.Next() != nullptr) ++count;
  CHECK(count == static_cast<int>(events.size()) - 5);
}

}  // namespace
}  // namespace batchlog::replay
