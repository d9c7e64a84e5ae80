// The event log: append and read symmetric, and every way a damaged log must be reported
// (shared style G2): truncated value, undecodable value, seq gap, key/envelope mismatch.
#include <google/protobuf/util/message_differencer.h>
#include <catch2/catch.hpp>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "src/store/event_log.h"
#include "src/store/key_format.h"
#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/sample_events.h"
#include "tests/support/temp_dir.h"

namespace batchlog::store {
namespace {

namespace kf = key_format;
using base::StatusCode;
using google::protobuf::util::MessageDifferencer;
using testing::CountTableFiles;
using testing::MakeEvent;
using testing::MakeMetadata;
using testing::MakeStep;
using testing::RawRunDatabase;
using testing::ReadAll;

std::string KeyOf(std::uint64_t seq) { return std::string(kf::SeqKeyView(kf::EncodeSeqKey(seq))); }

// A store with run "r1" holding events 1..count (one step), closed again.
struct FilledRun {
  explicit FilledRun(std::size_t count) {
    auto opened = Store::Open(dir / "store", /*create_if_missing=*/true);
    REQUIRE(opened.ok());
    store = std::make_unique<Store>(std::move(opened).value());
    auto log = store->CreateRun(MakeMetadata("r1"));
    REQUIRE(log.ok());
    StepBatch step = MakeStep(1, count);
    REQUIRE((*log)->Append(step).ok());
  }
  std::unique_ptr<EventLog> Open(OpenMode mode = OpenMode::kReadOnly) const {
    auto log = store->OpenRun("r1", mode);
    INFO(log.status().ToString());
    REQUIRE(log.ok());
    return std::move(log).value();
  }
  std::filesystem::path LogDir() const { return store->RunDir("r1") / "log"; }

