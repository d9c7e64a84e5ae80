// A direct encoder for the three events that make up almost every log (RequestPlanned,
// RequestSucceeded, RequestFailed), for the append path: the writing half of
// hot_event_decoder.h. Protobuf's SerializeToString costs ~1,450 instructions per event
// here (a size pass and a write pass through generated code, UTF-8 checks of every string);
// these events are a few strings and varints.
//
// EncodeHotEvent writes exactly the bytes SerializeToString writes (fields in number order,
// proto3 defaults omitted, negative int32/enum values as 10-byte varints) when the event is
// one of the three with ASCII text and no unknown fields; anything else returns false, and
// the caller serializes with Protobuf, which then behaves exactly as before.
// tests/store/hot_event_encoder_test.cc compares both over generated events and fails when
// one of the three messages gains a field this file does not know.
#pragma once

#include <string>

#include "batchlog/events/v1/events.pb.h"

namespace batchlog::store {

// Replaces `out` with the serialized `event`, reusing its capacity; false (with `out`
// unspecified) when the event needs Protobuf's serializer (see above).
bool EncodeHotEvent(const events::v1::Event& event, std::string& out);

}  // namespace batchlog::store
