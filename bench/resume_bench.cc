// Resume time on a large run (issue 6's acceptance: "a run with 1M requests in its log,
// killed, then resumed: time to the first decision, target <= 0.5 s, with snapshots and
// without"). Writes a synthetic run of N requests (default 1M; BATCHLOG_BENCH_REQUESTS
// overrides) as the engine would, stopped mid-stage: every request planned, 70 % of them
// through ended and ingested batches of 50,000 (5 % retryable failures, their retry
// scheduled), the rest in batches still at the provider. Then, like `batchlog resume`
// before its first provider call, times from a cold process state (warm OS cache):
//   open   the store and the run read-write (RocksDB recovery included)
//   replay the projections from the latest snapshot plus the tail, or from seq 1
//   decide the first Decide over the replayed state
// and, separately, reading the workflow's 1M-line dataset (resume re-reads it to build
// later requests). Plain main; prints a Markdown table (bench/README.md, "Resume").
// BATCHLOG_BENCH_STORE=DIR keeps the killed runs in DIR and, when DIR already holds them,
// resumes those instead of writing them again (to profile the resume alone);
// BATCHLOG_BENCH_SNAPSHOTS_ONLY=1 skips the configuration without snapshots;
// BATCHLOG_BENCH_FRESH_PROCESS=1 resumes each time in a new process (this binary with
// `--resume-once DIR`), as `batchlog resume` is one: its memory is all fresh (page faults),
// none reused from the previous resume.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/synthetic_run.h"
#include "bench/thread_cpu.h"
#include "replay/snapshot_codec.h"
#include "src/orchestrator/decide.h"
#include "src/orchestrator/log_replay.h"
#include "src/orchestrator/run_loop.h"
#include "src/store/store.h"
#include "src/workflow/dataset_reader.h"
#include "tests/support/temp_dir.h"

