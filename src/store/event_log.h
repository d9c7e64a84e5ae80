// EventLog: one run's append-only event log, a RocksDB database under
// STORE/runs/<run_id>/log (docs/log-format.md). Column families: `events` (key = big-endian
// seq, value = serialized batchlog.events.v1.Event), `payloads` (an event's blob under the
// same key), `meta` (run metadata, schema version) and `snapshots` (projection snapshots
// keyed by the seq they cover).
//
// Modes: kReadWrite holds RocksDB's LOCK, so a second writer of the same run is refused
// with an error naming the run; kReadOnly sees the log as of Open (use it for a run nobody
// is writing); kSecondary follows a live writer and sees new events after CatchUp().
//
// Ownership: an EventLog owns its database handle; readers it creates must not outlive it.
// Thread-safety: Append is called from one thread; reads may run concurrently with it.
// Errors: every method returns a Status or Result; nothing throws.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/result.h"
#include "src/base/status.h"

namespace batchlog::store {

enum class OpenMode : std::uint8_t { kReadWrite, kReadOnly, kSecondary };

// How hard Append pushes a step to disk before returning.
enum class Durability : std::uint8_t {
  // WAL fsync before returning. Required for intents: they must be on disk before the
  // external effect they announce. Bulk ingestion also uses it, once per large batch
  // (group commit: durability per batch, throughput from batching).
  kSynced,
  // Written to the WAL without fsync; made durable by the next synced append. For events
  // whose loss is harmless because they are re-derived (e.g. an unchanged-count poll).
  kBuffered,
};

// One event to append and its optional blob (request or response body), stored in the
// payloads column family under the event's seq. Append fills event.seq and event.run_id
// and sets event.blob_bytes from blob; the caller fills recorded_at_unix_us and the payload.
struct PendingEvent {
  events::v1::Event event;
  std::string blob;
};

// One step: appended as one atomic RocksDB WriteBatch — all of it or nothing.
struct StepBatch {
  std::vector<PendingEvent> events;
  // A projection snapshot covering the last event of this step, written in the same
  // WriteBatch (so a snapshot never claims a seq that is not in the log).
  std::optional<std::string> snapshot;
  // Older snapshots (by the seq they cover) deleted in the same WriteBatch, with their meta
  // keys: retention, only in a step that writes a newer snapshot, so the latest one is never
  // removed. Each must be listed by SnapshotSeqs() and below the new snapshot's seq.
  std::vector<std::uint64_t> drop_snapshots;
  Durability durability = Durability::kSynced;
};

// Seqs assigned by one Append: [first, last]; empty when first > last.
struct SeqRange {
  std::uint64_t first = 1;
  std::uint64_t last = 0;
};

struct Snapshot {
  std::uint64_t seq = 0;  // the last event it covers
  // Opaque to the store; replay/snapshot_codec.h reads them. They may be the store's own
  // block in memory rather than a copy (tens of MiB for a large run): valid while `owner`
  // lives and the EventLog that returned them is open.
  std::string_view bytes;
  std::shared_ptr<const void> owner;
};

// Reads events in seq order from a fixed range and checks, for each, that the key, the
// envelope's seq and the expected next seq agree (the reader's half of the seq-density
// pair check; the writer checks before writing).
//
// States:
// - positioned: Next() returned true; event() and raw() are valid until the next call.
// - caught up: Next() returned false with status() OK — no more events in range *now*;
//   not an error. For a live log, call EventLog::CatchUp() and Next() again.
// - failed: Next() returned false with a non-OK status() (kDataLoss names run, seq and key).
//
// Lifetime: must not outlive the EventLog that created it. Not thread-safe.
class EventLogReader {
 public:
  virtual ~EventLogReader() = default;
  virtual bool Next() = 0;
  // The decoded event. The reader reuses one message, so copy what you keep.
  virtual const events::v1::Event& event() const = 0;
  // The serialized bytes of the current event, as stored.
  virtual std::string_view raw() const = 0;
  virtual const base::Status& status() const = 0;
  // The seq the next event must have.
  virtual std::uint64_t next_seq() const = 0;
};

struct ReadOptions {
  std::uint64_t from_seq = 1;
  std::uint64_t to_seq = std::numeric_limits<std::uint64_t>::max();  // inclusive
  // Bulk scans (replay) do not pollute the block cache.
  bool fill_cache = false;
  // Decode events; when false only raw() is valid (export paths that copy bytes).
  bool decode = true;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual const std::string& run_id() const = 0;
  virtual OpenMode mode() const = 0;
  // Last seq in the log as this handle sees it (0 = empty).
  virtual std::uint64_t last_seq() const = 0;
  // The last seq known to be on disk: last_seq() at open (what recovery found), then the
  // last seq of each kSynced step this handle appended (a WAL fsync covers every earlier
  // write). A buffered step's events are above it until the next synced one.
  virtual std::uint64_t synced_seq() const = 0;

  // Appends one step atomically; assigns seqs last_seq()+1 ... Refused unless kReadWrite.
  // On error nothing of the step is in the log and last_seq() is unchanged.
  virtual base::Result<SeqRange> Append(StepBatch& step) = 0;

  virtual std::unique_ptr<EventLogReader> NewReader(const ReadOptions& options) const = 0;

  // The blob of the event at `seq` (kNotFound when that event has none).
  virtual base::Result<std::string> ReadBlob(std::uint64_t seq) const = 0;
  // The blobs of `seqs` (ascending), handed to `visit` in order with views valid during the
  // call. One forward scan instead of a point lookup each: the batch submission path reads
  // thousands of consecutive bodies. kNotFound naming the first seq without a blob.
  virtual base::Status ReadBlobs(
      std::span<const std::uint64_t> seqs,
      const std::function<base::Status(std::uint64_t seq, std::string_view blob)>& visit)
      const = 0;

  // The latest snapshot covering a seq <= at_or_before, if any.
  virtual base::Result<std::optional<Snapshot>> LatestSnapshot(
      std::uint64_t at_or_before = std::numeric_limits<std::uint64_t>::max()) const = 0;

  // The seqs of the snapshots the meta keys list, ascending (every snapshot this build
  // writes; a run's snapshots from before the meta keys existed are not listed).
  virtual base::Result<std::vector<std::uint64_t>> SnapshotSeqs() const = 0;

  // kSecondary: catch up with the writer's progress (then last_seq() moves).
  // kReadOnly / kReadWrite: a no-op.
  virtual base::Status CatchUp() = 0;

  // Flushes and syncs everything (used before a clean exit).
  virtual base::Status Flush() = 0;
};

}  // namespace batchlog::store
