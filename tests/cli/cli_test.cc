// End-to-end tests of the `batchlog` binary: a store is written through the store API, then
// the binary is run as a user would run it, and its stdout, stderr and exit code checked.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>
#include <google/protobuf/util/json_util.h>

#include "batchlog/events/v1/events.pb.h"
#include "src/store/store.h"
#include "tests/support/temp_dir.h"

namespace {

using batchlog::events::v1::Event;
using batchlog::testing::TempDir;
namespace store = batchlog::store;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the batchlog binary with `args` (already shell-quoted where needed).
CommandResult RunBatchlog(const std::string& args, const TempDir& scratch) {
  const auto err_path = scratch / "stderr.txt";
  const std::string command =
      std::string(BATCHLOG_BINARY) + " " + args + " 2>" + err_path.string();
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.out.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  std::stringstream text;
  text << err.rdbuf();
  result.err = text.str();
  return result;
}

// A small run: started, two requests planned (with bodies), one batch planned.
void WriteSmallRun(const std::filesystem::path& root, const std::string& run_id) {
  auto opened = store::Store::Open(root, /*create_if_missing=*/true);
  REQUIRE(opened.ok());
  store::RunMetadata metadata;
  metadata.run_id = run_id;
  metadata.run_name = "cli-test";
  metadata.created_at_unix_us = 1'767'225'600'000'000;
  auto log = opened->CreateRun(metadata);
  REQUIRE(log.ok());

  store::StepBatch step;
  std::int64_t t = 1'767'225'600'000'000;
  auto add = [&](auto fill, std::string blob = {}) {
    store::PendingEvent pending;
    pending.event.set_recorded_at_unix_us(t++);
    fill(pending.event);
    pending.blob = std::move(blob);
    step.events.push_back(std::move(pending));
  };
  add([](Event& e) { e.mutable_run_started()->set_run_name("cli-test"); });
  for (const char* id : {"a_1", "b_2"}) {
    add(
        [id](Event& e) {
          auto* planned = e.mutable_request_planned();
          planned->set_workflow("wf");
          planned->set_stage("stage_1");
          planned->set_custom_id(id);
        },
        R"({"model":"m","messages":[]})");
  }
  add([](Event& e) {
    auto* batch = e.mutable_batch_planned();
    batch->set_batch_key("bk-1");
    batch->set_workflow("wf");
    batch->set_stage("stage_1");
    batch->set_provider("openai");
    batch->add_custom_ids("a_1");
    batch->add_attempts(1);
    batch->add_custom_ids("b_2");
    batch->add_attempts(1);
  });
  auto appended = (*log)->Append(step);
  REQUIRE(appended.ok());
  REQUIRE(appended->last == 4);
}

}  // namespace

TEST_CASE("the version flag prints the version and exits 0", "[cli]") {
  TempDir dir;
  const auto result = RunBatchlog("--version", dir);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("batchlog ") == 0);
}

TEST_CASE("an unknown subcommand is a usage error with exit code 2", "[cli]") {
  TempDir dir;
  const auto result = RunBatchlog("frobnicate", dir);
  CHECK(result.exit_code == 2);
}

TEST_CASE("runs lists the runs of a store", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "run-a");
  WriteSmallRun(dir / "store", "run-b");
  const auto result = RunBatchlog("--store " + (dir / "store").string() + " runs", dir);
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("run-a") != std::string::npos);
  CHECK(result.out.find("run-b") != std::string::npos);
}

TEST_CASE("events --json exports one parseable event per line with dense seqs", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const auto result =
      RunBatchlog("--store " + (dir / "store").string() + " events r1 --json", dir);
  REQUIRE(result.exit_code == 0);
  std::istringstream lines(result.out);
  std::string line;
  std::uint64_t expected_seq = 1;
  while (std::getline(lines, line)) {
    Event event;
    REQUIRE(google::protobuf::util::JsonStringToMessage(line, &event).ok());
    CHECK(event.seq() == expected_seq);
    CHECK(event.run_id() == "r1");
    ++expected_seq;
  }
  CHECK(expected_seq == 5);
  CHECK(result.out.find("\"run_started\"") != std::string::npos);
  CHECK(result.out.find("\"custom_id\":\"b_2\"") != std::string::npos);
}

TEST_CASE("events --from starts at the given seq", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const auto result =
      RunBatchlog("--store " + (dir / "store").string() + " events r1 --from 3", dir);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.rfind("3  ", 0) == 0);
  CHECK(result.out.find("\n4  ") != std::string::npos);
  CHECK(result.out.find("run_started") == std::string::npos);
}

TEST_CASE("manifest regenerates the same bytes twice and honours --as-of", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const std::string store_flag = "--store " + (dir / "store").string();
  const auto first = RunBatchlog(store_flag + " manifest r1", dir);
  const auto second = RunBatchlog(store_flag + " manifest r1", dir);
  REQUIRE(first.exit_code == 0);
  CHECK(first.out == second.out);
  CHECK(first.out.find("\"run_id\": \"r1\"") != std::string::npos);
  CHECK(first.out.find("\"generated_at_seq\": 4") != std::string::npos);

  const auto early = RunBatchlog(store_flag + " manifest r1 --as-of 2", dir);
  REQUIRE(early.exit_code == 0);
  CHECK(early.out.find("\"generated_at_seq\": 2") != std::string::npos);

  const auto to_file =
      RunBatchlog(store_flag + " manifest r1 -o " + (dir / "m.json").string(), dir);
  REQUIRE(to_file.exit_code == 0);
  std::ifstream written(dir / "m.json");
  std::stringstream text;
  text << written.rdbuf();
  CHECK(text.str() == first.out);
}

TEST_CASE("manifest --as-of past the end of the log is not found", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const auto result =
      RunBatchlog("--store " + (dir / "store").string() + " manifest r1 --as-of 99", dir);
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("99") != std::string::npos);
}

TEST_CASE("a path that is not a store is a one-line error with a non-zero exit", "[cli]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "not-a-store");
  const auto result =
      RunBatchlog("--store " + (dir / "not-a-store").string() + " manifest r1", dir);
  CHECK(result.exit_code != 0);
  CHECK(result.err.rfind("batchlog: error: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find("not-a-store") != std::string::npos);
}

TEST_CASE("a store of a newer format is a one-line error with a non-zero exit", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  {
    std::ofstream format(dir / "store" / "STORE_FORMAT", std::ios::trunc);
    format << "batchlog-store 99\n";
  }
  const auto result = RunBatchlog("--store " + (dir / "store").string() + " runs", dir);
  CHECK(result.exit_code != 0);
  CHECK(result.err.rfind("batchlog: error: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find("99") != std::string::npos);
}

TEST_CASE("an unknown run id is a one-line not-found error naming the run", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const auto result =
      RunBatchlog("--store " + (dir / "store").string() + " events no-such-run", dir);
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("no-such-run") != std::string::npos);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
}
