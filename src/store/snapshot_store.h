// SnapshotStore: projection snapshots of one run, in the snapshots column family, keyed by
// the seq of the last event each covers (docs/log-format.md, "Snapshots"). The bytes are
// opaque here: replay/snapshot_codec produces and reads them. A snapshot is only ever
// written in the same WriteBatch as the step whose last seq it covers (EventLogWriter), so a
// snapshot never claims a seq that is not in the log.
//
// Ownership: borrows the RunDatabase, which must outlive it. Thread-safety: Latest may be
// called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "src/base/result.h"
#include "src/store/event_log.h"
#include "src/store/run_database.h"

namespace batchlog::store {

class SnapshotStore {
 public:
  explicit SnapshotStore(const RunDatabase& database) : database_(database) {}

  // The snapshot with the greatest seq <= at_or_before, or nullopt if there is none: through
  // the meta keys that list snapshots (key_format.h), else, for snapshots written before them,
  // the snapshots column family. kDataLoss when meta lists a snapshot that is missing, or the
  // snapshots column family holds a key that is not an 8-byte seq.
  base::Result<std::optional<Snapshot>> Latest(std::uint64_t at_or_before) const;

  // The seqs the meta keys list, ascending.
  base::Result<std::vector<std::uint64_t>> ListedSeqs() const;

 private:
  const RunDatabase& database_;
};

}  // namespace batchlog::store
