// A write-ahead log damaged in the middle (before intact, acknowledged writes) is refused as
// DataLoss naming the run, the file, the byte and the seqs; damage in the last write (a torn
// or corrupted tail) recovers to the write before it, as RocksDB's point-in-time recovery
// does. The oracle is independent of the scanner: each step is one WriteBatch appended to a
// WAL file, so the file's size after each Append gives the byte range of every step.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <rocksdb/options.h>

#include "src/store/event_log.h"
#include "src/store/key_format.h"
#include "src/store/run_database.h"
#include "src/store/store.h"
#include "src/store/wal_damage_scanner.h"
#include "tests/store/store_test_util.h"
#include "tests/support/event_sequence_generator.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

namespace fs = std::filesystem;
namespace kf = key_format;
using base::StatusCode;
using testing::MakeEvent;
using testing::MakeMetadata;
using testing::ReadAll;

constexpr std::uint64_t kBlockBytes = 32768;

// The WAL the run's writes go to: the newest (an older one holds the run's creation).
fs::path NewestWal(const fs::path& log_dir) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(log_dir)) {
    if (entry.path().extension() != ".log") continue;
    if (newest.empty() || entry.path().filename().string() > newest.filename().string()) {
      newest = entry.path();
    }
  }
  REQUIRE_FALSE(newest.empty());
  return newest;
}

struct Step {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t begin = 0;  // byte range of its write in the WAL
  std::uint64_t end = 0;
};

// Run "r1" with `steps` synced steps of 1-6 events whose blobs range from none to 80 KB, so
// writes span blocks as first/middle/last fragments as well as whole records. Left closed
// with every step in the WAL (no flush: the memtables are far from full).
struct WalRun {
  // `small_tail_steps` more steps of one event without a blob end the run.
  WalRun(std::size_t steps, std::uint64_t seed, std::size_t small_tail_steps = 0) {
    Store store = testing::MustOpen(dir / "store");
    auto log = store.CreateRun(MakeMetadata("r1"));
    REQUIRE(log.ok());
    wal = NewestWal(store.RunDir("r1") / "log");
    // Appends a step, noting the byte range its write took in the WAL.
    const auto append = [&](StepBatch& step) {
      Step placed;
      placed.begin = fs::file_size(wal);
      auto range = (*log)->Append(step);
      REQUIRE(range.ok());
      placed.first_seq = range->first;
      placed.last_seq = range->last;
      placed.end = fs::file_size(wal);
      REQUIRE(placed.end > placed.begin);
      written.push_back(placed);
    };
    std::mt19937_64 random(seed);
    std::uint64_t next_index = 1;
    for (std::size_t s = 0; s < steps; ++s) {
      StepBatch step;
      step.durability = Durability::kSynced;
      const std::size_t events = 1 + random() % 6;
      for (std::size_t i = 0; i < events; ++i) {
        const std::size_t blob_bytes = random() % 4 == 0 ? random() % 80'000 : random() % 300;
        step.events.push_back(MakeEvent(next_index++, std::string(blob_bytes, 'b')));
      }
      append(step);
    }
    for (std::size_t s = 0; s < small_tail_steps; ++s) {
      StepBatch step = testing::MakeStep(next_index++, 1);
      append(step);
    }
    REQUIRE(NewestWal(store.RunDir("r1") / "log") == wal);
  }

