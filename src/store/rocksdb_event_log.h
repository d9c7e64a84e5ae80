// RocksDbEventLog: the EventLog of one run, over its RunDatabase. It ties together the
// writer (kReadWrite only), readers, blobs and snapshots, and tracks last_seq().
//
// Ownership: owns the RunDatabase; readers it creates borrow it and must not outlive the
// log. Thread-safety: as EventLog — Append from one thread; reads, last_seq() and
// NewReader from any thread; CatchUp not concurrently with itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "src/base/result.h"
#include "src/store/event_log.h"
#include "src/store/event_log_writer.h"
#include "src/store/run_database.h"
#include "src/store/snapshot_store.h"

namespace batchlog::store {

class RocksDbEventLog final : public EventLog {
 public:
  // Reads the last seq of the opened database and, for kReadWrite, sets up the writer.
  static base::Result<std::unique_ptr<RocksDbEventLog>> Open(std::unique_ptr<RunDatabase> database);

  const std::string& run_id() const override { return database_->run_id(); }
  OpenMode mode() const override { return database_->mode(); }
  std::uint64_t last_seq() const override;
  std::uint64_t synced_seq() const override;
  base::Result<SeqRange> Append(StepBatch& step) override;
  std::unique_ptr<EventLogReader> NewReader(const ReadOptions& options) const override;
  base::Result<std::string> ReadBlob(std::uint64_t seq) const override;
  base::Status ReadBlobs(
      std::span<const std::uint64_t> seqs,
      const std::function<base::Status(std::uint64_t seq, std::string_view blob)>& visit)
      const override;
  base::Result<std::optional<Snapshot>> LatestSnapshot(std::uint64_t at_or_before) const override;
  base::Result<std::vector<std::uint64_t>> SnapshotSeqs() const override;
  base::Status CatchUp() override;
  base::Status Flush() override;

 private:
  RocksDbEventLog(std::unique_ptr<RunDatabase> database, std::uint64_t last_seq);

  std::unique_ptr<RunDatabase> database_;
  std::unique_ptr<EventLogWriter> writer_;  // kReadWrite only
  SnapshotStore snapshots_;
  std::atomic<std::uint64_t> last_seq_;  // kReadOnly / kSecondary
  std::uint64_t synced_seq_ = 0;         // see synced_seq(); written by Append's thread
};

}  // namespace batchlog::store
