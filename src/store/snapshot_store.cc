#include "src/store/snapshot_store.h"

#include <memory>
#include <string>

#include <rocksdb/db.h>

#include "src/store/key_format.h"
#include "src/store/rocksdb_status.h"

namespace batchlog::store {

namespace kf = key_format;

namespace {

// A snapshot is read once per resume; keeping megabytes of it in the cache helps nobody.
rocksdb::ReadOptions SnapshotReadOptions() {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  return read_options;
}

}  // namespace

base::Result<std::vector<std::uint64_t>> SnapshotStore::ListedSeqs() const {
  std::vector<std::uint64_t> seqs;
  std::unique_ptr<rocksdb::Iterator> directory(
      database_.db()->NewIterator(rocksdb::ReadOptions(), database_.meta()));
  const rocksdb::Slice prefix(kf::kMetaSnapshotKeyPrefix.data(), kf::kMetaSnapshotKeyPrefix.size());
  for (directory->Seek(prefix); directory->Valid() && directory->key().starts_with(prefix);
       directory->Next()) {
    std::uint64_t seq = 0;
    if (!kf::DecodeMetaSnapshotKey(
            std::string_view(directory->key().data(), directory->key().size()), &seq)) {
      return base::DataLossError("run '" + database_.run_id() + "': meta key " +
                                 directory->key().ToString(/*hex=*/true) +
                                 " is not a snapshot listing");
    }
    seqs.push_back(seq);
  }
  BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(
      directory->status(), "run '" + database_.run_id() + "': listing snapshots"));
  return seqs;
}

base::Result<std::optional<Snapshot>> SnapshotStore::Latest(std::uint64_t at_or_before) const {
  const std::string context = "run '" + database_.run_id() + "': reading the latest snapshot";
  // The meta keys name every snapshot this build wrote; the snapshot under the one found is
  // then a point read. Positioning an iterator on the snapshots column family instead would
  // read (and decompress) a data block in every table file of it, one whole older snapshot
  // each, to return one.
  std::unique_ptr<rocksdb::Iterator> directory(
      database_.db()->NewIterator(rocksdb::ReadOptions(), database_.meta()));
  const kf::MetaSnapshotKey target = kf::EncodeMetaSnapshotKey(at_or_before);
  directory->SeekForPrev(kf::MetaSnapshotKeyView(target));
  BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(directory->status(), context));
  std::uint64_t listed_seq = 0;
  if (directory->Valid() &&
      kf::DecodeMetaSnapshotKey(std::string_view(directory->key().data(), directory->key().size()),
                                &listed_seq)) {
    Snapshot snapshot;
    snapshot.seq = listed_seq;
    const kf::SeqKey key = kf::EncodeSeqKey(listed_seq);
    // Pinned, not copied: the block RocksDB read is handed over as is (a fresh process pays
    // a page fault per 4 KiB of a copy of tens of MiB).
    auto pinned = std::make_shared<rocksdb::PinnableSlice>();
    const rocksdb::Status status =
        database_.db()->Get(SnapshotReadOptions(), database_.snapshots(),
                            rocksdb::Slice(key.data(), key.size()), pinned.get());
    if (status.IsNotFound()) {
      return base::DataLossError(context + ": meta lists a snapshot at seq " +
                                 std::to_string(listed_seq) + " that the snapshots column "
                                 "family does not hold");
    }
    BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(status, context));
    snapshot.bytes = std::string_view(pinned->data(), pinned->size());
    snapshot.owner = std::move(pinned);
    return std::optional<Snapshot>(std::move(snapshot));
  }

  // None listed at or before the seq: a run written before the meta keys existed (or one with
  // no snapshot there). Its snapshots are found in the snapshots column family itself.
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db()->NewIterator(SnapshotReadOptions(), database_.snapshots()));
  const kf::SeqKey seq_key = kf::EncodeSeqKey(at_or_before);
  it->SeekForPrev(rocksdb::Slice(seq_key.data(), seq_key.size()));
  if (!it->Valid()) {
    BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), context));
    return std::optional<Snapshot>();
  }
  Snapshot snapshot;
  const rocksdb::Slice key = it->key();
  if (!kf::DecodeSeqKey(std::string_view(key.data(), key.size()), &snapshot.seq)) {
    return base::DataLossError(context + ": key " + key.ToString(/*hex=*/true) +
                               " is not an 8-byte seq");
  }
  auto copy = std::make_shared<const std::string>(it->value().ToString());
  snapshot.bytes = *copy;
  snapshot.owner = std::move(copy);
  return std::optional<Snapshot>(std::move(snapshot));
}

}  // namespace batchlog::store
