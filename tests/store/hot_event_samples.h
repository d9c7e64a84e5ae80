// Events for the hot-event decoder and encoder tests: every field of a message set through
// its descriptor (so a field added to the schema is covered without editing the tests), and
// random hot events whose values sit at the edges of their encodings.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/random.h"

namespace batchlog::store::testing {

// The randomized hot-event tests' seed when BATCHLOG_SEED is not set.
inline constexpr std::uint64_t kHotEventDefaultSeed = 20261129;

// Sets every field of `message` outside a oneof (recursively, for message fields) to a
// non-default value derived from `value`.
void SetEveryField(google::protobuf::Message* message, std::uint64_t value);

// The payload field numbers of the three hot events.
inline constexpr int kHotPayloadFields[] = {events::v1::Event::kRequestPlannedFieldNumber,
                                            events::v1::Event::kRequestSucceededFieldNumber,
                                            events::v1::Event::kRequestFailedFieldNumber};

// An event with the payload of field number `payload_field` and every field of the
// envelope and the payload set (SetEveryField).
events::v1::Event HotEventWithEveryField(int payload_field);

// A random value that is sometimes at an edge of its varint encoding.
std::uint64_t RandomNumber(base::SeededRandom& random);

// Random text: empty, short, long (a two-byte length), non-ASCII UTF-8, control bytes.
std::string RandomText(base::SeededRandom& random);

// A hot event (RequestPlanned, RequestSucceeded or RequestFailed) with a random subset of
// its fields set to random values.
events::v1::Event RandomHotEvent(base::SeededRandom& random);

}  // namespace batchlog::store::testing
