// batchlog_bench_log: the event log's performance targets (shared design, "Performance
// targets"), each measured on the RocksDB log and on a SQLite-WAL baseline doing the same
// work, with a side-by-side summary printed at the end. bench/README.md explains each
// benchmark and records measured numbers.
//
//   append_group_commit   1M events appended in synced steps of 100 / 1,000 / 10,000
//                         events (Protobuf encoding included), into a fresh log
//   intent_append_latency one small BatchPlanned per synced step; p50 / p99
//   replay                1M events read (fill_cache off, page cache warm), decoded and
//                         folded into all projections on one core
//   scan_decode/scan_raw  the same read without the fold / without decoding, to split
//                         the replay cost into I/O, decoding and folding
//   fold_only             the fold from memory (no I/O, no decoding)
//   raw_*                 the libraries alone, no batchlog code (raw_anchors.h): how much
//                         of their speed the log keeps on this machine
//
// Logs live in fresh directories under $TMPDIR (default /tmp; the same disk as /work
// here) and are removed afterwards.
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "bench/bench_summary.h"
#include "bench/thread_cpu.h"
#include "bench/event_corpus.h"
#include "bench/event_log_event_source.h"
#include "bench/raw_anchors.h"
#include "bench/sqlite_event_log.h"
#include "bench/sqlite_event_source.h"
#include "replay/projections.h"
#include "replay/replayer.h"
#include "src/base/result.h"
#include "src/base/status.h"
#include "src/store/event_log.h"
#include "src/store/store.h"
#include "tests/support/temp_dir.h"

namespace batchlog::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Single-intent latency: appends measured per engine, after a short warm-up.
constexpr int kIntentWarmupAppends = 200;
constexpr int kIntentAppends = 5000;
// Replay runs measured per engine, after one warm-up run that fills the page cache.
constexpr int kReplayIterations = 3;
// Replay logs are written in steps of this many events, the largest group size.
constexpr std::size_t kReplayLogGroupSize = 10'000;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// CPU time of the calling thread: the read benchmarks are single-threaded and CPU-bound,
// so events per CPU-second stays meaningful when other processes share the machine.
const char* EngineName(Engine engine) { return engine == Engine::kRocksDb ? "rocksdb" : "sqlite"; }

std::uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  std::uint64_t bytes = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) bytes += entry.file_size(error);
  }
  return bytes;
}

// One engine's log behind one face, so that each workload is written once for both.
class BenchLog {
 public:
  virtual ~BenchLog() = default;
  virtual base::Result<store::SeqRange> Append(store::StepBatch& step) = 0;
  // Reads every event in seq order, decoding it or only touching its bytes; returns the
  // count, and adds the bytes read to *bytes.
  virtual base::Result<std::uint64_t> Scan(bool decode, std::uint64_t* bytes) = 0;
  // Reads, decodes and folds every event into `projections` through the Replayer.
  virtual base::Status Fold(replay::Projections& projections) = 0;
};

template <typename Reader>
base::Result<std::uint64_t> CountEvents(Reader& reader, bool decode, std::uint64_t* bytes) {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  while (reader.Next()) {
    ++count;
    // Touch what was produced, so the read cannot be optimized away.
    sum += decode ? reader.event().seq() : reader.raw().size();
  }
  if (!reader.status().ok()) return reader.status();
  *bytes += sum;
  return count;
}

class RocksDbBenchLog final : public BenchLog {
 public:
  explicit RocksDbBenchLog(std::unique_ptr<store::EventLog> log) : log_(std::move(log)) {}

  store::EventLog& log() { return *log_; }

  base::Result<store::SeqRange> Append(store::StepBatch& step) override {
    return log_->Append(step);
  }
  base::Result<std::uint64_t> Scan(bool decode, std::uint64_t* bytes) override {
    std::unique_ptr<store::EventLogReader> reader = log_->NewReader(ReplayReadOptions(decode));
    return CountEvents(*reader, decode, bytes);
  }
  base::Status Fold(replay::Projections& projections) override {
    std::unique_ptr<store::EventLogReader> reader = log_->NewReader(ReplayReadOptions(true));
    EventLogEventSource source(*reader);
    replay::Replayer replayer(projections);
    return replayer.Fold(source);
  }

