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
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "src/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/support/temp_dir.h"

extern char** environ;

namespace batchlog::store {
namespace {

namespace fs = std::filesystem;
using testing::MakeMetadata;
using testing::MakeStep;
using testing::ReadAll;

constexpr auto kWaitMax = std::chrono::seconds(60);
constexpr auto kPollInterval = std::chrono::milliseconds(2);
constexpr char kChildTestName[] = "store child process";
constexpr char kEnvPrefix[] = "BATCHLOG_STORE_CHILD_";

// ---- Parent side ---------------------------------------------------------------------

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

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
      if (code != 0) UNSCOPED_INFO("child output:\n" << ReadText(child.output));
      return code;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
  UNSCOPED_INFO("child timed out; output:\n" << ReadText(child.output));
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

Store MustOpen(const fs::path& root) {
  auto store = Store::Open(root, /*create_if_missing=*/true);
  REQUIRE(store.ok());
  return std::move(store).value();
}

// ---- Child side ----------------------------------------------------------------------

std::string Param(const std::string& name) {
  const char* value = std::getenv((kEnvPrefix + name).c_str());
  return value != nullptr ? value : "";
}

// Tries to open the run for writing; records the outcome in RESULT.
void ChildTryWriter(const Store& store) {
  auto log = store.OpenRun(Param("RUN"), OpenMode::kReadWrite);
  WriteText(Param("RESULT"), log.status().ToString());
}

// Creates RUN, says READY, waits for GO, then appends EVENTS events in steps of 100.
void ChildAppendRun(const Store& store) {
  auto log = store.CreateRun(MakeMetadata(Param("RUN")));
  REQUIRE(log.ok());
  WriteText(Param("READY"), "ready");
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
  WriteText(Param("READY"), "ready");
  REQUIRE(WaitForFile(Param("GO")));
  for (std::uint64_t i = first + 1; i <= events; ++i) {
    StepBatch step = MakeStep(i, 1);
    REQUIRE((*log)->Append(step).ok());
  }
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
  CHECK(ReadText(dir / "result") ==
        "FAILED_PRECONDITION: run 'r1' is already open for writing by another process (store " +
            root.string() + ")");
  // The writer is unaffected.
  StepBatch step = MakeStep(1, 1);
  CHECK((*writer)->Append(step).ok());
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
  WriteText(dir / "go", "go");
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

  WriteText(dir / "go", "go");
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
}

}  // namespace
}  // namespace batchlog::store
