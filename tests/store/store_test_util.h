// Helpers shared by the store tests: building events and steps, reading a whole log, and
// opening a run's RocksDB database directly to damage it (tests may include RocksDB).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>

#include "src/base/status.h"
#include "src/store/event_log.h"
#include "src/store/store.h"

namespace batchlog::store::testing {

// A RequestSucceeded event for custom_id "c<index>", recorded at a fixed time.
PendingEvent MakeEvent(std::uint64_t index, std::string blob = {});
// `count` events MakeEvent(first_index), MakeEvent(first_index + 1), ...
StepBatch MakeStep(std::uint64_t first_index, std::size_t count,
                   Durability durability = Durability::kSynced);

// The store at `root`, created if missing; fails the test when it cannot be opened.
Store MustOpen(const std::filesystem::path& root);

RunMetadata MakeMetadata(std::string_view run_id, std::int64_t created_at_unix_us = 1);

// Everything a reader returns until it stops, and how it stopped.
struct ReadResult {
  std::vector<events::v1::Event> events;
  base::Status status;
  std::uint64_t next_seq = 0;
};
ReadResult ReadAll(const EventLog& log, const ReadOptions& options = {});

// Table (.sst) files in a run's database directory.
int CountTableFiles(const std::filesystem::path& log_dir);

// The serialized envelope of a minimal valid event (RunCompleted) at `seq` of `run_id`.
std::string SerializedEvent(std::uint64_t seq, std::string_view run_id);

std::string Hex(std::string_view bytes);

// A run's RocksDB database opened directly with all its column families, bypassing the
// store, so tests can overwrite or delete keys. Close it before opening the run again.
class RawRunDatabase {
 public:
  explicit RawRunDatabase(const std::filesystem::path& log_dir,
                          const rocksdb::DBOptions& options = rocksdb::DBOptions());
  ~RawRunDatabase();
  RawRunDatabase(const RawRunDatabase&) = delete;
  RawRunDatabase& operator=(const RawRunDatabase&) = delete;

  void Put(std::string_view column_family, std::string_view key, std::string_view value);
  void Delete(std::string_view column_family, std::string_view key);
  std::string Get(std::string_view column_family, std::string_view key);

 private:
  rocksdb::ColumnFamilyHandle* Handle(std::string_view column_family) const;

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace batchlog::store::testing
