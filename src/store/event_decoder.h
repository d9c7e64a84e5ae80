// EventDecoder: decodes serialized Events into one reused message, for the replay path.
// Protobuf's ParseFromArray clears the message first, which frees the oneof payload and
// its strings, so every event would cost several allocations. The decoder instead keeps one
// payload message per type (the current one and spares), clears the one the new bytes need
// *in place*, keeping its strings and repeated fields' elements, and merges the bytes into
// it. The three events that make up almost every log skip Protobuf's parser altogether
// (src/store/hot_event_decoder.h). Either way the result is the message a fresh parse gives
// (tests/store/event_decoder_test.cc and hot_event_decoder_test.cc check that for every event
// type and envelope field, after every other).
//
// Ownership: owns the message; event() is valid until the next Decode. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "src/store/hot_event_decoder.h"

namespace batchlog::store {

class EventDecoder {
 public:
  // Decodes `bytes` as a whole Event; false when they are not one (truncated, garbage,
  // over 2 GiB). After false, event() holds unspecified contents.
  bool Decode(std::string_view bytes);

  const events::v1::Event& event() const { return event_; }

 private:
  // Makes the payload of field number `next` (0: none) the current one: the current payload
  // of another type goes to the spares, and a spare of `next`, if any, takes its place. The
  // log interleaves payload types (a batch's failures among its successes; a BatchPlanned of
  // a thousand custom_ids now and then), and switching the oneof would otherwise free one
  // message and allocate the other, with all their strings, every time.
  void SwitchPayload(std::uint64_t next);
  void ClearEnvelope();

  events::v1::Event event_;
  // Payload messages not in use, by field number, with their memory.
  std::vector<std::unique_ptr<google::protobuf::Message>> spares_;
  // Whether the message may hold unknown fields a Protobuf parse kept, at the top level and
  // per payload field number (the hot path sets known fields only, so it clears those first).
  bool top_level_unknown_ = false;
  std::vector<bool> payload_unknown_;
  HotEvent hot_;
};

}  // namespace batchlog::store
