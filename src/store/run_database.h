// RunDatabase: the RocksDB database of one run (STORE/runs/<run_id>/log), opened in one
// mode, with its column family handles. It holds the tuning of the log (run_database.cc
// explains each choice) so that every mode opens the database the same way.
//
// Ownership: owns the rocksdb::DB and its handles; closes them (and removes a secondary's
// scratch directory) on destruction. The Env passed in options must outlive it.
// Thread-safety: rocksdb::DB is thread-safe; so are the accessors. CatchUp must not run
// concurrently with itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/store/event_log.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Env;
}  // namespace rocksdb

namespace batchlog::store {

struct RunDatabaseOptions {
  // Named in error messages.
  std::string run_id;
  std::filesystem::path store_root;
  // The RocksDB environment (fault injection in tests); nullptr = rocksdb::Env::Default().
  rocksdb::Env* env = nullptr;
  // Opens a write-ahead log damaged in the middle by point-in-time recovery, dropping the
  // acknowledged writes after the damage, instead of failing with DataLoss. Only on an
  // operator's explicit request (`batchlog resume --recover-damaged-wal`).
  bool recover_damaged_wal = false;
};

class RunDatabase {
 public:
  // RocksDB numbers column families in creation order (run_database.cc, MakeColumnFamilies):
  // default 0, events 1. The WAL names column families by number (wal_damage_scanner.h).
  static constexpr std::uint32_t kEventsColumnFamilyId = 1;

  // Creates a new, empty database at `log_dir` (which must not hold one) and opens it
  // read-write. Does not write the meta column family: the caller does.
  static base::Result<std::unique_ptr<RunDatabase>> Create(const std::filesystem::path& log_dir,
                                                           const RunDatabaseOptions& options);
  // Opens an existing database. kReadWrite takes RocksDB's LOCK: when another handle holds
  // it the error is kFailedPrecondition "run 'r1' is already open for writing by another
  // process (store /x)". Every mode recovers a torn or damaged WAL tail to the last whole
  // write (a secondary that cannot is opened kReadOnly instead: see mode()), and refuses a WAL
  // damaged before intact writes with kDataLoss naming the file, the byte and the seqs
  // (unless options.recover_damaged_wal). kSecondary uses a private scratch directory under the
  // run's secondary/ folder, removed on close.
  static base::Result<std::unique_ptr<RunDatabase>> Open(const std::filesystem::path& log_dir,
                                                         OpenMode mode,
                                                         const RunDatabaseOptions& options);

  ~RunDatabase();
  RunDatabase(const RunDatabase&) = delete;
  RunDatabase& operator=(const RunDatabase&) = delete;

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* events() const { return events_; }
  rocksdb::ColumnFamilyHandle* payloads() const { return payloads_; }
  rocksdb::ColumnFamilyHandle* meta() const { return meta_; }
  rocksdb::ColumnFamilyHandle* snapshots() const { return snapshots_; }
  OpenMode mode() const { return mode_; }
  const std::string& run_id() const { return run_id_; }

  // The seq of the last key in the events column family, 0 when it is empty.
  base::Result<std::uint64_t> ReadLastSeq() const;
  // A value of the meta column family; kNotFound when absent.
  base::Result<std::string> ReadMeta(std::string_view key) const;
  // kSecondary: replays what the primary wrote since the last call. Others: no-op.
  base::Status CatchUp();
  // Syncs the WAL and flushes the memtables (kReadWrite); others: no-op.
  base::Status Flush();
  // Starts flushing the memtables in the background and returns at once (kReadWrite);
  // others: no-op. Bounds the WAL a reopen after a kill must replay.
  void StartBackgroundFlush();

 private:
  RunDatabase() = default;

  static base::Result<std::unique_ptr<RunDatabase>> OpenImpl(const std::filesystem::path& log_dir,
                                                             OpenMode mode, bool create,
                                                             const RunDatabaseOptions& options);

  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* payloads_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots_ = nullptr;
  OpenMode mode_ = OpenMode::kReadOnly;
  std::string run_id_;
  std::string context_;                  // "run 'r1' (store /x)", for error messages
  std::filesystem::path secondary_dir_;  // empty unless kSecondary
};

}  // namespace batchlog::store
