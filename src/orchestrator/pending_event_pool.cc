#include "src/orchestrator/pending_event_pool.h"

#include <utility>

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;

// A blob buffer grown past this (a large answer) is released rather than kept.
constexpr std::size_t kBlobCapacityKept = 64 * 1024;

// Empties `pending` as a fresh PendingEvent is (every envelope field, unknown fields too),
// keeping the payload message of the three event types the loops build, cleared, its
// strings keeping their capacity.
template <typename Payload>
void ClearKeeping(v1::Event& event, Payload* (v1::Event::*release)(),
                  void (v1::Event::*set_allocated)(Payload*)) {
  Payload* payload = (event.*release)();
  payload->Clear();
  event.Clear();
  (event.*set_allocated)(payload);
}

void Reset(store::PendingEvent& pending) {
  v1::Event& event = pending.event;
  switch (event.payload_case()) {
    case v1::Event::kRequestPlanned:
      ClearKeeping(event, &v1::Event::release_request_planned,
                   &v1::Event::set_allocated_request_planned);
      break;
    case v1::Event::kRequestSucceeded:
      ClearKeeping(event, &v1::Event::release_request_succeeded,
                   &v1::Event::set_allocated_request_succeeded);
      break;
    case v1::Event::kRequestFailed:
      ClearKeeping(event, &v1::Event::release_request_failed,
                   &v1::Event::set_allocated_request_failed);
      break;
    default:
      event.Clear();
      break;
  }
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
    if (pending.blob.capacity() > kBlobCapacityKept) pending.blob = std::string();
    Reset(pending);
    spare.push_back(std::move(pending));
  }
  step.clear();
}

}  // namespace batchlog::orchestrator
