// The hot-event encoder must write exactly the bytes Protobuf's serializer writes, or
// decline. The oracle is SerializeAsString of the same message. The seed comes from
// BATCHLOG_SEED (default fixed) and is printed.
#include "src/store/hot_event_encoder.h"

#include <google/protobuf/descriptor.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "src/base/random.h"
#include "tests/store/hot_event_samples.h"
#include "tests/support/event_sequence_generator.h"
#include "tests/support/sample_events.h"

namespace batchlog::store {
namespace {

namespace v1 = events::v1;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// True when a string field of `message` (recursively) holds a byte outside ASCII.
bool HasNonAsciiText(const Message& message) {
  const auto* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      for (const char c : reflection->GetString(message, field)) {
        if ((static_cast<unsigned char>(c) & 0x80) != 0) return true;
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
               HasNonAsciiText(reflection->GetMessage(message, field))) {
      return true;
    }
  }
  return false;
}

TEST_CASE("the hot encoder writes each hot event with every field set as Protobuf does",
          "[store]") {
  // A field added to one of these messages must be added to src/store/hot_event_encoder.cc;
  // until then this fails (the encoder would drop the field).
  for (const int payload : testing::kHotPayloadFields) {
    CAPTURE(payload);
    const v1::Event event = testing::HotEventWithEveryField(payload);
    std::string bytes;
    INFO("the hot encoder declined " << event.ShortDebugString());
    REQUIRE(EncodeHotEvent(event, bytes));
    CHECK(bytes == event.SerializeAsString());
  }
}

TEST_CASE(
    "the hot encoder writes what Protobuf writes, declining only non-ASCII text "
    "(randomized)",
    "[store]") {
  const std::uint64_t seed = batchlog::testing::SeedFromEnvironment(testing::kHotEventDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed);
  std::string bytes;  // reused, as the writer reuses its buffer
  int taken = 0;
  for (int i = 0; i < 20'000; ++i) {
    const v1::Event event = testing::RandomHotEvent(random);
    INFO(event.ShortDebugString());
    const bool encoded = EncodeHotEvent(event, bytes);
    REQUIRE(encoded == !HasNonAsciiText(event));
    if (encoded) {
      REQUIRE(bytes == event.SerializeAsString());
      ++taken;
    }
  }
  CHECK(taken > 10'000);
}

TEST_CASE("the hot encoder declines other events and unknown fields", "[store]") {
  std::string bytes;
  for (const PendingEvent& pending : batchlog::testing::OneOfEachEventType()) {
    const auto payload = pending.event.payload_case();
    const bool hot = payload == v1::Event::kRequestPlanned ||
                     payload == v1::Event::kRequestSucceeded ||
                     payload == v1::Event::kRequestFailed;
    CAPTURE(pending.event.ShortDebugString());
    CHECK(EncodeHotEvent(pending.event, bytes) == hot);
    if (hot) CHECK(bytes == pending.event.SerializeAsString());
  }

  v1::Event succeeded;
  succeeded.set_seq(7);
  succeeded.mutable_request_succeeded()->set_custom_id("q1");
  succeeded.mutable_request_succeeded()->mutable_usage()->set_input_tokens(3);
  REQUIRE(EncodeHotEvent(succeeded, bytes));

  SECTION("an unknown field in the envelope") {
    v1::Event with_unknown;
    // Field 99, length-delimited, empty: unknown to this build, kept by Protobuf.
    REQUIRE(with_unknown.ParseFromString(succeeded.SerializeAsString() +
                                         std::string("\x9a\x06\x00", 3)));
    CHECK_FALSE(EncodeHotEvent(with_unknown, bytes));
  }
  SECTION("an unknown field in the payload") {
    v1::RequestSucceeded payload;
    REQUIRE(payload.ParseFromString(succeeded.request_succeeded().SerializeAsString() +
                                    std::string("\x78\x01", 2)));  // field 15, varint 1
    v1::Event with_unknown = succeeded;
    *with_unknown.mutable_request_succeeded() = payload;
    CHECK_FALSE(EncodeHotEvent(with_unknown, bytes));
  }
  SECTION("an unknown field in the usage") {
    v1::Usage usage;
    REQUIRE(usage.ParseFromString(std::string("\x78\x01", 2)));
    v1::Event with_unknown = succeeded;
    *with_unknown.mutable_request_succeeded()->mutable_usage() = usage;
    CHECK_FALSE(EncodeHotEvent(with_unknown, bytes));
  }
  SECTION("a non-ASCII run id") {
    v1::Event with_text = succeeded;
    with_text.set_run_id("caf\xc3\xa9");
    CHECK_FALSE(EncodeHotEvent(with_text, bytes));
  }
}

TEST_CASE("the hot encoder replaces what its output held", "[store]") {
  v1::Event big;
  big.mutable_request_failed()->set_message(std::string(300, 'm'));
  v1::Event small;
  small.set_seq(1);
  small.mutable_request_planned();
  std::string bytes;
  REQUIRE(EncodeHotEvent(big, bytes));
  REQUIRE(EncodeHotEvent(small, bytes));
  CHECK(bytes == small.SerializeAsString());
  CHECK(bytes == std::string("\x08\x01\x5a\x00", 4));  // seq 1, an empty request_planned
}

}  // namespace
}  // namespace batchlog::store
