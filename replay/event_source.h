// EventSource: a pull source of events in seq order, the replayer's only input. The
// orchestrator adapts the store's reader to it (replay knows nothing of the store);
// VectorEventSource serves tests and benchmarks from memory.
//
// States: Next() returns the next event, valid until the following Next() call, or
// nullptr once the source is exhausted (status() OK) or failed (status() says why).
// Not thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/status.h"

namespace batchlog::replay {

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Next event, or nullptr when exhausted or failed (then status() says which).
  virtual const events::v1::Event* Next() = 0;
  virtual base::Status status() const = 0;
};

// Serves [begin, end) of a vector the caller owns; the vector must outlive the source.
class VectorEventSource final : public EventSource {
 public:
  explicit VectorEventSource(const std::vector<events::v1::Event>& events)
      : VectorEventSource(events, 0, events.size()) {}
  VectorEventSource(const std::vector<events::v1::Event>& events, std::size_t begin,
                    std::size_t end)
      : events_(&events), next_(begin), end_(end < events.size() ? end : events.size()) {}

  const events::v1::Event* Next() override { return next_ < end_ ? &(*events_)[next_++] : nullptr; }
  base::Status status() const override { return base::Status::Ok(); }

 private:
  const std::vector<events::v1::Event>* events_;
  std::size_t next_;
  std::size_t end_;
};

}  // namespace batchlog::replay
