// Several processes and one store: one writer per run (RocksDB's LOCK), runs written at
// once by separate processes, and a secondary following a live writer. Children are this
// same test binary, forked and re-executed to run the hidden test case "store child
// process" (a fresh process image: RocksDB's threads do not survive a bare fork). Waiting
// on a child is bounded polling, the one place these tests watch the wall clock.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "src/store/ascending_key_memtable.h"
#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/files.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace batchlog::store {
namespace {

using testing::MustOpen;

using batchlog::testing::ReadFileText;
using batchlog::testing::WriteFileText;

namespace fs = std::filesystem;
using testing::CountTableFiles;
using testing::MakeMetadata;
using testing::MakeStep;
using testing::ReadAll;

constexpr auto kWaitMax = std::chrono::seconds(60);
constexpr auto kPollInterval = std::chrono::milliseconds(2);
constexpr char kChildTestName[] = "store child process";
constexpr char kEnvPrefix[] = "BATCHLOG_STORE_CHILD_";

// ---- Parent side ---------------------------------------------------------------------

struct Child {
  pid_t pid = -1;
  fs::path output;  // the child's Catch2 report
};

// Forks and re-executes this binary as a child with `params` as BATCHLOG_STORE_CHILD_*
// environment variables. Everything exec needs is built before fork.
Child SpawnChild(const std::map<std::string, std::string>& params, const fs::path& output) {
  char exe[4096];
  const ssize_t length = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  REQUIRE(length > 0);
  exe[length] = '\0';
  std::vector<std::string> args = {exe, kChildTestName, "--out", output.string()};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string(*e).rfind(kEnvPrefix, 0) != 0) env.emplace_back(*e);
  }
  for (const auto& [key, value] : params) env.push_back(kEnvPrefix + key + "=" + value);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return Child{pid, output};
}

// Waits (bounded) for the child to exit; returns its exit code, or -1 after killing it.
int WaitForChild(const Child& child) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitMax;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = ::waitpid(child.pid, &status, WNOHANG);
    if (done == child.pid) {
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != 0) UNSCOPED_INFO("child output:\n" << ReadFileText(child.output));
      return code;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
  UNSCOPED_INFO("child timed out; output:\n" << ReadFileText(child.output));
  return -1;
}

// Waits (bounded) for a file another process creates.
bool WaitForFile(const fs::path& path) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitMax;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(kPollInterval);
  }
  return false;
}

// ---- Child side ----------------------------------------------------------------------

std::string Param(const std::string& name) {
  const char* value = std::getenv((kEnvPrefix + name).c_str());
  return value != nullptr ? value : "";
}

// Tries to open the run for writing; records the outcome in RESULT.
void ChildTryWriter(const Store& store) {
  auto log = store.OpenRun(Param("RUN"), OpenMode::kReadWrite);
  WriteFileText(Param("RESULT"), log.status().ToString());
}

// Creates RUN, says READY, waits for GO, then appends EVENTS events in steps of 100.
void ChildAppendRun(const Store& store) {
  auto log = store.CreateRun(MakeMetadata(Param("RUN")));
  REQUIRE(log.ok());
  WriteFileText(Param("READY"), "ready");
  REQUIRE(WaitForFile(Param("GO")));
  const std::uint64_t events = std::stoull(Param("EVENTS"));
  for (std::uint64_t first = 1; first <= events; first += 100) {
    StepBatch step = MakeStep(first, std::min<std::uint64_t>(100, events - first + 1));
    for (auto& pending : step.events) pending.blob = Param("RUN") + "-body";
    REQUIRE((*log)->Append(step).ok());
  }
}

// Opens RUN for writing, appends FIRST events one synced step each, says READY, waits for
// GO, appends up to EVENTS, and exits (closing the log).
void ChildFollowedWriter(const Store& store) {
  auto log = store.OpenRun(Param("RUN"), OpenMode::kReadWrite);
  REQUIRE(log.ok());
  const std::uint64_t first = std::stoull(Param("FIRST"));
  const std::uint64_t events = std::stoull(Param("EVENTS"));
  for (std::uint64_t i = 1; i <= first; ++i) {
    StepBatch step = MakeStep(i, 1);
    REQUIRE((*log)->Append(step).ok());
  }
  WriteFileText(Param("READY"), "ready");
  REQUIRE(WaitForFile(Param("GO")));
  for (std::uint64_t i = first + 1; i <= events; ++i) {
    StepBatch step = MakeStep(i, 1);
    REQUIRE((*log)->Append(step).ok());
  }
}

// Opens RUN for writing, says READY, waits for GO, and exits (closing the log).
void ChildHoldWriter(const Store& store) {
  auto log = store.OpenRun(Param("RUN"), OpenMode::kReadWrite);
  REQUIRE(log.ok());
  WriteFileText(Param("READY"), "ready");
  REQUIRE(WaitForFile(Param("GO")));
}

