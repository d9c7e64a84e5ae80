// Store: a directory holding one event log per run, so several runs can go at once from
// separate processes, a run is archived or deleted as one folder, and damage to one run
// never touches another (docs/log-format.md, "Store layout").
//
//   STORE/STORE_FORMAT            "batchlog-store <version>\n": marks the directory a store
//   STORE/runs/<run_id>/meta.json small run metadata, rewritten atomically; read by ListRuns
//   STORE/runs/<run_id>/log/      the run's RocksDB database (see event_log.h)
//   STORE/runs/<run_id>/          also: manifest.json, spool/ (owned by the orchestrator)
//
// Thread-safety: a Store is a value naming a directory; its methods may be called from
// any thread. Errors are values: a path that is not a store, a store of a newer format,
// an unknown run id — each is a Status with a one-line message naming the path or run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/store/event_log.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace batchlog::store {

// The on-disk store format this build writes and the newest it reads.
inline constexpr std::uint32_t kStoreFormatVersion = 1;

// Small, human-readable facts about a run, kept in meta.json beside its log so that
// listing runs never opens a database.
struct RunMetadata {
  std::string run_id;
  std::string run_name;
  std::int64_t created_at_unix_us = 0;
  std::uint32_t schema_version = kStoreFormatVersion;
  // Free-form progress fields the orchestrator refreshes ("running", "completed", ...).
  std::string status;
  std::uint64_t last_seq = 0;
  std::int64_t updated_at_unix_us = 0;
  // The last seq the writer knew to be on disk (WAL fsynced) when it wrote this file. A log
  // that ends before it lost synced writes (a truncated or deleted WAL file): OpenRun
  // refuses it as DataLoss unless StoreOptions::recover_damaged_wal. 0 = not recorded.
  std::uint64_t synced_seq = 0;
};

// A run id is 1..64 bytes of [A-Za-z0-9_.-], not starting with '.': a safe folder name.
base::Status ValidateRunId(std::string_view run_id);

// How a Store opens its runs' databases. The defaults are right outside tests.
struct StoreOptions {
  // The RocksDB environment for every database of the store, e.g. a fault-injecting
  // wrapper in tests. nullptr (default) = rocksdb::Env::Default(). Must outlive every
  // EventLog opened through the store.
  rocksdb::Env* env = nullptr;
  // See RunDatabaseOptions::recover_damaged_wal: an operator's explicit choice to open a run
  // whose write-ahead log is damaged in the middle, dropping what follows the damage.
  bool recover_damaged_wal = false;
};

class Store {
 public:
  // Opens an existing store; with create_if_missing, creates an empty one first (in a
  // missing or empty directory). Errors, each one line naming the path: kInvalidArgument
  // (empty path), kNotFound (no such directory), kFailedPrecondition (not a store: no or a
  // malformed STORE_FORMAT file; or a store of a newer format version, named in the message).
  static base::Result<Store> Open(const std::filesystem::path& root, bool create_if_missing,
                                  const StoreOptions& options = {});

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path RunDir(std::string_view run_id) const;

  // Runs in the store, sorted by creation time then run id.
  base::Result<std::vector<RunMetadata>> ListRuns() const;
  base::Result<RunMetadata> ReadRunMetadata(std::string_view run_id) const;
  // Atomically replaces meta.json (write a temp file, fsync, rename, fsync the directory).
  base::Status WriteRunMetadata(const RunMetadata& metadata) const;

  // True while another process holds the run's write lock (RocksDB's LOCK file, an fcntl
  // lock): a `run`, `resume` or `cancel` is writing it. A run whose log says running but
  // that nobody writes has stopped (and is resumable). fcntl locks are per process, so a
  // lock held by this process does not count; false when the lock cannot be read.
  bool RunHasWriter(std::string_view run_id) const;

  // Creates a new run (kAlreadyExists if it exists) and opens it read-write. Atomic: the run
  // folder (database with its meta column family, and meta.json) is built under a temp name
  // and renamed into place, so a crash never leaves a half-made run. metadata.schema_version
  // and last_seq are set by the store.
  base::Result<std::unique_ptr<EventLog>> CreateRun(const RunMetadata& metadata) const;
  // Opens an existing run. Errors, each one line: kNotFound naming the run and the store;
  // kFailedPrecondition for a run of a newer schema version (named) or, in kReadWrite, a run
  // another handle already writes ("run 'r1' is already open for writing by another process
  // (store /x)"). kReadOnly is for runs nobody is writing (RocksDB leaves a read-only open
  // of a live database undefined); follow a live run with kSecondary.
  base::Result<std::unique_ptr<EventLog>> OpenRun(std::string_view run_id, OpenMode mode) const;

 private:
  Store(std::filesystem::path root, const StoreOptions& options)
      : root_(std::move(root)), options_(options) {}
  std::filesystem::path root_;
  StoreOptions options_;
};

}  // namespace batchlog::store
