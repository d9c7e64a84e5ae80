// Sample events for tests: one fully populated event of every payload case of
// events.proto. "Fully populated" means every field of the payload (recursively) holds a
// non-default value, so a round trip that drops or mangles any field is caught.
// tests/store/sample_events_test.cc checks, through the Protobuf descriptor, that every
// oneof case has a sample and every field is set: adding an event type or a field without
// extending this file fails that test.
//
// The envelopes carry recorded_at_unix_us only: the store's Append fills seq, run_id and
// blob_bytes. Events that own a blob in production carry one here too (RequestPlanned: the
// request body; RequestSucceeded: the response body; RequestFailed: the raw error line).
#pragma once

#include <vector>

#include "src/store/event_log.h"

namespace batchlog::testing {

// In payload field-number order: run_started first, workflow_file_changed last.
std::vector<store::PendingEvent> OneOfEachEventType();

}  // namespace batchlog::testing