namespace batchlog::bench {
namespace {

struct Written {
  std::uint64_t events = 0;
  std::uint64_t snapshot_seq = 0;  // 0 = none
};

// The killed run. With `snapshots`, one every RunLoopOptions::snapshot_every_events events, as
// the run loop writes them.
Written WriteKilledRun(const std::filesystem::path& root, std::uint32_t requests, bool snapshots) {
  std::unique_ptr<store::EventLog> log = CreateBenchRun(root, "resume-bench");
  replay::Projections projections;
  SyntheticRunWriter writer(*log, projections);
  Written written;
  std::uint64_t snapshot_at = 0;
  const auto maybe_snapshot = [&] {
    if (!snapshots ||
        log->last_seq() - snapshot_at < orchestrator::RunLoopOptions{}.snapshot_every_events) {
      return;
    }
    writer.Snapshot();
    snapshot_at = written.snapshot_seq = log->last_seq();
  };
  // A body of 160 bytes per request, like a short chat request.
  writer.StartWithRequests(requests, 160);
  maybe_snapshot();
  const std::uint32_t ended_requests = requests / 10 * 7;
  std::vector<std::uint32_t> failed;
  std::uint32_t batch = 0;
  for (std::uint32_t begin = 0; begin < requests; begin += kSyntheticBatchRequests, ++batch) {
    std::vector<std::uint32_t> members;
    for (std::uint32_t i = begin; i < std::min(requests, begin + kSyntheticBatchRequests); ++i) {
      members.push_back(i);
    }
    const bool in_flight = begin >= ended_requests;
    writer.Batch("bench:stage_1:a1:b" + std::to_string(batch), members, 1, true, in_flight, failed);
    maybe_snapshot();
  }
  events::v1::RetryScheduled* retry = writer.Add().mutable_retry_scheduled();
  retry->set_workflow("bench");
  retry->set_stage("stage_1");
  for (const std::uint32_t member : failed) retry->add_custom_ids(SyntheticId(member));
  retry->set_attempt(2);
  retry->set_delay_s(30);
  retry->set_jitter_factor(1);
  writer.Flush();
  written.events = log->last_seq();
  return written;
}

// The facts of a killed run written by an earlier invocation (BATCHLOG_BENCH_STORE).
Written ReadWritten(const std::filesystem::path& root) {
  auto store = store::Store::Open(root, false);
  if (!store.ok()) SyntheticRunWriter::Die(store.status());
  auto log = store->OpenRun("resume-bench", store::OpenMode::kReadOnly);
  if (!log.ok()) SyntheticRunWriter::Die(log.status());
  Written written;
  written.events = (*log)->last_seq();
  auto snapshot = (*log)->LatestSnapshot(written.events);
  if (!snapshot.ok()) SyntheticRunWriter::Die(snapshot.status());
  if (snapshot->has_value()) written.snapshot_seq = (*snapshot)->seq;
  return written;
}

struct Timing {
  double open_s = 0;
  double replay_s = 0;
  double decide_s = 0;
  std::size_t commands = 0;
  double snapshot_read_s = 0;
  double snapshot_decode_s = 0;
  double snapshot_encode_s = 0;  // writing the resumed projections as a snapshot again
  std::size_t snapshot_bytes = 0;
  // CPU time of the resuming thread for open + replay + decide (the parts measured again
  // after them are taken out, assuming they are all CPU).
  double cpu_s = 0;
};

// Resumes per configuration (BATCHLOG_BENCH_REPEAT, default 5): this VM's wall times vary
// by up to 2x from run to run, so the table gives the median and the best.
int ResumeRepeat() {
  const char* value = std::getenv("BATCHLOG_BENCH_REPEAT");
  const int repeat = value == nullptr ? 5 : std::atoi(value);
  return std::max(1, repeat);
}

// A figure's median and best (lowest) over the repetitions.
struct Spread {
  double median = 0;
  double best = 0;
};

template <typename Figure>
Spread SpreadOf(const std::vector<Timing>& timings, Figure figure) {
  std::vector<double> values;
  for (const Timing& t : timings) values.push_back(figure(t));
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.front()};
}

Timing Resume(const std::filesystem::path& root, std::uint32_t requests) {
  Timing timing;
  const double cpu_start = ThreadCpuSeconds();
  std::optional<store::Store> store;
  std::unique_ptr<store::EventLog> log;
  timing.open_s = SecondsOf([&] {
    auto opened = store::Store::Open(root, false);
    if (!opened.ok()) SyntheticRunWriter::Die(opened.status());
    store.emplace(std::move(opened).value());
    auto run = store->OpenRun("resume-bench", store::OpenMode::kReadWrite);
    if (!run.ok()) SyntheticRunWriter::Die(run.status());
    log = std::move(run).value();
  });
  replay::Projections projections;
  timing.replay_s = SecondsOf([&] {
    auto replayed = orchestrator::ReplayLog(*log);
    if (!replayed.ok()) SyntheticRunWriter::Die(replayed.status());
    projections = std::move(replayed).value();
  });
  // The parts of that replay, measured again on their own (warm): reading the latest
  // snapshot, decoding it, and folding the tail after it.
  std::optional<store::Snapshot> snapshot;
  timing.snapshot_read_s = SecondsOf([&] {
    auto latest = log->LatestSnapshot(log->last_seq());
    if (!latest.ok()) SyntheticRunWriter::Die(latest.status());
    snapshot = std::move(latest).value();
  });
  if (snapshot.has_value()) {
    timing.snapshot_bytes = snapshot->bytes.size();
    timing.snapshot_decode_s = SecondsOf([&] {
      auto decoded = replay::DecodeSnapshot(snapshot->bytes);
      if (!decoded.ok()) SyntheticRunWriter::Die(decoded.status());
    });
    // What the run loop pays for every snapshot it writes of a state this size.
    timing.snapshot_encode_s = SecondsOf([&] {
      const std::string encoded = replay::EncodeSnapshot(projections);
      if (encoded.empty()) SyntheticRunWriter::Die(base::InternalError("empty snapshot"));
    });
  }
  orchestrator::StagePolicy policy;
  policy.workflow = "bench";
  policy.stage = "stage_1";
  policy.provider = "openai";
  policy.expected_requests = requests;
  const std::vector<orchestrator::StagePolicy> policies = {policy};
  const orchestrator::SessionFacts session;
  timing.decide_s = SecondsOf([&] {
    const orchestrator::Decision decision = orchestrator::Decide(
        {projections.run_state,
         policies,
         session,
         1'900'000'000'000'000,
         {projections.stage_inputs.body_bytes.data(), projections.stage_inputs.body_bytes.size()}});
    timing.commands = decision.commands.size();
  });
  timing.cpu_s = ThreadCpuSeconds() - cpu_start - timing.snapshot_read_s -
                 timing.snapshot_decode_s - timing.snapshot_encode_s;
  return timing;
}

// The fields of a Timing as one line of text, between a `--resume-once` child and its parent.
std::string TimingLine(const Timing& t) {
  char line[256];
  std::snprintf(line, sizeof(line), "%.9f %.9f %.9f %zu %.9f %.9f %zu %.9f %.9f\n", t.open_s,
                t.replay_s, t.decide_s, t.commands, t.snapshot_read_s, t.snapshot_decode_s,
                t.snapshot_bytes, t.cpu_s, t.snapshot_encode_s);
  return line;
}

// Resume() in a new process (this binary, `--resume-once DIR`), as `batchlog resume` is one:
// all of its memory is fresh (page faults), none reused from an earlier resume.
Timing ResumeInNewProcess(const std::filesystem::path& root) {
  static const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string command = "'" + self.string() + "' --resume-once '" + root.string() + "'";
  std::FILE* child = ::popen(command.c_str(), "r");
  if (child == nullptr) SyntheticRunWriter::Die(base::InternalError("cannot start " + command));
  Timing t;
  const int fields =
      std::fscanf(child, "%lf %lf %lf %zu %lf %lf %zu %lf %lf", &t.open_s, &t.replay_s,
                  &t.decide_s, &t.commands, &t.snapshot_read_s, &t.snapshot_decode_s,
                  &t.snapshot_bytes, &t.cpu_s, &t.snapshot_encode_s);
  if (::pclose(child) != 0 || fields != 9) {
    SyntheticRunWriter::Die(base::InternalError("the resuming process failed: " + command));
  }
  return t;
}

}  // namespace
}  // namespace batchlog::bench

