#include "src/store/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "src/store/key_format.h"
#include "src/store/rocksdb_event_log.h"
#include "src/store/rocksdb_status.h"
#include "src/store/run_database.h"
#include "src/store/runs_index.h"

namespace batchlog::store {

namespace {

namespace fs = std::filesystem;
namespace kf = key_format;

constexpr std::size_t kStoreFormatBytesMax = 256;

std::atomic<std::uint64_t> create_counter{0};

// A run id or file content echoed in a one-line message: printable ASCII kept, the rest
// escaped, and long input cut.
std::string Printable(std::string_view text) {
  static constexpr std::size_t kShownBytesMax = 80;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < kShownBytesMax; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7F) {
      out += static_cast<char>(byte);
    } else {
      out += "\\x";
      out += kDigits[byte >> 4];
      out += kDigits[byte & 0xF];
    }
  }
  if (text.size() > kShownBytesMax) out += "...";
  return out;
}

std::string StoreFormatContents() {
  return std::string(kf::kStoreFormatPrefix) + std::to_string(kStoreFormatVersion) + "\n";
}

// Parses "batchlog-store <version>\n"; 0 when malformed.
std::uint32_t ParseStoreFormat(std::string_view text) {
  if (text.substr(0, kf::kStoreFormatPrefix.size()) != kf::kStoreFormatPrefix) return 0;
  text.remove_prefix(kf::kStoreFormatPrefix.size());
  if (text.empty() || text.back() != '\n') return 0;
  text.remove_suffix(1);
  std::uint32_t version = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (err != std::errc() || end != text.data() + text.size()) return 0;
  return version;
}

// Parses a decimal version from the meta column family; 0 when malformed.
std::uint32_t ParseVersion(std::string_view text) {
  std::uint32_t version = 0;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (err != std::errc() || end != text.data() + text.size()) return 0;
  return version;
}

base::Status SyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return base::InternalError("opening directory " + dir.string() + ": " + std::strerror(errno));
  }
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) {
    return base::InternalError("syncing directory " + dir.string() + ": " + std::strerror(error));
  }
  return base::Status::Ok();
}

// STORE_FORMAT is written last: a directory without it is a store whose creation did not
// finish (a kill in the middle), which the next create completes.
base::Status InitializeStore(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root / kf::kRunsDirName, ec);
  if (ec) {
    return base::InternalError("cannot create store '" + root.string() + "': " + ec.message());
  }
  return WriteFileAtomically(root / kf::kStoreFormatFileName, StoreFormatContents());
}

// True when `dir` holds nothing, or only what an interrupted InitializeStore leaves: an
// empty runs/ folder and temporary files of STORE_FORMAT.
bool IsEmptyOrUnfinishedStore(const fs::path& dir) {
  std::error_code ec;
  const std::string temp_prefix = "." + std::string(kf::kStoreFormatFileName) + ".tmp-";
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == kf::kRunsDirName && fs::is_directory(it->path(), ec) &&
        fs::is_empty(it->path(), ec)) {
      continue;
    }
    if (name.starts_with(temp_prefix)) continue;
    return false;
  }
  return !ec;
}

// Checks the meta column family of an opened run against this build and the folder name.
base::Status CheckRunMeta(const RunDatabase& database, const fs::path& root) {
  const std::string where = "run '" + database.run_id() + "' (store " + root.string() + ")";
  base::Result<std::string> version_text = database.ReadMeta(kf::kMetaSchemaVersionKey);
  if (!version_text.ok()) {
    if (version_text.status().code() == base::StatusCode::kNotFound) {
      return base::DataLossError(where + " has no schema_version in its meta column family");
    }
    return version_text.status();
  }
  const std::uint32_t version = ParseVersion(*version_text);
  if (version == 0) {
    return base::DataLossError(where + " has a malformed schema_version '" +
                               Printable(*version_text) + "'");
  }
  if (version > kf::kRunSchemaVersion) {
    return base::FailedPreconditionError(where + " has schema version " + std::to_string(version) +
                                         "; this batchlog reads versions up to " +
                                         std::to_string(kf::kRunSchemaVersion) +
                                         " (upgrade batchlog)");
  }
  base::Result<std::string> run_id = database.ReadMeta(kf::kMetaRunIdKey);
  if (!run_id.ok() && run_id.status().code() != base::StatusCode::kNotFound) {
    return run_id.status();
  }
  if (run_id.ok() && *run_id != database.run_id()) {
    return base::FailedPreconditionError("the folder of " + where + " holds the log of run '" +
                                         Printable(*run_id) + "'");
  }
  return base::Status::Ok();
}

}  // namespace

