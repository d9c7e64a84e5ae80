// The stage-inputs projection: each request's RequestPlanned seq and its latest result seq.
#include "replay/stage_inputs_projection.h"

#include <catch2/catch.hpp>

#include "replay/replayer.h"
#include "replay/snapshot_codec.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::replay {
namespace {

namespace v1 = events::v1;
using testing::EventSequenceBuilder;

TEST_CASE("stage inputs point at each request's plan and its latest result",
          "[replay][stage_inputs]") {
  EventSequenceBuilder log;
  log.RunStarted();                                                            // 1
  log.RequestPlanned("wf", "stage_1", "a", 0);                                 // 2
  log.RequestPlanned("wf", "stage_1", "b", 1);                                 // 3
  log.BatchPlanned("b1", "wf", "stage_1", {"a", "b"}, 1);                      // 4
  log.BatchSubmitted("b1", "batch_1");                                         // 5
  log.BatchEnded("b1");                                                        // 6
  log.RequestSucceeded("b1", "a", 1);                                          // 7
  log.RequestFailed("b1", "b", 1, "server_error", v1::ERROR_CLASS_RETRYABLE);  // 8
  log.RequestSucceeded("b1", "a", 1);                                // 9: re-ingested, ignored
  log.ResultsIngested("b1");                                         // 10
  log.RetryScheduled("wf", "stage_1", {"b"}, 2, log.now_unix_us());  // 11
  log.BatchPlanned("b2", "wf", "stage_1", {"b"}, 2);                 // 12
  log.BatchSubmitted("b2", "batch_2");                               // 13
  log.BatchEnded("b2");                                              // 14
  log.RequestSucceeded("b2", "b", 2);                                // 15
  log.RequestPlanned("wf", "stage_2", "a", 0);                       // 16

  Projections projections;
  Replayer replayer(projections);
  for (const v1::Event& event : log.events()) REQUIRE(replayer.Apply(event).ok());
  const StageInputs& inputs = projections.stage_inputs;
  REQUIRE(inputs.planned_seq.size() == 3);
  CHECK(inputs.planned_seq[0] == 2);
  CHECK(inputs.planned_seq[1] == 3);
  CHECK(inputs.planned_seq[2] == 16);
  CHECK(inputs.result_seq[0] == 7);   // not the re-ingested duplicate at 9
  CHECK(inputs.result_seq[1] == 15);  // the latest attempt's result
  CHECK(inputs.result_seq[2] == 0);

  // They survive a snapshot round trip.
  auto decoded = DecodeSnapshot(EncodeSnapshot(projections));
  REQUIRE(decoded.ok());
  CHECK(decoded->stage_inputs == inputs);
}

}  // namespace
}  // namespace batchlog::replay
