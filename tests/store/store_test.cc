// The store directory: creating and opening stores and runs, the one-line errors for bad
// input, meta.json and ListRuns, and run ids.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "src/store/key_format.h"
#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

using testing::MustOpen;

using batchlog::testing::ReadFileText;
using batchlog::testing::WriteFileText;

namespace fs = std::filesystem;
namespace kf = key_format;
using base::StatusCode;
using testing::MakeMetadata;
using testing::MakeStep;
using testing::RawRunDatabase;

void CheckOneLine(const base::Status& status) {
  INFO(status.ToString());
  CHECK_FALSE(status.ok());
  CHECK(status.message().find('\n') == std::string::npos);
}

TEST_CASE("a new store is a directory with a STORE_FORMAT file and a runs folder", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  MustOpen(root);
  CHECK(ReadFileText(root / "STORE_FORMAT") == "batchlog-store 1\n");
  CHECK(fs::is_directory(root / "runs"));
  // Reopening without create works; an existing empty directory can become a store.
  CHECK(Store::Open(root, false).ok());
  fs::create_directory(dir / "empty");
  CHECK(Store::Open(dir / "empty", true).ok());
  CHECK(fs::exists(dir / "empty" / "STORE_FORMAT"));
}

TEST_CASE("a store whose creation was interrupted is completed by the next create", "[store]") {
  // A kill inside InitializeStore leaves the runs folder and maybe a temporary STORE_FORMAT,
  // never a STORE_FORMAT without its runs folder (it is written last).
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  fs::create_directories(root / "runs");
  SECTION("only the runs folder") {}
  SECTION("and a temporary STORE_FORMAT") {
    WriteFileText(root / ".STORE_FORMAT.tmp-123", "batch");
  }
  auto read = Store::Open(root, /*create_if_missing=*/false);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().code() == StatusCode::kNotFound);
  CHECK_THAT(read.status().message(), Catch::Contains("creation was interrupted"));
  REQUIRE(Store::Open(root, /*create_if_missing=*/true).ok());
  CHECK(ReadFileText(root / "STORE_FORMAT") == "batchlog-store 1\n");
  CHECK(Store::Open(root, false).ok());
}

TEST_CASE("a runs folder with runs in it is never taken for an unfinished store", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  fs::create_directories(root / "runs" / "r1");
  auto store = Store::Open(root, /*create_if_missing=*/true);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kFailedPrecondition);
  CHECK_FALSE(fs::exists(root / "STORE_FORMAT"));
}

TEST_CASE("opening a path that is not a store is a one-line error naming the path", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path path = dir / "x";
  StatusCode expected = StatusCode::kFailedPrecondition;
  std::string expected_text = "is not a batchlog store";
  SECTION("missing directory") {
    expected = StatusCode::kNotFound;
    expected_text = "no batchlog store at '" + path.string() + "'";
  }
  SECTION("a directory without STORE_FORMAT") {
    fs::create_directory(path);
    WriteFileText(path / "notes.txt", "hello");
  }
  SECTION("a regular file") { WriteFileText(path, "hello"); }
  SECTION("a STORE_FORMAT of something else") {
    fs::create_directory(path);
    WriteFileText(path / "STORE_FORMAT", "leveldb 3\nmore\n");
  }
  auto store = Store::Open(path, /*create_if_missing=*/false);
  REQUIRE_FALSE(store.ok());
  CheckOneLine(store.status());
  CHECK(store.status().code() == expected);
  CHECK_THAT(store.status().message(), Catch::Contains(path.string()));
  CHECK_THAT(store.status().message(), Catch::Contains(expected_text));
  if (expected != StatusCode::kNotFound) {
    // create_if_missing never adopts a non-empty directory or a file.
    auto created = Store::Open(path, /*create_if_missing=*/true);
    CHECK_FALSE(created.ok());
  }
}

