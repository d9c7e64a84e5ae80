#include "tests/crash/crash_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <httplib.h>

#include "replay/lifecycle.h"
#include "src/orchestrator/log_replay.h"
#include "src/sim/fault_plan.h"
#include "src/store/store.h"
#include "tests/support/workflow_yaml.h"
#include "tests/support/files.h"

extern char** environ;

namespace batchlog::crash {
namespace {

using batchlog::testing::ReadFileText;

// Transient failures recovered by retries (q003, q004 twice, q007), one request that
// exhausts its two retries (q005), permanent failures (q001 invalid, q002 content filter).
// Attempts count per API, so stage 2 on Anthropic sees q003/q007 fail again on its first
// attempt when stage 1 ran on OpenAI.
constexpr char kFaultPlan[] = R"(
request_faults:
  always_fail:
    q001: invalid_request
    q002: content_filter
  fail_first_attempts:
    q003: {kind: rate_limit, attempts: 1}
    q004: {kind: server_error, attempts: 2}
    q005: {kind: timeout, attempts: 3}
    q007: {kind: overloaded, attempts: 1}
)";

constexpr int kSamples = 10;

std::string WorkflowText(const std::string& stage_1_provider) {
  batchlog::testing::WorkflowYamlSpec spec;
  spec.run_name = "crash";
  spec.two_stages = true;
  spec.stage_1_provider = stage_1_provider;
  spec.key_env_prefix = "CRASH";
  spec.retry =
      "{max_retries: 2, initial_delay_s: 0.02, multiplier: 2, max_delay_s: 0.08, jitter: 0.2}";
  spec.poll = "{initial_s: 0.01, max_s: 0.05}";
  spec.extra_defaults = "  batch_limits: {max_requests: 4}\n";
  return batchlog::testing::WorkflowYaml(spec);
}

std::string ApiOfProvider(const std::string& provider) {
  return provider == "oa" ? "openai" : "anthropic";
}

std::atomic<int> g_child_counter{0};

}  // namespace

const Scenario& OpenAiThenAnthropic() {
  static const Scenario scenario{"openai-then-anthropic", "oa"};
  return scenario;
}

const Scenario& AnthropicThenAnthropic() {
  static const Scenario scenario{"anthropic-then-anthropic", "an"};
  return scenario;
}

// --- Child ----------------------------------------------------------------------------------

Child::~Child() {
  if (!reaped_) Kill();
}

bool Child::Exited() {
  if (reaped_) return true;
  const pid_t done = ::waitpid(pid_, &status_, WNOHANG);
  if (done == pid_) reaped_ = true;
  return reaped_;
}

