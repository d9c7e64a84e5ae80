// EventLogWriter: appends steps to one run's log (docs/log-format.md), each step as one
// atomic RocksDB WriteBatch: its events (events CF), their blobs (payloads CF, same seq)
// and an optional snapshot (snapshots CF, keyed by the step's last seq). All of it is in
// the log after Append returns OK; none of it is after an error.
//
// The writer's half of the seq pair check: every event gets seq last_seq()+1, +2, ... and a
// caller-set seq or run id that disagrees is refused before anything is written. The
// reader checks the same relation again after decoding (event_log_reader.h).
//
// Ownership: borrows the RunDatabase, which must outlive it, and must be open kReadWrite.
// Thread-safety: Append from one thread at a time; last_seq() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <rocksdb/write_batch.h>

#include "src/base/result.h"
#include "src/store/event_log.h"
#include "src/store/run_database.h"

namespace batchlog::store {

class EventLogWriter {
 public:
  // `last_seq` is the last seq already in the log (0 when empty).
  EventLogWriter(const RunDatabase& database, std::uint64_t last_seq);
  EventLogWriter(const EventLogWriter&) = delete;
  EventLogWriter& operator=(const EventLogWriter&) = delete;

  // Fills each event's seq, run_id and blob_bytes, then writes the step as one WriteBatch,
  // fsyncing the WAL when step.durability is kSynced. kInvalidArgument (nothing written)
  // for an event without a payload, a caller-set seq or run id that disagrees, or an empty
  // step that only carries a snapshot while the log is empty. A step with no events and no
  // snapshot is a no-op returning an empty range. An empty blob means "no blob". After a
  // failed write RocksDB may refuse every later write of this handle (its background error
  // state); reopening the run recovers from the WAL.
  base::Result<SeqRange> Append(StepBatch& step);

  std::uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }

 private:
  base::Status Validate(const StepBatch& step, std::uint64_t first_seq) const;

  const RunDatabase& database_;
  const std::string run_id_;
  std::atomic<std::uint64_t> last_seq_;
  // Reused across appends so a step costs no allocation once they have grown.
  rocksdb::WriteBatch batch_;
  std::string buffer_;
};

}  // namespace batchlog::store
