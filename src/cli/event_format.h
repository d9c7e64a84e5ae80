// The two renderings of an event for `batchlog events`:
// - JSON (--json): one line of proto3 canonical JSON of the whole envelope, with the proto
//   field names (run_id, not runId), enums by name, 64-bit integers as strings (the proto3
//   JSON mapping), defaults omitted. Any Protobuf library parses it back into an Event.
//   docs/events.md specifies it as the stable export format.
// - text: "seq  recorded_at  type  fields" for people.
#pragma once

#include <string>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/result.h"

namespace batchlog::cli {

base::Result<std::string> EventToJsonLine(const events::v1::Event& event);
std::string EventToTextLine(const events::v1::Event& event);
// "run_started", "batch_planned", ...: the name of the payload's oneof field.
std::string EventTypeName(const events::v1::Event& event);

}  // namespace batchlog::cli
