// The events' and payloads' memtable representation (src/store/ascending_key_memtable.h):
// it must read exactly like RocksDB's skip list for any order of writes (checked against a
// std::map model through a real database: iterators both ways, seeks, gets, snapshots,
// flush and WAL recovery), cost about one comparison per ascending insert, and serve a
// reader on another thread while the writer appends.
#include "src/store/ascending_key_memtable.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/comparator.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/utilities/options_util.h>

#include "src/store/key_format.h"
#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

namespace kf = key_format;

// Bytewise order, counting its calls.
class CountingComparator final : public rocksdb::Comparator {
 public:
  const char* Name() const override { return "batchlog.test.CountingBytewise"; }
  int Compare(const rocksdb::Slice& a, const rocksdb::Slice& b) const override {
    calls.fetch_add(1, std::memory_order_relaxed);
    return a.compare(b);
  }
  void FindShortestSeparator(std::string*, const rocksdb::Slice&) const override {}
  void FindShortSuccessor(std::string*) const override {}
  mutable std::atomic<std::uint64_t> calls{0};
};

std::string Key(std::uint64_t n) { return std::string(kf::SeqKeyView(kf::EncodeSeqKey(n))); }
std::uint64_t Number(const rocksdb::Slice& key) { return kf::DecodeSeqKeyUnchecked(key.data()); }

// A database whose column family "t" uses the representation under test. Closed without
// a flush, and reopened without one, so reopening rebuilds the memtable from the WAL.
class TestDatabase {
 public:
  explicit TestDatabase(const std::filesystem::path& dir, const CountingComparator* comparator)
      : dir_(dir), comparator_(comparator) {
    Open();
  }
  ~TestDatabase() { Close(); }

  void Open() {
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.allow_concurrent_memtable_write = false;
    db_options.avoid_flush_during_shutdown = true;
    db_options.avoid_flush_during_recovery = true;
    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.comparator = comparator_;
    cf_options.write_buffer_size = 256 << 20;  // nothing flushes unless asked
    cf_options.memtable_factory = NewAscendingKeyMemTableFactory();
    rocksdb::ColumnFamilyOptions default_options;
    default_options.comparator = comparator_;
    const std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, default_options}, {"t", cf_options}};
    const rocksdb::Status status =
        rocksdb::DB::Open(db_options, dir_.string(), families, &handles_, &db_);
    INFO(status.ToString());
    REQUIRE(status.ok());
  }
  void Close() {
    if (db_ == nullptr) return;
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    handles_.clear();
    db_->Close().PermitUncheckedError();
    delete db_;
    db_ = nullptr;
  }
  void Reopen() {
    Close();
    Open();
  }

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* cf() const { return handles_[1]; }

 private:
  std::filesystem::path dir_;
  const CountingComparator* comparator_;
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

using Model = std::map<std::uint64_t, std::string>;

// Every read the database offers, against the model.
void CheckAgainstModel(const TestDatabase& database, const Model& model, std::mt19937_64& random,
                       const rocksdb::Snapshot* snapshot = nullptr) {
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(database.db()->NewIterator(read_options, database.cf()));

  std::vector<std::pair<std::uint64_t, std::string>> forward;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    forward.emplace_back(Number(it->key()), it->value().ToString());
  }
  REQUIRE(it->status().ok());
  REQUIRE(forward ==
          std::vector<std::pair<std::uint64_t, std::string>>(model.begin(), model.end()));

  std::vector<std::pair<std::uint64_t, std::string>> backward;
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    backward.emplace_back(Number(it->key()), it->value().ToString());
  }
  REQUIRE(backward ==
          std::vector<std::pair<std::uint64_t, std::string>>(model.rbegin(), model.rend()));

  const std::uint64_t top = model.empty() ? 10 : model.rbegin()->first + 3;
  for (int probe = 0; probe < 60; ++probe) {
    const std::uint64_t target = random() % (top + 1);
    const std::string key = Key(target);
    it->Seek(key);
    const auto at_or_after = model.lower_bound(target);
    if (at_or_after == model.end()) {
      REQUIRE_FALSE(it->Valid());
    } else {
      REQUIRE(it->Valid());
      REQUIRE(Number(it->key()) == at_or_after->first);
      // One step each way from a seek lands where the model says.
      it->Next();
      const auto next = std::next(at_or_after);
      REQUIRE(it->Valid() == (next != model.end()));
      if (next != model.end()) REQUIRE(Number(it->key()) == next->first);
    }
    it->SeekForPrev(key);
    const auto after = model.upper_bound(target);
    if (after == model.begin()) {
      REQUIRE_FALSE(it->Valid());
    } else {
      REQUIRE(it->Valid());
      REQUIRE(Number(it->key()) == std::prev(after)->first);
    }
    std::string value;
    const rocksdb::Status got = database.db()->Get(read_options, database.cf(), key, &value);
    const auto found = model.find(target);
    if (found == model.end()) {
      REQUIRE(got.IsNotFound());
    } else {
      REQUIRE(got.ok());
      REQUIRE(value == found->second);
    }
  }
}

