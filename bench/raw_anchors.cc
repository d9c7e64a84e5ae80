#include "bench/raw_anchors.h"

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_summary.h"
#include "tests/support/temp_dir.h"

namespace batchlog::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kRawRows = 1'000'000;
constexpr std::size_t kRawValueBytes = 150;
constexpr int kRawScanPasses = 3;
constexpr int kRawPutWarmup = 200;
constexpr int kRawPuts = 3'000;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string BigEndianKey(std::uint64_t n) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[static_cast<std::size_t>(i)] = static_cast<char>(n & 0xFF);
    n >>= 8;
  }
  return key;
}

// Values vary a little from row to row (a counter in the first bytes) over a fixed
// text-like body, about as compressible as encoded events are.
std::string RawValue(std::uint64_t n) {
  std::string value(kRawValueBytes, ' ');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 7) % 26);
  const std::string counter = std::to_string(n);
  std::copy(counter.begin(), counter.end(), value.begin());
  return value;
}

struct RawRocksDb {
  testing::TempDir dir{"batchlog-bench-raw"};
  std::unique_ptr<rocksdb::DB> db;
};

// RocksDB with its default options, as a user of the library would start.
std::unique_ptr<RawRocksDb> OpenRawRocksDb(benchmark::State& state) {
  auto raw = std::make_unique<RawRocksDb>();
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status = rocksdb::DB::Open(options, (raw->dir / "db").string(), &db);
  if (!status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return nullptr;
  }
  raw->db.reset(db);
  return raw;
}

struct RawSqlite {
  testing::TempDir dir{"batchlog-bench-raw"};
  sqlite3* db = nullptr;
  ~RawSqlite() { sqlite3_close(db); }
};