TEST_CASE("an empty store path is refused", "[store]") {
  auto store = Store::Open("", /*create_if_missing=*/true);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a store of a newer format version is refused naming the version", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  MustOpen(root);
  WriteFileText(root / "STORE_FORMAT", "batchlog-store 7\n");
  auto store = Store::Open(root, true);
  REQUIRE_FALSE(store.ok());
  CheckOneLine(store.status());
  CHECK(store.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(store.status().message(), Catch::Contains("format version 7"));
  CHECK_THAT(store.status().message(), Catch::Contains("up to 1"));
  CHECK_THAT(store.status().message(), Catch::Contains(root.string()));
}

TEST_CASE("a run of a newer schema version is refused naming the version", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  REQUIRE(store.CreateRun(MakeMetadata("r1")).ok());
  {
    RawRunDatabase raw(store.RunDir("r1") / "log");
    CHECK(raw.Get(kf::kMetaColumnFamily, kf::kMetaSchemaVersionKey) == "1");
    CHECK(raw.Get(kf::kMetaColumnFamily, kf::kMetaRunIdKey) == "r1");
    raw.Put(kf::kMetaColumnFamily, kf::kMetaSchemaVersionKey, "2");
  }
  const auto mode = GENERATE(OpenMode::kReadWrite, OpenMode::kReadOnly, OpenMode::kSecondary);
  auto log = store.OpenRun("r1", mode);
  REQUIRE_FALSE(log.ok());
  CheckOneLine(log.status());
  CHECK(log.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(log.status().message(), Catch::Contains("run 'r1'"));
  CHECK_THAT(log.status().message(), Catch::Contains("schema version 2"));
}

TEST_CASE("an unknown run id is NotFound naming the run and the store", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  const auto mode = GENERATE(OpenMode::kReadWrite, OpenMode::kReadOnly, OpenMode::kSecondary);
  auto log = store.OpenRun("r9", mode);
  REQUIRE_FALSE(log.ok());
  CheckOneLine(log.status());
  CHECK(log.status().code() == StatusCode::kNotFound);
  CHECK(log.status().message() == "run 'r9' not found in store '" + (dir / "store").string() + "'");
  CHECK(store.ReadRunMetadata("r9").status().code() == StatusCode::kNotFound);
  CHECK(store.WriteRunMetadata(MakeMetadata("r9")).code() == StatusCode::kNotFound);
}

TEST_CASE("creating a run that exists is AlreadyExists and leaves it intact", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  {
    auto log = store.CreateRun(MakeMetadata("r1"));
    REQUIRE(log.ok());
    StepBatch step = MakeStep(1, 2);
    REQUIRE((*log)->Append(step).ok());
  }
  auto again = store.CreateRun(MakeMetadata("r1"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  CHECK_THAT(again.status().message(), Catch::Contains("run 'r1' already exists"));
  auto log = store.OpenRun("r1", OpenMode::kReadOnly);
  REQUIRE(log.ok());
  CHECK((*log)->last_seq() == 2);
  // No temp folders are left behind.
  for (const auto& entry : fs::directory_iterator(dir / "store" / "runs")) {
    CHECK(entry.path().filename() == "r1");
  }
}

TEST_CASE("a run folder renamed to another id is refused", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  REQUIRE(store.CreateRun(MakeMetadata("r1")).ok());
  fs::rename(store.RunDir("r1"), store.RunDir("r2"));
  auto log = store.OpenRun("r2", OpenMode::kReadOnly);
  REQUIRE_FALSE(log.ok());
  CheckOneLine(log.status());
  CHECK_THAT(log.status().message(), Catch::Contains("holds the log of run 'r1'"));
}

TEST_CASE("run metadata is written atomically and read back", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  RunMetadata metadata = MakeMetadata("r1", 1'700'000'000'000'000);
  metadata.run_name = "math \"paraphrase\"";
  REQUIRE(store.CreateRun(metadata).ok());
  auto read = store.ReadRunMetadata("r1");
  REQUIRE(read.ok());
  CHECK(read->run_name == metadata.run_name);
  CHECK(read->schema_version == kf::kRunSchemaVersion);
  CHECK(read->last_seq == 0);

  metadata.status = "completed";
  metadata.last_seq = 1234;
  metadata.updated_at_unix_us = 1'700'000'000'500'000;
  REQUIRE(store.WriteRunMetadata(metadata).ok());
  read = store.ReadRunMetadata("r1");
  REQUIRE(read.ok());
  CHECK(read->status == "completed");
  CHECK(read->last_seq == 1234);
  CHECK(read->updated_at_unix_us == 1'700'000'000'500'000);
  CHECK(read->created_at_unix_us == 1'700'000'000'000'000);
  for (const auto& entry : fs::directory_iterator(store.RunDir("r1"))) {
    const std::string name = entry.path().filename().string();
    CHECK((name == "meta.json" || name == "log"));
  }
}

TEST_CASE("ListRuns reads meta.json only", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  REQUIRE(store.CreateRun(MakeMetadata("b-run", 200)).ok());
  REQUIRE(store.CreateRun(MakeMetadata("a-run", 300)).ok());
  auto writing = store.CreateRun(MakeMetadata("c-run", 100));
  REQUIRE(writing.ok());
  // Without its database a run still lists; a run held open for writing lists too.
  fs::remove_all(store.RunDir("b-run") / "log");
  auto runs = store.ListRuns();
  REQUIRE(runs.ok());
  REQUIRE(runs->size() == 3);
  CHECK((*runs)[0].run_id == "c-run");
  CHECK((*runs)[1].run_id == "b-run");
  CHECK((*runs)[1].created_at_unix_us == 200);
  CHECK((*runs)[1].status == "running");
  CHECK((*runs)[2].run_id == "a-run");
}

TEST_CASE("a damaged meta.json is listed as unreadable without hiding other runs", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  REQUIRE(store.CreateRun(MakeMetadata("good", 5)).ok());
  REQUIRE(store.CreateRun(MakeMetadata("bad", 6)).ok());
  WriteFileText(store.RunDir("bad") / "meta.json", "{\"run_id\": ");
  auto runs = store.ListRuns();
  REQUIRE(runs.ok());
  REQUIRE(runs->size() == 2);
  CHECK((*runs)[0].run_id == "bad");
  CHECK_THAT((*runs)[0].status, Catch::StartsWith("unreadable: "));
  CHECK((*runs)[1].run_id == "good");
  auto read = store.ReadRunMetadata("bad");
  CHECK(read.status().code() == StatusCode::kDataLoss);
  CheckOneLine(read.status());
}

TEST_CASE("a second writer of a run in the same process is refused naming the run", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  auto writer = store.CreateRun(MakeMetadata("r1"));
  REQUIRE(writer.ok());
  auto second = store.OpenRun("r1", OpenMode::kReadWrite);
  REQUIRE_FALSE(second.ok());
  CheckOneLine(second.status());
  CHECK(second.status().code() == StatusCode::kFailedPrecondition);
  CHECK(second.status().message() ==
        "run 'r1' is already open for writing in this process (store " + (dir / "store").string() +
            ")");
  // Readers are welcome meanwhile, and the lock goes with the writer.
  CHECK(store.OpenRun("r1", OpenMode::kSecondary).ok());
  writer->reset();
  CHECK(store.OpenRun("r1", OpenMode::kReadWrite).ok());
}

TEST_CASE("run ids are 1 to 64 safe characters not starting with a dot", "[store]") {
  struct Case {
    std::string run_id;
    bool valid;
  };
  const auto c = GENERATE(values<Case>({
      {"r1", true},
      {"2024-05-01_math.v2", true},
      {"A", true},
      {std::string(64, 'x'), true},
      {"", false},
      {std::string(65, 'x'), false},
      {".hidden", false},
      {"..", false},
      {"a/b", false},
      {"a b", false},
      {"run\n1", false},
      {"caf\xc3\xa9", false},
      {"a\\b", false},
  }));
  CAPTURE(c.run_id);
  const base::Status status = ValidateRunId(c.run_id);
  CHECK(status.ok() == c.valid);
  if (!c.valid) {
    CheckOneLine(status);
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(status.message(), Catch::StartsWith("invalid run id"));
  }
}

TEST_CASE("an invalid run id is refused before touching the disk", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  const Store store = MustOpen(dir / "store");
  CHECK(store.CreateRun(MakeMetadata("../escape")).status().code() == StatusCode::kInvalidArgument);
  CHECK(store.OpenRun("../escape", OpenMode::kReadOnly).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK_FALSE(fs::exists(dir / "escape"));
}

}  // namespace
}  // namespace batchlog::store
