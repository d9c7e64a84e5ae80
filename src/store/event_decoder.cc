#include "src/store/event_decoder.h"

#include <climits>
#include <cstdint>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>

namespace batchlog::store {

namespace v1 = events::v1;

namespace {

enum class FieldKind : std::uint8_t { kUnknown, kEnvelope, kPayload };

// What each top-level field number of Event is, from the descriptor (so new fields and
// payload cases need no code here). Numbers past the end are unknown.
const std::vector<FieldKind>& TopLevelFieldKinds() {
  static const std::vector<FieldKind> kinds = [] {
    std::vector<FieldKind> result;
    const auto* descriptor = v1::Event::descriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const auto* field = descriptor->field(i);
      const auto number = static_cast<std::size_t>(field->number());
      if (result.size() <= number) result.resize(number + 1, FieldKind::kUnknown);
      result[number] =
          field->containing_oneof() != nullptr ? FieldKind::kPayload : FieldKind::kEnvelope;
    }
    return result;
  }();
  return kinds;
}

bool ReadVarint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t* value) {
  std::uint64_t result = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    const std::uint8_t byte = *p++;
    result |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return false;
}

struct TopLevelScan {
  std::uint64_t first_payload_field = 0;  // 0 = none
  bool has_unknown_fields = false;
};

// Walks the top-level fields of `bytes` without decoding them: cheap, since the envelope is
// a few small fields and the payload is skipped by its length. Malformed bytes end the walk
// (reported as unknown fields, so the next decode starts from a clean message); the parse
// itself then rejects them.
TopLevelScan ScanTopLevel(std::string_view bytes) {
  const std::vector<FieldKind>& kinds = TopLevelFieldKinds();
  TopLevelScan scan;
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    std::uint64_t tag = 0;
    if (!ReadVarint(p, end, &tag)) break;
    const std::uint64_t field = tag >> 3;
    const FieldKind kind = field < kinds.size() ? kinds[field] : FieldKind::kUnknown;
    if (kind == FieldKind::kPayload && scan.first_payload_field == 0) {
      scan.first_payload_field = field;
    }
    if (kind == FieldKind::kUnknown) scan.has_unknown_fields = true;
    std::uint64_t skip = 0;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(p, end, &skip)) p = end + 1;
        skip = 0;
        break;
      case 1:
        skip = 8;
        break;
      case 2:
        if (!ReadVarint(p, end, &skip)) p = end + 1;
        break;
      case 5:
        skip = 4;
        break;
      default:
        p = end + 1;
        break;
    }
    if (p > end || skip > static_cast<std::uint64_t>(end - p)) {
      scan.has_unknown_fields = true;
      break;
    }
    p += skip;
  }
  return scan;
}

}  // namespace

void EventDecoder::ClearKeepingPayload() {
  // Envelope fields, one by one: a new envelope field must be added here
  // (event_decoder_test sets every envelope field through the descriptor and fails if one
  // survives a decode).
  event_.clear_seq();
  event_.clear_run_id();
  event_.clear_recorded_at_unix_us();
  event_.clear_reader_may_ignore();
  event_.clear_blob_bytes();
  // No default: a new payload case fails to compile (-Wswitch) until it is listed.
  switch (event_.payload_case()) {
    case v1::Event::kRunStarted:
      event_.mutable_run_started()->Clear();
      break;
    case v1::Event::kRequestPlanned:
      event_.mutable_request_planned()->Clear();
      break;
    case v1::Event::kBatchPlanned:
      event_.mutable_batch_planned()->Clear();
      break;
    case v1::Event::kFileUploaded:
      event_.mutable_file_uploaded()->Clear();
      break;
    case v1::Event::kBatchSubmitted:
      event_.mutable_batch_submitted()->Clear();
      break;
    case v1::Event::kSubmitRejected:
      event_.mutable_submit_rejected()->Clear();
      break;
    case v1::Event::kBatchPolled:
      event_.mutable_batch_polled()->Clear();
      break;
    case v1::Event::kBatchEnded:
      event_.mutable_batch_ended()->Clear();
      break;
    case v1::Event::kRequestSucceeded:
      event_.mutable_request_succeeded()->Clear();
      break;
    case v1::Event::kRequestFailed:
      event_.mutable_request_failed()->Clear();
      break;
    case v1::Event::kResultsIngested:
      event_.mutable_results_ingested()->Clear();
      break;
    case v1::Event::kRetryScheduled:
      event_.mutable_retry_scheduled()->Clear();
      break;
    case v1::Event::kRequestsAbandoned:
      event_.mutable_requests_abandoned()->Clear();
      break;
    case v1::Event::kQuotaWarning:
      event_.mutable_quota_warning()->Clear();
      break;
    case v1::Event::kStageCompleted:
      event_.mutable_stage_completed()->Clear();
      break;
    case v1::Event::kRunCompleted:
      event_.mutable_run_completed()->Clear();
      break;
    case v1::Event::kRunFailed:
      event_.mutable_run_failed()->Clear();
      break;
    case v1::Event::kRunCancelled:
      event_.mutable_run_cancelled()->Clear();
      break;
    case v1::Event::kRunResumed:
      event_.mutable_run_resumed()->Clear();
      break;
    case v1::Event::kWorkflowFileChanged:
      event_.mutable_workflow_file_changed()->Clear();
      break;
    case v1::Event::PAYLOAD_NOT_SET:
      break;
  }
}

bool EventDecoder::Decode(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) return false;
  const TopLevelScan scan = ScanTopLevel(bytes);
  // PayloadCase values are the payload field numbers (protoc generates them so). Reuse
  // needs the same payload type, and no unknown top-level fields kept from the previous
  // bytes (ClearKeepingPayload does not clear those; Clear does).
  if (scan.first_payload_field != 0 && !previous_had_unknown_fields_ &&
      scan.first_payload_field == static_cast<std::uint64_t>(event_.payload_case())) {
    ClearKeepingPayload();
  } else {
    event_.Clear();
  }
  previous_had_unknown_fields_ = scan.has_unknown_fields;
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  // Partial: proto3 has no required fields, so the initialization check would only cost.
  // A parse that stops early (e.g. at a stray end-group tag) has not read a whole Event.
  return event_.MergePartialFromCodedStream(&input) && input.ConsumedEntireMessage() &&
         input.CurrentPosition() == static_cast<int>(bytes.size());
}

}  // namespace batchlog::store
