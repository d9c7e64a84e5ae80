// BenchSummary: the side-by-side table printed after all benchmarks ran — each workload's
// RocksDB-log figure, the SQLite-WAL baseline doing the same work, their speed ratio and
// the design's target (shared design, "Performance targets"). Printed as a Markdown table
// so it can be pasted into bench/README.md as measured.
//
// Benchmarks Record() their figure under a row key declared beforehand with AddRow();
// rows whose benchmarks were filtered out print "-".
//
// Benchmark code only. Not thread-safe (benchmarks here run on one thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace batchlog::bench {

enum class Engine : std::uint8_t { kRocksDb, kSqlite };

// Whether a larger figure is better (throughput) or a smaller one (latency).
enum class Better : std::uint8_t { kHigher, kLower };

struct SummaryRow {
  std::string key;
  std::string title;
  std::string unit;
  Better better = Better::kHigher;
  // The design's target for the RocksDB log, if it has one.
  std::optional<double> target;
  std::optional<double> rocksdb;
  std::optional<double> sqlite;
};

class BenchSummary {
 public:
  void AddRow(std::string key, std::string title, std::string unit, Better better,
              std::optional<double> target);
  // Records a figure for a declared row; an unknown key is a programming error.
  void Record(std::string_view key, Engine engine, double value);
  // A line printed under the table (machine, corpus facts).
  void AddNote(std::string note);

  void Print(std::FILE* out) const;

 private:
  std::vector<SummaryRow> rows_;
  std::vector<std::string> notes_;
};

// The process-wide summary the benchmarks record into.
BenchSummary& GlobalSummary();

}  // namespace batchlog::bench