std::unique_ptr<RawSqlite> OpenRawSqlite(benchmark::State& state) {
  auto raw = std::make_unique<RawSqlite>();
  if (sqlite3_open((raw->dir / "raw.db").c_str(), &raw->db) != SQLITE_OK ||
      sqlite3_exec(raw->db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                   "CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    state.SkipWithError(sqlite3_errmsg(raw->db));
    return nullptr;
  }
  return raw;
}

bool RocksDbAppendAll(RawRocksDb& raw, int group_size, const std::vector<std::string>& values) {
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  for (int first = 0; first < kRawRows; first += group_size) {
    rocksdb::WriteBatch batch;
    for (int row = first; row < std::min(kRawRows, first + group_size); ++row) {
      if (!batch.Put(BigEndianKey(static_cast<std::uint64_t>(row)), values[row]).ok()) {
        return false;
      }
    }
    if (!raw.db->Write(write_options, &batch).ok()) return false;
  }
  return true;
}

bool SqliteAppendAll(RawSqlite& raw, int group_size, const std::vector<std::string>& values) {
  sqlite3_stmt* insert = nullptr;
  if (sqlite3_prepare_v2(raw.db, "INSERT INTO t(k, v) VALUES(?1, ?2)", -1, &insert, nullptr) !=
      SQLITE_OK) {
    return false;
  }
  bool ok = true;
  for (int first = 0; ok && first < kRawRows; first += group_size) {
    ok = sqlite3_exec(raw.db, "BEGIN", nullptr, nullptr, nullptr) == SQLITE_OK;
    for (int row = first; ok && row < std::min(kRawRows, first + group_size); ++row) {
      sqlite3_bind_int64(insert, 1, row);
      sqlite3_bind_blob(insert, 2, values[row].data(), static_cast<int>(values[row].size()),
                        SQLITE_STATIC);
      ok = sqlite3_step(insert) == SQLITE_DONE;
      sqlite3_reset(insert);
    }
    ok = ok && sqlite3_exec(raw.db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  sqlite3_finalize(insert);
  return ok;
}

std::vector<std::string> RawValues() {
  std::vector<std::string> values;
  values.reserve(kRawRows);
  for (int row = 0; row < kRawRows; ++row)
    values.push_back(RawValue(static_cast<std::uint64_t>(row)));
  return values;
}

void BM_RawAppend(benchmark::State& state, Engine engine) {
  const int group_size = static_cast<int>(state.range(0));
  const std::vector<std::string> values = RawValues();
  std::unique_ptr<RawRocksDb> rocks;
  std::unique_ptr<RawSqlite> lite;
  if (engine == Engine::kRocksDb) {
    rocks = OpenRawRocksDb(state);
    if (rocks == nullptr) return;
  } else {
    lite = OpenRawSqlite(state);
    if (lite == nullptr) return;
  }
  double seconds = 0;
  for (auto _ : state) {
    const SteadyClock::time_point start = SteadyClock::now();
    const bool ok = engine == Engine::kRocksDb ? RocksDbAppendAll(*rocks, group_size, values)
                                               : SqliteAppendAll(*lite, group_size, values);
    seconds = SecondsSince(start);
    if (!ok) return state.SkipWithError("raw append failed");
    state.SetIterationTime(seconds);
  }
  const double rows_per_s = kRawRows / seconds;
  state.counters["rows_per_s"] = rows_per_s;
  GlobalSummary().Record("raw_append/" + std::to_string(group_size), engine, rows_per_s);
}

std::uint64_t RocksDbScan(rocksdb::DB& db) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> iterator(db.NewIterator(read_options));
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  for (iterator->SeekToFirst(); iterator->Valid(); iterator->Next()) {
    ++rows;
    bytes += iterator->value().size();
  }
  benchmark::DoNotOptimize(bytes);
  return iterator->status().ok() ? rows : 0;
}

std::uint64_t SqliteScan(sqlite3* db) {
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT k, v FROM t ORDER BY k", -1, &select, nullptr) != SQLITE_OK) {
    return 0;
  }
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  while (sqlite3_step(select) == SQLITE_ROW) {
    ++rows;
    bytes += static_cast<std::uint64_t>(sqlite3_column_int64(select, 0));
    bytes += static_cast<std::uint64_t>(sqlite3_column_bytes(select, 1));
    benchmark::DoNotOptimize(sqlite3_column_blob(select, 1));
  }
  benchmark::DoNotOptimize(bytes);
  sqlite3_finalize(select);
  return rows;
}

// A raw scan of 1M rows written in batches of 10,000, after one warm-up pass; RocksDB's
// memtable is flushed first, as a reopened log would be.
void BM_RawScan(benchmark::State& state, Engine engine) {
  const std::vector<std::string> values = RawValues();
  std::unique_ptr<RawRocksDb> rocks;
  std::unique_ptr<RawSqlite> lite;
  bool ok = false;
  if (engine == Engine::kRocksDb) {
    rocks = OpenRawRocksDb(state);
    if (rocks == nullptr) return;
    ok = RocksDbAppendAll(*rocks, 10'000, values) && rocks->db->Flush(rocksdb::FlushOptions()).ok();
  } else {
    lite = OpenRawSqlite(state);
    if (lite == nullptr) return;
    ok = SqliteAppendAll(*lite, 10'000, values);
  }
  if (!ok) return state.SkipWithError("raw load failed");
  const auto scan = [&]() {
    return engine == Engine::kRocksDb ? RocksDbScan(*rocks->db) : SqliteScan(lite->db);
  };
  scan();
  double seconds = 0;
  std::uint64_t rows = 0;
  for (auto _ : state) {
    const SteadyClock::time_point start = SteadyClock::now();
    const std::uint64_t scanned = scan();
    const double elapsed = SecondsSince(start);
    if (scanned != kRawRows) return state.SkipWithError("raw scan read the wrong row count");
    seconds += elapsed;
    rows += scanned;
    state.SetIterationTime(elapsed);
  }
  const double rows_per_s = static_cast<double>(rows) / seconds;
  state.counters["rows_per_s"] = rows_per_s;
  GlobalSummary().Record("raw_scan", engine, rows_per_s);
}

// One synced put (RocksDB) or one-row transaction (SQLite) of a 150-byte value.
void BM_RawPutLatency(benchmark::State& state, Engine engine) {
  std::unique_ptr<RawRocksDb> rocks;
  std::unique_ptr<RawSqlite> lite;
  sqlite3_stmt* insert = nullptr;
  if (engine == Engine::kRocksDb) {
    rocks = OpenRawRocksDb(state);
    if (rocks == nullptr) return;
  } else {
    lite = OpenRawSqlite(state);
    if (lite == nullptr) return;
    sqlite3_prepare_v2(lite->db, "INSERT INTO t(k, v) VALUES(?1, ?2)", -1, &insert, nullptr);
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  std::vector<double> latencies_us;
  latencies_us.reserve(kRawPuts);
  bool ok = true;
  for (auto _ : state) {
    for (int i = 0; ok && i < kRawPutWarmup + kRawPuts; ++i) {
      const std::string value = RawValue(static_cast<std::uint64_t>(i));
      const SteadyClock::time_point start = SteadyClock::now();
      if (engine == Engine::kRocksDb) {
        ok = rocks->db->Put(write_options, BigEndianKey(static_cast<std::uint64_t>(i)), value).ok();
      } else {
        sqlite3_bind_int64(insert, 1, i);
        sqlite3_bind_blob(insert, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
        ok = sqlite3_step(insert) == SQLITE_DONE;
        sqlite3_reset(insert);
      }
      const double elapsed_us = SecondsSince(start) * 1e6;
      if (i >= kRawPutWarmup) latencies_us.push_back(elapsed_us);
    }
    double total_us = 0;
    for (double latency : latencies_us) total_us += latency;
    state.SetIterationTime(total_us / 1e6);
  }
  sqlite3_finalize(insert);
  if (!ok || latencies_us.empty()) return state.SkipWithError("raw put failed");
  std::sort(latencies_us.begin(), latencies_us.end());
  const double p50 = latencies_us[latencies_us.size() / 2];
  state.counters["p50_us"] = p50;
  state.counters["p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
  GlobalSummary().Record("raw_put/p50", engine, p50);
}

}  // namespace

void RegisterRawAnchorBenchmarks() {
  for (Engine engine : {Engine::kRocksDb, Engine::kSqlite}) {
    const std::string suffix = engine == Engine::kRocksDb ? "rocksdb" : "sqlite";
    benchmark::RegisterBenchmark(("raw_append/" + suffix).c_str(), BM_RawAppend, engine)
        ->ArgName("group")
        ->Arg(1'000)
        ->Arg(10'000)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("raw_put_latency/" + suffix).c_str(), BM_RawPutLatency, engine)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("raw_scan/" + suffix).c_str(), BM_RawScan, engine)
        ->Iterations(kRawScanPasses)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace batchlog::bench