  // A copy of the store whose WAL has byte `offset` flipped.
  fs::path DamagedCopy(std::uint64_t offset, const std::string& name) const {
    const fs::path copy = dir / name;
    fs::copy(dir / "store", copy, fs::copy_options::recursive);
    const fs::path copied_wal = copy / "runs" / "r1" / "log" / wal.filename();
    std::fstream file(copied_wal, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(static_cast<std::streamoff>(offset));
    const int byte = file.get();
    file.seekp(static_cast<std::streamoff>(offset));
    file.put(static_cast<char>(byte ^ 0x5a));
    return copy;
  }

  std::uint64_t last_seq() const { return written.back().last_seq; }
  std::size_t StepAt(std::uint64_t offset) const {
    for (std::size_t i = 0; i < written.size(); ++i) {
      if (offset >= written[i].begin && offset < written[i].end) return i;
    }
    FAIL("offset " << offset << " is in no step");
    return 0;
  }

  batchlog::testing::TempDir dir{"wal-damage"};
  fs::path wal;
  std::vector<Step> written;
};

// The last 6 bytes of a block may be the writer's zero padding, which no reader looks at.
bool MayBePadding(std::uint64_t offset) { return offset % kBlockBytes >= kBlockBytes - 6; }

void CheckLogEndsAt(const fs::path& store_root, OpenMode mode, std::uint64_t last_seq) {
  auto store = Store::Open(store_root, false);
  REQUIRE(store.ok());
  auto log = store->OpenRun("r1", mode);
  INFO(log.status().ToString());
  REQUIRE(log.ok());
  const testing::ReadResult read = ReadAll(**log);
  INFO(read.status.ToString());
  REQUIRE(read.status.ok());
  REQUIRE(read.events.size() == last_seq);
  for (std::size_t i = 0; i < read.events.size(); ++i) CHECK(read.events[i].seq() == i + 1);
}

TEST_CASE("RocksDB numbers the events column family as the WAL scanner expects", "[store][wal]") {
  batchlog::testing::TempDir dir("wal-damage");
  auto database = RunDatabase::Create(dir / "log", RunDatabaseOptions{"r1", dir.path()});
  REQUIRE(database.ok());
  CHECK((*database)->events()->GetID() == RunDatabase::kEventsColumnFamilyId);
}

TEST_CASE("an intact WAL scans clean and the scanner places damage in the write that holds it",
          "[store][wal]") {
  const std::uint64_t seed = batchlog::testing::SeedFromEnvironment(20261129);
  std::printf("wal damage scanner: BATCHLOG_SEED=%llu\n", static_cast<unsigned long long>(seed));
  WalRun run(40, seed);
  const fs::path log_dir = run.wal.parent_path();
  {
    auto scan = ScanWalForDamage(log_dir, RunDatabase::kEventsColumnFamilyId);
    REQUIRE(scan.ok());
    CHECK_FALSE(scan->damaged);
  }
  std::mt19937_64 random(seed);
  const std::uint64_t wal_bytes = run.written.back().end;
  for (int trial = 0; trial < 25; ++trial) {
    std::uint64_t offset =
        run.written.front().begin + random() % (wal_bytes - run.written.front().begin);
    if (MayBePadding(offset)) continue;
    const std::size_t step = run.StepAt(offset);
    INFO("trial " << trial << ": byte " << offset << " of " << wal_bytes << ", step " << step);
    const fs::path copy = run.DamagedCopy(offset, "scan-" + std::to_string(trial));
    auto scan = ScanWalForDamage(copy / "runs" / "r1" / "log", RunDatabase::kEventsColumnFamilyId);
    REQUIRE(scan.ok());
    REQUIRE(scan->damaged);
    const WalDamage& damage = scan->damage;
    CHECK(damage.file == run.wal.filename().string());
    CHECK(damage.offset >= run.written[step].begin);
    CHECK(damage.offset < run.written[step].end);
    CHECK(damage.last_seq_before == (step == 0 ? 0 : run.written[step - 1].last_seq));
    if (step + 1 < run.written.size()) {
      CHECK(damage.intact_writes_after);
      CHECK(damage.first_seq_after == run.written[step + 1].first_seq);
      CHECK(damage.last_seq_after == run.last_seq());
    } else {
      CHECK_FALSE(damage.intact_writes_after);
    }
    fs::remove_all(copy);
  }
}

TEST_CASE("a WAL damaged before acknowledged writes is DataLoss, and damage in its last write "
          "recovers to the write before",
          "[store][wal]") {
  const std::uint64_t seed = batchlog::testing::SeedFromEnvironment(20261129);
  std::printf("wal damage open: BATCHLOG_SEED=%llu\n", static_cast<unsigned long long>(seed));
  WalRun run(30, seed + 1);
  std::mt19937_64 random(seed);
  const std::uint64_t wal_bytes = run.written.back().end;
  // Random bytes, plus the first byte of the first step, of a middle step and of the last.
  std::vector<std::uint64_t> offsets = {run.written.front().begin, run.written[15].begin,
                                        run.written.back().begin, wal_bytes - 1};
  for (int i = 0; i < 8; ++i) {
    offsets.push_back(run.written.front().begin +
                      random() % (wal_bytes - run.written.front().begin));
  }
  int trial = 0;
  for (const std::uint64_t offset : offsets) {
    if (MayBePadding(offset)) continue;
    const std::size_t step = run.StepAt(offset);
    INFO("byte " << offset << " of " << wal_bytes << ", step " << step << " of "
                 << run.written.size());
    const fs::path copy = run.DamagedCopy(offset, "open-" + std::to_string(trial++));
    const fs::path wal = copy / "runs" / "r1" / "log" / run.wal.filename();
    const std::string damaged_bytes = batchlog::testing::ReadFileText(wal);
    auto store = Store::Open(copy, false);
    REQUIRE(store.ok());
    if (step + 1 == run.written.size()) {
      // The tail: the last step is gone, every earlier one intact, and the log writable.
      const std::uint64_t kept = run.written[step - 1].last_seq;
      CheckLogEndsAt(copy, OpenMode::kReadOnly, kept);
      CheckLogEndsAt(copy, OpenMode::kReadWrite, kept);
      auto log = store->OpenRun("r1", OpenMode::kReadWrite);
      INFO(log.status().ToString());
      REQUIRE(log.ok());
      StepBatch next = testing::MakeStep(1000, 2);
      auto range = (*log)->Append(next);
      REQUIRE(range.ok());
      CHECK(range->first == kept + 1);
      log->reset();
      CheckLogEndsAt(copy, OpenMode::kReadOnly, kept + 2);
    } else {
      for (const OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite}) {
        auto log = store->OpenRun("r1", mode);
        REQUIRE_FALSE(log.ok());
        const std::string message = log.status().message();
        INFO(message);
        CHECK(log.status().code() == StatusCode::kDataLoss);
        CHECK(message.find("run 'r1'") != std::string::npos);
        CHECK(message.find(run.wal.filename().string()) != std::string::npos);
        CHECK(message.find("(seqs " + std::to_string(run.written[step + 1].first_seq) + ".." +
                           std::to_string(run.last_seq()) + ")") != std::string::npos);
        if (step > 0) {
          CHECK(message.find("(after seq " + std::to_string(run.written[step - 1].last_seq) +
                             ")") != std::string::npos);
        }
        CHECK(message.find('\n') == std::string::npos);
      }
      // The refusal changed nothing: the damaged WAL is still there, byte for byte.
      CHECK(batchlog::testing::ReadFileText(wal) == damaged_bytes);
      // An operator who accepts the loss opens it by point-in-time recovery.
      StoreOptions accept;
      accept.recover_damaged_wal = true;
      auto accepting = Store::Open(copy, false, accept);
      REQUIRE(accepting.ok());
      auto log = accepting->OpenRun("r1", OpenMode::kReadWrite);
      INFO(log.status().ToString());
      REQUIRE(log.ok());
      const std::uint64_t kept = step == 0 ? 0 : run.written[step - 1].last_seq;
      const testing::ReadResult read = ReadAll(**log);
      REQUIRE(read.status.ok());
      CHECK(read.events.size() == kept);
      log->reset();
      // That open retired the damaged WAL: later opens need no flag.
      CheckLogEndsAt(copy, OpenMode::kReadOnly, kept);
    }
    fs::remove_all(copy);
  }
}

