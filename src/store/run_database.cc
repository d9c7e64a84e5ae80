#include "src/store/run_database.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include "src/store/ascending_key_memtable.h"
#include "src/store/key_format.h"
#include "src/store/rocksdb_status.h"
#include "src/store/wal_damage_scanner.h"

namespace batchlog::store {

namespace {

namespace fs = std::filesystem;
namespace kf = key_format;

constexpr std::size_t kMiB = 1024 * 1024;

// One codec on every level (flushes and the bottommost level included): LZ4 decompresses
// fast enough that a replay scan stays CPU-bound on Protobuf decoding, not on
// decompression. Debian's librocksdb links LZ4; the fallbacks only guard other builds.
rocksdb::CompressionType ChosenCompression() {
  static const rocksdb::CompressionType chosen = [] {
    const auto supported = rocksdb::GetSupportedCompressions();
    for (const auto preferred : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
      for (const auto type : supported) {
        if (type == preferred) return preferred;
      }
    }
    return rocksdb::kNoCompression;
  }();
  return chosen;
}

// A logger that drops everything: a read-only instance must not rotate the LOG file of a
// live writer (RocksDB would otherwise open STORE/runs/<id>/log/LOG as its own info log).
class DiscardingLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

rocksdb::DBOptions MakeDbOptions(OpenMode /*mode*/, bool create, rocksdb::Env* env) {
  rocksdb::DBOptions options;
  options.env = env != nullptr ? env : rocksdb::Env::Default();
  options.create_if_missing = create;
  options.error_if_exists = create;
  options.create_missing_column_families = create;
  // Required by secondary instances; a run's database has few files, so keeping every
  // table open costs little and saves re-opening files during long scans.
  options.max_open_files = -1;
  // The machine class has 2 cores; flush and compaction of an append-only log are light.
  options.max_background_jobs = 2;
  // Every Write reaches the WAL file before it returns; WriteOptions.sync decides the fsync.
  options.manual_wal_flush = false;
  // One writer per run. Required by the events' and payloads' memtable representation.
  options.allow_concurrent_memtable_write = false;
  // A crash can tear the tail of the WAL (a buffered step not yet synced). Recovery stops
  // at the last whole WriteBatch, so a step is either entirely in the log or not at all.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Every column family shares the WAL; the rarely written ones (meta, snapshots) would
  // otherwise pin old WAL files. Past this size RocksDB flushes them.
  options.max_total_wal_size = 512 * kMiB;
  // Smooth SST writes of flushes/compactions instead of one large writeback at the end.
  options.bytes_per_sync = 1 * kMiB;
  // Keep the info LOG small; a run can live for days.
  options.keep_log_file_num = 3;
  options.max_log_file_size = 8 * kMiB;
  // No periodic stats work in the background of a latency-sensitive writer.
  options.stats_dump_period_sec = 0;
  options.stats_persist_period_sec = 0;
  options.info_log = std::make_shared<DiscardingLogger>();  // LOG writes abort on a full disk
  return options;
}

rocksdb::ColumnFamilyOptions MakeColumnFamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                                     std::size_t write_buffer_bytes,
                                                     std::size_t block_bytes) {
  rocksdb::ColumnFamilyOptions options;
  options.compression = ChosenCompression();
  options.bottommost_compression = rocksdb::kDisableCompressionOption;  // = compression
  options.compression_per_level.clear();
  options.write_buffer_size = write_buffer_bytes;
  options.target_file_size_base = write_buffer_bytes;
  // Keys are appended in order, so compactions mostly move files down a level unchanged;
  // dynamic level sizing keeps the tree shallow for a log that only grows.
  options.level_compaction_dynamic_level_bytes = true;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Larger blocks than the 4 KiB default: reads are long forward scans, not point lookups,
  // and larger blocks compress better.
  table.block_size = block_bytes;
  // No bloom filter: keys are dense sequential seqs, read by range scans (and point reads
  // of payloads that exist); a filter would cost space and CPU and save nothing.
  table.filter_policy = nullptr;
  table.format_version = 5;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

// Bytes of write-ahead log a reopen would recover (0 when none or unreadable).
std::uintmax_t WalBytes(const fs::path& log_dir) {
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (fs::directory_iterator it(log_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() == ".log") {
      const std::uintmax_t size = it->file_size(ec);
      if (!ec) bytes += size;
    }
  }
  return bytes;
}

// A short WAL (a run killed soon after its last snapshot's flush) is recovered into the
// memtables and left there, so a resume's first decision waits for no table write and no
// fsync. A long one is written to level-0 tables during the open, RocksDB's default: kept
// in memtables it would grow them past their size, and both the recovery's inserts and the
// replay's scan of the skip lists would be slower than the flush saves.
constexpr std::uintmax_t kWalBytesKeptInMemtables = 32 * kMiB;

std::vector<rocksdb::ColumnFamilyDescriptor> MakeColumnFamilies() {
  // One small cache shared by the column families; replay scans bypass it (fill_cache
  // false), so it mostly holds index blocks and recent payload and snapshot reads.
  auto cache = rocksdb::NewLRUCache(32 * kMiB);
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName,
                        MakeColumnFamilyOptions(cache, 1 * kMiB, 4 * 1024));
  // Events and payloads are keyed by seq and written in seq order: their memtables are
  // ascending arrays rather than skip lists (src/store/ascending_key_memtable.h).
  const std::shared_ptr<rocksdb::MemTableRepFactory> ascending = NewAscendingKeyMemTableFactory();
  // Events: lean (~100-200 bytes), the replay path.
  families.emplace_back(std::string(kf::kEventsColumnFamily),
                        MakeColumnFamilyOptions(cache, 64 * kMiB, 16 * 1024));
  families.back().options.memtable_factory = ascending;
  // Payloads: KBs each and most of the bytes; a larger memtable means fewer, larger flushes.
  families.emplace_back(std::string(kf::kPayloadsColumnFamily),
                        MakeColumnFamilyOptions(cache, 128 * kMiB, 64 * 1024));
  families.back().options.memtable_factory = ascending;
  // Meta: a handful of keys.
  families.emplace_back(std::string(kf::kMetaColumnFamily),
                        MakeColumnFamilyOptions(cache, 1 * kMiB, 4 * 1024));
  // Snapshots: few, each possibly megabytes.
  families.emplace_back(std::string(kf::kSnapshotsColumnFamily),
                        MakeColumnFamilyOptions(cache, 32 * kMiB, 64 * 1024));
  return families;
}

std::atomic<std::uint64_t> secondary_counter{0};

// Removes secondary scratch directories left by processes that died without closing.
void RemoveStaleSecondaryDirs(const fs::path& parent) {
  std::error_code ec;
  fs::directory_iterator it(parent, ec);
  if (ec) return;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return;
    const std::string name = it->path().filename().string();
    long pid = 0;
    const auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (err != std::errc() || end == name.data() || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

// "the write-ahead log 000012.log is damaged at byte 4123 (after seq 56), before intact
// acknowledged steps (seqs 57..80) that opening it would silently drop: ..." One line,
// with what to do.
std::string DescribeWalDamage(const WalDamage& damage) {
  std::string text =
      "the write-ahead log " + damage.file + " is damaged at byte " + std::to_string(damage.offset);
  if (damage.last_seq_before != 0) {
    text += " (after seq " + std::to_string(damage.last_seq_before) + ")";
  }
  text += ", before intact acknowledged steps";
  if (damage.first_seq_after != 0) {
    text += " (seqs " + std::to_string(damage.first_seq_after) + ".." +
            std::to_string(damage.last_seq_after) + ")";
  }
  text +=
      " that opening it would silently drop: copy the run folder away and see "
      "docs/operations.md, \"Damaged WAL, not at its tail\"";
  return text;
}

}  // namespace

base::Result<std::unique_ptr<RunDatabase>> RunDatabase::Create(const fs::path& log_dir,
                                                               const RunDatabaseOptions& options) {
  return OpenImpl(log_dir, OpenMode::kReadWrite, /*create=*/true, options);
}

base::Result<std::unique_ptr<RunDatabase>> RunDatabase::Open(const fs::path& log_dir, OpenMode mode,
                                                             const RunDatabaseOptions& options) {
  return OpenImpl(log_dir, mode, /*create=*/false, options);
}

base::Result<std::unique_ptr<RunDatabase>> RunDatabase::OpenImpl(
    const fs::path& log_dir, OpenMode mode, bool create, const RunDatabaseOptions& options) {
  std::unique_ptr<RunDatabase> run(new RunDatabase());
  run->mode_ = mode;
  run->run_id_ = options.run_id;
  run->context_ = "run '" + options.run_id + "' (store " + options.store_root.string() + ")";

  rocksdb::DBOptions db_options = MakeDbOptions(mode, create, options.env);
  if (mode == OpenMode::kReadWrite && !create) {
    // An operator's recovery of a damaged WAL flushes what it kept, retiring that WAL: left
    // in place it would be refused again by the next open.
    db_options.avoid_flush_during_recovery =
        !options.recover_damaged_wal && WalBytes(log_dir) <= kWalBytesKeptInMemtables;
  }
  const std::vector<rocksdb::ColumnFamilyDescriptor> families = MakeColumnFamilies();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  OpenMode opened_mode = mode;
  const auto open = [&]() -> rocksdb::Status {
    handles.clear();
    switch (opened_mode) {
      case OpenMode::kReadWrite:
        return rocksdb::DB::Open(db_options, log_dir.string(), families, &handles, &db);
      case OpenMode::kReadOnly:
        return rocksdb::DB::OpenForReadOnly(db_options, log_dir.string(), families, &handles, &db,
                                            /*error_if_wal_file_exists=*/false);
      case OpenMode::kSecondary:
        return rocksdb::DB::OpenAsSecondary(db_options, log_dir.string(),
                                            run->secondary_dir_.string(), families, &handles, &db);
    }
    return rocksdb::Status::InvalidArgument("unknown open mode");
  };
  if (mode == OpenMode::kSecondary) {
    const fs::path parent = log_dir.parent_path() / kf::kSecondaryDirName;
    RemoveStaleSecondaryDirs(parent);
    run->secondary_dir_ =
        parent / (std::to_string(::getpid()) + "-" + std::to_string(secondary_counter++));
    std::error_code ec;
    fs::create_directories(run->secondary_dir_, ec);
    if (ec) {
      return base::InternalError(run->context_ + ": cannot create secondary directory " +
                                 run->secondary_dir_.string() + ": " + ec.message());
    }
  }
  // Point-in-time recovery cannot tell a torn tail from damage followed by acknowledged
  // writes (it drops both), so a writer or reader first opens accepting only an incomplete
  // last write (a secondary's recovery already fails on any damage); on corruption the
  // scanner decides (wal_damage_scanner.h).
  const bool checks_wal = !create && !options.recover_damaged_wal;
  if (checks_wal && mode != OpenMode::kSecondary) {
    db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  }
  // A failed open changes no WAL file: one scan serves both checks below.
  bool scanned = false;
  const auto refuse_lost_writes = [&]() -> base::Status {
    if (std::exchange(scanned, true)) return base::Status::Ok();
    BATCHLOG_ASSIGN_OR_RETURN(const WalScan scan, ScanWalForDamage(log_dir, kEventsColumnFamilyId));
    if (scan.damaged && scan.damage.intact_writes_after) {
      return base::DataLossError(run->context_ + ": " + DescribeWalDamage(scan.damage));
    }
    return base::Status::Ok();
  };
  // Damage in the last, partial block of a WAL can look like a torn write to RocksDB, which
  // then opens without an error: checked before every open.
  if (checks_wal && WalTailMayHideDamage(log_dir)) {
    BATCHLOG_RETURN_IF_ERROR(refuse_lost_writes());
  }
  rocksdb::Status status = open();
  if (checks_wal && status.IsCorruption()) {
    BATCHLOG_RETURN_IF_ERROR(refuse_lost_writes());
    // Only the tail is damaged (a write cut short): recover up to the last whole write. A
    // writer also flushes what it recovered, so the damaged WAL is retired with this open
    // instead of being scanned again by every later one. A secondary cannot recover in this
    // mode; a read-only instance reads the same (no writer has recovered the run yet, or
    // the damaged WAL would be gone).
    db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    db_options.avoid_flush_during_recovery = false;
    if (opened_mode == OpenMode::kSecondary) opened_mode = OpenMode::kReadOnly;
    status = open();
  }
  run->mode_ = opened_mode;
  if (!status.ok()) {
    if (mode == OpenMode::kReadWrite && IsLockHeldError(status)) {
      const char* holder =
          IsLockHeldByThisProcess(status) ? "in this process" : "by another process";
      return base::FailedPreconditionError("run '" + options.run_id +
                                           "' is already open for writing " + holder + " (store " +
                                           options.store_root.string() + ")");
    }
    return FromRocksDbStatus(status, "cannot open " + run->context_);
  }
  run->db_ = db;
  run->default_ = handles[0];
  run->events_ = handles[1];
  run->payloads_ = handles[2];
  run->meta_ = handles[3];
  run->snapshots_ = handles[4];
  return run;
}

RunDatabase::~RunDatabase() {
  if (db_ != nullptr) {
    for (auto* handle : {default_, events_, payloads_, meta_, snapshots_}) {
      if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    // A close error (e.g. a background error after a failed write) leaves nothing to do: the
    // WAL holds every acknowledged step and recovery replays it.
    db_->Close().PermitUncheckedError();
    delete db_;
  }
  if (!secondary_dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(secondary_dir_, ignored);
  }
}

base::Result<std::uint64_t> RunDatabase::ReadLastSeq() const {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, events_));
  it->SeekToLast();
  if (!it->Valid()) {
    BATCHLOG_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), context_ + ": reading last seq"));
    return std::uint64_t{0};
  }
  std::uint64_t seq = 0;
  const rocksdb::Slice key = it->key();
  if (!kf::DecodeSeqKey(std::string_view(key.data(), key.size()), &seq)) {
    return base::DataLossError(context_ + ": last key of the events column family is " +
                               std::to_string(key.size()) + " bytes (hex " + key.ToString(true) +
                               "), not an 8-byte seq");
  }
  return seq;
}

