#include "src/store/event_log_writer.h"

#include <limits>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "src/base/check.h"
#include "src/store/hot_event_encoder.h"
#include "src/store/key_format.h"
#include "src/store/rocksdb_status.h"

namespace batchlog::store {

namespace {

namespace kf = key_format;

// A batch buffer grown past this by a huge step is released rather than kept for reuse.
constexpr std::size_t kBatchBytesKeptMax = 64 * 1024 * 1024;

rocksdb::Slice ToSlice(const kf::SeqKey& key) { return {key.data(), key.size()}; }

}  // namespace

EventLogWriter::EventLogWriter(const RunDatabase& database, std::uint64_t last_seq)
    : database_(database), run_id_(database.run_id()), last_seq_(last_seq) {
  BATCHLOG_CHECK(database.mode() == OpenMode::kReadWrite);
}

base::Status EventLogWriter::Validate(const StepBatch& step, std::uint64_t first_seq) const {
  const auto refuse = [&](std::size_t index, const std::string& why) {
    return base::InvalidArgumentError("run '" + run_id_ + "': event " + std::to_string(index) +
                                      " of the step " + why + "; nothing was appended");
  };
  for (std::size_t i = 0; i < step.events.size(); ++i) {
    const events::v1::Event& event = step.events[i].event;
    if (event.payload_case() == events::v1::Event::PAYLOAD_NOT_SET) {
      return refuse(i, "has no payload");
    }
    const std::uint64_t seq = first_seq + i;
    if (event.seq() != 0 && event.seq() != seq) {
      return refuse(
          i, "has seq " + std::to_string(event.seq()) + " but would be seq " + std::to_string(seq));
    }
    if (!event.run_id().empty() && event.run_id() != run_id_) {
      return refuse(i, "belongs to run '" + event.run_id() + "'");
    }
    if (step.events[i].blob.size() > std::numeric_limits<std::uint32_t>::max()) {
      return refuse(i, "has a blob of " + std::to_string(step.events[i].blob.size()) +
                           " bytes, over the 4 GiB limit");
    }
  }
  if (step.events.empty() && step.snapshot.has_value() && first_seq == 1) {
    return base::InvalidArgumentError("run '" + run_id_ +
                                      "': a snapshot needs at least one event in the log");
  }
  if (!step.drop_snapshots.empty()) {
    if (!step.snapshot.has_value()) {
      return base::InvalidArgumentError(
          "run '" + run_id_ + "': snapshots are dropped only in a step that writes a newer one");
    }
    const std::uint64_t snapshot_seq = first_seq + step.events.size() - 1;
    for (const std::uint64_t dropped : step.drop_snapshots) {
      if (dropped >= snapshot_seq) {
        return base::InvalidArgumentError(
            "run '" + run_id_ + "': cannot drop the snapshot at seq " + std::to_string(dropped) +
            ", not older than the one this step writes (seq " + std::to_string(snapshot_seq) +
            ")");
      }
    }
  }
  return base::Status::Ok();
}

base::Result<SeqRange> EventLogWriter::Append(StepBatch& step) {
  const std::uint64_t last_seq = last_seq_.load(std::memory_order_relaxed);
  const std::uint64_t first_seq = last_seq + 1;
  if (step.events.empty() && !step.snapshot.has_value()) return SeqRange{first_seq, last_seq};
  BATCHLOG_RETURN_IF_ERROR(Validate(step, first_seq));

  // Invariant: seqs are dense; the step's events take last_seq+1, +2, ... in order, and
  // the seq space never wraps.
  BATCHLOG_CHECK(first_seq == last_seq + 1 && first_seq > last_seq);
  batch_.Clear();
  std::uint64_t next_seq = first_seq;
  for (PendingEvent& pending : step.events) {
    events::v1::Event& event = pending.event;
    event.set_seq(next_seq);
    if (event.run_id() != run_id_) event.set_run_id(run_id_);
    event.set_blob_bytes(static_cast<std::uint32_t>(pending.blob.size()));
    if (!EncodeHotEvent(event, buffer_) && !event.SerializeToString(&buffer_)) {
      return base::InternalError("run '" + run_id_ + "': cannot serialize the event at seq " +
                                 std::to_string(next_seq));
    }
    const kf::SeqKey key = kf::EncodeSeqKey(next_seq);
    rocksdb::Status status = batch_.Put(database_.events(), ToSlice(key), buffer_);
    if (status.ok() && !pending.blob.empty()) {
      status = batch_.Put(database_.payloads(), ToSlice(key), pending.blob);
    }
    if (!status.ok()) return FromRocksDbStatus(status, "run '" + run_id_ + "': building a step");
    ++next_seq;
  }
  const std::uint64_t step_last_seq = next_seq - 1;
  if (step.snapshot.has_value()) {
    const kf::SeqKey key = kf::EncodeSeqKey(step_last_seq);
    const kf::MetaSnapshotKey directory_key = kf::EncodeMetaSnapshotKey(step_last_seq);
    const std::string size = std::to_string(step.snapshot->size());
    rocksdb::Status status = batch_.Put(database_.snapshots(), ToSlice(key), *step.snapshot);
    if (status.ok()) {
      status = batch_.Put(database_.meta(), kf::MetaSnapshotKeyView(directory_key), size);
    }
    for (const std::uint64_t dropped : step.drop_snapshots) {
      if (!status.ok()) break;
      const kf::SeqKey dropped_key = kf::EncodeSeqKey(dropped);
      const kf::MetaSnapshotKey dropped_listing = kf::EncodeMetaSnapshotKey(dropped);
      status = batch_.Delete(database_.snapshots(), ToSlice(dropped_key));
      if (status.ok()) {
        status = batch_.Delete(database_.meta(), kf::MetaSnapshotKeyView(dropped_listing));
      }
    }
    BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(status, "run '" + run_id_ + "': building a step"));
  }

  rocksdb::WriteOptions write_options;
  // Intents must be on disk before their effect; group-committed result batches get the
  // same fsync once per large batch. Buffered steps ride on the next synced one.
  write_options.sync = step.durability == Durability::kSynced;
  const rocksdb::Status status = database_.db()->Write(write_options, &batch_);
  if (batch_.GetDataSize() > kBatchBytesKeptMax) batch_ = rocksdb::WriteBatch();
  if (!status.ok()) {
    return FromRocksDbStatus(status, "run '" + run_id_ + "': appending seqs " +
                                         std::to_string(first_seq) + ".." +
                                         std::to_string(step_last_seq));
  }
  last_seq_.store(step_last_seq, std::memory_order_release);
  return SeqRange{first_seq, step_last_seq};
}

}  // namespace batchlog::store
