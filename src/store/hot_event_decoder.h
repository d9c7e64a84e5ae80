// A direct decoder for the three events that make up almost every log (RequestPlanned,
// RequestSucceeded, RequestFailed: over 99 % of a run's events), for the replay path.
// Protobuf's generic parser costs ~3,500 instructions per ~120-byte event here (a parse
// context per message and another per payload, a tag dispatch through generated code,
// UTF-8 checks); these events are a few strings and varints, which one walk over the bytes
// reads.
//
// ParseHotEvent takes only what it decodes exactly as Protobuf would: the envelope's known
// fields, one payload field of one of the three types, their known fields with their
// declared wire types, ASCII text. Anything else (an unknown or repeated payload field,
// another event type, non-ASCII text, malformed or truncated bytes) returns false, and the
// caller parses with Protobuf, which then decides (and reports) exactly as before.
// tests/store/hot_event_decoder_test.cc compares both parsers over generated, mutated and
// truncated bytes, and fails when one of the three messages gains a field this file does
// not know.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "batchlog/events/v1/events.pb.h"

namespace batchlog::store {

// One hot event's fields, viewing the bytes it was parsed from.
struct HotEvent {
  // Payload field numbers go up to this (RequestFailed.unknown_code = 10).
  static constexpr std::size_t kMaxField = 10;
  struct Usage {
    bool present = false;
    std::uint64_t input_tokens = 0;
    std::uint64_t output_tokens = 0;
    std::uint64_t cached_input_tokens = 0;
    std::uint64_t cache_write_input_tokens = 0;
  };

  std::uint64_t seq = 0;
  std::string_view run_id;
  std::uint64_t recorded_at_unix_us = 0;  // as the varint holds it
  std::uint64_t reader_may_ignore = 0;
  std::uint64_t blob_bytes = 0;
  events::v1::Event::PayloadCase payload = events::v1::Event::PAYLOAD_NOT_SET;
  // The payload's fields by field number: text fields in `text`, varints in `number`.
  std::array<std::string_view, kMaxField + 1> text{};
  std::array<std::uint64_t, kMaxField + 1> number{};
  Usage usage;
};

// Parses `bytes` when they hold one of the hot events; false when they need the generic
// parser (see above). On false, `hot` holds unspecified contents.
bool ParseHotEvent(std::string_view bytes, HotEvent& hot);

// Sets every field of `event`'s envelope and payload from `hot` (absent ones to their
// defaults), reusing the payload message and string capacity when the payload type is the
// same as before. `event` must hold no unknown fields: Protobuf would keep them, a fresh
// parse would not.
void ApplyHotEvent(const HotEvent& hot, events::v1::Event& event);

}  // namespace batchlog::store
