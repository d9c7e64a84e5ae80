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

// Runs the batchlog binary with `args` (already shell-quoted where needed); with
// prefix_binary false, `args` is the whole command line (e.g. `env -u VAR batchlog ...`).
CommandResult RunBatchlog(const std::string& args, const TempDir& scratch,
                          bool prefix_binary = true) {
  const auto err_path = scratch / "stderr.txt";
  const std::string command =
      (prefix_binary ? std::string(BATCHLOG_BINARY) + " " : "") + args + " 2>" + err_path.string();
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

// Checks that `result` is one usage error line (exit 2) that contains `expected`.
void CheckUsageError(const CommandResult& result, const std::string& expected) {
  CAPTURE(result.err);
  CHECK(result.exit_code == 2);
  CHECK(result.err.rfind("batchlog: error: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find(expected) != std::string::npos);
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
  CheckUsageError(result, "unknown subcommand 'frobnicate' (see batchlog --help)");
}

TEST_CASE("every command-line parse error is one usage line naming what is wrong", "[cli]") {
  TempDir dir;
  CheckUsageError(RunBatchlog("--bogus", dir), "unknown option '--bogus' (see batchlog --help)");
  CheckUsageError(RunBatchlog("runs --bogus", dir),
                  "unknown option '--bogus' (see batchlog runs --help)");
  CheckUsageError(RunBatchlog("events r1 extra", dir), "unexpected argument 'extra'");
  CheckUsageError(RunBatchlog("", dir), "a subcommand is required");
  CheckUsageError(RunBatchlog("events", dir), "RUN_ID is required (see batchlog events --help)");
  CheckUsageError(RunBatchlog("--store", dir), "--store");
  CheckUsageError(RunBatchlog("run w.yaml --log-format xml", dir), "--log-format");
  CheckUsageError(RunBatchlog("manifest r1 --as-of -1", dir), "--as-of: must be a seq");
  CheckUsageError(RunBatchlog("manifest r1 --as-of 1.5", dir), "not '1.5'");
  CheckUsageError(RunBatchlog("diff-manifest r1 -1 5", dir), "A: must be a seq");
  CheckUsageError(RunBatchlog("events r1 --to 0", dir), "the first seq (1) is after --to 0");
}

TEST_CASE("history without a selector is a usage error", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const std::string store_flag = "--store " + (dir / "store").string();
  CheckUsageError(RunBatchlog(store_flag + " history r1", dir), "--custom-id");
  CheckUsageError(RunBatchlog(store_flag + " history r1 --batch bk-1 --workflow wf", dir),
                  "--batch");
}

TEST_CASE("an empty run id or --as-of is a usage error, not the default", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const std::string store_flag = "--store " + (dir / "store").string();
  CheckUsageError(RunBatchlog(store_flag + " run w.yaml --run-id ''", dir), "--run-id");
  CheckUsageError(RunBatchlog(store_flag + " manifest r1 --as-of ''", dir), "--as-of");
  CheckUsageError(RunBatchlog(store_flag + " status ''", dir), "RUN_ID");
  CheckUsageError(RunBatchlog(store_flag + " diff-manifest r1 '' latest", dir), "A:");
}

TEST_CASE("diff-manifest --help says both points may be latest", "[cli]") {
  TempDir dir;
  const auto result = RunBatchlog("diff-manifest --help", dir);
  REQUIRE(result.exit_code == 0);
  std::istringstream lines(result.out);
  std::string line;
  int points = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("  A ", 0) == 0 || line.rfind("  B ", 0) == 0) {
      CHECK(line.find("`latest`") != std::string::npos);
      ++points;
    }
  }
  CHECK(points == 2);
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

TEST_CASE("the --store option is read before or after the subcommand", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "run-a");
  const std::string store = (dir / "store").string();
  for (const std::string& args :
       {"--store " + store + " manifest run-a", "manifest run-a --store " + store,
        "manifest --store " + store + " run-a"}) {
    CAPTURE(args);
    const auto result = RunBatchlog(args, dir);
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("\"run_id\": \"run-a\"") != std::string::npos);
  }
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

TEST_CASE("events refuses negative seqs and a start past the end of the log", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const std::string store_flag = "--store " + (dir / "store").string();
  // Read into a uint64_t, "-5" would wrap: --from found nothing, --to exported everything.
  CheckUsageError(RunBatchlog(store_flag + " events r1 --from -5", dir), "--from");
  CheckUsageError(RunBatchlog(store_flag + " events r1 --to -1", dir), "--to");
  CheckUsageError(RunBatchlog(store_flag + " events r1 --from 3 --to 2", dir), "--from 3");

  const auto past = RunBatchlog(store_flag + " events r1 --from 99", dir);
  CHECK(past.exit_code == 3);
  CHECK(past.out.empty());
  CHECK(past.err.find("99") != std::string::npos);
  CHECK(past.err.find("r1") != std::string::npos);

  const auto to_past = RunBatchlog(store_flag + " events r1 --from 4 --to 99", dir);
  CHECK(to_past.exit_code == 0);
  CHECK(to_past.out.rfind("4  ", 0) == 0);
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

TEST_CASE("manifest -o says why the file cannot be written", "[cli]") {
  TempDir dir;
  WriteSmallRun(dir / "store", "r1");
  const auto result = RunBatchlog("--store " + (dir / "store").string() + " manifest r1 -o " +
                                      (dir / "no-such-dir" / "m.json").string(),
                                  dir);
  CAPTURE(result.err);
  CHECK(result.exit_code == 6);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find("m.json': No such file or directory") != std::string::npos);
}

TEST_CASE("a path that exists but is not a store is invalid input (exit 5)", "[cli]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "not-a-store");
  std::ofstream(dir / "not-a-store" / "notes.txt") << "hello\n";
  std::ofstream(dir / "a-file") << "hello\n";
  for (const char* name : {"not-a-store", "a-file"}) {
    const auto result = RunBatchlog("--store " + (dir / name).string() + " manifest r1", dir);
    CAPTURE(result.err);
    CHECK(result.exit_code == 5);
    CHECK(result.err.rfind("batchlog: error: ", 0) == 0);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    CHECK(result.err.find(name) != std::string::npos);
  }
}

TEST_CASE("a store directory that is missing or empty is not found (exit 3)", "[cli]") {
  TempDir dir;
  std::filesystem::create_directories(dir / "empty");
  for (const char* name : {"missing", "empty"}) {
    const auto result = RunBatchlog("--store " + (dir / name).string() + " manifest r1", dir);
    CAPTURE(result.err);
    CHECK(result.exit_code == 3);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    CHECK(result.err.find("no batchlog store at '" + (dir / name).string()) != std::string::npos);
  }
}

TEST_CASE("a missing API key variable is one line naming provider and variable once", "[cli]") {
  TempDir dir;
  {
    std::ofstream(dir / "data.jsonl") << "{\"id\": \"a\", \"q\": \"x\"}\n";
    std::ofstream workflow(dir / "wf.yaml");
    workflow << "run_name: cli-key\n"
                "providers:\n"
                "  gw: {kind: openai, api_key_env: BATCHLOG_CLI_TEST_UNSET_KEY}\n"
                "workflows:\n"
                "  - name: w\n"
                "    dataset: data.jsonl\n"
                "    id_field: id\n"
                "    stages:\n"
                "      - name: stage_1\n"
                "        provider: gw\n"
                "        endpoint: /v1/chat/completions\n"
                "        body:\n"
                "          model: m\n"
                "          messages: [{role: user, content: \"{{sample.q}}\"}]\n";
  }
  const auto result = RunBatchlog(
      "env -u BATCHLOG_CLI_TEST_UNSET_KEY " + std::string(BATCHLOG_BINARY) + " --store " +
          (dir / "store").string() + " run -q " + (dir / "wf.yaml").string(),
      dir, /*prefix_binary=*/false);
  CAPTURE(result.err);
  CHECK(result.exit_code == 5);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.find("provider 'gw': the API key variable BATCHLOG_CLI_TEST_UNSET_KEY "
                        "is not set") != std::string::npos);
  CHECK(result.err.find("provider gw") == std::string::npos);
  // Refused before anything was written: not even the store.
  CHECK_FALSE(std::filesystem::exists(dir / "store"));
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
