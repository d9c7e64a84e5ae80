// SqliteEventLog: the SQLite-WAL baseline the benchmarks hold the RocksDB event log
// against (shared/design.md, "Performance targets": SQLite is a strong baseline, and the
// log must beat it doing the same work). It does the same work as store::EventLog for
// the paths benchmarked: one transaction per step, the writer's seq check, the envelope
// filled (seq, run_id, blob_bytes) and Protobuf-encoded, blobs in a separate table; and a
// reader that decodes each value and checks the seq is dense.
//
//   events(seq INTEGER PRIMARY KEY, value BLOB)     the lean, encoded events
//   payloads(seq INTEGER PRIMARY KEY, value BLOB)   the events' blobs
//
// The database runs with journal_mode=WAL and synchronous=FULL, so a committed step is on
// disk (WAL fsync) when Append returns, as with Durability::kSynced.
//
// Benchmark code only: not part of batchlog. Ownership: owns its connection and
// statements; a reader must not outlive the log. Not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/result.h"
#include "src/base/status.h"
#include "src/store/event_log.h"

struct sqlite3;
struct sqlite3_stmt;

namespace batchlog::bench {

class SqliteEventReader;

class SqliteEventLog {
 public:
  // Opens (creating if missing) the database file at `path` for `run_id`.
  static base::Result<std::unique_ptr<SqliteEventLog>> Open(const std::filesystem::path& path,
                                                            std::string run_id);
  ~SqliteEventLog();
  SqliteEventLog(const SqliteEventLog&) = delete;
  SqliteEventLog& operator=(const SqliteEventLog&) = delete;

  std::uint64_t last_seq() const { return last_seq_; }

  // Appends one step as one transaction, committed (and synced) before returning. Fills
  // seq, run_id and blob_bytes of each event as store::EventLog::Append does; ignores
  // step.durability (every commit is synced under synchronous=FULL).
  base::Result<store::SeqRange> Append(store::StepBatch& step);

  // Reads events in seq order from `from_seq`. With decode false only raw() is valid.
  base::Result<std::unique_ptr<SqliteEventReader>> NewReader(std::uint64_t from_seq,
                                                             bool decode) const;

 private:
  SqliteEventLog(sqlite3* db, std::string run_id) : db_(db), run_id_(std::move(run_id)) {}
  base::Status Prepare();
  base::Status Exec(const char* sql) const;
  base::Status Error(std::string_view what) const;
  base::Status InsertEvent(store::PendingEvent& pending, std::uint64_t seq);

  sqlite3* db_ = nullptr;
  std::string run_id_;
  std::uint64_t last_seq_ = 0;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* insert_event_ = nullptr;
  sqlite3_stmt* insert_payload_ = nullptr;
  std::string encoded_;  // reused encoding buffer
};

// Reads events(seq, value) in seq order. States as store::EventLogReader: positioned
// (Next() true), caught up (Next() false, status OK), failed (Next() false, status not OK;
// kDataLoss names the seq). Must not outlive its SqliteEventLog. Not thread-safe.
class SqliteEventReader {
 public:
  ~SqliteEventReader();
  SqliteEventReader(const SqliteEventReader&) = delete;
  SqliteEventReader& operator=(const SqliteEventReader&) = delete;

  bool Next();
  // The decoded event; one message is reused, so copy what you keep.
  const events::v1::Event& event() const { return event_; }
  std::string_view raw() const { return raw_; }
  const base::Status& status() const { return status_; }

 private:
  friend class SqliteEventLog;
  SqliteEventReader(sqlite3_stmt* select, std::uint64_t from_seq, bool decode)
      : select_(select), next_seq_(from_seq), decode_(decode) {}

  sqlite3_stmt* select_;
  std::uint64_t next_seq_;
  bool decode_;
  std::string_view raw_;
  events::v1::Event event_;
  base::Status status_;
};

}  // namespace batchlog::bench