TEST_CASE("a WAL whose damaged tail was recovered by a process that wrote on is not refused",
          "[store][wal]") {
  // RocksDB's own point-in-time recovery keeps the damaged WAL when it leaves the recovered
  // writes in memtables; the next WAL continues its sequence numbers, so a later recovery
  // replays past the damage and nothing after it is lost.
  WalRun run(10, 11);
  const std::uint64_t kept = run.written[8].last_seq;
  const fs::path copy = run.DamagedCopy(run.written.back().begin + 20, "continued");
  const fs::path log_dir = copy / "runs" / "r1" / "log";
  {
    rocksdb::DBOptions options;
    options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    options.avoid_flush_during_recovery = true;
    testing::RawRunDatabase raw(log_dir, options);
    raw.Put("events", kf::SeqKeyView(kf::EncodeSeqKey(kept + 1)),
            testing::SerializedEvent(kept + 1, "r1"));
  }
  REQUIRE(fs::exists(log_dir / run.wal.filename()));
  auto scan = ScanWalForDamage(log_dir, RunDatabase::kEventsColumnFamilyId);
  REQUIRE(scan.ok());
  CHECK(scan->damaged);
  CHECK_FALSE(scan->damage.intact_writes_after);
  CheckLogEndsAt(copy, OpenMode::kReadWrite, kept + 1);
}

