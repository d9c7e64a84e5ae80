// EventDecoder: decodes serialized Events into one reused message, for the replay path.
// Protobuf's ParseFromArray clears the message first, which frees the oneof payload and
// its strings, so every event would cost several allocations. When the new bytes carry the
// same payload type as the previous event (long runs of results of one batch), the decoder
// instead clears the envelope and the payload *in place*, keeping their memory, and merges
// the bytes into them; otherwise it clears everything and parses. Either way the result is
// the message a fresh parse gives (tests/store/event_decoder_test.cc checks that for every
// event type and envelope field).
//
// Ownership: owns the message; event() is valid until the next Decode. Not thread-safe.
#pragma once

#include <string_view>

#include "batchlog/events/v1/events.pb.h"

namespace batchlog::store {

class EventDecoder {
 public:
  // Decodes `bytes` as a whole Event; false when they are not one (truncated, garbage,
  // over 2 GiB). After false, event() holds unspecified contents.
  bool Decode(std::string_view bytes);

  const events::v1::Event& event() const { return event_; }

 private:
  // Clears every known field, keeping the payload message (cleared) and string capacity.
  // Unknown top-level fields are left: Decode uses it only when there are none.
  void ClearKeepingPayload();

  events::v1::Event event_;
  // True when the last decoded bytes had top-level fields this build does not know.
  bool previous_had_unknown_fields_ = false;
};

}  // namespace batchlog::store
