// The crash suite's harness: the real `batchlog` binary as a child process (killed at named
// kill points or by SIGKILL at random instants, then resumed) against an emulator this
// test process runs in-process on the real clock (time_scale 1, lifecycles of a few
// milliseconds), and the oracle every interrupted run is held to: an uninterrupted run of
// the same scenario on a fresh emulator with the same seed.
//
// The scenario: one workflow, two stages (stage_2 built from stage_1's successes), ten
// samples, batches of at most four requests, transient failures recovered by retries,
// one request exhausting its retries, and permanent failures (invalid request, content
// filter). Stage 2 runs on Anthropic; stage 1 on OpenAI or on Anthropic.
//
// What legitimately differs between an interrupted run and the oracle, and is therefore
// left out of the comparison (Normalize*): the run_id; generated_at_seq (the number of
// BatchPolled events depends on timing); batch_ids and retry_batch_ids (provider ids, and
// how many batches a stage took, depend on timing: results of batches that end together
// are retried together); and inside each response body the provider's own "id" and
// "created" fields (the emulator derives them from the provider batch id and the time).
// Everything else must be equal: every request's status, attempts, error code, response
// text and usage, and every manifest count.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/sim/emulator.h"
#include "tests/support/temp_dir.h"

namespace batchlog::crash {

inline constexpr int kKilledExit = 137;  // a kill point's exit status (as kill -9)

struct Scenario {
  std::string name;
  std::string stage_1_provider;  // "oa" (OpenAI) or "an" (Anthropic)
};
const Scenario& OpenAiThenAnthropic();
const Scenario& AnthropicThenAnthropic();

struct ChildResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// A running `batchlog` child. Its output goes to files under the harness's directory.
class Child {
 public:
  Child(pid_t pid, std::filesystem::path out, std::filesystem::path err)
      : pid_(pid), out_(std::move(out)), err_(std::move(err)) {}
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // True once the child has exited (reaps it).
  bool Exited();
  void Kill();  // SIGKILL, then reap
  void Signal(int signal);  // sends it, does not wait
  // Waits (bounded polling; fails the test after `timeout_s`) and returns how it ended.
  ChildResult Wait(double timeout_s = 120);

 private:
  pid_t pid_;
  std::filesystem::path out_;
  std::filesystem::path err_;
  bool reaped_ = false;
  int status_ = 0;
};

// One scenario against one fresh emulator and one store.
class CrashHarness {
 public:
  explicit CrashHarness(const Scenario& scenario, const std::string& label = "crash");
  ~CrashHarness();

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path store() const { return store_; }
  // Moves the store (e.g. onto a small filesystem); call before the first run.
  void set_store(std::filesystem::path store) { store_ = std::move(store); }
  // BATCHLOG_SNAPSHOT_EVERY for the children (default 40).
  void set_snapshot_every(int events) { snapshot_every_ = events; }
  const std::string& run_id() const { return run_id_; }
  const std::string& base_url() const { return emulator_->base_url(); }
  const std::filesystem::path& workflow() const { return workflow_; }

  // `batchlog --store STORE <args>`; `kill_point` empty = none ("name" or "name:hit").
  std::unique_ptr<Child> Start(const std::vector<std::string>& args,
                               const std::string& kill_point = "") const;
  ChildResult Batchlog(const std::vector<std::string>& args,
                       const std::string& kill_point = "") const;
  // `run WORKFLOW --run-id ID --base-url URL` / `resume ID --base-url URL`.
  std::vector<std::string> RunArgs() const;
  std::vector<std::string> ResumeArgs() const;
  ChildResult Run(const std::string& kill_point = "") const {
    return Batchlog(RunArgs(), kill_point);
  }
  ChildResult Resume(const std::string& kill_point = "") const {
    return Batchlog(ResumeArgs(), kill_point);
  }

  // GET /_sim/stats.
  nlohmann::json Stats() const;

  // Facts read from the run's log in this process (the run must not be running).
  struct LogFacts {
    std::uint64_t last_seq = 0;
    bool started = false;
    bool dense = false;
    std::string status;  // the manifest's "status" word
    // api ("openai" / "anthropic") -> custom_id -> batches that reached the provider.
    std::map<std::string, std::map<std::string, int>> submissions;
    int adopted = 0;             // BatchSubmitted with adopted: true
    int adoptions_rejected = 0;  // SubmitRejected "adoption_rejected"
  };
  LogFacts ReadLog() const;

 private:
  const Scenario& scenario_;
  batchlog::testing::TempDir dir_;
  std::filesystem::path store_;
  int snapshot_every_ = 40;
  std::filesystem::path workflow_;
  std::string run_id_ = "crash-run";
  std::unique_ptr<sim::Emulator> emulator_;
};

// What an interrupted run is compared with (see the header comment).
struct RunOutcomeView {
  std::string manifest;                     // normalized
  std::map<std::string, std::string> results;  // stage -> normalized `batchlog results`
};
std::string NormalizeManifest(const std::string& manifest_json);
std::string NormalizeResults(const std::string& results_jsonl);
RunOutcomeView ViewOf(const CrashHarness& harness);

// The oracle: an uninterrupted run of the scenario (computed once per process).
const RunOutcomeView& Oracle(const Scenario& scenario);

// The checks of a completed run that need no oracle: the manifest file equals `batchlog
// manifest`, `batchlog verify` passes, the seq is dense, and the emulator's per-custom_id
// submission counts equal the attempts the log records (OpenAI: exactly; Anthropic:
// exactly, unless the log records a rejected adoption, which may leave an unrecorded
// batch behind).
void CheckRun(const CrashHarness& harness);
// CheckRun, and the normalized manifest and results equal the oracle's.
void CheckAgainstOracle(const CrashHarness& harness, const Scenario& scenario);

// The seed of randomized tests: BATCHLOG_SEED, else `fallback`; printed.
std::uint64_t TestSeed(std::uint64_t fallback);
// A positive count from the environment, else `fallback`.
int EnvCount(const char* name, int fallback);

}  // namespace batchlog::crash