void Child::Signal(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

void Child::Kill() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

ChildResult Child::Wait(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!Exited()) {
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      FAIL("batchlog child did not finish within " << timeout_s << " s; stderr:\n"
                                                   << ReadFileText(err_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ChildResult result;
  if (WIFEXITED(status_)) result.exit_code = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) result.signal = WTERMSIG(status_);
  result.out = ReadFileText(out_);
  result.err = ReadFileText(err_);
  return result;
}

// --- CrashHarness ---------------------------------------------------------------------------

CrashHarness::CrashHarness(const Scenario& scenario, const std::string& label)
    : scenario_(scenario), dir_("batchlog-" + label), store_(dir_.path() / "store") {
  sim::EmulatorOptions options;
  options.seed = 42;
  options.time_scale = 1;  // creation times are real: Anthropic adoption matches by them
  options.threads = 4;
  options.lifecycle.validating_s = 0.002;
  options.lifecycle.processing_s_base = 0.005;
  options.lifecycle.processing_s_per_request = 0.0005;
  options.lifecycle.finalizing_s = 0.002;
  options.lifecycle.cancelling_s = 0.002;
  auto plan = sim::FaultPlan::Parse(kFaultPlan);
  REQUIRE(plan.ok());
  options.fault_plan = std::move(plan).value();
  auto emulator = sim::Emulator::Start(options);
  REQUIRE(emulator.ok());
  emulator_ = std::move(emulator).value();

  std::ostringstream data;
  for (int i = 0; i < kSamples; ++i) {
    char line[96];
    std::snprintf(line, sizeof(line), R"({"id": "q%03d", "problem": "What is %d plus %d?"})", i,
                  i, i);
    data << line << "\n";
  }
  std::ofstream(dir_.path() / "data.jsonl", std::ios::binary) << data.str();
  workflow_ = dir_.path() / "workflow.yaml";
  std::ofstream(workflow_, std::ios::binary) << WorkflowText(scenario.stage_1_provider);
}

CrashHarness::~CrashHarness() = default;

std::vector<std::string> CrashHarness::RunArgs() const {
  return {"run", workflow_.string(), "--run-id", run_id_, "--base-url", base_url(),
          "--seed", "7", "--quiet"};
}

std::vector<std::string> CrashHarness::ResumeArgs() const {
  return {"resume", run_id_, "--base-url", base_url(), "--quiet"};
}

std::unique_ptr<Child> CrashHarness::Start(const std::vector<std::string>& args,
                                           const std::string& kill_point) const {
  std::vector<std::string> argv_text = {BATCHLOG_BINARY, "--store", store_.string()};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<std::string> env_text;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    // The child's knobs are set here, never inherited from whoever runs the suite.
    if (text.starts_with("BATCHLOG_")) continue;
    env_text.emplace_back(text);
  }
  env_text.push_back("CRASH_OPENAI_KEY=sk-crash-openai");
  env_text.push_back("CRASH_ANTHROPIC_KEY=sk-crash-anthropic");
  // Small steps and frequent snapshots: the mid-ingest, plan-requests-step and snapshot
  // kill points fire on a small run, and resume starts from a snapshot.
  env_text.push_back("BATCHLOG_EVENTS_PER_STEP=3");
  env_text.push_back("BATCHLOG_SNAPSHOT_EVERY=" + std::to_string(snapshot_every_));
  if (!kill_point.empty()) env_text.push_back("BATCHLOG_KILL_POINT=" + kill_point);

  std::vector<char*> argv;
  for (std::string& arg : argv_text) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env_text) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const int n = ++g_child_counter;
  const std::filesystem::path out = dir_.path() / ("child-" + std::to_string(n) + ".out");
  const std::filesystem::path err = dir_.path() / ("child-" + std::to_string(n) + ".err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  return std::make_unique<Child>(pid, out, err);
}

ChildResult CrashHarness::Batchlog(const std::vector<std::string>& args,
                                   const std::string& kill_point) const {
  return Start(args, kill_point)->Wait();
}

nlohmann::json CrashHarness::Stats() const {
  httplib::Client client("127.0.0.1", emulator_->port());
  const auto response = client.Get("/_sim/stats");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return nlohmann::json::parse(response->body);
}

CrashHarness::LogFacts CrashHarness::ReadLog() const {
  LogFacts facts;
  auto store = store::Store::Open(store_, false);
  if (!store.ok() && store.status().code() == base::StatusCode::kNotFound) return facts;
  INFO(store.status().message());
  REQUIRE(store.ok());
  auto log = store->OpenRun(run_id_, store::OpenMode::kReadOnly);
  if (!log.ok() && log.status().code() == base::StatusCode::kNotFound) return facts;
  INFO(log.status().message());
  REQUIRE(log.ok());
  facts.last_seq = (*log)->last_seq();
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> planned;
  auto reader = (*log)->NewReader({});
  std::uint64_t read = 0;
  while (reader->Next()) {
    ++read;
    const events::v1::Event& event = reader->event();
    if (event.has_run_started()) facts.started = true;
    if (event.has_batch_planned()) {
      const auto& batch = event.batch_planned();
      planned[batch.batch_key()] = {ApiOfProvider(batch.provider()),
                                    {batch.custom_ids().begin(), batch.custom_ids().end()}};
    } else if (event.has_batch_submitted()) {
      const auto& [api, ids] = planned.at(event.batch_submitted().batch_key());
      for (const std::string& id : ids) ++facts.submissions[api][id];
      if (event.batch_submitted().adopted()) ++facts.adopted;
    } else if (event.has_submit_rejected() &&
               event.submit_rejected().error_code() == "adoption_rejected") {
      ++facts.adoptions_rejected;
    }
  }
  INFO(reader->status().message());
  CHECK(reader->status().ok());
  facts.dense = reader->status().ok() && read == facts.last_seq;
  auto projections = orchestrator::ReplayLog(**log);
  REQUIRE(projections.ok());
  facts.status =
      std::string(replay::RunStatusName(projections->run_state.lifecycle.run_status));
  return facts;
}

// --- oracle ---------------------------------------------------------------------------------

std::string NormalizeManifest(const std::string& manifest_json) {
  nlohmann::json manifest = nlohmann::json::parse(manifest_json);
  manifest.erase("run_id");
  manifest.erase("generated_at_seq");
  for (auto& [workflow, stages] : manifest["workflows"].items()) {
    for (auto& [stage, fields] : stages.items()) {
      fields.erase("batch_ids");
      fields.erase("retry_batch_ids");
    }
  }
  return manifest.dump(2);
}

std::string NormalizeResults(const std::string& results_jsonl) {
  std::string out;
  std::istringstream lines(results_jsonl);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    nlohmann::json result = nlohmann::json::parse(line);
    if (result.contains("response") && result["response"].is_object()) {
      result["response"].erase("id");
      result["response"].erase("created");
    }
    out += result.dump() + "\n";
  }
  return out;
}

