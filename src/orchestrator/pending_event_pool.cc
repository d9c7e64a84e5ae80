#include "src/orchestrator/pending_event_pool.h"

#include <google/protobuf/message.h>

#include <utility>

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;

// A blob buffer grown past this (a large answer) is released rather than kept.
constexpr std::size_t kBlobCapacityKept = 64 * 1024;

bool HasUnknownFields(const google::protobuf::Message& message) {
  return !message.GetReflection()->GetUnknownFields(message).empty();
}

// Empties `pending` as a fresh PendingEvent is, keeping the payload message of the three
// event types the loops build (cleared, its strings keeping their capacity).
void Reset(store::PendingEvent& pending) {
  v1::Event& event = pending.event;
  switch (event.payload_case()) {
    case v1::Event::kRequestPlanned:
      event.mutable_request_planned()->Clear();
      break;
    case v1::Event::kRequestSucceeded:
      event.mutable_request_succeeded()->Clear();
      break;
    case v1::Event::kRequestFailed:
      event.mutable_request_failed()->Clear();
      break;
    default:
      event.clear_payload();
      break;
  }
  event.clear_seq();
  event.clear_run_id();
  event.clear_recorded_at_unix_us();
  event.clear_reader_may_ignore();
  event.clear_blob_bytes();
  pending.blob.clear();
}

}  // namespace

std::size_t PendingEventPool::KindOf(v1::Event::PayloadCase payload) {
  switch (payload) {
    case v1::Event::kRequestPlanned:
      return 0;
    case v1::Event::kRequestSucceeded:
      return 1;
    case v1::Event::kRequestFailed:
      return 2;
    default:
      return 3;
  }
}

store::PendingEvent& PendingEventPool::Add(std::vector<store::PendingEvent>& step,
                                           v1::Event::PayloadCase payload) {
  std::vector<store::PendingEvent>* spare = &spare_[KindOf(payload)];
  // No recycled event of this type: one without a payload saves the strings at least.
  if (spare->empty()) spare = &spare_[KindOf(v1::Event::PAYLOAD_NOT_SET)];
  if (spare->empty()) return step.emplace_back();
  store::PendingEvent& pending = step.emplace_back(std::move(spare->back()));
  spare->pop_back();
  return pending;
}

void PendingEventPool::Recycle(std::vector<store::PendingEvent>& step) {
  for (store::PendingEvent& pending : step) {
    std::vector<store::PendingEvent>& spare = spare_[KindOf(pending.event.payload_case())];
    if (spare.size() >= kMaxKept) continue;
    // An event read from elsewhere may carry fields this build does not know; a kept
    // message would carry them into the next event.
    if (HasUnknownFields(pending.event)) continue;
    if (pending.blob.capacity() > kBlobCapacityKept) pending.blob = std::string();
    Reset(pending);
    spare.push_back(std::move(pending));
  }
  step.clear();
}

}  // namespace batchlog::orchestrator