 private:
  static store::ReadOptions ReplayReadOptions(bool decode) {
    store::ReadOptions options;
    options.fill_cache = false;
    options.decode = decode;
    return options;
  }

  std::unique_ptr<store::EventLog> log_;
};

class SqliteBenchLog final : public BenchLog {
 public:
  explicit SqliteBenchLog(std::unique_ptr<SqliteEventLog> log) : log_(std::move(log)) {}

  base::Result<store::SeqRange> Append(store::StepBatch& step) override {
    return log_->Append(step);
  }
  base::Result<std::uint64_t> Scan(bool decode, std::uint64_t* bytes) override {
    BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteEventReader> reader,
                              log_->NewReader(1, decode));
    return CountEvents(*reader, decode, bytes);
  }
  base::Status Fold(replay::Projections& projections) override {
    BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteEventReader> reader, log_->NewReader(1, true));
    SqliteEventSource source(*reader);
    replay::Replayer replayer(projections);
    return replayer.Fold(source);
  }

 private:
  std::unique_ptr<SqliteEventLog> log_;
};

base::Result<std::unique_ptr<store::EventLog>> CreateRocksDbLog(const std::filesystem::path& root) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(root, true));
  store::RunMetadata metadata;
  metadata.run_id = kBenchRunId;
  metadata.run_name = "bench";
  return store.CreateRun(metadata);
}

base::Result<std::unique_ptr<store::EventLog>> OpenRocksDbLogReadOnly(
    const std::filesystem::path& root) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(root, false));
  return store.OpenRun(kBenchRunId, store::OpenMode::kReadOnly);
}

std::filesystem::path SqlitePath(const std::filesystem::path& dir) { return dir / "log.db"; }

// A new, empty log of `engine` under `dir`, open for appending.
base::Result<std::unique_ptr<BenchLog>> CreateBenchLog(Engine engine,
                                                       const std::filesystem::path& dir) {
  if (engine == Engine::kRocksDb) {
    BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<store::EventLog> log,
                              CreateRocksDbLog(dir / "store"));
    return std::unique_ptr<BenchLog>(new RocksDbBenchLog(std::move(log)));
  }
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteEventLog> log,
                            SqliteEventLog::Open(SqlitePath(dir), kBenchRunId));
  return std::unique_ptr<BenchLog>(new SqliteBenchLog(std::move(log)));
}

// A log holding the whole corpus, closed after writing and reopened for reading, as a
// resumed run finds it: the RocksDB log flushed to SST files and opened read-only, the
// SQLite database checkpointed on close.
struct ReplayFixture {
  testing::TempDir dir{"batchlog-bench"};
  std::unique_ptr<BenchLog> log;
};

base::Status FillAndReopen(Engine engine, ReplayFixture& fixture) {
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<BenchLog> writer,
                            CreateBenchLog(engine, fixture.dir.path()));
  std::vector<store::StepBatch> steps = MakeSteps(SharedCorpus().events, kReplayLogGroupSize);
  for (store::StepBatch& step : steps) {
    BATCHLOG_ASSIGN_OR_RETURN(store::SeqRange range, writer->Append(step));
    static_cast<void>(range);
  }
  if (engine == Engine::kRocksDb) {
    BATCHLOG_RETURN_IF_ERROR(static_cast<RocksDbBenchLog&>(*writer).log().Flush());
    writer.reset();
    BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<store::EventLog> log,
                              OpenRocksDbLogReadOnly(fixture.dir.path() / "store"));
    fixture.log.reset(new RocksDbBenchLog(std::move(log)));
    return base::Status::Ok();
  }
  writer.reset();
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<SqliteEventLog> log,
                            SqliteEventLog::Open(SqlitePath(fixture.dir.path()), kBenchRunId));
  fixture.log.reset(new SqliteBenchLog(std::move(log)));
  return base::Status::Ok();
}

std::unique_ptr<ReplayFixture> replay_fixtures[2];