TEST_CASE("damage in an older WAL's last step is DataLoss when a newer WAL's steps follow",
          "[store][wal]") {
  // A reopen that wrote on starts its WAL right after the older WAL's last step. When that
  // step rots afterwards, point-in-time recovery stops there and drops the newer WAL, which
  // does not continue the sequence where replay stopped: those acknowledged steps are lost.
  WalRun run(8, 13);
  REQUIRE(run.written.back().end - run.written.back().begin > 40);
  std::uint64_t newer_first = 0;
  std::uint64_t newer_last = 0;
  {
    Store store = testing::MustOpen(run.dir / "store");
    auto log = store.OpenRun("r1", OpenMode::kReadWrite);
    REQUIRE(log.ok());
    StepBatch step = testing::MakeStep(1000, 3);
    auto range = (*log)->Append(step);
    REQUIRE(range.ok());
    newer_first = range->first;
    newer_last = range->last;
  }
  const fs::path log_dir = run.wal.parent_path();
  REQUIRE(fs::exists(run.wal));
  REQUIRE(NewestWal(log_dir) != run.wal);
  const fs::path copy = run.DamagedCopy(run.written.back().begin + 20, "older");

  auto scan = ScanWalForDamage(copy / "runs" / "r1" / "log", RunDatabase::kEventsColumnFamilyId);
  REQUIRE(scan.ok());
  REQUIRE(scan->damaged);
  CHECK(scan->damage.file == run.wal.filename().string());
  CHECK(scan->damage.intact_writes_after);
  CHECK(scan->damage.first_seq_after == newer_first);
  CHECK(scan->damage.last_seq_after == newer_last);
  auto store = Store::Open(copy, false);
  REQUIRE(store.ok());
  auto log = store->OpenRun("r1", OpenMode::kReadOnly);
  REQUIRE_FALSE(log.ok());
  INFO(log.status().message());
  CHECK(log.status().code() == StatusCode::kDataLoss);
  CHECK(log.status().message().find("(seqs " + std::to_string(newer_first) + ".." +
                                    std::to_string(newer_last) + ")") != std::string::npos);
}

TEST_CASE("a damaged length in the WAL's last block is not taken for a torn write",
          "[store][wal]") {
  // RocksDB reads a record that runs past the end of the file as a write cut short and
  // opens without an error, dropping every write after it: the check before each open
  // finds the whole records behind it.
  WalRun run(6, 5, /*small_tail_steps=*/12);
  const std::uint64_t last_block_start = run.written.back().end / kBlockBytes * kBlockBytes;
  std::size_t step = run.written.size();
  for (std::size_t i = 0; i + 3 < run.written.size(); ++i) {
    const std::uint64_t begin = run.written[i].begin;
    if (begin >= last_block_start && begin % kBlockBytes + 7 <= kBlockBytes) {
      step = i;
      break;
    }
  }
  REQUIRE(step < run.written.size());
  INFO("step " << step << " at byte " << run.written[step].begin);
  // The high byte of the record's length: it now runs far past the end of the file.
  const fs::path copy = run.DamagedCopy(run.written[step].begin + 5, "length");
  CHECK(WalTailMayHideDamage(copy / "runs" / "r1" / "log"));
  CHECK_FALSE(WalTailMayHideDamage(run.dir / "store" / "runs" / "r1" / "log"));
  auto store = Store::Open(copy, false);
  REQUIRE(store.ok());
  for (const OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite, OpenMode::kSecondary}) {
    auto log = store->OpenRun("r1", mode);
    REQUIRE_FALSE(log.ok());
    INFO(log.status().message());
    CHECK(log.status().code() == StatusCode::kDataLoss);
    CHECK(log.status().message().find("(seqs " + std::to_string(run.written[step + 1].first_seq) +
                                      ".." + std::to_string(run.last_seq()) + ")") !=
          std::string::npos);
  }
}

TEST_CASE("a WAL cut inside its last write or with garbage after it opens without the scanner "
          "refusing it",
          "[store][wal]") {
  WalRun run(12, 7);
  const std::uint64_t wal_bytes = run.written.back().end;
  SECTION("cut inside the last write") {
    fs::resize_file(run.wal, wal_bytes - 3);
    CheckLogEndsAt(run.dir / "store", OpenMode::kReadWrite, run.written[10].last_seq);
  }
  SECTION("garbage after the last write") {
    std::ofstream(run.wal, std::ios::binary | std::ios::app) << std::string(100, '\x5a');
    CheckLogEndsAt(run.dir / "store", OpenMode::kReadWrite, run.last_seq());
  }
}

}  // namespace
}  // namespace batchlog::store