// Creates RUN, appends EVENTS events in synced steps of 10, each event with a blob of
// BLOB_BYTES bytes, and dies without closing the log, as a kill would: what it wrote is in
// the WAL and the memtables, and no table file holds it.
void ChildKilledWriter(const Store& store) {
  auto log = store.CreateRun(MakeMetadata(Param("RUN")));
  REQUIRE(log.ok());
  const std::uint64_t events = std::stoull(Param("EVENTS"));
  const std::string blob(std::stoull(Param("BLOB_BYTES")), 'b');
  for (std::uint64_t first = 1; first <= events; first += 10) {
    StepBatch step = MakeStep(first, std::min<std::uint64_t>(10, events - first + 1));
    for (auto& pending : step.events) pending.blob = blob;
    REQUIRE((*log)->Append(step).ok());
  }
  std::fflush(nullptr);
  ::_exit(0);
}

TEST_CASE("store child process", "[.child]") {
  const std::string role = Param("ROLE");
  if (role.empty()) return;  // run by hand without a parent: nothing to do
  auto store = Store::Open(Param("STORE"), /*create_if_missing=*/false);
  REQUIRE(store.ok());
  if (role == "try_writer") {
    ChildTryWriter(*store);
  } else if (role == "append_run") {
    ChildAppendRun(*store);
  } else if (role == "followed_writer") {
    ChildFollowedWriter(*store);
  } else if (role == "killed_writer") {
    ChildKilledWriter(*store);
  } else if (role == "hold_writer") {
    ChildHoldWriter(*store);
  } else {
    FAIL("unknown child role " << role);
  }
}

// ---- Tests ---------------------------------------------------------------------------

TEST_CASE("a second writer of a run in another process is refused naming the run",
          "[store][process]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  const Store store = MustOpen(root);
  auto writer = store.CreateRun(MakeMetadata("r1"));
  REQUIRE(writer.ok());

  const Child child = SpawnChild({{"ROLE", "try_writer"},
                                  {"STORE", root.string()},
                                  {"RUN", "r1"},
                                  {"RESULT", (dir / "result").string()}},
                                 dir / "child.out");
  REQUIRE(WaitForChild(child) == 0);
  CHECK(ReadFileText(dir / "result") ==
        "FAILED_PRECONDITION: run 'r1' is already open for writing by another process (store " +
            root.string() + ")");
  // The writer is unaffected.
  StepBatch step = MakeStep(1, 1);
  CHECK((*writer)->Append(step).ok());
}

TEST_CASE("a run's writer in another process is seen through the run's lock",
          "[store][process]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  const Store store = MustOpen(root);
  REQUIRE(store.CreateRun(MakeMetadata("r1")).ok());  // created, then closed
  CHECK_FALSE(store.RunHasWriter("r1"));
  CHECK_FALSE(store.RunHasWriter("no-such-run"));

  const Child child = SpawnChild({{"ROLE", "hold_writer"},
                                  {"STORE", root.string()},
                                  {"RUN", "r1"},
                                  {"READY", (dir / "ready").string()},
                                  {"GO", (dir / "go").string()}},
                                 dir / "child.out");
  const bool ready = WaitForFile(dir / "ready");
  const bool held = store.RunHasWriter("r1");
  WriteFileText(dir / "go", "go");
  CHECK(WaitForChild(child) == 0);
  REQUIRE(ready);
  CHECK(held);
  CHECK_FALSE(store.RunHasWriter("r1"));  // the writer exited
}

TEST_CASE("two runs of one store are written at once by two processes", "[store][process]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  MustOpen(root);
  constexpr std::uint64_t kEvents = 2000;
  std::vector<Child> children;
  for (const std::string run : {"run-a", "run-b"}) {
    children.push_back(SpawnChild({{"ROLE", "append_run"},
                                   {"STORE", root.string()},
                                   {"RUN", run},
                                   {"EVENTS", std::to_string(kEvents)},
                                   {"READY", (dir / (run + ".ready")).string()},
                                   {"GO", (dir / "go").string()}},
                                  dir / (run + ".out")));
  }
  // Both runs are open for writing at once before either appends.
  const bool ready = WaitForFile(dir / "run-a.ready") && WaitForFile(dir / "run-b.ready");
  WriteFileText(dir / "go", "go");
  for (const Child& child : children) CHECK(WaitForChild(child) == 0);
  REQUIRE(ready);

  const Store store = MustOpen(root);
  for (const std::string run : {"run-a", "run-b"}) {
    auto log = store.OpenRun(run, OpenMode::kReadOnly);
    REQUIRE(log.ok());
    CHECK((*log)->last_seq() == kEvents);
    const testing::ReadResult read = ReadAll(**log);
    REQUIRE(read.status.ok());
    REQUIRE(read.events.size() == kEvents);
    for (std::uint64_t i = 0; i < kEvents; ++i) {
      CHECK(read.events[i].seq() == i + 1);
      CHECK(read.events[i].run_id() == run);
    }
    auto blob = (*log)->ReadBlob(kEvents);
    REQUIRE(blob.ok());
    CHECK(*blob == run + "-body");
  }
  auto runs = store.ListRuns();
  REQUIRE(runs.ok());
  CHECK(runs->size() == 2);
}