TEST_CASE("ascending inserts cost about one comparison each and stay in the array",
          "[store][memtable]") {
  batchlog::testing::TempDir dir("ascending-memtable");
  CountingComparator comparator;
  TestDatabase database(dir.path() / "db", &comparator);
  const std::uint64_t moved_before = AscendingKeyMemTablesMovedToSkipList();
  const std::uint64_t calls_before = comparator.calls.load();
  constexpr std::uint64_t kKeys = 20'000;
  for (std::uint64_t first = 1; first <= kKeys; first += 100) {
    rocksdb::WriteBatch batch;
    for (std::uint64_t n = first; n < first + 100; ++n) {
      REQUIRE(batch.Put(database.cf(), Key(n), "v" + std::to_string(n)).ok());
    }
    REQUIRE(database.db()->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  const double per_insert =
      static_cast<double>(comparator.calls.load() - calls_before) / static_cast<double>(kKeys);
  INFO("comparisons per insert: " << per_insert);
  // RocksDB's skip list, as Debian builds it, makes about 16.
  CHECK(per_insert < 2.5);
  CHECK(AscendingKeyMemTablesMovedToSkipList() == moved_before);

  Model model;
  for (std::uint64_t n = 1; n <= kKeys; ++n) model[n] = "v" + std::to_string(n);
  std::mt19937_64 random(7);
  const std::uint64_t generic_gets_before = AscendingKeyMemTableGenericGets();
  CheckAgainstModel(database, model, random);
  // Point reads are served by the array, not by RocksDB's generic (leaking) Get.
  CHECK(AscendingKeyMemTableGenericGets() == generic_gets_before);
}

TEST_CASE("an ascending-key memtable reads like a skip list for any order of writes",
          "[store][memtable]") {
  const bool any_order = GENERATE(false, true);
  const std::uint64_t seed = std::random_device{}();
  INFO("seed " << seed << (any_order ? ", rewrites, deletes and smaller keys" : ", ascending"));
  std::mt19937_64 random(seed);
  batchlog::testing::TempDir dir("ascending-memtable");
  CountingComparator comparator;
  TestDatabase database(dir.path() / "db", &comparator);
  const std::uint64_t moved_before = AscendingKeyMemTablesMovedToSkipList();

  Model model;
  std::uint64_t next_key = 1;
  // A key the model holds, at random (the model is not empty).
  const auto existing_key = [&] {
    auto it = model.lower_bound(random() % next_key);
    return it == model.end() ? model.begin() : it;
  };
  const auto write_some = [&](int operations) {
    rocksdb::WriteBatch batch;
    for (int i = 0; i < operations; ++i) {
      const int kind = any_order ? static_cast<int>(random() % 10) : 0;
      if (kind <= 6 || model.empty()) {
        next_key += 1 + random() % 3;  // ascending, with holes for seeks to fall into
        const std::string value = "v" + std::to_string(next_key) + "-" + std::to_string(random());
        REQUIRE(batch.Put(database.cf(), Key(next_key), value).ok());
        model[next_key] = value;
      } else if (kind <= 7) {  // rewrite an existing key
        const auto it = existing_key();
        it->second = "rewritten-" + std::to_string(random());
        REQUIRE(batch.Put(database.cf(), Key(it->first), it->second).ok());
      } else if (kind <= 8) {  // delete one
        const auto it = existing_key();
        REQUIRE(batch.Delete(database.cf(), Key(it->first)).ok());
        model.erase(it);
      } else {  // a smaller key never written (the holes)
        const std::uint64_t key = random() % next_key;
        if (model.count(key) == 0) {
          model[key] = "late";
          REQUIRE(batch.Put(database.cf(), Key(key), "late").ok());
        }
      }
    }
    REQUIRE(database.db()->Write(rocksdb::WriteOptions(), &batch).ok());
  };

  for (int round = 0; round < 20; ++round) {
    write_some(50);
    CheckAgainstModel(database, model, random);
  }
  // A snapshot keeps seeing its state while writes go on.
  const Model at_snapshot = model;
  const rocksdb::Snapshot* snapshot = database.db()->GetSnapshot();
  for (int round = 0; round < 5; ++round) write_some(50);
  CheckAgainstModel(database, model, random);
  CheckAgainstModel(database, at_snapshot, random, snapshot);
  database.db()->ReleaseSnapshot(snapshot);

  SECTION("after recovery from the WAL") {
    database.Reopen();
    CheckAgainstModel(database, model, random);
    write_some(100);
    CheckAgainstModel(database, model, random);
  }
  SECTION("after a flush") {
    REQUIRE(database.db()->Flush(rocksdb::FlushOptions(), database.cf()).ok());
    write_some(100);
    CheckAgainstModel(database, model, random);
  }
  if (any_order) {
    CHECK(AscendingKeyMemTablesMovedToSkipList() > moved_before);
  } else {
    CHECK(AscendingKeyMemTablesMovedToSkipList() == moved_before);
  }
}

TEST_CASE("a reader on another thread sees a growing prefix while the writer appends",
          "[store][memtable]") {
  batchlog::testing::TempDir dir("ascending-memtable");
  CountingComparator comparator;
  TestDatabase database(dir.path() / "db", &comparator);
  constexpr std::uint64_t kKeys = 60'000;  // past several 4,096-entry chunks
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> scans{0};
  std::atomic<bool> failed{false};
  std::string failure;  // written by the reader before it sets `failed`
  std::thread reader([&] {
    std::mt19937_64 random(11);
    while (!done.load() && !failed.load()) {
      std::unique_ptr<rocksdb::Iterator> it(
          database.db()->NewIterator(rocksdb::ReadOptions(), database.cf()));
      std::uint64_t expected = 1;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        if (Number(it->key()) != expected) {
          failure = "scan found key " + std::to_string(Number(it->key())) + " where " +
                    std::to_string(expected) + " belongs";
          break;
        }
        ++expected;
      }
      if (expected > 1) {
        const std::uint64_t target = 1 + random() % (expected - 1);
        it->Seek(Key(target));
        if (!it->Valid() || Number(it->key()) != target) {
          failure = "seek to " + std::to_string(target) + " missed it";
        }
      }
      if (!failure.empty()) failed = true;
      scans.fetch_add(1);
    }
  });
  for (std::uint64_t first = 1; first <= kKeys; first += 20) {
    rocksdb::WriteBatch batch;
    for (std::uint64_t n = first; n < first + 20; ++n) {
      REQUIRE(batch.Put(database.cf(), Key(n), "value").ok());
    }
    REQUIRE(database.db()->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  // Let the reader finish at least one scan of the whole table too.
  const std::uint64_t seen = scans.load();
  while (scans.load() < seen + 2 && !failed.load()) std::this_thread::yield();
  done = true;
  reader.join();
  INFO(failure);
  CHECK(failure.empty());
}

TEST_CASE("a run's events and payloads use the ascending-key memtable, named in its OPTIONS",
          "[store][memtable]") {
  batchlog::testing::TempDir dir("ascending-memtable");
  auto opened = Store::Open(dir.path() / "store", /*create_if_missing=*/true);
  REQUIRE(opened.ok());
  Store store = std::move(opened).value();
  {
    auto log = store.CreateRun(testing::MakeMetadata("r1"));
    REQUIRE(log.ok());
    StepBatch step = testing::MakeStep(1, 10);
    REQUIRE((*log)->Append(step).ok());
  }
  // The OPTIONS file parses back (the factory is registered by name) and says which
  // column families use it.
  rocksdb::ConfigOptions config;
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  const rocksdb::Status status = rocksdb::LoadLatestOptions(
      config, (store.RunDir("r1") / "log").string(), &db_options, &families);
  INFO(status.ToString());
  REQUIRE(status.ok());
  CHECK_FALSE(db_options.allow_concurrent_memtable_write);
  std::map<std::string, std::string> factory_of;
  for (const auto& family : families) {
    factory_of[family.name] = family.options.memtable_factory->Name();
  }
  CHECK(factory_of[std::string(kf::kEventsColumnFamily)] == kAscendingKeyMemTableName);
  CHECK(factory_of[std::string(kf::kPayloadsColumnFamily)] == kAscendingKeyMemTableName);
  CHECK(factory_of[std::string(kf::kSnapshotsColumnFamily)] == "SkipListFactory");
  CHECK(factory_of[std::string(kf::kMetaColumnFamily)] == "SkipListFactory");
}

}  // namespace
}  // namespace batchlog::store
