#include "src/store/rocksdb_event_log.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include <rocksdb/db.h>

#include "src/store/event_log_reader.h"
#include "src/store/key_format.h"
#include "src/store/rocksdb_status.h"

namespace batchlog::store {

base::Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::Open(
    std::unique_ptr<RunDatabase> database) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint64_t last_seq, database->ReadLastSeq());
  return std::unique_ptr<RocksDbEventLog>(new RocksDbEventLog(std::move(database), last_seq));
}

RocksDbEventLog::RocksDbEventLog(std::unique_ptr<RunDatabase> database, std::uint64_t last_seq)
    : database_(std::move(database)),
      snapshots_(*database_),
      last_seq_(last_seq),
      synced_seq_(last_seq) {
  if (database_->mode() == OpenMode::kReadWrite) {
    writer_ = std::make_unique<EventLogWriter>(*database_, last_seq);
  }
}

std::uint64_t RocksDbEventLog::synced_seq() const {
  return writer_ ? synced_seq_ : last_seq();
}

std::uint64_t RocksDbEventLog::last_seq() const {
  return writer_ ? writer_->last_seq() : last_seq_.load(std::memory_order_acquire);
}

base::Result<SeqRange> RocksDbEventLog::Append(StepBatch& step) {
  if (!writer_) {
    return base::FailedPreconditionError("run '" + run_id() +
                                         "' is open for reading only; appending needs a "
                                         "read-write handle");
  }
  const bool has_snapshot = step.snapshot.has_value();
  base::Result<SeqRange> range = writer_->Append(step);
  if (range.ok() && step.durability == Durability::kSynced) {
    synced_seq_ = std::max(synced_seq_, range->last);
  }
  // The steps a snapshot covers are replayed from it, not from the WAL: flush them to table
  // files in the background, so a reopen after a kill replays only the WAL written since.
  if (range.ok() && has_snapshot) database_->StartBackgroundFlush();
  return range;
}

std::unique_ptr<EventLogReader> RocksDbEventLog::NewReader(const ReadOptions& options) const {
  return std::make_unique<RocksDbEventLogReader>(*database_, options);
}

base::Result<std::string> RocksDbEventLog::ReadBlob(std::uint64_t seq) const {
  const key_format::SeqKey key = key_format::EncodeSeqKey(seq);
  std::string blob;
  const rocksdb::Status status = database_->db()->Get(
      rocksdb::ReadOptions(), database_->payloads(), rocksdb::Slice(key.data(), key.size()), &blob);
  if (status.IsNotFound()) {
    return base::NotFoundError("run '" + run_id() + "': event at seq " + std::to_string(seq) +
                               " has no blob");
  }
  BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(
      status, "run '" + run_id() + "': reading the blob of seq " + std::to_string(seq)));
  return blob;
}

base::Status RocksDbEventLog::ReadBlobs(
    std::span<const std::uint64_t> seqs,
    const std::function<base::Status(std::uint64_t seq, std::string_view blob)>& visit) const {
  if (seqs.empty()) return base::Status::Ok();
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(
      database_->db()->NewIterator(options, database_->payloads()));
  auto missing = [&](std::uint64_t seq) {
    return base::NotFoundError("run '" + run_id() + "': event at seq " + std::to_string(seq) +
                               " has no blob");
  };
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    const std::uint64_t seq = seqs[i];
    const key_format::SeqKey key = key_format::EncodeSeqKey(seq);
    const rocksdb::Slice wanted(key.data(), key.size());
    // Consecutive seqs are usually the next key: step instead of seeking.
    bool positioned = false;
    if (i > 0 && it->Valid()) {
      it->Next();
      positioned = it->Valid() && it->key() == wanted;
    }
    if (!positioned) {
      it->Seek(wanted);
      if (!it->Valid() || it->key() != wanted) {
        BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(
            it->status(), "run '" + run_id() + "': reading the blob of seq " +
                              std::to_string(seq)));
        return missing(seq);
      }
    }
    BATCHLOG_RETURN_IF_ERROR(visit(seq, std::string_view(it->value().data(), it->value().size())));
  }
  return FromRocksDbStatus(it->status(), "run '" + run_id() + "': reading blobs");
}

base::Result<std::optional<Snapshot>> RocksDbEventLog::LatestSnapshot(
    std::uint64_t at_or_before) const {
  // Never hand out a snapshot ahead of the events this handle can read.
  return snapshots_.Latest(std::min(at_or_before, last_seq()));
}

base::Result<std::vector<std::uint64_t>> RocksDbEventLog::SnapshotSeqs() const {
  BATCHLOG_ASSIGN_OR_RETURN(std::vector<std::uint64_t> seqs, snapshots_.ListedSeqs());
  // As LatestSnapshot: none ahead of the events this handle can read.
  while (!seqs.empty() && seqs.back() > last_seq()) seqs.pop_back();
  return seqs;
}

base::Status RocksDbEventLog::CatchUp() {
  if (database_->mode() != OpenMode::kSecondary) return base::Status::Ok();
  BATCHLOG_RETURN_IF_ERROR(database_->CatchUp());
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint64_t last_seq, database_->ReadLastSeq());
  last_seq_.store(last_seq, std::memory_order_release);
  return base::Status::Ok();
}

base::Status RocksDbEventLog::Flush() { return database_->Flush(); }

}  // namespace batchlog::store