TEST_CASE("a secondary follows a writer in another process and sees new events after CatchUp",
          "[store][process]") {
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  const Store store = MustOpen(root);
  REQUIRE(store.CreateRun(MakeMetadata("r1")).ok());
  constexpr std::uint64_t kFirst = 5;
  constexpr std::uint64_t kEvents = 40;
  const Child child = SpawnChild({{"ROLE", "followed_writer"},
                                  {"STORE", root.string()},
                                  {"RUN", "r1"},
                                  {"FIRST", std::to_string(kFirst)},
                                  {"EVENTS", std::to_string(kEvents)},
                                  {"READY", (dir / "ready").string()},
                                  {"GO", (dir / "go").string()}},
                                 dir / "child.out");
  const bool ready = WaitForFile(dir / "ready");
  if (!ready) WaitForChild(child);
  REQUIRE(ready);

  // The writer holds the run; a secondary opens beside it and sees what is written so far.
  const std::uint64_t moved_before = AscendingKeyMemTablesMovedToSkipList();
  auto follower = store.OpenRun("r1", OpenMode::kSecondary);
  INFO(follower.status().ToString());
  REQUIRE(follower.ok());
  EventLog& log = **follower;
  CHECK(log.last_seq() == kFirst);
  std::unique_ptr<EventLogReader> reader = log.NewReader({});
  std::uint64_t seen = 0;
  while (reader->Next()) CHECK(reader->event().seq() == ++seen);
  CHECK(reader->status().ok());
  CHECK(seen == kFirst);

  WriteFileText(dir / "go", "go");
  REQUIRE(WaitForChild(child) == 0);
  // The writer has appended everything; without CatchUp the secondary does not see it.
  CHECK(log.last_seq() == kFirst);
  CHECK_FALSE(reader->Next());
  REQUIRE(log.CatchUp().ok());
  CHECK(log.last_seq() == kEvents);
  while (reader->Next()) {
    CHECK(reader->event().seq() == ++seen);
    CHECK(reader->event().request_succeeded().custom_id() == "c" + std::to_string(seen));
  }
  CHECK(reader->status().ok());
  CHECK(seen == kEvents);
  // Catching up replays only new WAL records: every key still arrived in order.
  CHECK(AscendingKeyMemTablesMovedToSkipList() == moved_before);
}

// A reopen after a kill recovers the WAL either into the memtables (a short WAL: nothing is
// written before the open returns) or into level-0 tables (a long one); both must give back
// every acknowledged event and blob.
TEST_CASE("a run killed without closing reopens with every event, from a short or a long WAL",
          "[store][process]") {
  const bool long_wal = GENERATE(false, true);
  // 32 MiB is the store's limit for keeping a recovered WAL in the memtables.
  const std::uint64_t events = long_wal ? 700 : 200;
  const std::uint64_t blob_bytes = long_wal ? 64 * 1024 : 1024;
  INFO((long_wal ? "WAL of ~44 MiB" : "WAL of ~0.2 MiB"));
  batchlog::testing::TempDir dir("store-test");
  const fs::path root = dir / "store";
  const Store store = MustOpen(root);
  const Child child = SpawnChild({{"ROLE", "killed_writer"},
                                  {"STORE", root.string()},
                                  {"RUN", "r1"},
                                  {"EVENTS", std::to_string(events)},
                                  {"BLOB_BYTES", std::to_string(blob_bytes)}},
                                 dir / "child.out");
  REQUIRE(WaitForChild(child) == 0);
  const fs::path log_dir = store.RunDir("r1") / "log";
  const int tables_before = CountTableFiles(log_dir);

  const std::uint64_t moved_before = AscendingKeyMemTablesMovedToSkipList();
  auto log = store.OpenRun("r1", OpenMode::kReadWrite);
  REQUIRE(log.ok());
  const int tables_after = CountTableFiles(log_dir);
  if (long_wal) {
    CHECK(tables_after > tables_before);  // flushed during the open
  } else {
    CHECK(tables_after == tables_before);  // left in the memtables
  }
  CHECK((*log)->last_seq() == events);
  const testing::ReadResult read = ReadAll(**log);
  REQUIRE(read.status.ok());
  REQUIRE(read.events.size() == events);
  for (std::uint64_t i = 0; i < events; ++i) CHECK(read.events[i].seq() == i + 1);
  for (const std::uint64_t seq : {std::uint64_t{1}, events / 2, events}) {
    auto blob = (*log)->ReadBlob(seq);
    REQUIRE(blob.ok());
    CHECK(*blob == std::string(blob_bytes, 'b'));
  }
  // The reopened log goes on from there.
  StepBatch step = MakeStep(events + 1, 1);
  REQUIRE((*log)->Append(step).ok());
  CHECK((*log)->last_seq() == events + 1);
  // Recovery and the appends after it kept every key in order (the memtables' fast path).
  CHECK(AscendingKeyMemTablesMovedToSkipList() == moved_before);
}

}  // namespace
}  // namespace batchlog::store
