// EventLogEventSource: adapts the store's EventLogReader to replay::EventSource, so the
// replayer folds a log straight from RocksDB (the reader's decoded message is handed out
// without a copy).
//
// Ownership: borrows the reader, which must outlive this source. Not thread-safe.
#pragma once

#include "batchlog/events/v1/events.pb.h"
#include "replay/replayer.h"
#include "src/base/status.h"
#include "src/store/event_log.h"

namespace batchlog::bench {

class EventLogEventSource final : public replay::EventSource {
 public:
  explicit EventLogEventSource(store::EventLogReader& reader) : reader_(reader) {}

  const events::v1::Event* Next() override { return reader_.Next() ? &reader_.event() : nullptr; }
  base::Status status() const override { return reader_.status(); }

 private:
  store::EventLogReader& reader_;
};

}  // namespace batchlog::bench
