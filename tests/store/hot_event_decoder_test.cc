// The hot-event decoder must give exactly what Protobuf gives, or decline. The oracle is a
// fresh Protobuf parse of the same bytes. The seed comes from BATCHLOG_SEED (default fixed)
// and is printed.
#include <google/protobuf/util/message_differencer.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/base/random.h"
#include "src/store/event_decoder.h"
#include "src/store/hot_event_decoder.h"
#include "tests/store/hot_event_samples.h"
#include "tests/support/event_sequence_generator.h"
#include "tests/support/sample_events.h"

namespace batchlog::store {
namespace {

namespace v1 = events::v1;
using google::protobuf::util::MessageDifferencer;
using testing::RandomHotEvent;
using testing::RandomNumber;

// What the decoder under test gives for `bytes`, or nullopt when it declines.
std::optional<v1::Event> DecodeHot(const std::string& bytes) {
  HotEvent hot;
  if (!ParseHotEvent(bytes, hot)) return std::nullopt;
  v1::Event event;
  ApplyHotEvent(hot, event);
  return event;
}

void CheckSameAsProtobuf(const v1::Event& decoded, const std::string& bytes) {
  v1::Event fresh;
  REQUIRE(fresh.ParsePartialFromString(bytes));
  INFO("bytes of " << fresh.ShortDebugString());
  CHECK(MessageDifferencer::Equals(decoded, fresh));
  CHECK(decoded.SerializeAsString() == fresh.SerializeAsString());
}

TEST_CASE("the hot decoder takes each hot event with every field set, as Protobuf parses it",
          "[store]") {
  // A field added to one of these messages must be added to src/store/hot_event_decoder.cc
  // (its field tables and ApplyHotEvent); until then its events would take the slow path.
  for (const int payload : testing::kHotPayloadFields) {
    CAPTURE(payload);
    const v1::Event event = testing::HotEventWithEveryField(payload);
    const std::string bytes = event.SerializeAsString();
    const std::optional<v1::Event> decoded = DecodeHot(bytes);
    INFO("the hot decoder declined " << event.ShortDebugString());
    REQUIRE(decoded.has_value());
    CheckSameAsProtobuf(*decoded, bytes);
  }
}

// `bytes` changed the way a newer writer, a second write of a field, or damage would.
std::string Mutate(const std::string& bytes, const v1::Event& event, base::SeededRandom& random) {
  std::string out = bytes;
  switch (random.NextU64() % 8) {
    case 0:  // truncated
      return out.substr(0, random.NextU64() % (out.size() + 1));
    case 1:  // a byte changed
      if (!out.empty()) {
        out[random.NextU64() % out.size()] = static_cast<char>(random.NextU64());
      }
      return out;
    case 2:  // an unknown top-level field (99, empty bytes)
      return out + std::string("\x9a\x06\x00", 3);
    case 3: {  // the envelope's seq written again (last one wins)
      v1::Event again;
      again.set_seq(RandomNumber(random));
      return out + again.SerializeAsString();
    }
    case 4:  // the same payload written twice: Protobuf merges them
      return out + bytes;
    case 5: {  // another hot event's payload after this one: the later replaces
      v1::Event other = RandomHotEvent(random);
      other.clear_seq();
      other.clear_run_id();
      return out + other.SerializeAsString();
    }
    case 6: {  // an unknown field inside the payload (field 15, varint 1)
      std::string payload;
      switch (event.payload_case()) {
        case v1::Event::kRequestPlanned:
          payload = event.request_planned().SerializeAsString();
          break;
        case v1::Event::kRequestSucceeded:
          payload = event.request_succeeded().SerializeAsString();
          break;
        default:
          payload = event.request_failed().SerializeAsString();
          break;
      }
      payload += std::string("\x78\x01", 2);
      v1::Event wrapper;
      wrapper.set_seq(event.seq());
      std::string wrapped = wrapper.SerializeAsString();
      // The payload's tag (fields 11-19: two bytes from 16 on) and length (< 128 here).
      const int tag = (event.payload_case() << 3) | 2;
      if (tag >= 128) {
        wrapped.push_back(static_cast<char>((tag & 0x7F) | 0x80));
        wrapped.push_back(static_cast<char>(tag >> 7));
      } else {
        wrapped.push_back(static_cast<char>(tag));
      }
      wrapped.push_back(static_cast<char>(payload.size()));
      return payload.size() < 128 ? wrapped + payload : out;
    }
    default:
      return out;
  }
}

TEST_CASE("the hot decoder gives what Protobuf gives, or declines (randomized)", "[store]") {
  const std::uint64_t seed = batchlog::testing::SeedFromEnvironment(testing::kHotEventDefaultSeed);
  WARN("BATCHLOG_SEED=" << seed);
  base::SeededRandom random(seed);
  const std::vector<PendingEvent> others = batchlog::testing::OneOfEachEventType();
  EventDecoder decoder;  // reused across all inputs, as the replay path reuses it
  int taken = 0;
  int declined = 0;
  for (int i = 0; i < 20000; ++i) {
    const v1::Event event = RandomHotEvent(random);
    const std::string bytes = random.NextU64() % 4 == 0
                                  ? Mutate(event.SerializeAsString(), event, random)
                                  : event.SerializeAsString();
    CAPTURE(i);
    v1::Event fresh;
    const bool protobuf_ok = fresh.ParsePartialFromString(bytes);
    const std::optional<v1::Event> hot = DecodeHot(bytes);
    if (hot.has_value()) {
      ++taken;
      REQUIRE(protobuf_ok);
      CheckSameAsProtobuf(*hot, bytes);
    } else {
      ++declined;
    }
    // Through the reusing decoder, with now and then an event of another type before it.
    if (random.NextU64() % 16 == 0) {
      REQUIRE(decoder.Decode(others[random.NextU64() % others.size()].event.SerializeAsString()));
    }
    const bool decoded = decoder.Decode(bytes);
    REQUIRE(decoded == protobuf_ok);
    if (decoded) CheckSameAsProtobuf(decoder.event(), bytes);
  }
  // Both paths were exercised.
  CHECK(taken > 10000);
  CHECK(declined > 1000);
}

TEST_CASE("the hot decoder declines what only Protobuf decides", "[store]") {
  v1::Event event;
  event.set_seq(3);
  event.mutable_request_succeeded()->set_custom_id("q001");
  const std::string bytes = event.SerializeAsString();
  REQUIRE(DecodeHot(bytes).has_value());
  // Not a hot event.
  CHECK_FALSE(
      DecodeHot(batchlog::testing::OneOfEachEventType()[0].event.SerializeAsString()).has_value());
  // Text that is not ASCII, valid or not as UTF-8.
  v1::Event accented = event;
  accented.mutable_request_succeeded()->set_custom_id("caf\xc3\xa9");
  CHECK_FALSE(DecodeHot(accented.SerializeAsString()).has_value());
  // A field from a newer writer (the randomized test also puts one in the payload).
  CHECK_FALSE(DecodeHot(bytes + std::string("\x9a\x06\x00", 3)).has_value());
  // Truncated anywhere.
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    CAPTURE(size);
    CHECK_FALSE(DecodeHot(bytes.substr(0, size)).has_value());
  }
  // A varint of 11 bytes.
  CHECK_FALSE(
      DecodeHot(std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12)).has_value());
}

}  // namespace
}  // namespace batchlog::store
