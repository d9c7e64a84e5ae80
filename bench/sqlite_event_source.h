// SqliteEventSource: adapts the SQLite baseline's reader to replay::EventSource, so the
// same replayer folds the same events from SQLite (see sqlite_event_log.h).
//
// Ownership: borrows the reader, which must outlive this source. Not thread-safe.
#pragma once

#include "batchlog/events/v1/events.pb.h"
#include "bench/sqlite_event_log.h"
#include "replay/replayer.h"
#include "src/base/status.h"

namespace batchlog::bench {

class SqliteEventSource final : public replay::EventSource {
 public:
  explicit SqliteEventSource(SqliteEventReader& reader) : reader_(reader) {}

  const events::v1::Event* Next() override { return reader_.Next() ? &reader_.event() : nullptr; }
  base::Status status() const override { return reader_.status(); }

 private:
  SqliteEventReader& reader_;
};

}  // namespace batchlog::bench