// The engine's replay log, built on first use (outside any timing) and kept until
// ReleaseReplayFixtures(); nullptr with *status set when it cannot be built.
BenchLog* ReplayLog(Engine engine, base::Status* status) {
  std::unique_ptr<ReplayFixture>& fixture = replay_fixtures[static_cast<int>(engine)];
  if (fixture == nullptr) {
    auto made = std::make_unique<ReplayFixture>();
    *status = FillAndReopen(engine, *made);
    if (!status->ok()) return nullptr;
    const double mib = static_cast<double>(DirectoryBytes(made->dir.path())) / (1024.0 * 1024.0);
    GlobalSummary().Record("disk", engine, mib);
    fixture = std::move(made);
  }
  return fixture->log.get();
}

void ReleaseReplayFixtures() {
  for (std::unique_ptr<ReplayFixture>& fixture : replay_fixtures) fixture.reset();
}

void Fail(benchmark::State& state, const base::Status& status) {
  state.SkipWithError(status.ToString().c_str());
}

// --- 1. Durable append throughput with group commit -----------------------------------

void BM_AppendGroupCommit(benchmark::State& state, Engine engine) {
  const auto group_size = static_cast<std::size_t>(state.range(0));
  const EventCorpus& corpus = SharedCorpus();
  testing::TempDir dir("batchlog-bench");
  base::Result<std::unique_ptr<BenchLog>> log = CreateBenchLog(engine, dir.path());
  if (!log.ok()) return Fail(state, log.status());
  // The steps are built from the pre-generated messages before timing: what is timed is
  // Append — envelope, Protobuf encoding, WriteBatch or transaction, and the fsync.
  std::vector<store::StepBatch> steps = MakeSteps(corpus.events, group_size);

  double seconds = 0;
  for (auto _ : state) {
    const SteadyClock::time_point start = SteadyClock::now();
    for (store::StepBatch& step : steps) {
      base::Result<store::SeqRange> range = (*log)->Append(step);
      if (!range.ok()) return Fail(state, range.status());
    }
    seconds = SecondsSince(start);
    state.SetIterationTime(seconds);
  }
  const double events_per_s = static_cast<double>(corpus.events.size()) / seconds;
  state.counters["events_per_s"] = events_per_s;
  state.counters["MB_per_s"] = events_per_s * corpus.mean_encoded_bytes / 1e6;
  GlobalSummary().Record("append/" + std::to_string(group_size), engine, events_per_s);
}

// --- 2. Single synced intent append latency -------------------------------------------