int main(int argc, char** argv) {
  using namespace batchlog;
  using namespace batchlog::bench;
  const std::uint32_t requests = BenchRequests();
  if (argc == 3 && std::string(argv[1]) == "--resume-once") {
    std::fputs(TimingLine(Resume(argv[2], requests)).c_str(), stdout);
    return 0;
  }
  testing::TempDir dir("batchlog-resume-bench");
  const char* kept_store = std::getenv("BATCHLOG_BENCH_STORE");
  const char* fresh_env = std::getenv("BATCHLOG_BENCH_FRESH_PROCESS");
  const bool fresh_process = fresh_env != nullptr && std::string(fresh_env) == "1";
  const char* snapshots_only = std::getenv("BATCHLOG_BENCH_SNAPSHOTS_ONLY");
  std::printf(
      "| %u requests, killed mid-stage | events | open s | replay s | first decide s "
      "| to first decision s |\n",
      requests);
  std::printf("| --- | --- | --- | --- | --- | --- |\n");
  std::string parts;
  const int repeat = ResumeRepeat();
  for (const bool snapshots : {true, false}) {
    if (!snapshots && snapshots_only != nullptr && std::string(snapshots_only) == "1") break;
    const std::filesystem::path root = (kept_store != nullptr ? std::filesystem::path(kept_store)
                                                              : dir.path()) /
                                       (snapshots ? "with" : "without");
    const Written written = kept_store != nullptr && std::filesystem::exists(root)
                                ? ReadWritten(root)
                                : WriteKilledRun(root, requests, snapshots);
    // Every repetition resumes a fresh copy of the killed store (a reopen changes the store:
    // recovery writes a new MANIFEST and WAL), copied before its clock starts.
    std::vector<Timing> timings;
    for (int i = 0; i < repeat; ++i) {
      const std::filesystem::path copy = dir.path() / "resumed";
      std::filesystem::remove_all(copy);
      std::filesystem::copy(root, copy, std::filesystem::copy_options::recursive);
      ::sync();  // the copy's writeback must not run during the timed resume
      timings.push_back(fresh_process ? ResumeInNewProcess(copy) : Resume(copy, requests));
    }
    const auto spread = [&](auto figure) { return SpreadOf(timings, figure); };
    const Spread open = spread([](const Timing& t) { return t.open_s; });
    const Spread replay = spread([](const Timing& t) { return t.replay_s; });
    const Spread decide = spread([](const Timing& t) { return t.decide_s; });
    const Spread total = spread([](const Timing& t) { return t.open_s + t.replay_s + t.decide_s; });
    const std::string label =
        snapshots ? "with snapshots (latest at seq " + std::to_string(written.snapshot_seq) + ")"
                  : std::string("without snapshots");
    std::printf("| %s | %llu | %.3f | %.3f | %.3f (%zu commands) | %.3f (best %.3f) |\n",
                label.c_str(), static_cast<unsigned long long>(written.events), open.median,
                replay.median, decide.median, timings.front().commands, total.median, total.best);
    if (timings.front().snapshot_bytes > 0) {
      const Spread read = spread([](const Timing& t) { return t.snapshot_read_s; });
      const Spread decode = spread([](const Timing& t) { return t.snapshot_decode_s; });
      const Spread cpu = spread([](const Timing& t) { return t.cpu_s; });
      const Spread encode = spread([](const Timing& t) { return t.snapshot_encode_s; });
      const Spread tail = spread(
          [](const Timing& t) { return t.replay_s - t.snapshot_read_s - t.snapshot_decode_s; });
      char line[768];
      std::snprintf(line, sizeof(line),
                    "replay with snapshots, in parts (median; best): reading the %zu MiB "
                    "snapshot %.3f s (%.3f), decoding it %.3f s (%.3f), the rest (tail) "
                    "%.3f s (%.3f); the resuming thread's CPU %.3f s (%.3f)\n"
                    "writing such a snapshot (EncodeSnapshot, as the run loop does every "
                    "%llu events): %.3f s (%.3f)\n",
                    timings.front().snapshot_bytes / 1024 / 1024, read.median, read.best,
                    decode.median, decode.best, tail.median, tail.best, cpu.median, cpu.best,
                    static_cast<unsigned long long>(
                        orchestrator::RunLoopOptions{}.snapshot_every_events),
                    encode.median, encode.best);
      parts = line;
    }
  }
  std::printf("\n%s", parts.c_str());

  // The dataset a resume re-reads (one JSON object per line, as in examples/).
  const std::filesystem::path dataset = dir.path() / "data.jsonl";
  {
    std::ofstream out(dataset);
    for (std::uint32_t i = 0; i < requests; ++i) {
      out << R"({"id": ")" << SyntheticId(i) << R"(", "problem": "What is )" << i << R"( plus )"
          << i << R"(?"})" << '\n';
    }
  }
  std::size_t samples = 0;
  const double read_s = SecondsOf([&] {
    auto read = workflow::ReadDataset(dataset, "id");
    if (!read.ok()) SyntheticRunWriter::Die(read.status());
    samples = read->size();
  });
  std::printf("reading the %zu-sample dataset: %.3f s\n", samples, read_s);
  return 0;
}
