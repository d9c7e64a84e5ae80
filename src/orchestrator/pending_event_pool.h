// Pending events whose messages and strings are reused from one step to the next. The
// planning and ingestion loops build up to a step of events (10,000) at a time; built into
// fresh messages and destroyed after their append, each event cost about ten heap
// allocations and frees (the payload message, every string field's string and buffer).
// A recycled slot keeps its payload message when the next event has the same type, and
// its strings keep their capacity.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "src/store/event_log.h"

namespace batchlog::orchestrator {

class PendingEventPool {
 public:
  // Appends an empty pending event to `step` (no envelope field, no payload content, no
  // blob) and returns it, taken from the recycled events while any is left. `payload` is
  // the type the caller will build: a recycled event of that type keeps its (cleared)
  // payload message. The reference is valid until `step` grows again.
  store::PendingEvent& Add(std::vector<store::PendingEvent>& step,
                           events::v1::Event::PayloadCase payload);

  // Takes back every event of `step` (which has been appended), leaving `step` empty. At
  // most `kMaxKept` per payload type are kept, cleared of every field (unknown ones too).
  void Recycle(std::vector<store::PendingEvent>& step);

  // Per payload type kept.
  static constexpr std::size_t kMaxKept = 10'000;

 private:
  // Recycled events by payload type: RequestPlanned, RequestSucceeded, RequestFailed, and
  // any other (kept without a payload).
  static constexpr std::size_t kKinds = 4;
  static std::size_t KindOf(events::v1::Event::PayloadCase payload);
  std::array<std::vector<store::PendingEvent>, kKinds> spare_;
};

}  // namespace batchlog::orchestrator
