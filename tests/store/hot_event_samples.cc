#include "tests/store/hot_event_samples.h"

#include <google/protobuf/descriptor.h>
#include <catch2/catch.hpp>

#include <vector>

namespace batchlog::store::testing {

namespace v1 = events::v1;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

void SetEveryField(Message* message, std::uint64_t value) {
  const Descriptor* descriptor = message->GetDescriptor();
  const auto* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->containing_oneof() != nullptr) continue;
    CAPTURE(descriptor->name(), field->name());
    REQUIRE_FALSE(field->is_repeated());
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        reflection->SetInt32(message, field, -static_cast<std::int32_t>(value));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(message, field, -static_cast<std::int64_t>(value));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        reflection->SetUInt32(message, field, static_cast<std::uint32_t>(value));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        reflection->SetUInt64(message, field, value);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(message, field, static_cast<double>(value));
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        reflection->SetFloat(message, field, static_cast<float>(value));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(message, field, true);
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(message, field, field->name() + "-" + std::to_string(value));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        reflection->SetEnumValue(message, field, static_cast<int>(value % 5) + 1);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        SetEveryField(reflection->MutableMessage(message, field), value + 1);
        break;
    }
  }
}

v1::Event HotEventWithEveryField(int payload_field) {
  v1::Event event;
  const FieldDescriptor* field = v1::Event::descriptor()->FindFieldByNumber(payload_field);
  REQUIRE(field != nullptr);
  SetEveryField(&event, 123456789);
  SetEveryField(event.GetReflection()->MutableMessage(&event, field), 987654321);
  return event;
}

std::uint64_t RandomNumber(base::SeededRandom& random) {
  switch (random.NextU64() % 6) {
    case 0:
      return 0;
    case 1:
      return random.NextU64() % 128;
    case 2:
      return ~std::uint64_t{0} - random.NextU64() % 3;  // 10-byte varints
    case 3:
      return std::uint64_t{1} << (random.NextU64() % 64);
    default:
      return random.NextU64() >> (random.NextU64() % 64);
  }
}

std::string RandomText(base::SeededRandom& random) {
  static const std::vector<std::string> kTexts = {
      "",
      "q001",
      "math",
      "stage_1",
      "bench:stage_1:a1:b7",
      "gpt-4o-mini",
      "a longer message with spaces, commas and digits 0123456789 past eight bytes",
      std::string(200, 'x'),  // a two-byte length
      "caf\xc3\xa9",          // UTF-8, not ASCII: the generic parser's
      "\x7f\x01\x00",         // ASCII control bytes, valid UTF-8
  };
  return kTexts[random.NextU64() % kTexts.size()];
}

v1::Event RandomHotEvent(base::SeededRandom& random) {
  v1::Event event;
  const auto maybe = [&random] { return random.NextU64() % 3 != 0; };
  if (maybe()) event.set_seq(RandomNumber(random));
  if (maybe()) event.set_run_id(RandomText(random));
  if (maybe()) event.set_recorded_at_unix_us(static_cast<std::int64_t>(RandomNumber(random)));
  if (maybe()) event.set_reader_may_ignore(true);
  if (maybe()) event.set_blob_bytes(static_cast<std::uint32_t>(RandomNumber(random)));
  const auto fill_usage = [&](v1::Usage* usage) {
    if (maybe()) usage->set_input_tokens(RandomNumber(random));
    if (maybe()) usage->set_output_tokens(RandomNumber(random));
    if (maybe()) usage->set_cached_input_tokens(RandomNumber(random));
    if (maybe()) usage->set_cache_write_input_tokens(RandomNumber(random));
  };
  switch (random.NextU64() % 3) {
    case 0: {
      v1::RequestPlanned* planned = event.mutable_request_planned();
      if (maybe()) planned->set_workflow(RandomText(random));
      if (maybe()) planned->set_stage(RandomText(random));
      if (maybe()) planned->set_custom_id(RandomText(random));
      if (maybe()) planned->set_ordinal(RandomNumber(random));
      if (maybe()) planned->set_source_custom_id(RandomText(random));
      if (maybe()) planned->set_estimated_input_tokens(RandomNumber(random));
      if (maybe()) planned->set_model(RandomText(random));
      break;
    }
    case 1: {
      v1::RequestSucceeded* succeeded = event.mutable_request_succeeded();
      if (maybe()) succeeded->set_batch_key(RandomText(random));
      if (maybe()) succeeded->set_custom_id(RandomText(random));
      if (maybe()) succeeded->set_attempt(static_cast<std::uint32_t>(RandomNumber(random)));
      if (maybe()) fill_usage(succeeded->mutable_usage());
      if (maybe()) succeeded->set_finish_reason(RandomText(random));
      break;
    }
    default: {
      v1::RequestFailed* failed = event.mutable_request_failed();
      if (maybe()) failed->set_batch_key(RandomText(random));
      if (maybe()) failed->set_custom_id(RandomText(random));
      if (maybe()) failed->set_attempt(static_cast<std::uint32_t>(RandomNumber(random)));
      if (maybe()) failed->set_code(RandomText(random));
      if (maybe()) failed->set_error_type(RandomText(random));
      if (maybe()) failed->set_message(RandomText(random));
      if (maybe()) failed->set_http_status(static_cast<std::int32_t>(RandomNumber(random)));
      if (maybe()) {
        failed->set_error_class(
            static_cast<v1::ErrorClass>(static_cast<std::int32_t>(RandomNumber(random) % 7)));
      }
      if (maybe()) fill_usage(failed->mutable_usage());
      break;
    }
  }
  return event;
}

}  // namespace batchlog::store::testing