base::Result<std::string> RunDatabase::ReadMeta(std::string_view key) const {
  std::string value;
  const rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), meta_, rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) {
    return base::NotFoundError(context_ + ": no '" + std::string(key) + "' in meta");
  }
  BATCHLOG_RETURN_IF_ERROR(
      FromRocksDbStatus(status, context_ + ": reading meta '" + std::string(key) + "'"));
  return value;
}

base::Status RunDatabase::CatchUp() {
  if (mode_ != OpenMode::kSecondary) return base::Status::Ok();
  return FromRocksDbStatus(db_->TryCatchUpWithPrimary(), context_ + ": catching up");
}

base::Status RunDatabase::Flush() {
  if (mode_ != OpenMode::kReadWrite) return base::Status::Ok();
  BATCHLOG_RETURN_IF_ERROR(
      FromRocksDbStatus(db_->FlushWAL(/*sync=*/true), context_ + ": syncing the WAL"));
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  return FromRocksDbStatus(
      db_->Flush(flush_options, {default_, events_, payloads_, meta_, snapshots_}),
      context_ + ": flushing memtables");
}

void RunDatabase::StartBackgroundFlush() {
  if (mode_ != OpenMode::kReadWrite) return;
  rocksdb::FlushOptions flush_options;
  flush_options.wait = false;
  flush_options.allow_write_stall = true;
  // A flush that cannot start loses nothing (the WAL holds every step); a real I/O problem
  // surfaces as the next write's error.
  db_->Flush(flush_options, {default_, events_, payloads_, meta_, snapshots_})
      .PermitUncheckedError();
}

}  // namespace batchlog::store
