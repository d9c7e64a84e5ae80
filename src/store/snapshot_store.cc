#include "src/store/snapshot_store.h"

#include <memory>
#include <string>

#include <rocksdb/db.h>

#include "src/store/key_format.h"
#include "src/store/rocksdb_status.h"

namespace batchlog::store {

base::Result<std::optional<Snapshot>> SnapshotStore::Latest(std::uint64_t at_or_before) const {
  namespace kf = key_format;
  rocksdb::ReadOptions read_options;
  // A snapshot is read once per resume; keeping megabytes of it in the cache helps nobody.
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db()->NewIterator(read_options, database_.snapshots()));
  const kf::SeqKey target = kf::EncodeSeqKey(at_or_before);
  it->SeekForPrev(rocksdb::Slice(target.data(), target.size()));
  const std::string context = "run '" + database_.run_id() + "': reading the latest snapshot";
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
  snapshot.bytes = it->value().ToString();
  return std::optional<Snapshot>(std::move(snapshot));
}

}  // namespace batchlog::store
