// EventDecoder reuses one message; it must give exactly what a fresh parse gives, whatever
// the previous event left in it.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/message_differencer.h>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "src/store/event_decoder.h"
#include "tests/support/sample_events.h"

namespace batchlog::store {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::util::MessageDifferencer;

// Sets every envelope field (those outside the payload oneof) to a non-default value,
// through the descriptor, so a new envelope field is covered without touching this test.
void SetEveryEnvelopeField(events::v1::Event* event) {
  const auto* descriptor = event->GetDescriptor();
  const auto* reflection = event->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->containing_oneof() != nullptr) continue;
    CAPTURE(field->name());
    REQUIRE_FALSE(field->is_repeated());
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        reflection->SetInt32(event, field, 7);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(event, field, 7);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        reflection->SetUInt32(event, field, 7);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        reflection->SetUInt64(event, field, 7);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(event, field, 7);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        reflection->SetFloat(event, field, 7);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(event, field, true);
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(event, field, "x");
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        reflection->SetEnumValue(event, field, field->enum_type()->value(0)->number() + 1);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        FAIL("envelope message fields need a case here: " << field->name());
        break;
    }
    REQUIRE(reflection->HasField(*event, field));
  }
}

TEST_CASE("decoding into a reused message equals a fresh parse for every event type", "[store]") {
  const std::vector<PendingEvent> samples = batchlog::testing::OneOfEachEventType();
  std::vector<std::string> encoded;
  for (const PendingEvent& sample : samples) {
    events::v1::Event full = sample.event;
    SetEveryEnvelopeField(&full);
    encoded.push_back(full.SerializeAsString());
    // The same type again with nothing but its payload: nothing of the previous may leak.
    events::v1::Event bare;
    bare.mutable_run_completed();
    bare.CopyFrom(sample.event);
    bare.clear_recorded_at_unix_us();
    encoded.push_back(bare.SerializeAsString());
    // And with a top-level field from the future (field 99, empty), kept as unknown.
    encoded.push_back(bare.SerializeAsString() + std::string("\x9a\x06\x00", 3));
  }
  // Unknown fields of a newer payload must not leak into the next event either.
  encoded.push_back(std::string("\x08\x02\x9a\x06\x00", 5));
  encoded.push_back(encoded.front());

  EventDecoder decoder;
  // Every ordered pair of encodings: decode a, then b, and compare b with a fresh parse.
  for (const std::string& a : encoded) {
    for (const std::string& b : encoded) {
      REQUIRE(decoder.Decode(a));
      REQUIRE(decoder.Decode(b));
      events::v1::Event fresh;
      REQUIRE(fresh.ParseFromString(b));
      INFO("after " << a.size() << " bytes, decoding " << fresh.ShortDebugString());
      CHECK(MessageDifferencer::Equals(decoder.event(), fresh));
      CHECK(decoder.event().SerializeAsString() == fresh.SerializeAsString());
    }
  }
}

TEST_CASE("a payload field number with another wire type is no payload, after one that was",
          "[store]") {
  // Field 18 (request_succeeded) as a varint: Protobuf keeps it as an unknown field and the
  // event has no payload; the decoder must not leave the previous RequestSucceeded in place.
  events::v1::Event succeeded;
  succeeded.set_seq(1);
  succeeded.mutable_request_succeeded()->set_custom_id("q001");
  const std::string odd = std::string("\x08\x02", 2) + std::string("\x90\x01\x05", 3);
  events::v1::Event fresh;
  REQUIRE(fresh.ParseFromString(odd));
  REQUIRE(fresh.payload_case() == events::v1::Event::PAYLOAD_NOT_SET);
  EventDecoder decoder;
  REQUIRE(decoder.Decode(succeeded.SerializeAsString()));
  REQUIRE(decoder.Decode(odd));
  CHECK(decoder.event().payload_case() == events::v1::Event::PAYLOAD_NOT_SET);
  CHECK(MessageDifferencer::Equals(decoder.event(), fresh));
  // And back: the next RequestSucceeded decodes whole.
  REQUIRE(decoder.Decode(succeeded.SerializeAsString()));
  CHECK(MessageDifferencer::Equals(decoder.event(), succeeded));
}

TEST_CASE("decoding rejects truncated bytes and garbage", "[store]") {
  const std::string valid = batchlog::testing::OneOfEachEventType()[1].event.SerializeAsString();
  EventDecoder decoder;
  CHECK(decoder.Decode(valid));
  CHECK_FALSE(decoder.Decode(valid.substr(0, valid.size() - 1)));
  CHECK_FALSE(decoder.Decode(std::string("\xff\xff\xff\xff garbage", 12)));
  // A stray end-group tag stops a parse early: that is not a whole Event either.
  CHECK_FALSE(decoder.Decode(std::string("\x08\x01\x0c\x10\x01", 5)));
  CHECK(decoder.Decode(valid));
}

}  // namespace
}  // namespace batchlog::store
