#include "src/store/hot_event_decoder.h"

#include "src/store/wire_reader.h"

namespace batchlog::store {

namespace v1 = events::v1;

namespace {

// What a payload field number holds. Kept by hand, in step with events.proto: a field this
// table lacks sends its event to the generic parser, and hot_event_decoder_test fails.
enum class PayloadFieldKind : std::uint8_t { kNone, kText, kVarint, kUsage };

using FieldTable = std::array<PayloadFieldKind, HotEvent::kMaxField + 1>;

constexpr PayloadFieldKind T = PayloadFieldKind::kText;
constexpr PayloadFieldKind V = PayloadFieldKind::kVarint;
constexpr PayloadFieldKind U = PayloadFieldKind::kUsage;
constexpr PayloadFieldKind N = PayloadFieldKind::kNone;

// RequestPlanned: workflow stage custom_id ordinal source_custom_id estimated_input_tokens model
constexpr FieldTable kRequestPlannedFields = {N, T, T, T, V, T, V, T, N, N, N};
// RequestSucceeded: batch_key custom_id attempt usage finish_reason
constexpr FieldTable kRequestSucceededFields = {N, T, T, V, U, T, N, N, N, N, N};
// RequestFailed: batch_key custom_id attempt code error_type message http_status error_class
// usage unknown_code
constexpr FieldTable kRequestFailedFields = {N, T, T, V, T, T, T, V, V, U, V};

bool ParseUsage(std::string_view bytes, HotEvent::Usage& usage) {
  // A repeated usage field merges into the first, as Protobuf merges a repeated message.
  usage.present = true;
  WireReader reader(bytes);
  while (!reader.done()) {
    std::uint32_t field = 0;
    std::uint32_t wire_type = 0;
    if (!reader.Tag(field, wire_type) || wire_type != kVarintWire) return false;
    std::uint64_t* target = nullptr;
    switch (field) {
      case 1:
        target = &usage.input_tokens;
        break;
      case 2:
        target = &usage.output_tokens;
        break;
      case 3:
        target = &usage.cached_input_tokens;
        break;
      case 4:
        target = &usage.cache_write_input_tokens;
        break;
      default:
        return false;
    }
    if (!reader.Varint(*target)) return false;
  }
  return true;
}

bool ParsePayload(std::string_view bytes, const FieldTable& fields, HotEvent& hot) {
  WireReader reader(bytes);
  while (!reader.done()) {
    std::uint32_t field = 0;
    std::uint32_t wire_type = 0;
    if (!reader.Tag(field, wire_type) || field > HotEvent::kMaxField) return false;
    std::string_view usage;
    switch (fields[field]) {
      case PayloadFieldKind::kText:
        if (wire_type != kLengthWire || !reader.Text(hot.text[field])) return false;
        break;
      case PayloadFieldKind::kVarint:
        if (wire_type != kVarintWire || !reader.Varint(hot.number[field])) return false;
        break;
      case PayloadFieldKind::kUsage:
        if (wire_type != kLengthWire || !reader.Bytes(usage) || !ParseUsage(usage, hot.usage)) {
          return false;
        }
        break;
      case PayloadFieldKind::kNone:
        return false;
    }
  }
  return true;
}

// Sets a string field, reusing its capacity. A value equal to the field's (the workflow,
// stage, model or batch key of the previous event of the same type, mostly) is left in
// place; an empty value into an empty field allocates nothing (mutable_*() would allocate
// a string for a field at its default).
template <typename Message>
void SetText(Message* message, const std::string& (Message::*get)() const,
             std::string* (Message::*mutate)(), std::string_view value) {
  if (std::string_view((message->*get)()) == value) return;
  (message->*mutate)()->assign(value.data(), value.size());
}

}  // namespace

bool ParseHotEvent(std::string_view bytes, HotEvent& hot) {
  hot = HotEvent{};
  WireReader reader(bytes);
  std::string_view payload;
  while (!reader.done()) {
    std::uint32_t field = 0;
    std::uint32_t wire_type = 0;
    if (!reader.Tag(field, wire_type)) return false;
    bool ok = false;
    switch (field) {
      case v1::Event::kSeqFieldNumber:
        ok = wire_type == kVarintWire && reader.Varint(hot.seq);
        break;
      case v1::Event::kRunIdFieldNumber:
        ok = wire_type == kLengthWire && reader.Text(hot.run_id);
        break;
      case v1::Event::kRecordedAtUnixUsFieldNumber:
        ok = wire_type == kVarintWire && reader.Varint(hot.recorded_at_unix_us);
        break;
      case v1::Event::kReaderMayIgnoreFieldNumber:
        ok = wire_type == kVarintWire && reader.Varint(hot.reader_may_ignore);
        break;
      case v1::Event::kBlobBytesFieldNumber:
        ok = wire_type == kVarintWire && reader.Varint(hot.blob_bytes);
        break;
      case v1::Event::kRequestPlannedFieldNumber:
      case v1::Event::kRequestSucceededFieldNumber:
      case v1::Event::kRequestFailedFieldNumber:
        // A second payload field (same type: merged; another: replaces) is left to Protobuf.
        ok = wire_type == kLengthWire && hot.payload == v1::Event::PAYLOAD_NOT_SET &&
             reader.Bytes(payload);
        hot.payload = static_cast<v1::Event::PayloadCase>(field);
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  switch (hot.payload) {
    case v1::Event::kRequestPlanned:
      return ParsePayload(payload, kRequestPlannedFields, hot);
    case v1::Event::kRequestSucceeded:
      return ParsePayload(payload, kRequestSucceededFields, hot);
    case v1::Event::kRequestFailed:
      return ParsePayload(payload, kRequestFailedFields, hot);
    default:
      return false;
  }
}

void ApplyHotEvent(const HotEvent& hot, v1::Event& event) {
  event.set_seq(hot.seq);
  SetText(&event, &v1::Event::run_id, &v1::Event::mutable_run_id, hot.run_id);
  event.set_recorded_at_unix_us(static_cast<std::int64_t>(hot.recorded_at_unix_us));
  event.set_reader_may_ignore(hot.reader_may_ignore != 0);
  event.set_blob_bytes(static_cast<std::uint32_t>(hot.blob_bytes));
  const auto set_usage = [&hot](auto* message) {
    if (!hot.usage.present) {
      message->clear_usage();
      return;
    }
    v1::Usage* usage = message->mutable_usage();
    usage->set_input_tokens(hot.usage.input_tokens);
    usage->set_output_tokens(hot.usage.output_tokens);
    usage->set_cached_input_tokens(hot.usage.cached_input_tokens);
    usage->set_cache_write_input_tokens(hot.usage.cache_write_input_tokens);
  };
  switch (hot.payload) {
    case v1::Event::kRequestPlanned: {
      using Planned = v1::RequestPlanned;
      Planned* planned = event.mutable_request_planned();
      SetText(planned, &Planned::workflow, &Planned::mutable_workflow, hot.text[1]);
      SetText(planned, &Planned::stage, &Planned::mutable_stage, hot.text[2]);
      SetText(planned, &Planned::custom_id, &Planned::mutable_custom_id, hot.text[3]);
      planned->set_ordinal(hot.number[4]);
      SetText(planned, &Planned::source_custom_id, &Planned::mutable_source_custom_id, hot.text[5]);
      planned->set_estimated_input_tokens(hot.number[6]);
      SetText(planned, &Planned::model, &Planned::mutable_model, hot.text[7]);
      break;
    }
    case v1::Event::kRequestSucceeded: {
      using Succeeded = v1::RequestSucceeded;
      Succeeded* succeeded = event.mutable_request_succeeded();
      SetText(succeeded, &Succeeded::batch_key, &Succeeded::mutable_batch_key, hot.text[1]);
      SetText(succeeded, &Succeeded::custom_id, &Succeeded::mutable_custom_id, hot.text[2]);
      succeeded->set_attempt(static_cast<std::uint32_t>(hot.number[3]));
      set_usage(succeeded);
      SetText(succeeded, &Succeeded::finish_reason, &Succeeded::mutable_finish_reason, hot.text[5]);
      break;
    }
    case v1::Event::kRequestFailed: {
      using Failed = v1::RequestFailed;
      Failed* failed = event.mutable_request_failed();
      SetText(failed, &Failed::batch_key, &Failed::mutable_batch_key, hot.text[1]);
      SetText(failed, &Failed::custom_id, &Failed::mutable_custom_id, hot.text[2]);
      failed->set_attempt(static_cast<std::uint32_t>(hot.number[3]));
      SetText(failed, &Failed::code, &Failed::mutable_code, hot.text[4]);
      SetText(failed, &Failed::error_type, &Failed::mutable_error_type, hot.text[5]);
      SetText(failed, &Failed::message, &Failed::mutable_message, hot.text[6]);
      failed->set_http_status(static_cast<std::int32_t>(hot.number[7]));
      const auto error_class = static_cast<std::int32_t>(hot.number[8]);
      failed->set_error_class(static_cast<v1::ErrorClass>(error_class));
      set_usage(failed);
      failed->set_unknown_code(hot.number[10] != 0);
      break;
    }
    default:
      break;  // ParseHotEvent accepts no other payload
  }
}

}  // namespace batchlog::store
