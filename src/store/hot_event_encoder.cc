#include "src/store/hot_event_encoder.h"

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <google/protobuf/message.h>

#include "src/store/wire_reader.h"

namespace batchlog::store {

namespace v1 = events::v1;

namespace {

std::size_t VarintSize(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

// The encoders below run twice: once with a SizeSink (the event is sized, and its
// payload's length prefix written, before any byte) and once with a PointerSink. Field
// numbers are below 16 except the payload's: one-byte tags. Proto3 implicit presence:
// zero numbers and empty text are not written.
class SizeSink {
 public:
  bool Number(int /*field*/, std::uint64_t value) {
    if (value != 0) size_ += 1 + VarintSize(value);
    return true;
  }
  bool Text(int /*field*/, const std::string& text) {
    if (text.empty()) return true;
    if (!IsAsciiText(text)) return false;
    size_ += 1 + VarintSize(text.size()) + text.size();
    return true;
  }
  // The tag and length of a nested message; its fields are counted as they are encoded.
  bool Nested(int /*field*/, std::size_t nested_size) {
    size_ += 1 + VarintSize(nested_size);
    return true;
  }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

// Writes into a buffer the SizeSink pass has sized.
class PointerSink {
 public:
  explicit PointerSink(char* out) : p_(out) {}
  void Varint(std::uint64_t value) {
    while (value >= 0x80) {
      *p_++ = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    *p_++ = static_cast<char>(value);
  }
  bool Number(int field, std::uint64_t value) {
    if (value == 0) return true;
    Varint((static_cast<std::uint64_t>(field) << 3) | kVarintWire);
    Varint(value);
    return true;
  }
  bool Text(int field, const std::string& text) {
    if (text.empty()) return true;
    Varint((static_cast<std::uint64_t>(field) << 3) | kLengthWire);
    Varint(text.size());
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
    return true;
  }
  bool Nested(int field, std::size_t nested_size) {
    Varint((static_cast<std::uint64_t>(field) << 3) | kLengthWire);
    Varint(nested_size);
    return true;
  }
  const char* position() const { return p_; }

 private:
  char* p_;
};

// int32 and enum values go on the wire sign-extended to 64 bits, as Protobuf writes them.
std::uint64_t Signed(std::int64_t value) { return static_cast<std::uint64_t>(value); }

template <typename Sink>
bool EncodeUsage(const v1::Usage& usage, Sink& sink) {
  return sink.Number(1, usage.input_tokens()) && sink.Number(2, usage.output_tokens()) &&
         sink.Number(3, usage.cached_input_tokens()) &&
         sink.Number(4, usage.cache_write_input_tokens());
}

// A present usage message: its tag, its length, its fields.
template <typename Sink>
bool EncodeUsageField(int field, const v1::Usage& usage, Sink& sink) {
  SizeSink size;
  EncodeUsage(usage, size);
  return sink.Nested(field, size.size()) && EncodeUsage(usage, sink);
}

template <typename Sink>
bool EncodePayload(const v1::RequestPlanned& m, Sink& sink) {
  return sink.Text(1, m.workflow()) && sink.Text(2, m.stage()) && sink.Text(3, m.custom_id()) &&
         sink.Number(4, m.ordinal()) && sink.Text(5, m.source_custom_id()) &&
         sink.Number(6, m.estimated_input_tokens()) && sink.Text(7, m.model());
}

template <typename Sink>
bool EncodePayload(const v1::RequestSucceeded& m, Sink& sink) {
  return sink.Text(1, m.batch_key()) && sink.Text(2, m.custom_id()) &&
         sink.Number(3, m.attempt()) && (!m.has_usage() || EncodeUsageField(4, m.usage(), sink)) &&
         sink.Text(5, m.finish_reason());
}

template <typename Sink>
bool EncodePayload(const v1::RequestFailed& m, Sink& sink) {
  return sink.Text(1, m.batch_key()) && sink.Text(2, m.custom_id()) &&
         sink.Number(3, m.attempt()) && sink.Text(4, m.code()) && sink.Text(5, m.error_type()) &&
         sink.Text(6, m.message()) && sink.Number(7, Signed(m.http_status())) &&
         sink.Number(8, Signed(m.error_class())) &&
         (!m.has_usage() || EncodeUsageField(9, m.usage(), sink)) &&
         sink.Number(10, m.unknown_code() ? 1 : 0);
}

// Reflection is looked up once: GetReflection() on each call costs a descriptor check.
template <typename Message>
bool HasUnknownFields(const Message& message) {
  static const google::protobuf::Reflection* const reflection = Message::GetReflection();
  return !reflection->GetUnknownFields(message).empty();
}
template <typename Payload>
bool HasUnknownFieldsWithUsage(const Payload& payload) {
  return HasUnknownFields(payload) || (payload.has_usage() && HasUnknownFields(payload.usage()));
}
bool HasUnknownFieldsWithUsage(const v1::RequestPlanned& payload) {
  return HasUnknownFields(payload);
}

// The envelope's fields (numbers 1-5), which precede the payload's (11 and up).
template <typename Sink>
bool EncodeEnvelope(const v1::Event& event, Sink& sink) {
  return sink.Number(v1::Event::kSeqFieldNumber, event.seq()) &&
         sink.Text(v1::Event::kRunIdFieldNumber, event.run_id()) &&
         sink.Number(v1::Event::kRecordedAtUnixUsFieldNumber,
                     Signed(event.recorded_at_unix_us())) &&
         sink.Number(v1::Event::kReaderMayIgnoreFieldNumber, event.reader_may_ignore() ? 1 : 0) &&
         sink.Number(v1::Event::kBlobBytesFieldNumber, event.blob_bytes());
}

template <typename Payload>
bool EncodeEvent(const v1::Event& event, int payload_field, const Payload& payload,
                 std::string& out) {
  if (HasUnknownFields(event) || HasUnknownFieldsWithUsage(payload)) return false;
  SizeSink envelope_size;
  SizeSink payload_size;
  if (!EncodeEnvelope(event, envelope_size) || !EncodePayload(payload, payload_size)) {
    return false;
  }
  const std::size_t payload_tag =
      VarintSize((static_cast<std::uint64_t>(payload_field) << 3) | kLengthWire);
  const std::size_t total =
      envelope_size.size() + payload_tag + VarintSize(payload_size.size()) + payload_size.size();
  out.resize(total);
  PointerSink sink(out.data());
  EncodeEnvelope(event, sink);
  sink.Nested(payload_field, payload_size.size());
  EncodePayload(payload, sink);
  return sink.position() == out.data() + total;
}

}  // namespace

bool EncodeHotEvent(const v1::Event& event, std::string& out) {
  switch (event.payload_case()) {
    case v1::Event::kRequestPlanned:
      return EncodeEvent(event, v1::Event::kRequestPlannedFieldNumber, event.request_planned(),
                         out);
    case v1::Event::kRequestSucceeded:
      return EncodeEvent(event, v1::Event::kRequestSucceededFieldNumber, event.request_succeeded(),
                         out);
    case v1::Event::kRequestFailed:
      return EncodeEvent(event, v1::Event::kRequestFailedFieldNumber, event.request_failed(), out);
    default:
      return false;
  }
}

}  // namespace batchlog::store