base::Status ValidateRunId(std::string_view run_id) {
  const auto invalid = [&](const std::string& why) {
    return base::InvalidArgumentError("invalid run id '" + Printable(run_id) + "': " + why);
  };
  if (run_id.empty()) return invalid("it is empty");
  if (run_id.size() > kf::kRunIdBytesMax) {
    return invalid("it is " + std::to_string(run_id.size()) + " bytes, over " +
                   std::to_string(kf::kRunIdBytesMax));
  }
  if (run_id.front() == '.') return invalid("it starts with '.'");
  for (const char c : run_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return invalid("only letters, digits, '_', '.' and '-' are allowed");
  }
  return base::Status::Ok();
}

base::Result<Store> Store::Open(const fs::path& root, bool create_if_missing,
                                const StoreOptions& options) {
  if (root.empty()) return base::InvalidArgumentError("the store path is empty");
  std::error_code ec;
  const fs::file_status status = fs::status(root, ec);
  if (!fs::exists(status)) {
    if (!create_if_missing) {
      return base::NotFoundError("no batchlog store at '" + root.string() +
                                 "' (the directory does not exist)");
    }
    BATCHLOG_RETURN_IF_ERROR(InitializeStore(root));
    return Store(root, options);
  }
  if (!fs::is_directory(status)) {
    return base::FailedPreconditionError("'" + root.string() +
                                         "' is not a batchlog store (not a directory)");
  }
  const fs::path format_path = root / kf::kStoreFormatFileName;
  base::Result<std::string> format = ReadSmallFile(format_path, kStoreFormatBytesMax);
  if (!format.ok() && format.status().code() == base::StatusCode::kNotFound) {
    if (IsEmptyOrUnfinishedStore(root)) {
      if (create_if_missing) {
        BATCHLOG_RETURN_IF_ERROR(InitializeStore(root));
        return Store(root, options);
      }
      return base::NotFoundError("no batchlog store at '" + root.string() +
                                 "' yet (the directory is empty, or its creation was "
                                 "interrupted; `batchlog run` completes it)");
    }
    return base::FailedPreconditionError("'" + root.string() +
                                         "' is not a batchlog store (it has no " +
                                         std::string(kf::kStoreFormatFileName) + " file)");
  }
  if (!format.ok()) {
    return base::FailedPreconditionError("'" + root.string() + "' is not a batchlog store (" +
                                         format.status().message() + ")");
  }
  const std::uint32_t version = ParseStoreFormat(*format);
  if (version == 0) {
    return base::FailedPreconditionError("'" + root.string() + "' is not a batchlog store (" +
                                         std::string(kf::kStoreFormatFileName) + " reads '" +
                                         Printable(*format) + "')");
  }
  if (version > kStoreFormatVersion) {
    return base::FailedPreconditionError(
        "store '" + root.string() + "' has format version " + std::to_string(version) +
        "; this batchlog reads versions up to " + std::to_string(kStoreFormatVersion) +
        " (upgrade batchlog)");
  }
  return Store(root, options);
}

fs::path Store::RunDir(std::string_view run_id) const { return root_ / kf::kRunsDirName / run_id; }

base::Result<std::vector<RunMetadata>> Store::ListRuns() const {
  const fs::path runs_dir = root_ / kf::kRunsDirName;
  std::error_code ec;
  if (!fs::exists(runs_dir, ec)) return std::vector<RunMetadata>();
  return RunsIndex(runs_dir).List();
}

base::Result<RunMetadata> Store::ReadRunMetadata(std::string_view run_id) const {
  BATCHLOG_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::error_code ec;
  if (!fs::is_directory(RunDir(run_id), ec)) {
    return base::NotFoundError("run '" + std::string(run_id) + "' not found in store '" +
                               root_.string() + "'");
  }
  return RunsIndex(root_ / kf::kRunsDirName).Read(run_id);
}

base::Status Store::WriteRunMetadata(const RunMetadata& metadata) const {
  BATCHLOG_RETURN_IF_ERROR(ValidateRunId(metadata.run_id));
  const fs::path run_dir = RunDir(metadata.run_id);
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) {
    return base::NotFoundError("run '" + metadata.run_id + "' not found in store '" +
                               root_.string() + "'");
  }
  return RunsIndex::WriteIn(run_dir, metadata);
}