  batchlog::testing::TempDir dir{"store-test"};
  std::unique_ptr<Store> store;
};

TEST_CASE("every event type round-trips through append and read, blobs included", "[store]") {
  batchlog::testing::TempDir dir("store-test");
  auto store = Store::Open(dir / "store", true);
  REQUIRE(store.ok());
  const std::vector<PendingEvent> samples = batchlog::testing::OneOfEachEventType();
  {
    auto log = store->CreateRun(MakeMetadata("r1"));
    REQUIRE(log.ok());
    StepBatch step;
    step.events = samples;
    auto range = (*log)->Append(step);
    REQUIRE(range.ok());
    CHECK(range->first == 1);
    CHECK(range->last == samples.size());
    CHECK((*log)->last_seq() == samples.size());
  }
  // Read back through a fresh handle, so the bytes come from disk (WAL replay), not memory.
  auto log = store->OpenRun("r1", OpenMode::kReadOnly);
  REQUIRE(log.ok());
  CHECK((*log)->last_seq() == samples.size());
  const testing::ReadResult read = ReadAll(**log);
  REQUIRE(read.status.ok());
  REQUIRE(read.events.size() == samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::uint64_t seq = i + 1;
    events::v1::Event expected = samples[i].event;
    expected.set_seq(seq);
    expected.set_run_id("r1");
    expected.set_blob_bytes(static_cast<std::uint32_t>(samples[i].blob.size()));
    INFO("seq " << seq << ": " << expected.ShortDebugString());
    CHECK(MessageDifferencer::Equals(read.events[i], expected));
    auto blob = (*log)->ReadBlob(seq);
    if (samples[i].blob.empty()) {
      CHECK(blob.status().code() == StatusCode::kNotFound);
    } else {
      REQUIRE(blob.ok());
      CHECK(*blob == samples[i].blob);
    }
  }
  CHECK(read.next_seq == samples.size() + 1);
}

TEST_CASE("appends assign dense seqs from 1 across steps and reopen continues them", "[store]") {
  FilledRun run(0);
  {
    auto log = run.Open(OpenMode::kReadWrite);
    CHECK(log->last_seq() == 0);
    StepBatch first = MakeStep(1, 3);
    auto range = log->Append(first);
    REQUIRE(range.ok());
    CHECK((range->first == 1 && range->last == 3));
    CHECK(first.events[2].event.seq() == 3);
    CHECK(first.events[2].event.run_id() == "r1");
    StepBatch empty;
    auto none = log->Append(empty);
    REQUIRE(none.ok());
    CHECK(none->first > none->last);
    CHECK(log->last_seq() == 3);
  }
  auto log = run.Open(OpenMode::kReadWrite);
  CHECK(log->last_seq() == 3);
  StepBatch second = MakeStep(4, 2, Durability::kBuffered);
  auto range = log->Append(second);
  REQUIRE(range.ok());
  CHECK((range->first == 4 && range->last == 5));
  const testing::ReadResult read = ReadAll(*log);
  REQUIRE(read.status.ok());
  REQUIRE(read.events.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(read.events[i].seq() == i + 1);
    CHECK(read.events[i].request_succeeded().custom_id() == "c" + std::to_string(i + 1));
  }
}

TEST_CASE("a snapshot step starts flushing what it covers out of the WAL", "[store]") {
  // A reopen after a kill replays only the WAL written since the last flush; without this
  // flush, everything since the memtables last filled up (tens of MiB) is replayed.
  FilledRun run(500);
  auto log = run.Open(OpenMode::kReadWrite);  // recovery may flush the first 500 events
  const int tables_at_open = CountTableFiles(run.LogDir());
  StepBatch plain = MakeStep(501, 10);
  REQUIRE(log->Append(plain).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(CountTableFiles(run.LogDir()) == tables_at_open);  // small steps stay in memtables

  StepBatch with_snapshot = MakeStep(511, 10);
  with_snapshot.snapshot = "covers-520";
  REQUIRE(log->Append(with_snapshot).ok());
  // The flush runs in the background: wait for its table files (bounded).
  for (int i = 0; i < 200 && CountTableFiles(run.LogDir()) == tables_at_open; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(CountTableFiles(run.LogDir()) > tables_at_open);
  CHECK(ReadAll(*log).events.size() == 520);
}

TEST_CASE("a step holding an event without a payload is refused and leaves nothing", "[store]") {
  FilledRun run(2);
  auto log = run.Open(OpenMode::kReadWrite);
  StepBatch step = MakeStep(3, 3);
  step.events[1].event.clear_request_succeeded();
  step.snapshot = "snapshot-bytes";
  auto range = log->Append(step);
  REQUIRE_FALSE(range.ok());
  CHECK(range.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(range.status().message(), Catch::Contains("event 1 of the step has no payload"));
  CHECK(log->last_seq() == 2);
  CHECK(ReadAll(*log).events.size() == 2);
  auto snapshot = log->LatestSnapshot();
  REQUIRE(snapshot.ok());
  CHECK_FALSE(snapshot->has_value());

  // The log is unharmed: the next step takes seq 3.
  StepBatch next = MakeStep(3, 1);
  auto appended = log->Append(next);
  REQUIRE(appended.ok());
  CHECK(appended->first == 3);
}

TEST_CASE("an event whose preset seq or run id disagrees with the log is refused", "[store]") {
  FilledRun run(2);
  auto log = run.Open(OpenMode::kReadWrite);
  StepBatch step = MakeStep(3, 2);
  SECTION("seq") {
    step.events[1].event.set_seq(9);
    auto range = log->Append(step);
    CHECK(range.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(range.status().message(), Catch::Contains("has seq 9 but would be seq 4"));
  }
  SECTION("run id") {
    step.events[0].event.set_run_id("r2");
    auto range = log->Append(step);
    CHECK(range.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(range.status().message(), Catch::Contains("belongs to run 'r2'"));
  }
  CHECK(log->last_seq() == 2);
  CHECK(ReadAll(*log).events.size() == 2);
}

TEST_CASE("a read-only or secondary handle refuses to append", "[store]") {
  FilledRun run(1);
  auto mode = GENERATE(OpenMode::kReadOnly, OpenMode::kSecondary);
  auto log = run.Open(mode);
  StepBatch step = MakeStep(2, 1);
  auto range = log->Append(step);
  CHECK(range.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(range.status().message(), Catch::Contains("run 'r1'"));
}

TEST_CASE("a reader reads exactly the range from from_seq to to_seq", "[store]") {
  FilledRun run(10);
  auto log = run.Open();
  ReadOptions options;
  options.from_seq = 4;
  options.to_seq = 7;
  const testing::ReadResult read = ReadAll(*log, options);
  REQUIRE(read.status.ok());
  REQUIRE(read.events.size() == 4);
  CHECK(read.events.front().seq() == 4);
  CHECK(read.events.back().seq() == 7);
  CHECK(read.next_seq == 8);

  options.from_seq = 11;
  options.to_seq = std::numeric_limits<std::uint64_t>::max();
  CHECK(ReadAll(*log, options).events.empty());
}

TEST_CASE("a caught-up reader sees events appended later", "[store]") {
  FilledRun run(2);
  auto log = run.Open(OpenMode::kReadWrite);
  std::unique_ptr<EventLogReader> reader = log->NewReader({});
  REQUIRE(reader->Next());
  REQUIRE(reader->Next());
  CHECK_FALSE(reader->Next());
  CHECK(reader->status().ok());
  CHECK(reader->next_seq() == 3);
  StepBatch step = MakeStep(3, 2);
  REQUIRE(log->Append(step).ok());
  REQUIRE(reader->Next());
  CHECK(reader->event().seq() == 3);
  REQUIRE(reader->Next());
  CHECK(reader->event().seq() == 4);
  CHECK_FALSE(reader->Next());
  CHECK(reader->status().ok());
}

TEST_CASE("a reader that does not decode returns the stored bytes", "[store]") {
  FilledRun run(3);
  auto log = run.Open();
  ReadOptions options;
  options.decode = false;
  std::unique_ptr<EventLogReader> reader = log->NewReader(options);
  std::uint64_t seq = 0;
  while (reader->Next()) {
    ++seq;
    events::v1::Event event;
    REQUIRE(event.ParseFromArray(reader->raw().data(), static_cast<int>(reader->raw().size())));
    CHECK(event.seq() == seq);
  }
  CHECK(reader->status().ok());
  CHECK(seq == 3);
}

// Damage one event of a closed 5-event log directly through RocksDB, then read it.
testing::ReadResult ReadDamaged(FilledRun& run, bool decode = true) {
  auto log = run.Open();
  ReadOptions options;
  options.decode = decode;
  return ReadAll(*log, options);
}

TEST_CASE("a truncated value is reported as DataLoss at its seq", "[store]") {
  FilledRun run(5);
  {
    RawRunDatabase raw(run.LogDir());
    const std::string value = raw.Get(kf::kEventsColumnFamily, KeyOf(3));
    SECTION("cut inside the payload") {
      raw.Put(kf::kEventsColumnFamily, KeyOf(3), value.substr(0, value.size() - 1));
    }
    SECTION("cut just before the payload") {
      events::v1::Event envelope_only;
      REQUIRE(envelope_only.ParseFromString(value));
      envelope_only.clear_payload();
      const std::string cut = envelope_only.SerializeAsString();
      REQUIRE(value.substr(0, cut.size()) == cut);
      raw.Put(kf::kEventsColumnFamily, KeyOf(3), cut);
    }
  }
  const testing::ReadResult read = ReadDamaged(run);
  CHECK(read.events.size() == 2);
  CHECK(read.status.code() == StatusCode::kDataLoss);
  CHECK_THAT(read.status.message(), Catch::Contains("run 'r1'"));
  CHECK_THAT(read.status.message(), Catch::Contains("seq 3 (key 0000000000000003)"));
  CHECK(read.next_seq == 3);
}

TEST_CASE("an undecodable value is reported as DataLoss at its seq", "[store]") {
  FilledRun run(5);
  {
    RawRunDatabase raw(run.LogDir());
    raw.Put(kf::kEventsColumnFamily, KeyOf(4), std::string("\xff\xff\xff\xff garbage", 12));
  }
  const bool decode = GENERATE(true, false);
  CAPTURE(decode);
  const testing::ReadResult read = ReadDamaged(run, decode);
  CHECK(read.events.size() == 3);
  CHECK(read.status.code() == StatusCode::kDataLoss);
  CHECK_THAT(read.status.message(), Catch::Contains("undecodable"));
  CHECK_THAT(read.status.message(),
             Catch::Contains("run 'r1': event at seq 4 (key 0000000000000004)"));
  CHECK(read.next_seq == 4);
}

TEST_CASE("a seq gap is detected at the missing seq", "[store]") {
  FilledRun run(5);
  {
    RawRunDatabase raw(run.LogDir());
    raw.Delete(kf::kEventsColumnFamily, KeyOf(3));
  }
  const testing::ReadResult read = ReadDamaged(run);
  CHECK(read.events.size() == 2);
  CHECK(read.status.code() == StatusCode::kDataLoss);
  CHECK_THAT(read.status.message(),
             Catch::Contains("run 'r1': event at seq 3 (key 0000000000000003) is missing"));
  CHECK_THAT(read.status.message(), Catch::Contains("next key is seq 4"));
}

TEST_CASE("an envelope seq that differs from its key is reported as DataLoss", "[store]") {
  FilledRun run(5);
  {
    RawRunDatabase raw(run.LogDir());
    raw.Put(kf::kEventsColumnFamily, KeyOf(3), testing::SerializedEvent(7, "r1"));
  }
  const bool decode = GENERATE(true, false);
  CAPTURE(decode);
  const testing::ReadResult read = ReadDamaged(run, decode);
  CHECK(read.events.size() == 2);
  CHECK(read.status.code() == StatusCode::kDataLoss);
  CHECK_THAT(read.status.message(),
             Catch::Contains("event at seq 3 (key 0000000000000003) carries seq 7"));
}

TEST_CASE("an envelope naming another run is reported as DataLoss", "[store]") {
  FilledRun run(5);
  {
    RawRunDatabase raw(run.LogDir());
    raw.Put(kf::kEventsColumnFamily, KeyOf(2), testing::SerializedEvent(2, "r9"));
  }
  const testing::ReadResult read = ReadDamaged(run);
  CHECK(read.events.size() == 1);
  CHECK(read.status.code() == StatusCode::kDataLoss);
  CHECK_THAT(read.status.message(), Catch::Contains("carries run id 'r9'"));
}

TEST_CASE("a key that is not an 8-byte seq is reported as DataLoss", "[store]") {
  FilledRun run(3);
  {
    RawRunDatabase raw(run.LogDir());
    raw.Put(kf::kEventsColumnFamily, KeyOf(2) + "x", testing::SerializedEvent(3, "r1"));
  }
  const testing::ReadResult read = ReadDamaged(run);
  CHECK(read.events.size() == 2);
  CHECK(read.status.code() == StatusCode::kDataLoss);
  CHECK_THAT(read.status.message(), Catch::Contains("key 000000000000000278"));
}

TEST_CASE("a payload unknown to this build fails unless the event may be ignored", "[store]") {
  FilledRun run(3);
  // seq 2, run_id "r1", then field 99 (length-delimited, empty): a payload from the future.
  std::string future("\x08\x02\x12\x02r1", 6);
  const bool may_ignore = GENERATE(false, true);
  CAPTURE(may_ignore);
  if (may_ignore) future += std::string("\x20\x01", 2);  // reader_may_ignore = true
  future += std::string("\x9a\x06\x00", 3);
  {
    RawRunDatabase raw(run.LogDir());
    raw.Put(kf::kEventsColumnFamily, KeyOf(2), future);
  }
  const testing::ReadResult read = ReadDamaged(run);
  if (may_ignore) {
    CHECK(read.status.ok());
    REQUIRE(read.events.size() == 3);
    CHECK(read.events[1].payload_case() == events::v1::Event::PAYLOAD_NOT_SET);
  } else {
    CHECK(read.events.size() == 1);
    CHECK(read.status.code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(read.status.message(), Catch::Contains("newer batchlog"));
    CHECK_THAT(read.status.message(), Catch::Contains("seq 2"));
  }
}

TEST_CASE("the latest snapshot at or before a seq is found", "[store]") {
  FilledRun run(0);
  auto log = run.Open(OpenMode::kReadWrite);
  StepBatch first = MakeStep(1, 3);
  first.snapshot = "covers-3";
  REQUIRE(log->Append(first).ok());
  StepBatch second = MakeStep(4, 2);
  REQUIRE(log->Append(second).ok());
  StepBatch third = MakeStep(6, 3);
  third.snapshot = "covers-8";
  REQUIRE(log->Append(third).ok());

  const auto latest = [&](std::uint64_t at_or_before) {
    auto snapshot = log->LatestSnapshot(at_or_before);
    REQUIRE(snapshot.ok());
    return std::move(snapshot).value();
  };
  CHECK_FALSE(latest(2).has_value());
  REQUIRE(latest(3).has_value());
  CHECK(latest(3)->seq == 3);
  CHECK(latest(3)->bytes == "covers-3");
  CHECK(latest(7)->seq == 3);
  CHECK(latest(8)->seq == 8);
  CHECK(latest(8)->bytes == "covers-8");
  CHECK(latest(std::numeric_limits<std::uint64_t>::max())->seq == 8);
}

TEST_CASE("a step drops older snapshots and their listings with its own snapshot", "[store]") {
  FilledRun run(0);
  auto log = run.Open(OpenMode::kReadWrite);
  for (std::uint64_t first = 1; first <= 7; first += 3) {  // snapshots at 3, 6 and 9
    StepBatch step = MakeStep(first, 3);
    step.snapshot = "covers-" + std::to_string(first + 2);
    REQUIRE(log->Append(step).ok());
  }
  REQUIRE(log->SnapshotSeqs().ok());
  CHECK(*log->SnapshotSeqs() == std::vector<std::uint64_t>{3, 6, 9});

  StepBatch next = MakeStep(10, 3);
  next.snapshot = "covers-12";
  next.drop_snapshots = {3, 9};
  REQUIRE(log->Append(next).ok());
  CHECK(*log->SnapshotSeqs() == std::vector<std::uint64_t>{6, 12});
  // Nothing at or before 5 any more: with no listing there, the lookup falls back to the
  // snapshots column family itself, which no longer holds seq 3 either.
  CHECK_FALSE(log->LatestSnapshot(5)->has_value());
  CHECK(log->LatestSnapshot(11).value()->seq == 6);
  CHECK(log->LatestSnapshot(12).value()->bytes == "covers-12");

  StepBatch last = MakeStep(13, 3);
  last.snapshot = "covers-15";
  last.drop_snapshots = {6};
  REQUIRE(log->Append(last).ok());
  CHECK(*log->SnapshotSeqs() == std::vector<std::uint64_t>{12, 15});
  CHECK_FALSE(log->LatestSnapshot(11)->has_value());  // 9 and 6 are gone from both families
}

TEST_CASE("dropping snapshots without a newer one in the step is refused, writing nothing",
          "[store]") {
  FilledRun run(0);
  auto log = run.Open(OpenMode::kReadWrite);
  StepBatch first = MakeStep(1, 3);
  first.snapshot = "covers-3";
  REQUIRE(log->Append(first).ok());

  StepBatch no_snapshot = MakeStep(4, 2);
  no_snapshot.drop_snapshots = {3};
  const auto refused = log->Append(no_snapshot);
  REQUIRE(refused.status().code() == base::StatusCode::kInvalidArgument);
  CHECK(refused.status().message().find("newer one") != std::string::npos);

  StepBatch same_seq;
  same_seq.snapshot = "covers-3-again";
  same_seq.drop_snapshots = {3};
  CHECK(log->Append(same_seq).status().code() == base::StatusCode::kInvalidArgument);
  CHECK(log->last_seq() == 3);
  CHECK(*log->SnapshotSeqs() == std::vector<std::uint64_t>{3});
  CHECK(log->LatestSnapshot(3).value()->bytes == "covers-3");
}

TEST_CASE("snapshots written before the meta keys existed are still found", "[store]") {
  FilledRun run(0);
  {
    auto log = run.Open(OpenMode::kReadWrite);
    for (std::uint64_t first = 1; first <= 9; first += 4) {
      StepBatch step = MakeStep(first, 4);
      step.snapshot = "covers-" + std::to_string(first + 3);
      REQUIRE(log->Append(step).ok());
    }
  }
  {
    // The older snapshots lose their meta keys, as if an older batchlog had written them.
    RawRunDatabase raw(run.LogDir());
    REQUIRE(raw.Get(kf::kMetaColumnFamily, kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(8))) ==
            std::to_string(std::string("covers-8").size()));
    raw.Delete(kf::kMetaColumnFamily, kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(4)));
    raw.Delete(kf::kMetaColumnFamily, kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(8)));
  }
  auto log = run.Open();
  const auto latest_seq = [&](std::uint64_t at_or_before) -> std::uint64_t {
    auto snapshot = log->LatestSnapshot(at_or_before);
    REQUIRE(snapshot.ok());
    if (!snapshot->has_value()) return 0;
    CHECK((*snapshot)->bytes == "covers-" + std::to_string((*snapshot)->seq));
    return (*snapshot)->seq;
  };
  CHECK(latest_seq(3) == 0);
  CHECK(latest_seq(4) == 4);
  CHECK(latest_seq(11) == 8);
  CHECK(latest_seq(12) == 12);
  CHECK(latest_seq(100) == 12);
}

TEST_CASE("the latest snapshot is read without reading the older ones", "[store]") {
  // Four 1 MiB snapshots, each flushed into its own table file, none compressible.
  FilledRun run(0);
  auto log = run.Open(OpenMode::kReadWrite);
  std::mt19937_64 random(7);
  std::uint64_t next = 1;
  for (int i = 0; i < 4; ++i) {
    StepBatch step = MakeStep(next, 2);
    next += 2;
    step.snapshot = std::string(1 << 20, '\0');
    for (char& c : *step.snapshot) c = static_cast<char>(random());
    REQUIRE(log->Append(step).ok());
    REQUIRE(log->Flush().ok());
  }
  REQUIRE(CountTableFiles(run.LogDir()) >= 4);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  auto snapshot = log->LatestSnapshot(next - 1);
  const std::uint64_t read_bytes = rocksdb::get_perf_context()->block_read_byte;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  REQUIRE(snapshot.ok());
  REQUIRE(snapshot->has_value());
  CHECK((*snapshot)->seq == next - 1);
  INFO("read " << read_bytes << " bytes of blocks");
  CHECK(read_bytes > (1u << 20));
  CHECK(read_bytes < (2u << 20));
}

TEST_CASE("a snapshot is keyed by the last seq of its step and written with it", "[store]") {
  FilledRun run(2);
  {
    auto log = run.Open(OpenMode::kReadWrite);
    StepBatch step = MakeStep(3, 4);
    step.snapshot = "covers-6";
    REQUIRE(log->Append(step).ok());
    StepBatch snapshot_only;
    snapshot_only.snapshot = "covers-6-again";
    auto range = log->Append(snapshot_only);
    REQUIRE(range.ok());
    CHECK(range->first > range->last);
  }
  RawRunDatabase raw(run.LogDir());
  CHECK(raw.Get(kf::kSnapshotsColumnFamily, KeyOf(6)) == "covers-6-again");
}

TEST_CASE("a snapshot-only step in an empty log is refused", "[store]") {
  FilledRun run(0);
  auto log = run.Open(OpenMode::kReadWrite);
  StepBatch step;
  step.snapshot = "nothing to cover";
  CHECK(log->Append(step).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("blobs live in the payloads column family under their event's seq", "[store]") {
  FilledRun run(0);
  {
    auto log = run.Open(OpenMode::kReadWrite);
    StepBatch step;
    step.events.push_back(MakeEvent(1, "body-1"));
    step.events.push_back(MakeEvent(2));
    step.events.push_back(MakeEvent(3, "body-3"));
    REQUIRE(log->Append(step).ok());
    CHECK(step.events[0].event.blob_bytes() == 6);
    CHECK(step.events[1].event.blob_bytes() == 0);
  }
  RawRunDatabase raw(run.LogDir());
  CHECK(raw.Get(kf::kPayloadsColumnFamily, KeyOf(1)) == "body-1");
  CHECK(raw.Get(kf::kPayloadsColumnFamily, KeyOf(3)) == "body-3");
}

}  // namespace
}  // namespace batchlog::store
