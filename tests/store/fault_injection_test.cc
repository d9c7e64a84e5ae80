// A write that fails inside RocksDB: a FileSystem wrapper makes the WAL's append or sync
// fail on demand (Debian's RocksDB ships no fault-injection file system, so this is our
// small one). The step must not become visible and last_seq must not move.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

using base::StatusCode;
using testing::MakeMetadata;
using testing::MakeStep;
using testing::ReadAll;

struct Faults {
  std::atomic<bool> fail_wal_append{false};
  std::atomic<bool> fail_wal_sync{false};
};

class FaultyWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWalFile(std::unique_ptr<rocksdb::FSWritableFile> file, const Faults& faults)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), faults_(faults) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_wal_append) return rocksdb::IOStatus::NoSpace("injected: No space left");
    return target()->Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_wal_append) return rocksdb::IOStatus::NoSpace("injected: No space left");
    return target()->Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_wal_sync) return rocksdb::IOStatus::IOError("injected: sync failed");
    return target()->Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (faults_.fail_wal_sync) return rocksdb::IOStatus::IOError("injected: sync failed");
    return target()->Fsync(options, dbg);
  }

 private:
  const Faults& faults_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(const Faults& faults)
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(faults) {}
  static const char* kClassName() { return "BatchlogFaultyFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, dbg);
    // WAL files are <number>.log; the info log is LOG, SSTs .sst, MANIFEST-<n>.
    const bool is_wal = name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
    if (status.ok() && is_wal) {
      *result = std::make_unique<FaultyWalFile>(std::move(*result), faults_);
    }
    return status;
  }

 private:
  const Faults& faults_;
};

TEST_CASE("a write that fails inside RocksDB leaves last_seq unchanged and nothing readable",
          "[store]") {
  batchlog::testing::TempDir dir("store-test");
  Faults faults;
  const std::unique_ptr<rocksdb::Env> env =
      rocksdb::NewCompositeEnv(std::make_shared<FaultyFileSystem>(faults));
  StoreOptions options;
  options.env = env.get();
  auto store = Store::Open(dir / "store", /*create_if_missing=*/true, options);
  REQUIRE(store.ok());
  bool append_failed = false;
  {
    auto log = store->CreateRun(MakeMetadata("r1"));
    REQUIRE(log.ok());
    StepBatch before = MakeStep(1, 3);
    REQUIRE((*log)->Append(before).ok());

    StepBatch failing = MakeStep(4, 5);
    failing.snapshot = "covers-8";
    SECTION("the WAL append fails") {
      append_failed = true;
      faults.fail_wal_append = true;
      auto range = (*log)->Append(failing);
      REQUIRE_FALSE(range.ok());
      // "No space left" is worth retrying once space is freed.
      CHECK(range.status().code() == StatusCode::kResourceExhausted);
      CHECK_THAT(range.status().message(), Catch::Contains("run 'r1': appending seqs 4..8"));
    }
    SECTION("the WAL sync fails") {
      faults.fail_wal_sync = true;
      auto range = (*log)->Append(failing);
      REQUIRE_FALSE(range.ok());
      CHECK_THAT(range.status().message(), Catch::Contains("run 'r1': appending seqs 4..8"));
    }
    CHECK((*log)->last_seq() == 3);
    const testing::ReadResult read = ReadAll(**log);
    CHECK(read.status.ok());
    CHECK(read.events.size() == 3);
    auto snapshot = (*log)->LatestSnapshot();
    REQUIRE(snapshot.ok());
    CHECK_FALSE(snapshot->has_value());
    CHECK((*log)->ReadBlob(4).status().code() == StatusCode::kNotFound);
  }
  faults.fail_wal_append = false;
  faults.fail_wal_sync = false;
  // A failed sync may still have left the bytes in the OS page cache, and recovery may
  // legitimately find them; a failed append never wrote them, so after reopening the step
  // is still absent and the log continues at seq 4.
  if (append_failed) {
    auto log = store->OpenRun("r1", OpenMode::kReadWrite);
    REQUIRE(log.ok());
    CHECK((*log)->last_seq() == 3);
    CHECK(ReadAll(**log).events.size() == 3);
    StepBatch next = MakeStep(4, 1);
    auto range = (*log)->Append(next);
    REQUIRE(range.ok());
    CHECK(range->first == 4);
  }
}

}  // namespace
}  // namespace batchlog::store
