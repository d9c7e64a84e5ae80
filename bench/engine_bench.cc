// The engine at scale (issue 5's scale benchmark): N requests through two stages (stage_1
// OpenAI, stage_2 Anthropic built from stage_1's answers) against the in-process emulator,
// with a fraction of retryable request failures that succeed on retry. The engine and the
// emulator share a fake clock, so the engine's waits cost no wall time and the figures are
// CPU: the engine's own thread (the emulator serves on its own threads) is measured with
// RUSAGE_THREAD.
//
//   batchlog_bench_engine [--requests N] [--failure-rate F] [--dir DIR]
//
// Prints wall time, the engine thread's CPU per request per stage (target <= 3 us), peak
// RSS of the process (engine + emulator), events per request and the log's size.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/raw_rewrite_anchor.h"
#include "bench/thread_cpu.h"
#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/orchestrator/executor.h"
#include "src/orchestrator/run_session.h"
#include "src/sim/emulator.h"
#include "src/sim/fault_plan.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace batchlog;

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

std::uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  std::uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  long requests = 1'000'000;
  double failure_rate = 0.05;
  std::string dir_flag;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--requests") requests = std::atol(argv[i + 1]);
    if (flag == "--failure-rate") failure_rate = std::atof(argv[i + 1]);
    if (flag == "--dir") dir_flag = argv[i + 1];
  }
  testing::TempDir temp("batchlog-engine-bench");
  const std::filesystem::path dir =
      dir_flag.empty() ? temp.path() : std::filesystem::path(dir_flag);
  std::filesystem::create_directories(dir);

  {
    std::ofstream data(dir / "data.jsonl");
    for (long i = 0; i < requests; ++i) {
      data << R"({"id":"s)" << i << R"(","problem":"What is )" << i << " plus " << i
           << R"(?"})" << '\n';
    }
  }
  std::ofstream(dir / "wf.yaml") << R"(run_name: engine-bench
providers:
  oa: {kind: openai}
  an: {kind: anthropic}
defaults:
  retry: {max_retries: 2, initial_delay_s: 30, multiplier: 2, max_delay_s: 300, jitter: 0.2}
  poll: {initial_s: 15, max_s: 300}
workflows:
  - name: bench
    dataset: data.jsonl
    custom_id: "{id}"
    stages:
      - name: stage_1
        provider: oa
        body: {model: gpt-4o-mini, max_tokens: 32,
               messages: [{role: user, content: "Paraphrase: {{sample.problem}}"}]}
      - name: stage_2
        provider: an
        body: {model: claude-sonnet-4-5, max_tokens: 8,
               messages: [{role: user, content: "Score 0-10: {{stage_1.text}}"}]}
)";

  base::FakeClock clock(base::FromUnixMicros(1'800'000'000'000'000));
  sim::EmulatorOptions sim_options;
  sim_options.clock = &clock;
  sim_options.threads = 4;
  sim_options.spool_dir = dir / "sim";
  std::filesystem::create_directories(sim_options.spool_dir);
  auto plan = sim::FaultPlan::Parse("request_faults: {rates: {server_error: " +
                                    std::to_string(failure_rate) +
                                    "}, transient_attempts_max: 1}");
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().ToString().c_str());
    return 1;
  }
  sim_options.fault_plan = std::move(plan).value();
  auto emulator = sim::Emulator::Start(sim_options);
  if (!emulator.ok()) {
    std::fprintf(stderr, "%s\n", emulator.status().ToString().c_str());
    return 1;
  }

  base::SeededRandom random(3);
  orchestrator::RunRequest request;
  request.store_root = dir / "store";
  request.setup.base_url_override = (*emulator)->base_url();
  request.setup.lookup_env = [](const std::string&) -> std::optional<std::string> {
    return "sk-bench";
  };
  request.setup.clock = &clock;
  request.setup.random = &random;
  request.seed = 5;
  request.manifest_min_interval_s = 60;

  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = bench::ThreadCpuSeconds();
  auto outcome = orchestrator::StartRun(dir / "wf.yaml", request);
  const double cpu = bench::ThreadCpuSeconds() - cpu_start;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (!outcome.ok()) {
    std::fprintf(stderr, "run failed: %s\n", outcome.status().ToString().c_str());
    return 1;
  }
  const double per_request_stage_us = cpu * 1e6 / (2.0 * static_cast<double>(requests));
  std::printf("| figure | value |\n| --- | --- |\n");
  std::printf("| requests per stage | %ld (2 stages, %.1f %% retryable failures) |\n", requests,
              failure_rate * 100);
  std::printf("| run status | %s |\n",
              std::string(replay::RunStatusName(outcome->status)).c_str());
  std::printf("| wall time | %.1f s |\n", wall);
  std::printf("| engine thread CPU | %.2f s |\n", cpu);
  std::printf("| engine CPU per request per stage | %.2f us (target <= 3 us) |\n",
              per_request_stage_us);
  std::printf("| peak RSS (engine + emulator) | %.0f MiB |\n", PeakRssMiB());
  std::printf("| events | %llu (%.2f per request per stage) |\n",
              static_cast<unsigned long long>(outcome->last_seq),
              static_cast<double>(outcome->last_seq) / (2.0 * static_cast<double>(requests)));
  std::printf("| store size | %.1f MiB |\n",
              static_cast<double>(DirectoryBytes(dir / "store")) / (1024.0 * 1024.0));

  // The floor: this run's events and payloads written again by RocksDB alone, first with
  // RocksDB's default memtables, then with the log's own.
  for (const bench::RewriteMemTables memtables :
       {bench::RewriteMemTables::kSkipList, bench::RewriteMemTables::kAscendingArrays}) {
    const bench::RawRewrite raw = bench::RewriteRunWithRawRocksDb(
        dir / "store" / "runs" / outcome->run_id / "log", dir / "raw-rewrite",
        orchestrator::ExecutorDeps{}.events_per_step, memtables);
    if (!raw.error.empty()) {
      std::fprintf(stderr, "raw RocksDB rewrite failed: %s\n", raw.error.c_str());
      return 1;
    }
    std::printf(
        "| floor: the same %llu events + %llu payloads (%.0f MiB) written by raw RocksDB, %llu "
        "synced steps, %s | %.2f s CPU, %.2f us per request per stage |\n",
        static_cast<unsigned long long>(raw.events),
        static_cast<unsigned long long>(raw.payloads),
        static_cast<double>(raw.bytes) / (1024.0 * 1024.0),
        static_cast<unsigned long long>(raw.steps),
        memtables == bench::RewriteMemTables::kSkipList ? "default memtables"
                                                        : "the log's ascending memtables",
        raw.cpu_s, raw.cpu_s * 1e6 / (2.0 * static_cast<double>(requests)));
    std::filesystem::remove_all(dir / "raw-rewrite");
  }
  return outcome->status == replay::RunStatus::kCompleted ? 0 : 1;
}
