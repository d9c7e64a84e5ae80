#include "bench/sqlite_event_log.h"

#include <sqlite3.h>

#include <string>
#include <utility>

namespace batchlog::bench {
namespace {

base::Status SqliteError(sqlite3* db, std::string_view what) {
  return base::InternalError("sqlite: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

}  // namespace

base::Result<std::unique_ptr<SqliteEventLog>> SqliteEventLog::Open(
    const std::filesystem::path& path, std::string run_id) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    base::Status status = SqliteError(db, "open " + path.string());
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteEventLog> log(new SqliteEventLog(db, std::move(run_id)));
  // The configuration the baseline is specified with: WAL, and an fsync per commit.
  BATCHLOG_RETURN_IF_ERROR(log->Exec("PRAGMA journal_mode=WAL"));
  BATCHLOG_RETURN_IF_ERROR(log->Exec("PRAGMA synchronous=FULL"));
  BATCHLOG_RETURN_IF_ERROR(
      log->Exec("CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, value BLOB)"));
  BATCHLOG_RETURN_IF_ERROR(
      log->Exec("CREATE TABLE IF NOT EXISTS payloads(seq INTEGER PRIMARY KEY, value BLOB)"));
  BATCHLOG_RETURN_IF_ERROR(log->Prepare());

  sqlite3_stmt* max_seq = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(seq), 0) FROM events", -1, &max_seq, nullptr) !=
      SQLITE_OK) {
    return log->Error("prepare max(seq)");
  }
  if (sqlite3_step(max_seq) == SQLITE_ROW) {
    log->last_seq_ = static_cast<std::uint64_t>(sqlite3_column_int64(max_seq, 0));
  }
  sqlite3_finalize(max_seq);
  return log;
}

SqliteEventLog::~SqliteEventLog() {
  for (sqlite3_stmt* statement : {begin_, commit_, rollback_, insert_event_, insert_payload_}) {
    sqlite3_finalize(statement);
  }
  sqlite3_close(db_);
}

base::Status SqliteEventLog::Prepare() {
  const std::pair<sqlite3_stmt**, const char*> statements[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&insert_event_, "INSERT INTO events(seq, value) VALUES(?1, ?2)"},
      {&insert_payload_, "INSERT INTO payloads(seq, value) VALUES(?1, ?2)"},
  };
  for (const auto& [statement, sql] : statements) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, statement, nullptr) !=
        SQLITE_OK) {
      return Error(std::string("prepare ") + sql);
    }
  }
  return base::Status::Ok();
}

base::Status SqliteEventLog::Exec(const char* sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return base::InternalError(std::string("sqlite: ") + sql + ": " + text);
  }
  return base::Status::Ok();
}

base::Status SqliteEventLog::Error(std::string_view what) const { return SqliteError(db_, what); }

base::Status SqliteEventLog::InsertEvent(store::PendingEvent& pending, std::uint64_t seq) {
  events::v1::Event& event = pending.event;
  event.set_seq(seq);
  event.set_run_id(run_id_);
  event.set_blob_bytes(static_cast<std::uint32_t>(pending.blob.size()));
  encoded_.clear();
  if (!event.SerializeToString(&encoded_)) return base::InternalError("encode event");

  const auto key = static_cast<sqlite3_int64>(seq);
  sqlite3_bind_int64(insert_event_, 1, key);
  sqlite3_bind_blob(insert_event_, 2, encoded_.data(), static_cast<int>(encoded_.size()),
                    SQLITE_STATIC);
  const int rc = sqlite3_step(insert_event_);
  sqlite3_reset(insert_event_);
  if (rc != SQLITE_DONE) return Error("insert event");

  if (pending.blob.empty()) return base::Status::Ok();
  sqlite3_bind_int64(insert_payload_, 1, key);
  sqlite3_bind_blob(insert_payload_, 2, pending.blob.data(), static_cast<int>(pending.blob.size()),
                    SQLITE_STATIC);
  const int payload_rc = sqlite3_step(insert_payload_);
  sqlite3_reset(insert_payload_);
  if (payload_rc != SQLITE_DONE) return Error("insert payload");
  return base::Status::Ok();
}

base::Result<store::SeqRange> SqliteEventLog::Append(store::StepBatch& step) {
  const store::SeqRange range{last_seq_ + 1, last_seq_ + step.events.size()};
  // The writer's half of the seq-density pair check, as the store does it.
  BATCHLOG_CHECK(range.first == last_seq_ + 1);

  int rc = sqlite3_step(begin_);
  sqlite3_reset(begin_);
  if (rc != SQLITE_DONE) return Error("begin");
  std::uint64_t seq = range.first;
  for (store::PendingEvent& pending : step.events) {
    base::Status status = InsertEvent(pending, seq++);
    if (!status.ok()) {
      sqlite3_step(rollback_);
      sqlite3_reset(rollback_);
      return status;
    }
  }
  rc = sqlite3_step(commit_);
  sqlite3_reset(commit_);
  if (rc != SQLITE_DONE) {
    sqlite3_step(rollback_);
    sqlite3_reset(rollback_);
    return Error("commit");
  }
  last_seq_ = range.last;
  return range;
}

base::Result<std::unique_ptr<SqliteEventReader>> SqliteEventLog::NewReader(std::uint64_t from_seq,
                                                                           bool decode) const {
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT seq, value FROM events WHERE seq >= ?1 ORDER BY seq", -1,
                         &select, nullptr) != SQLITE_OK) {
    return Error("prepare select");
  }
  sqlite3_bind_int64(select, 1, static_cast<sqlite3_int64>(from_seq));
  return std::unique_ptr<SqliteEventReader>(new SqliteEventReader(select, from_seq, decode));
}

SqliteEventReader::~SqliteEventReader() { sqlite3_finalize(select_); }

bool SqliteEventReader::Next() {
  if (!status_.ok()) return false;
  const int rc = sqlite3_step(select_);
  if (rc == SQLITE_DONE) return false;
  if (rc != SQLITE_ROW) {
    status_ = SqliteError(sqlite3_db_handle(select_), "select");
    return false;
  }
  const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(select_, 0));
  const void* data = sqlite3_column_blob(select_, 1);
  const int size = sqlite3_column_bytes(select_, 1);
  raw_ = std::string_view(static_cast<const char*>(data), static_cast<std::size_t>(size));
  // The reader's half of the pair check, as the store's reader does it: the key, the
  // envelope's seq and the expected next seq must agree.
  if (seq != next_seq_) {
    status_ = base::DataLossError("sqlite: expected seq " + std::to_string(next_seq_) + ", found " +
                                  std::to_string(seq));
    return false;
  }
  if (decode_) {
    if (!event_.ParseFromArray(data, size) || event_.seq() != seq) {
      status_ = base::DataLossError("sqlite: undecodable event at seq " + std::to_string(seq));
      return false;
    }
  }
  ++next_seq_;
  return true;
}

}  // namespace batchlog::bench