base::Result<std::unique_ptr<EventLog>> Store::CreateRun(const RunMetadata& metadata) const {
  BATCHLOG_RETURN_IF_ERROR(ValidateRunId(metadata.run_id));
  const std::string& run_id = metadata.run_id;
  const fs::path runs_dir = root_ / kf::kRunsDirName;
  const fs::path run_dir = RunDir(run_id);
  const auto already_exists = [&] {
    return base::AlreadyExistsError("run '" + run_id + "' already exists in store '" +
                                    root_.string() + "'");
  };
  std::error_code ec;
  if (fs::exists(run_dir, ec)) return already_exists();
  fs::create_directories(runs_dir, ec);
  if (ec) {
    return base::InternalError("cannot create " + runs_dir.string() + ": " + ec.message());
  }

  // Build the whole run under a temp name ('.'-prefixed, so never a valid run id and never
  // listed), then rename it into place: the rename is the commit point of the creation.
  const fs::path temp_dir = runs_dir / (".creating-" + run_id + "-" + std::to_string(::getpid()) +
                                        "-" + std::to_string(create_counter++));
  const auto cleanup = [&] {
    std::error_code ignored;
    fs::remove_all(temp_dir, ignored);
  };
  fs::create_directory(temp_dir, ec);
  if (ec) {
    return base::InternalError("cannot create " + temp_dir.string() + ": " + ec.message());
  }
  RunMetadata stored = metadata;
  stored.schema_version = kf::kRunSchemaVersion;
  stored.last_seq = 0;
  {
    RunDatabaseOptions db_options{run_id, root_, options_.env};
    base::Result<std::unique_ptr<RunDatabase>> database =
        RunDatabase::Create(temp_dir / kf::kRunLogDirName, db_options);
    if (!database.ok()) {
      cleanup();
      return database.status();
    }
    rocksdb::WriteBatch batch;
    const std::string version = std::to_string(kf::kRunSchemaVersion);
    rocksdb::Status status = batch.Put((*database)->meta(), kf::kMetaSchemaVersionKey, version);
    if (status.ok()) status = batch.Put((*database)->meta(), kf::kMetaRunIdKey, run_id);
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    if (status.ok()) status = (*database)->db()->Write(write_options, &batch);
    if (!status.ok()) {
      database->reset();
      cleanup();
      return FromRocksDbStatus(status, "creating run '" + run_id + "'");
    }
  }
  base::Status written = RunsIndex::WriteIn(temp_dir, stored);
  if (!written.ok()) {
    cleanup();
    return written;
  }
  if (::rename(temp_dir.c_str(), run_dir.c_str()) != 0) {
    const int error = errno;
    cleanup();
    if (error == EEXIST || error == ENOTEMPTY) return already_exists();
    return base::InternalError("cannot rename " + temp_dir.string() + " to " + run_dir.string() +
                               ": " + std::strerror(error));
  }
  BATCHLOG_RETURN_IF_ERROR(SyncDirectory(runs_dir));
  return OpenRun(run_id, OpenMode::kReadWrite);
}

bool Store::RunHasWriter(std::string_view run_id) const {
  if (!ValidateRunId(run_id).ok()) return false;
  const fs::path lock_file = RunDir(run_id) / kf::kRunLogDirName / "LOCK";
  const int fd = ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // The lock RocksDB takes: a write lock on the whole file. F_GETLK reports a holder
  // without taking anything.
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  query.l_start = 0;
  query.l_len = 0;
  const bool held = ::fcntl(fd, F_GETLK, &query) == 0 && query.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

base::Result<std::unique_ptr<EventLog>> Store::OpenRun(std::string_view run_id,
                                                       OpenMode mode) const {
  BATCHLOG_RETURN_IF_ERROR(ValidateRunId(run_id));
  const fs::path run_dir = RunDir(run_id);
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) {
    return base::NotFoundError("run '" + std::string(run_id) + "' not found in store '" +
                               root_.string() + "'");
  }
  const fs::path log_dir = run_dir / kf::kRunLogDirName;
  if (!fs::is_directory(log_dir, ec)) {
    return base::DataLossError("run '" + std::string(run_id) + "' (store " + root_.string() +
                               ") has no log directory " + log_dir.string());
  }
  RunDatabaseOptions db_options{std::string(run_id), root_, options_.env,
                                options_.recover_damaged_wal};
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RunDatabase> database,
                            RunDatabase::Open(log_dir, mode, db_options));
  BATCHLOG_RETURN_IF_ERROR(CheckRunMeta(*database, root_));
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<RocksDbEventLog> log,
                            RocksDbEventLog::Open(std::move(database)));
  // A secondary may open between a writer's sync and its meta.json write: checked only on
  // logs nobody else writes.
  if (mode != OpenMode::kSecondary && !options_.recover_damaged_wal) {
    const base::Result<RunMetadata> metadata = ReadRunMetadata(run_id);
    if (metadata.ok() && log->last_seq() < metadata->synced_seq) {
      return base::DataLossError(
          "run '" + std::string(run_id) + "' (store " + root_.string() + "): the log ends at seq " +
          std::to_string(log->last_seq()) + ", but seq " + std::to_string(metadata->synced_seq) +
          " was on disk when the run's meta.json was written: synced writes were lost (a "
          "truncated or deleted WAL file). Nothing was changed; docs/operations.md ('Storage "
          "faults and data loss') says how to go on");
    }
  }
  return std::unique_ptr<EventLog>(std::move(log));
}

}  // namespace batchlog::store
