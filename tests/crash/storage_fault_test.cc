// Storage faults under a real run: the store's filesystem fills up mid-run (a small tmpfs;
// skipped visibly where mounting is not permitted), a torn or garbage WAL tail, corruption
// inside acknowledged data, and a WAL sync or write that fails inside RocksDB. The run must
// stop with a clear error instead of carrying on, never show a silently different
// manifest, and after the cause is gone resume to the uninterrupted outcome.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/orchestrator/run_session.h"
#include "tests/crash/crash_harness.h"
#include "tests/store/wal_fault_env.h"
#include "tests/support/files.h"

namespace batchlog::crash {
namespace {

std::filesystem::path LogDir(const CrashHarness& harness) {
  return harness.store() / "runs" / harness.run_id() / "log";
}

// The newest non-empty WAL file of a run's database.
std::filesystem::path NewestWal(const std::filesystem::path& log_dir) {
  std::filesystem::path newest;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir)) {
    if (entry.path().extension() != ".log" || entry.file_size() == 0) continue;
    if (newest.empty() || entry.path().filename().string() > newest.filename().string()) {
      newest = entry.path();
    }
  }
  REQUIRE_FALSE(newest.empty());
  return newest;
}

// --- a filesystem that fills up -------------------------------------------------------------

class TmpfsMount {
 public:
  TmpfsMount(std::filesystem::path at, const std::string& size) : at_(std::move(at)) {
    std::filesystem::create_directories(at_);
    const std::string command =
        "mount -t tmpfs -o size=" + size + " tmpfs '" + at_.string() + "' 2>/dev/null";
    mounted_ = std::system(command.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) {
      const std::string command = "umount -l '" + at_.string() + "'";
      [[maybe_unused]] const int ignored = std::system(command.c_str());
    }
  }
  bool mounted() const { return mounted_; }

 private:
  std::filesystem::path at_;
  bool mounted_ = false;
};

// Writes `path` until the filesystem is full; returns the bytes written.
std::uint64_t FillUp(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  std::vector<char> chunk(64 * 1024, 'x');
  std::uint64_t written = 0;
  for (;;) {
    const std::size_t n = std::fwrite(chunk.data(), 1, chunk.size(), file);
    written += n;
    if (n < chunk.size() || std::fflush(file) != 0) break;
  }
  std::fclose(file);
  return written;
}

TEST_CASE("a run whose filesystem fills up stops with a clear error and resumes once space is "
          "freed",
          "[crash][storage]") {
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario, "diskfull");
  TmpfsMount mount(harness.dir() / "small", "24m");
  if (!mount.mounted()) {
    std::printf("SKIPPED: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN); the "
                "disk-full case was not run\n");
    std::fflush(stdout);
    return;
  }
  harness.set_store(harness.dir() / "small" / "store");
  const std::filesystem::path filler = harness.dir() / "small" / "filler";

  // Run until stage 1's first batch is recorded, then take the space away mid-run.
  std::unique_ptr<Child> child = harness.Start(harness.RunArgs(), "after-batch-submitted:1");
  ChildResult stopped = child->Wait();
  REQUIRE(stopped.exit_code == kKilledExit);
  const std::uint64_t seq_before = harness.ReadLog().last_seq;
  INFO("filled " << FillUp(filler) << " bytes");

  const ChildResult full = harness.Resume();
  INFO("resume on a full disk: exit " << full.exit_code << ", stderr:\n" << full.err);
  CHECK(full.exit_code != 0);
  CHECK(full.signal == 0);  // an error, not a crash
  CHECK((full.err.find("No space left") != std::string::npos ||
         full.err.find("no space") != std::string::npos ||
         full.err.find("space") != std::string::npos));

  std::filesystem::remove(filler);
  // Nothing acknowledged was lost, and the run completes as if nothing happened.
  CHECK(harness.ReadLog().last_seq >= seq_before);
  const ChildResult resumed = harness.Resume();
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CheckAgainstOracle(harness, scenario);
}

// --- torn and garbage WAL tails -------------------------------------------------------------

TEST_CASE("a torn WAL tail recovers to the last complete step and the run resumes to the "
          "same outcome",
          "[crash][storage]") {
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario, "torn");
  // The last record in the WAL is the BatchPlanned just synced; nothing was sent for it.
  REQUIRE(harness.Run("after-batch-planned:2").exit_code == kKilledExit);
  const std::uint64_t seq_before = harness.ReadLog().last_seq;
  const std::filesystem::path wal = NewestWal(LogDir(harness));

  SECTION("the last record is cut short: that step is gone, every earlier one is intact") {
    std::filesystem::resize_file(wal, std::filesystem::file_size(wal) - 7);
    const CrashHarness::LogFacts facts = harness.ReadLog();
    CHECK(facts.last_seq == seq_before - 1);
    CHECK(facts.dense);
  }
  SECTION("garbage after the last record: ignored, nothing lost") {
    std::ofstream(wal, std::ios::binary | std::ios::app) << std::string(100, '\x5a');
    const CrashHarness::LogFacts facts = harness.ReadLog();
    CHECK(facts.last_seq == seq_before);
    CHECK(facts.dense);
  }
  const ChildResult resumed = harness.Resume();
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CheckAgainstOracle(harness, scenario);
}

