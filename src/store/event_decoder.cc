#include "src/store/event_decoder.h"

#include <climits>
#include <cstdint>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>

#include "src/store/wire_reader.h"

namespace batchlog::store {

namespace v1 = events::v1;

namespace {

// The Event field of payload field number `number` (from the descriptor, so new payload
// cases need no code here), or nullptr.
const google::protobuf::FieldDescriptor* PayloadField(std::uint64_t number) {
  static const std::vector<const google::protobuf::FieldDescriptor*> fields = [] {
    std::vector<const google::protobuf::FieldDescriptor*> result;
    const auto* descriptor = v1::Event::descriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* field = descriptor->field(i);
      if (field->containing_oneof() == nullptr) continue;
      const auto index = static_cast<std::size_t>(field->number());
      if (result.size() <= index) result.resize(index + 1, nullptr);
      result[index] = field;
    }
    return result;
  }();
  return number < fields.size() ? fields[number] : nullptr;
}

// The field number of the first payload in `bytes` (0: none), found by walking the top-level
// fields without decoding them: cheap, since the envelope is a few small fields and the
// payload is skipped by its length. Only a length-delimited field is a payload: with another
// wire type Protobuf keeps it as an unknown field. Malformed bytes end the walk; the parse
// itself then rejects them.
std::uint64_t FirstPayloadField(std::string_view bytes) {
  WireReader reader(bytes);
  while (!reader.done()) {
    std::uint32_t field = 0;
    std::uint32_t wire_type = 0;
    if (!reader.Tag(field, wire_type)) break;
    if (wire_type == kLengthWire && PayloadField(field) != nullptr) return field;
    if (!reader.Skip(wire_type)) break;
  }
  return 0;
}

}  // namespace

void EventDecoder::SwitchPayload(std::uint64_t next) {
  const auto current = static_cast<std::uint64_t>(event_.payload_case());
  if (current == next) return;
  const auto* reflection = event_.GetReflection();
  if (current != 0) {
    const std::size_t index = static_cast<std::size_t>(current);
    if (spares_.size() <= index) spares_.resize(index + 1);
    spares_[index].reset(reflection->ReleaseMessage(&event_, PayloadField(current)));
  }
  const auto* field = PayloadField(next);
  if (field == nullptr) return;
  const std::size_t index = static_cast<std::size_t>(next);
  if (index < spares_.size() && spares_[index] != nullptr) {
    reflection->SetAllocatedMessage(&event_, spares_[index].release(), field);
  }
}

void EventDecoder::ClearEnvelope() {
  // Field by field: a new envelope field must be added here (event_decoder_test sets every
  // envelope field through the descriptor and fails if one survives a decode).
  event_.clear_seq();
  event_.clear_run_id();
  event_.clear_recorded_at_unix_us();
  event_.clear_reader_may_ignore();
  event_.clear_blob_bytes();
}

bool EventDecoder::Decode(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return false;
  if (ParseHotEvent(bytes, hot_)) {
    // ApplyHotEvent sets every known field; unknown ones a Protobuf parse kept must go.
    // (The reflection is fetched only then: GetReflection() costs ~100 instructions, a
    // tenth of a hot decode.)
    if (top_level_unknown_) {
      event_.GetReflection()->MutableUnknownFields(&event_)->Clear();
      top_level_unknown_ = false;
    }
    const auto payload = static_cast<std::uint64_t>(hot_.payload);
    SwitchPayload(payload);
    if (payload < payload_unknown_.size() && payload_unknown_[payload]) {
      event_.GetReflection()->MutableMessage(&event_, PayloadField(payload))->Clear();
      payload_unknown_[payload] = false;
    }
    ApplyHotEvent(hot_, event_);
    return true;
  }
  const auto* reflection = event_.GetReflection();
  // Protobuf's parse merges into the message: clear it first, keeping the payload message of
  // the coming type (from the spares), its strings and its repeated fields' elements.
  const std::uint64_t first_payload_field = FirstPayloadField(bytes);
  SwitchPayload(first_payload_field);
  ClearEnvelope();
  if (top_level_unknown_) reflection->MutableUnknownFields(&event_)->Clear();
  if (event_.payload_case() != v1::Event::PAYLOAD_NOT_SET) {
    reflection->MutableMessage(&event_, PayloadField(first_payload_field))->Clear();
  }
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  // Partial: proto3 has no required fields, so the initialization check would only cost.
  // A parse that stops early (e.g. at a stray end-group tag) has not read a whole Event.
  const bool parsed = event_.MergePartialFromCodedStream(&input) &&
                      input.ConsumedEntireMessage() &&
                      input.CurrentPosition() == static_cast<int>(bytes.size());
  // What the parse may have kept as unknown fields (conservatively: anything it parsed).
  top_level_unknown_ = true;
  const auto payload = static_cast<std::size_t>(event_.payload_case());
  if (payload != 0) {
    if (payload_unknown_.size() <= payload) payload_unknown_.resize(payload + 1, false);
    payload_unknown_[payload] = true;
  }
  return parsed;
}

}  // namespace batchlog::store