RunOutcomeView ViewOf(const CrashHarness& harness) {
  RunOutcomeView view;
  view.manifest = NormalizeManifest(
      ReadFileText(harness.store() / "runs" / harness.run_id() / "manifest.json"));
  for (const char* stage : {"stage_1", "stage_2"}) {
    const ChildResult results =
        harness.Batchlog({"results", harness.run_id(), "--workflow", "math", "--stage", stage});
    INFO(results.err);
    REQUIRE(results.exit_code == 0);
    view.results[stage] = NormalizeResults(results.out);
  }
  return view;
}

const RunOutcomeView& Oracle(const Scenario& scenario) {
  static std::map<std::string, RunOutcomeView> oracles;
  const auto found = oracles.find(scenario.name);
  if (found != oracles.end()) return found->second;
  CrashHarness harness(scenario, "oracle");
  const ChildResult run = harness.Run();
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CheckRun(harness);
  return oracles.emplace(scenario.name, ViewOf(harness)).first->second;
}

void CheckRun(const CrashHarness& harness) {
  const CrashHarness::LogFacts facts = harness.ReadLog();
  REQUIRE(facts.status == "completed");
  CHECK(facts.dense);

  // The manifest file is the one the log regenerates, and verify passes.
  const ChildResult manifest = harness.Batchlog({"manifest", harness.run_id()});
  REQUIRE(manifest.exit_code == 0);
  CHECK(manifest.out ==
        ReadFileText(harness.store() / "runs" / harness.run_id() / "manifest.json"));
  const ChildResult verify = harness.Batchlog({"verify", harness.run_id()});
  INFO(verify.out << verify.err);
  CHECK(verify.exit_code == 0);

  // Every request reached the provider exactly as often as the log says.
  const nlohmann::json stats = harness.Stats();
  for (const char* api : {"openai", "anthropic"}) {
    std::map<std::string, int> sent;
    if (stats.contains(api) && stats[api].contains("submissions")) {
      for (const auto& [id, count] : stats[api]["submissions"].items()) {
        sent[id] = count.get<int>();
      }
    }
    std::map<std::string, int> recorded;
    if (const auto it = facts.submissions.find(api); it != facts.submissions.end()) {
      recorded = it->second;
    }
    INFO("api " << api << ": emulator " << nlohmann::json(sent).dump() << " log "
                << nlohmann::json(recorded).dump());
    if (std::string(api) == "anthropic" && facts.adoptions_rejected > 0) {
      for (const auto& [id, count] : recorded) CHECK(sent[id] >= count);
    } else {
      CHECK(sent == recorded);
    }
  }
}

void CheckAgainstOracle(const CrashHarness& harness, const Scenario& scenario) {
  CheckRun(harness);
  const RunOutcomeView& oracle = Oracle(scenario);
  const RunOutcomeView view = ViewOf(harness);
  CHECK(view.manifest == oracle.manifest);
  for (const auto& [stage, results] : oracle.results) {
    INFO("results of " << stage);
    CHECK(view.results.at(stage) == results);
  }
}

std::uint64_t TestSeed(std::uint64_t fallback) {
  std::uint64_t seed = fallback;
  if (const char* text = std::getenv("BATCHLOG_SEED"); text != nullptr && *text != '\0') {
    std::from_chars(text, text + std::strlen(text), seed);
  }
  std::printf("BATCHLOG_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  return seed;
}

int EnvCount(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  int value = 0;
  const auto [end, error] = std::from_chars(text, text + std::strlen(text), value);
  return error == std::errc() && value > 0 ? value : fallback;
}

}  // namespace batchlog::crash
