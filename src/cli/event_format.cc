#include "src/cli/event_format.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "src/base/time_format.h"

namespace batchlog::cli {

std::string EventTypeName(const events::v1::Event& event) {
  const auto* field =
      events::v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(event.payload_case()));
  return field == nullptr ? "payload_not_set" : field->name();
}

base::Result<std::string> EventToJsonLine(const events::v1::Event& event) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = false;
  std::string line;
  const auto status = google::protobuf::util::MessageToJsonString(event, &line, options);
  if (!status.ok()) {
    return base::InternalError("event at seq " + std::to_string(event.seq()) +
                               " cannot be rendered as JSON: " + std::string(status.message()));
  }
  line += '\n';
  return line;
}

std::string EventToTextLine(const events::v1::Event& event) {
  std::string line = std::to_string(event.seq());
  line += "  ";
  line += base::FormatUnixMicrosUtc(event.recorded_at_unix_us());
  line += "  ";
  line += EventTypeName(event);
  const auto* field =
      events::v1::Event::descriptor()->FindFieldByNumber(static_cast<int>(event.payload_case()));
  if (field != nullptr) {
    line += "  ";
    line += event.GetReflection()->GetMessage(event, field).ShortDebugString();
  }
  if (event.blob_bytes() > 0) line += "  [blob " + std::to_string(event.blob_bytes()) + " B]";
  line += '\n';
  return line;
}

}  // namespace batchlog::cli
