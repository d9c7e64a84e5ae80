// `batchlog verify`: passes on an intact completed run, and on a deliberately damaged store
// names the check, the run and the seq (a missing event, an outcome paired with the wrong
// intent, a snapshot that disagrees with the log, an edited manifest file, a completed run
// with an open intent).
#include <bit>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "replay/snapshot_codec.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/verify.h"
#include "src/store/key_format.h"
#include "tests/crash/crash_harness.h"
#include "tests/store/store_test_util.h"
#include "tests/support/files.h"

namespace batchlog::crash {
namespace {

namespace kf = store::key_format;
using orchestrator::VerifyReport;
using orchestrator::VerifyRun;

std::string SeqKey(std::uint64_t seq) {
  return std::string(kf::SeqKeyView(kf::EncodeSeqKey(seq)));
}

// The harness's run log, read-only (the run must not be running).
std::unique_ptr<store::EventLog> OpenLogReadOnly(const CrashHarness& harness) {
  auto store = store::Store::Open(harness.store(), false);
  REQUIRE(store.ok());
  auto log = store->OpenRun(harness.run_id(), store::OpenMode::kReadOnly);
  REQUIRE(log.ok());
  return std::move(log).value();
}

// The snapshot seqs of the harness's run, ascending.
std::vector<std::uint64_t> SnapshotSeqsOf(const CrashHarness& harness) {
  auto seqs = OpenLogReadOnly(harness)->SnapshotSeqs();
  REQUIRE(seqs.ok());
  return *seqs;
}

// A completed run of the OpenAI-then-Anthropic scenario.
struct CompletedRun {
  CompletedRun() : harness(OpenAiThenAnthropic(), "verify") {
    const ChildResult run = harness.Run();
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
  }
  std::filesystem::path log_dir() const {
    return harness.store() / "runs" / harness.run_id() / "log";
  }
  VerifyReport Verify() const {
    auto report = VerifyRun(harness.store(), harness.run_id());
    REQUIRE(report.ok());
    return *report;
  }
  std::uint64_t LatestSnapshotSeq() const {
    auto snapshot = OpenLogReadOnly(harness)->LatestSnapshot();
    REQUIRE(snapshot.ok());
    REQUIRE(snapshot->has_value());
    return (*snapshot)->seq;
  }
  // The seq of the first event satisfying `pick`.
  template <typename Pick>
  std::uint64_t FindSeq(Pick pick) const {
    const std::unique_ptr<store::EventLog> log = OpenLogReadOnly(harness);
    auto reader = log->NewReader({});
    while (reader->Next()) {
      if (pick(reader->event())) return reader->event().seq();
    }
    FAIL("no such event");
    return 0;
  }
  CrashHarness harness;
};

bool HasFailure(const VerifyReport& report, const std::string& check, std::uint64_t seq) {
  for (const auto& failure : report.failures) {
    if (failure.check == check && failure.seq == seq) return true;
  }
  return false;
}

TEST_CASE("verify passes on a completed run and says what it checked", "[crash][verify]") {
  CompletedRun run;
  const VerifyReport report = run.Verify();
  const std::string text = orchestrator::RenderVerifyReport(report);
  INFO(text);
  CHECK(report.ok());
  CHECK(report.status == replay::RunStatus::kCompleted);
  CHECK(report.events_read == report.last_seq);
  CHECK(report.snapshots_checked >= 2);  // every stage end writes one
  CHECK(report.outcomes_paired > 0);
  CHECK(report.manifest_seq == report.last_seq);
  CHECK(text.find("run crash-run: verified") != std::string::npos);
  const ChildResult cli = run.harness.Batchlog({"verify", run.harness.run_id()});
  CHECK(cli.exit_code == 0);
  CHECK(cli.out == text);
}

TEST_CASE("a run keeps a pruned set of snapshots and every as-of fold stays exact",
          "[crash][verify][snapshot]") {
  constexpr int kSnapshotEvery = 4;  // ~25 snapshots on this ~105-event run
  CrashHarness harness(OpenAiThenAnthropic(), "pruned");
  harness.set_snapshot_every(kSnapshotEvery);
  REQUIRE(harness.Run().exit_code == 0);
  const std::uint64_t last_seq = OpenLogReadOnly(harness)->last_seq();
  const std::vector<std::uint64_t> kept = SnapshotSeqsOf(harness);
  INFO("last seq " << last_seq << ", " << kept.size() << " snapshots kept");
  // More snapshots were written than the retention keeps.
  REQUIRE(last_seq / kSnapshotEvery > 2 + static_cast<std::uint64_t>(std::bit_width(last_seq)));
  CHECK(kept.size() <= 2 + static_cast<std::size_t>(std::bit_width(last_seq)));
  CHECK(kept.size() >= 2);
  const auto verified = VerifyRun(harness.store(), harness.run_id());
  REQUIRE(verified.ok());
  CHECK(verified->ok());
  CHECK(verified->snapshots_checked == kept.size());

  // The oracle: the same log with every snapshot deleted, so each fold starts at seq 1.
  const std::filesystem::path bare = harness.dir() / "no-snapshots";
  std::filesystem::copy(harness.store(), bare, std::filesystem::copy_options::recursive);
  {
    store::testing::RawRunDatabase raw(bare / "runs" / harness.run_id() / "log");
    for (const std::uint64_t seq : kept) {
      raw.Delete(kf::kSnapshotsColumnFamily, SeqKey(seq));
      raw.Delete(kf::kMetaColumnFamily, kf::MetaSnapshotKeyView(kf::EncodeMetaSnapshotKey(seq)));
    }
  }
  auto pruned_store = store::Store::Open(harness.store(), false);
  auto bare_store = store::Store::Open(bare, false);
  REQUIRE(pruned_store.ok());
  REQUIRE(bare_store.ok());
  auto pruned = pruned_store->OpenRun(harness.run_id(), store::OpenMode::kReadOnly);
  auto oracle = bare_store->OpenRun(harness.run_id(), store::OpenMode::kReadOnly);
  REQUIRE(pruned.ok());
  REQUIRE(oracle.ok());
  REQUIRE_FALSE((*oracle)->LatestSnapshot().value().has_value());
  for (std::uint64_t seq = 1; seq <= last_seq; seq += 7) {
    CAPTURE(seq);
    auto from_snapshots = orchestrator::ReplayLog(**pruned, seq);
    auto from_scratch = orchestrator::ReplayLog(**oracle, seq);
    REQUIRE(from_snapshots.ok());
    REQUIRE(from_scratch.ok());
    CHECK(*from_snapshots == *from_scratch);
  }
}

TEST_CASE("verify reports a missing event as DataLoss naming run and seq", "[crash][verify]") {
  CompletedRun run;
  {
    store::testing::RawRunDatabase raw(run.log_dir());
    raw.Delete(kf::kEventsColumnFamily, SeqKey(20));
  }
  const VerifyReport report = run.Verify();
  CHECK(HasFailure(report, "density", 20));
  // The checks of the whole run are not reported as passed on a log read only to seq 19.
  CHECK_FALSE(report.replay_complete);
  const std::string rendered = orchestrator::RenderVerifyReport(report);
  INFO(rendered);
  CHECK_THAT(rendered, Catch::Contains("(as far as the log could be read)"));
  for (const char* check : {"replay", "snapshots", "pairing", "intents"}) {
    CHECK_THAT(rendered, Catch::Contains(std::string("skip  ") + check + ": not checked"));
    CHECK_THAT(rendered, !Catch::Contains(std::string("ok    ") + check));
  }
  const ChildResult cli = run.harness.Batchlog({"verify", run.harness.run_id()});
  CHECK(cli.exit_code == 4);  // kExitDataLoss
  CHECK(cli.err.find("run crash-run") != std::string::npos);
  CHECK(cli.err.find("seq 20") != std::string::npos);
}

TEST_CASE("verify reports an outcome that names another batch's intent", "[crash][verify]") {
  CompletedRun run;
  const std::uint64_t first_planned =
      run.FindSeq([](const events::v1::Event& e) { return e.has_batch_planned(); });
  std::uint64_t submitted = 0;
  std::string value;
  {
    submitted = run.FindSeq([first_planned](const events::v1::Event& e) {
      return e.has_batch_submitted() && e.batch_submitted().planned_seq() != first_planned;
    });
    store::testing::RawRunDatabase raw(run.log_dir());
    events::v1::Event event;
    REQUIRE(event.ParseFromString(raw.Get(kf::kEventsColumnFamily, SeqKey(submitted))));
    event.mutable_batch_submitted()->set_planned_seq(first_planned);
    raw.Put(kf::kEventsColumnFamily, SeqKey(submitted), event.SerializeAsString());
  }
  const VerifyReport report = run.Verify();
  INFO(orchestrator::RenderVerifyReport(report));
  CHECK(HasFailure(report, "pairing", submitted));
  CHECK_FALSE(report.ok());
}

TEST_CASE("a resume that folded a long tail snapshots after its first round",
          "[crash][snapshot]") {
  // Killed right after stage 1's first batch intent, before any snapshot (none periodic,
  // no stage ended yet). The resume's first round submits that batch: a few events.
  CrashHarness harness(OpenAiThenAnthropic(), "tail");
  harness.set_snapshot_every(100'000);
  REQUIRE(harness.Run("after-batch-planned:1").exit_code == kKilledExit);
  REQUIRE(SnapshotSeqsOf(harness).empty());
  const std::uint64_t killed_at = harness.ReadLog().last_seq;
  REQUIRE(killed_at >= 12);

  // The resume folded `killed_at` events from seq 1, more than the interval: it counts them
  // as unsnapshotted and writes a snapshot after its first round, well before another
  // interval's worth of events (or the stage's end) would have made it.
  const std::uint64_t interval = killed_at - 2;
  harness.set_snapshot_every(static_cast<int>(interval));
  const ChildResult resumed = harness.Resume("after-snapshot:1");
  INFO("resume stderr:\n" << resumed.err);
  REQUIRE(resumed.exit_code == kKilledExit);
  const std::vector<std::uint64_t> seqs = SnapshotSeqsOf(harness);
  REQUIRE(seqs.size() == 1);
  CAPTURE(killed_at, interval, seqs[0]);
  CHECK(seqs[0] > killed_at);
  CHECK(seqs[0] < killed_at + interval);

  // And the run still completes to the uninterrupted outcome.
  harness.set_snapshot_every(40);
  REQUIRE(harness.Resume().exit_code == 0);
  CheckAgainstOracle(harness, OpenAiThenAnthropic());
}

TEST_CASE("verify reports a snapshot that disagrees with the log at its seq", "[crash][verify]") {
  CompletedRun run;
  const std::uint64_t snapshot_seq = run.LatestSnapshotSeq();
  {
    store::testing::RawRunDatabase raw(run.log_dir());
    auto projections =
        replay::DecodeSnapshot(raw.Get(kf::kSnapshotsColumnFamily, SeqKey(snapshot_seq)));
    REQUIRE(projections.ok());
    projections->run_state.run_name += "-edited";  // a well-formed snapshot of another state
    raw.Put(kf::kSnapshotsColumnFamily, SeqKey(snapshot_seq),
            replay::EncodeSnapshot(*projections));
  }
  const VerifyReport report = run.Verify();
  INFO(orchestrator::RenderVerifyReport(report));
  CHECK(HasFailure(report, "snapshots", snapshot_seq));
}

TEST_CASE("a snapshot that cannot be decoded is reported by verify, and reads fold the log",
          "[crash][verify]") {
  CompletedRun run;
  const std::string manifest_before = run.harness.Batchlog({"manifest", run.harness.run_id()}).out;
  REQUIRE_FALSE(manifest_before.empty());
  const std::uint64_t snapshot_seq = run.LatestSnapshotSeq();
  {
    store::testing::RawRunDatabase raw(run.log_dir());
    std::string bytes = raw.Get(kf::kSnapshotsColumnFamily, SeqKey(snapshot_seq));
    REQUIRE(bytes.size() > 64);
    bytes.resize(bytes.size() / 2);  // a well-formed header, a cut body
    raw.Put(kf::kSnapshotsColumnFamily, SeqKey(snapshot_seq), bytes);
  }
  const VerifyReport report = run.Verify();
  INFO(orchestrator::RenderVerifyReport(report));
  CHECK(HasFailure(report, "snapshots", snapshot_seq));
  // The snapshot is a cache: reads warn and fold the log, which gives the same manifest.
  const ChildResult manifest = run.harness.Batchlog({"manifest", run.harness.run_id()});
  INFO(manifest.err);
  CHECK(manifest.exit_code == 0);
  CHECK(manifest.out == manifest_before);
  CHECK(manifest.err.find("cannot be decoded") != std::string::npos);
}

TEST_CASE("verify reads every payload: a lost or cut blob is reported with its seq",
          "[crash][verify]") {
  CompletedRun run;
  const std::uint64_t succeeded =
      run.FindSeq([](const events::v1::Event& e) { return e.has_request_succeeded(); });
  const std::uint64_t planned =
      run.FindSeq([](const events::v1::Event& e) { return e.has_request_planned(); });
  {
    store::testing::RawRunDatabase raw(run.log_dir());
    raw.Delete(kf::kPayloadsColumnFamily, SeqKey(succeeded));
    std::string body = raw.Get(kf::kPayloadsColumnFamily, SeqKey(planned));
    body.pop_back();
    raw.Put(kf::kPayloadsColumnFamily, SeqKey(planned), body);
  }
  const VerifyReport report = run.Verify();
  INFO(orchestrator::RenderVerifyReport(report));
  CHECK(HasFailure(report, "payloads", planned));    // one byte short
  CHECK(HasFailure(report, "payloads", succeeded));  // gone
  CHECK_FALSE(report.ok());
  // The results of that stage are refused as data loss, not "not found".
  const ChildResult results = run.harness.Batchlog(
      {"results", run.harness.run_id(), "--workflow", "math", "--stage", "stage_1"});
  INFO(results.err);
  CHECK(results.exit_code == 4);
}

TEST_CASE("verify skips a snapshot of another snapshot format and says so", "[crash][verify]") {
  CompletedRun run;
  const std::uint64_t snapshot_seq = run.LatestSnapshotSeq();
  {
    // An older build's snapshot: the same header with another version word (bytes 8..11).
    store::testing::RawRunDatabase raw(run.log_dir());
    std::string bytes = raw.Get(kf::kSnapshotsColumnFamily, SeqKey(snapshot_seq));
    REQUIRE(replay::SnapshotVersion(bytes) == replay::kSnapshotVersion);
    bytes[8] = static_cast<char>(replay::kSnapshotVersion - 1);
    raw.Put(kf::kSnapshotsColumnFamily, SeqKey(snapshot_seq), bytes);
  }
  const VerifyReport report = run.Verify();
  const std::string rendered = orchestrator::RenderVerifyReport(report);
  INFO(rendered);
  CHECK(report.ok());
  CHECK_THAT(rendered, Catch::Contains("snapshot format " +
                                       std::to_string(replay::kSnapshotVersion - 1)));
  // Reads fold the log instead and still agree with the manifest file.
  const ChildResult manifest = run.harness.Batchlog({"manifest", run.harness.run_id()});
  CHECK(manifest.exit_code == 0);
}

TEST_CASE("verify reports a manifest file that differs from the log", "[crash][verify]") {
  CompletedRun run;
  const std::filesystem::path path =
      run.harness.store() / "runs" / run.harness.run_id() / "manifest.json";
  std::string text = batchlog::testing::ReadFileText(path);
  const std::size_t at = text.find("\"succeeded\": ");
  REQUIRE(at != std::string::npos);
  text.insert(at + 13, "1");  // e.g. 7 -> 17
  batchlog::testing::WriteFileText(path, text);
  const VerifyReport report = run.Verify();
  INFO(orchestrator::RenderVerifyReport(report));
  CHECK(HasFailure(report, "manifest", report.last_seq));
  CHECK(run.harness.Batchlog({"verify", run.harness.run_id()}).exit_code == 4);
}

TEST_CASE("verify accepts a manifest file with the same values in another layout",
          "[crash][verify]") {
  // An earlier batchlog wrote some doubles with more digits than needed (and any JSON
  // writer may space differently): the values are what count, and verify says so.
  CompletedRun run;
  const std::filesystem::path path =
      run.harness.store() / "runs" / run.harness.run_id() / "manifest.json";
  std::string text = batchlog::testing::ReadFileText(path);
  const std::size_t at = text.find("\"generated_at_seq\": ");
  REQUIRE(at != std::string::npos);
  text.insert(at + 20, " ");  // "generated_at_seq":  N: other text, same value
  batchlog::testing::WriteFileText(path, text);
  const VerifyReport report = run.Verify();
  const std::string rendered = orchestrator::RenderVerifyReport(report);
  INFO(rendered);
  CHECK(report.failures.empty());
  CHECK(rendered.find("another layout") != std::string::npos);
  CHECK(run.harness.Batchlog({"verify", run.harness.run_id()}).exit_code == 0);
}

TEST_CASE("verify reports a completed run that still has an open intent", "[crash][verify]") {
  batchlog::testing::TempDir dir("verify-open-intent");
  auto opened = store::Store::Open(dir / "store", true);
  REQUIRE(opened.ok());
  auto log = opened->CreateRun(store::testing::MakeMetadata("r1"));
  REQUIRE(log.ok());
  store::StepBatch step;
  auto add = [&](auto fill, std::string blob = {}) {
    store::PendingEvent& pending = step.events.emplace_back();
    pending.event.set_recorded_at_unix_us(1'767'225'600'000'000);
    fill(pending.event);
    pending.blob = std::move(blob);
  };
  add([](events::v1::Event& e) { e.mutable_run_started()->set_run_name("r"); });
  add(
      [](events::v1::Event& e) {
        auto* planned = e.mutable_request_planned();
        planned->set_workflow("wf");
        planned->set_stage("stage_1");
        planned->set_custom_id("a");
      },
      "{}");
  add([](events::v1::Event& e) {
    auto* batch = e.mutable_batch_planned();
    batch->set_batch_key("wf:stage_1:a1:b000000");
    batch->set_workflow("wf");
    batch->set_stage("stage_1");
    batch->set_provider("oa");
    batch->add_custom_ids("a");
    batch->add_attempts(1);
  });
  add([](events::v1::Event& e) { e.mutable_run_completed()->set_workflows(1); });
  REQUIRE((*log)->Append(step).ok());
  log->reset();
  auto report = VerifyRun(dir / "store", "r1");
  REQUIRE(report.ok());
  INFO(orchestrator::RenderVerifyReport(*report));
  CHECK(HasFailure(*report, "intents", 3));
  CHECK(HasFailure(*report, "manifest", 4));  // ended, but no manifest file
}

}  // namespace
}  // namespace batchlog::crash