TEST_CASE("a WAL that lost synced writes (cut far back, or deleted) is refused, not replayed "
          "as a shorter log",
          "[crash][storage]") {
  // Killed with batches submitted: their BatchSubmitted events are synced, and meta.json
  // recorded a synced seq at the run's first round. A WAL cut to its first bytes (or gone)
  // would read as a log that never submitted them, and a resume would pay for them again.
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario, "walcut");
  REQUIRE(harness.Run("after-batch-submitted:3").exit_code == kKilledExit);
  const std::filesystem::path wal = NewestWal(LogDir(harness));
  const nlohmann::json meta = nlohmann::json::parse(batchlog::testing::ReadFileText(
      harness.store() / "runs" / harness.run_id() / "meta.json"));
  REQUIRE(meta["synced_seq"].get<std::uint64_t>() > 0);
  SECTION("cut to 7 bytes") { std::filesystem::resize_file(wal, 7); }
  SECTION("deleted") { std::filesystem::remove(wal); }

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"status", harness.run_id()},
        std::vector<std::string>{"manifest", harness.run_id()}, harness.ResumeArgs()}) {
    const ChildResult refused = harness.Batchlog(args);
    INFO(args[0] << ": exit " << refused.exit_code << ", stderr " << refused.err);
    CHECK(refused.exit_code == 4);
    CHECK(refused.err.find("synced writes were lost") != std::string::npos);
    CHECK(refused.err.find(harness.run_id()) != std::string::npos);
  }
  // The operator accepts the loss: the run goes on from what is left (here the whole log
  // was in that WAL, so nothing is: the run is as new, and says so).
  std::vector<std::string> accept = harness.ResumeArgs();
  accept.push_back("--recover-damaged-wal");
  const ChildResult recovered = harness.Batchlog(accept);
  INFO(recovered.err);
  CHECK(recovered.err.find("synced writes were lost") == std::string::npos);
  CHECK(recovered.err.find("gone for good") != std::string::npos);  // the loss is named
  CHECK(recovered.err.find("its log is empty") != std::string::npos);
  // Once accepted, the loss is not refused again.
  const ChildResult status = harness.Batchlog({"status", harness.run_id()});
  INFO(status.err);
  CHECK(status.err.find("synced writes were lost") == std::string::npos);
}

// --- a WAL damaged in the middle -------------------------------------------------------------

TEST_CASE("a WAL damaged before acknowledged steps is refused by every command until the "
          "operator accepts the loss",
          "[crash][storage]") {
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario, "walmid");
  REQUIRE(harness.Run("after-batch-submitted:3").exit_code == kKilledExit);
  const std::uint64_t seq_before = harness.ReadLog().last_seq;
  const std::filesystem::path wal = NewestWal(LogDir(harness));
  const std::uintmax_t wal_bytes = std::filesystem::file_size(wal);
  INFO("WAL " << wal.filename().string() << ", " << wal_bytes << " bytes, last seq " << seq_before);
  // A flipped bit half-way through the WAL (one block: no padding there): the steps after
  // the damaged one are whole and were acknowledged.
  REQUIRE(wal_bytes > 1000);
  REQUIRE(wal_bytes < 32768);
  {
    const auto middle = static_cast<std::streamoff>(wal_bytes / 2);
    std::fstream file(wal, std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(middle);
    const char byte = static_cast<char>(file.get());
    file.seekp(middle);
    file.put(static_cast<char>(byte ^ 0x01));
  }
  const std::string damaged = batchlog::testing::ReadFileText(wal);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"verify", harness.run_id()},
        std::vector<std::string>{"manifest", harness.run_id()},
        std::vector<std::string>{"events", harness.run_id()}, harness.ResumeArgs()}) {
    const ChildResult refused = harness.Batchlog(args);
    INFO(args[0] << ": exit " << refused.exit_code << ", stderr " << refused.err);
    CHECK(refused.exit_code == 4);
    CHECK(refused.out.empty());
    CHECK(refused.err.find("crash-run") != std::string::npos);
    CHECK(refused.err.find(wal.filename().string()) != std::string::npos);
    CHECK(refused.err.find("--recover-damaged-wal") == std::string::npos);  // docs, not a nudge
  }
  // Nothing was changed by the refusals.
  CHECK(batchlog::testing::ReadFileText(wal) == damaged);

  // The operator accepts the loss: the log is cut before the damaged step and the run goes on
  // to the end from there; afterwards every command works without the flag.
  std::vector<std::string> accept = harness.ResumeArgs();
  accept.push_back("--recover-damaged-wal");
  const ChildResult recovered = harness.Batchlog(accept);
  INFO(recovered.err);
  REQUIRE(recovered.exit_code == 0);
  const CrashHarness::LogFacts facts = harness.ReadLog();
  CHECK(facts.dense);
  CHECK(facts.status == "completed");
  const ChildResult verify = harness.Batchlog({"verify", harness.run_id()});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);
}

