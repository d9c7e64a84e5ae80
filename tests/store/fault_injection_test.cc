// A write that fails inside RocksDB: a FileSystem wrapper makes the WAL's append or sync
// fail on demand (Debian's RocksDB ships no fault-injection file system, so this is our
// small one). The step must not become visible and last_seq must not move.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/store/wal_fault_env.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

using base::StatusCode;
using testing::MakeMetadata;
using testing::MakeStep;
using testing::ReadAll;

TEST_CASE("a write that fails inside RocksDB leaves last_seq unchanged and nothing readable",
          "[store]") {
  batchlog::testing::TempDir dir("store-test");
  testing::WalFaults faults;
  const testing::WalFaultEnv fault_env(faults);
  StoreOptions options;
  options.env = fault_env.env();
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
      faults.FailAppendsNow();
      auto range = (*log)->Append(failing);
      REQUIRE_FALSE(range.ok());
      // "No space left" is worth retrying once space is freed.
      CHECK(range.status().code() == StatusCode::kResourceExhausted);
      CHECK_THAT(range.status().message(), Catch::Contains("run 'r1': appending seqs 4..8"));
    }
    SECTION("the WAL sync fails") {
      faults.FailSyncsNow();
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
  faults.Heal();
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