void BM_IntentAppendLatency(benchmark::State& state, Engine engine) {
  testing::TempDir dir("batchlog-bench");
  base::Result<std::unique_ptr<BenchLog>> log = CreateBenchLog(engine, dir.path());
  if (!log.ok()) return Fail(state, log.status());

  std::vector<double> latencies_us;
  latencies_us.reserve(kIntentAppends);
  store::StepBatch step;
  step.durability = store::Durability::kSynced;
  step.events.resize(1);
  for (auto _ : state) {
    for (int i = 0; i < kIntentWarmupAppends + kIntentAppends; ++i) {
      step.events[0].event = MakeIntentEvent(static_cast<std::uint64_t>(i));
      const SteadyClock::time_point start = SteadyClock::now();
      base::Result<store::SeqRange> range = (*log)->Append(step);
      const double elapsed_us = SecondsSince(start) * 1e6;
      if (!range.ok()) return Fail(state, range.status());
      if (i >= kIntentWarmupAppends) latencies_us.push_back(elapsed_us);
    }
    double total_us = 0;
    for (double latency : latencies_us) total_us += latency;
    state.SetIterationTime(total_us / 1e6);
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto percentile = [&latencies_us](double p) {
    const auto index = static_cast<std::size_t>(p * static_cast<double>(latencies_us.size() - 1));
    return latencies_us[index];
  };
  state.counters["p50_us"] = percentile(0.50);
  state.counters["p99_us"] = percentile(0.99);
  state.counters["max_us"] = latencies_us.back();
  GlobalSummary().Record("intent/p50", engine, percentile(0.50));
  GlobalSummary().Record("intent/p99", engine, percentile(0.99));
}

// --- 3 and 4. Warm replay, and its parts ----------------------------------------------

enum class ReadWork : std::uint8_t { kRaw, kDecode, kFold };

const char* ReadWorkKey(ReadWork work) {
  switch (work) {
    case ReadWork::kRaw:
      return "scan_raw";
    case ReadWork::kDecode:
      return "scan_decode";
    case ReadWork::kFold:
      return "replay";
  }
  return "?";
}

// One pass of `work` over the log; on success returns the events processed.
base::Result<std::uint64_t> ReadPass(BenchLog& log, ReadWork work, std::uint64_t* bytes) {
  if (work != ReadWork::kFold) return log.Scan(work == ReadWork::kDecode, bytes);
  auto projections = std::make_unique<replay::Projections>();
  BATCHLOG_RETURN_IF_ERROR(log.Fold(*projections));
  return projections->last_seq;
}

void BM_Read(benchmark::State& state, Engine engine, ReadWork work) {
  base::Status status;
  BenchLog* log = ReplayLog(engine, &status);
  if (log == nullptr) return Fail(state, status);
  const std::uint64_t expected = SharedCorpus().events.size();

  // Warm-up: the page cache now holds the log ("warm" replay).
  std::uint64_t bytes = 0;
  base::Result<std::uint64_t> warm = ReadPass(*log, work, &bytes);
  if (!warm.ok()) return Fail(state, warm.status());

  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t events = 0;
  for (auto _ : state) {
    // Projections are built and freed inside the timed pass; freeing 1M requests' state
    // is part of a resume that replays and exits, and is small next to the fold.
    const SteadyClock::time_point start = SteadyClock::now();
    const double cpu_start = ThreadCpuSeconds();
    base::Result<std::uint64_t> count = ReadPass(*log, work, &bytes);
    cpu_seconds += ThreadCpuSeconds() - cpu_start;
    const double elapsed = SecondsSince(start);
    if (!count.ok()) return Fail(state, count.status());
    if (*count != expected) {
      return Fail(state, base::InternalError("read " + std::to_string(*count) +
                                             " events, expected " + std::to_string(expected)));
    }
    seconds += elapsed;
    events += *count;
    state.SetIterationTime(elapsed);
  }
  benchmark::DoNotOptimize(bytes);
  const double events_per_s = static_cast<double>(events) / seconds;
  state.counters["events_per_s"] = events_per_s;
  const double events_per_cpu_s = static_cast<double>(events) / cpu_seconds;
  state.counters["events_per_cpu_s"] = events_per_cpu_s;
  GlobalSummary().Record(ReadWorkKey(work), engine, events_per_s);
  if (work == ReadWork::kFold) GlobalSummary().Record("replay_cpu", engine, events_per_cpu_s);
}

// The fold alone: the corpus handed to the Replayer from memory, no I/O, no decoding.
void BM_FoldOnly(benchmark::State& state) {
  const EventCorpus& corpus = SharedCorpus();
  {
    replay::Projections warm;
    replay::Replayer replayer(warm);
    replay::VectorEventSource source(corpus.events);
    base::Status status = replayer.Fold(source);
    if (!status.ok()) return Fail(state, status);
  }
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t events = 0;
  for (auto _ : state) {
    const SteadyClock::time_point start = SteadyClock::now();
    const double cpu_start = ThreadCpuSeconds();
    auto projections = std::make_unique<replay::Projections>();
    replay::Replayer replayer(*projections);
    replay::VectorEventSource source(corpus.events);
    base::Status status = replayer.Fold(source);
    const std::uint64_t last_seq = projections->last_seq;
    projections.reset();
    cpu_seconds += ThreadCpuSeconds() - cpu_start;
    const double elapsed = SecondsSince(start);
    if (!status.ok()) return Fail(state, status);
    seconds += elapsed;
    events += last_seq;
    state.SetIterationTime(elapsed);
  }
  const double events_per_s = static_cast<double>(events) / seconds;
  state.counters["events_per_s"] = events_per_s;
  state.counters["events_per_cpu_s"] = static_cast<double>(events) / cpu_seconds;
  GlobalSummary().Record("fold_only", Engine::kRocksDb, events_per_s);
}

// --- Registration and the summary -----------------------------------------------------

void RegisterBenchmarks() {
  for (Engine engine : {Engine::kRocksDb, Engine::kSqlite}) {
    const std::string name = std::string("append_group_commit/") + EngineName(engine);
    benchmark::RegisterBenchmark(name.c_str(), BM_AppendGroupCommit, engine)
        ->ArgName("group")
        ->Arg(100)
        ->Arg(1'000)
        ->Arg(10'000)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (Engine engine : {Engine::kRocksDb, Engine::kSqlite}) {
    const std::string name = std::string("intent_append_latency/") + EngineName(engine);
    benchmark::RegisterBenchmark(name.c_str(), BM_IntentAppendLatency, engine)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (ReadWork work : {ReadWork::kFold, ReadWork::kDecode, ReadWork::kRaw}) {
    for (Engine engine : {Engine::kRocksDb, Engine::kSqlite}) {
      const std::string name = std::string(ReadWorkKey(work)) + "/" + EngineName(engine);
      benchmark::RegisterBenchmark(name.c_str(), BM_Read, engine, work)
          ->Iterations(kReplayIterations)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::RegisterBenchmark("fold_only/memory", BM_FoldOnly)
      ->Iterations(kReplayIterations)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  RegisterRawAnchorBenchmarks();
}

void DeclareSummaryRows() {
  BenchSummary& summary = GlobalSummary();
  const double kAppendTarget = 600'000;
  summary.AddRow("append/100", "durable append, 100 events per synced step", "events/s",
                 Better::kHigher, std::nullopt);
  summary.AddRow("append/1000", "durable append, 1,000 events per synced step", "events/s",
                 Better::kHigher, kAppendTarget);
  summary.AddRow("append/10000", "durable append, 10,000 events per synced step", "events/s",
                 Better::kHigher, kAppendTarget);
  summary.AddRow("intent/p50", "single synced intent append, p50", "us", Better::kLower, 200);
  summary.AddRow("intent/p99", "single synced intent append, p99", "us", Better::kLower,
                 std::nullopt);
  summary.AddRow("replay", "warm replay into all projections", "events/s", Better::kHigher,
                 3'000'000);
  summary.AddRow("replay_cpu", "warm replay, per CPU-second of the replaying thread", "events/s",
                 Better::kHigher, std::nullopt);
  summary.AddRow("scan_decode", "warm scan + decode (no fold)", "events/s", Better::kHigher,
                 std::nullopt);
  summary.AddRow("scan_raw", "warm scan, raw bytes (no decode)", "events/s", Better::kHigher,
                 std::nullopt);
  summary.AddRow("fold_only", "fold only, from memory (engine-independent)", "events/s",
                 Better::kHigher, std::nullopt);
  summary.AddRow("disk", "log size on disk after the replay log's writes", "MiB", Better::kLower,
                 std::nullopt);
  summary.AddRow("raw_append/1000", "raw library: 1,000 150-byte rows per synced batch", "events/s",
                 Better::kHigher, std::nullopt);
  summary.AddRow("raw_append/10000", "raw library: 10,000 150-byte rows per synced batch",
                 "events/s", Better::kHigher, std::nullopt);
  summary.AddRow("raw_put/p50", "raw library: one synced 150-byte put, p50", "us", Better::kLower,
                 std::nullopt);
  summary.AddRow("raw_scan", "raw library: warm scan of 1M 150-byte rows", "events/s",
                 Better::kHigher, std::nullopt);
}

void AddNotes() {
  char note[256];
  if (const EventCorpus* corpus = BuiltCorpus(); corpus != nullptr) {
    std::snprintf(note, sizeof note,
                  "corpus: %zu events of one GenerateRun run (seed %llu), mean %.0f bytes "
                  "encoded, no blobs",
                  corpus->events.size(), static_cast<unsigned long long>(corpus->seed),
                  corpus->mean_encoded_bytes);
    GlobalSummary().AddNote(note);
  }
  std::snprintf(note, sizeof note, "machine: %u hardware threads; logs under %s",
                std::thread::hardware_concurrency(),
                std::filesystem::temp_directory_path().c_str());
  GlobalSummary().AddNote(note);
}

}  // namespace
}  // namespace batchlog::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  batchlog::bench::RegisterBenchmarks();
  batchlog::bench::DeclareSummaryRows();
  benchmark::RunSpecifiedBenchmarks();
  batchlog::bench::ReleaseReplayFixtures();
  batchlog::bench::AddNotes();
  batchlog::bench::GlobalSummary().Print(stdout);
  benchmark::Shutdown();
  return 0;
}