// --- corruption inside acknowledged data ----------------------------------------------------

TEST_CASE("corruption inside acknowledged data is a DataLoss naming run and seq and never a "
          "different manifest",
          "[crash][storage]") {
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario, "corrupt");
  REQUIRE(harness.Run().exit_code == 0);
  const std::string manifest_before = harness.Batchlog({"manifest", harness.run_id()}).out;
  const std::string early_before =
      harness.Batchlog({"manifest", harness.run_id(), "--as-of", "12"}).out;
  REQUIRE_FALSE(early_before.empty());

  // The clean exit flushed everything into table files. Damage the first data block of the
  // events column family's table (its properties name the column family).
  int damaged = 0;
  for (const auto& entry : std::filesystem::directory_iterator(LogDir(harness))) {
    if (entry.path().extension() != ".sst") continue;
    std::string bytes;
    {
      std::ifstream in(entry.path(), std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    // The properties block stores keys prefix-compressed: "...column.family.id", then
    // "name" + the column family's name.
    const std::size_t name = bytes.rfind("column.family.id");
    if (name == std::string::npos || bytes.find("nameevents", name) > name + 48) continue;
    std::fstream file(entry.path(), std::ios::binary | std::ios::in | std::ios::out);
    for (std::streamoff at = 64; at < 96; ++at) {
      file.seekp(at);
      file.put('\x7f');
    }
    ++damaged;
  }
  REQUIRE(damaged > 0);

  const ChildResult verify = harness.Batchlog({"verify", harness.run_id()});
  INFO("verify: " << verify.out << verify.err);
  CHECK(verify.exit_code == 4);
  CHECK(verify.err.find("crash-run") != std::string::npos);
  // The seq being read (the damaged one, or "last seq" when the damaged block holds it),
  // or, when the open itself reads the damaged block (a run nobody writes is opened
  // read-only, which loads every table), the table file.
  CHECK((verify.err.find("seq") != std::string::npos ||
         verify.err.find(".sst") != std::string::npos));

  // Every read either fails with DataLoss naming the run, or gives the very same bytes.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"manifest", harness.run_id()},
        std::vector<std::string>{"manifest", harness.run_id(), "--as-of", "12"},
        std::vector<std::string>{"results", harness.run_id(), "--workflow", "math", "--stage",
                                 "stage_2"}}) {
    const ChildResult read = harness.Batchlog(args);
    INFO(args[0] << " " << (args.size() > 2 ? args[2] : "") << ": exit " << read.exit_code
                 << ", stderr " << read.err);
    if (read.exit_code == 0) {
      if (args.size() == 2) CHECK(read.out == manifest_before);
      if (args.size() == 4) CHECK(read.out == early_before);
    } else {
      CHECK(read.exit_code == 4);
      CHECK(read.err.find("crash-run") != std::string::npos);
    }
  }
}

// --- a WAL sync or write that fails ---------------------------------------------------------

TEST_CASE("a failing WAL sync or write stops the run instead of carrying on and resume "
          "completes it",
          "[crash][storage]") {
  const Scenario& scenario = OpenAiThenAnthropic();
  CrashHarness harness(scenario, "walfault");
  store::testing::WalFaults faults;
  SECTION("sync") { faults.syncs_until_failure = 12; }
  SECTION("write") { faults.appends_until_failure = 12; }
  const store::testing::WalFaultEnv fault_env(faults);

  base::SystemClock clock;
  base::SeededRandom random(3);
  orchestrator::RunRequest request;
  request.store_root = harness.store();
  request.run_id = harness.run_id();
  request.setup.base_url_override = harness.base_url();
  request.setup.lookup_env = [](const std::string&) -> std::optional<std::string> {
    return "sk-crash";
  };
  request.setup.clock = &clock;
  request.setup.random = &random;
  request.seed = 7;
  request.store_options.env = fault_env.env();
  const auto started = std::chrono::steady_clock::now();
  auto outcome = orchestrator::StartRun(harness.workflow(), request);
  REQUIRE_FALSE(outcome.ok());
  INFO(outcome.status().message());
  CHECK(faults.failures >= 1);
  CHECK(outcome.status().message().find("injected") != std::string::npos);
  // It stopped at once rather than retrying on: well before the run could have finished.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));

  // With a healthy disk, the real binary resumes it to the uninterrupted outcome.
  const CrashHarness::LogFacts facts = harness.ReadLog();
  CHECK(facts.dense);
  const ChildResult resumed =
      facts.started ? harness.Resume() : harness.Run();
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CheckAgainstOracle(harness, scenario);
}

}  // namespace
}  // namespace batchlog::crash
