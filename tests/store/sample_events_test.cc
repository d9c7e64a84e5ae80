// The sample events of tests/support cover every payload case of events.proto with every
// field set, checked through the descriptor: a new event type or field without a sample
// fails here.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "tests/support/sample_events.h"

namespace batchlog::store {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Appends "path.field" for every field of `message` (recursively) left at its default.
void CollectUnsetFields(const Message& message, const std::string& path,
                        std::vector<std::string>* unset) {
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string name = path + "." + field->name();
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(message, field);
      if (size == 0) unset->push_back(name);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        for (int j = 0; j < size; ++j) {
          CollectUnsetFields(reflection->GetRepeatedMessage(message, field, j), name, unset);
        }
      }
      continue;
    }
    if (!reflection->HasField(message, field)) {
      unset->push_back(name);
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      CollectUnsetFields(reflection->GetMessage(message, field), name, unset);
    }
  }
}

TEST_CASE("the sample events cover every payload case with every field set", "[store]") {
  const std::vector<PendingEvent> samples = batchlog::testing::OneOfEachEventType();
  const auto* oneof = events::v1::Event::descriptor()->FindOneofByName("payload");
  REQUIRE(oneof != nullptr);

  std::set<int> covered;
  for (const PendingEvent& sample : samples) {
    const auto* reflection = sample.event.GetReflection();
    const FieldDescriptor* field = reflection->GetOneofFieldDescriptor(sample.event, oneof);
    REQUIRE(field != nullptr);
    CHECK(covered.insert(field->number()).second);  // one sample per case
    std::vector<std::string> unset;
    CollectUnsetFields(reflection->GetMessage(sample.event, field), field->name(), &unset);
    for (const std::string& name : unset) FAIL_CHECK("sample leaves " << name << " unset");
    CHECK(sample.event.recorded_at_unix_us() > 0);
  }
  for (int i = 0; i < oneof->field_count(); ++i) {
    CAPTURE(oneof->field(i)->name());
    CHECK(covered.count(oneof->field(i)->number()) == 1);
  }
  CHECK(samples.size() == static_cast<std::size_t>(oneof->field_count()));
}

}  // namespace
}  // namespace batchlog::store
