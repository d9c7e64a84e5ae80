#include "bench/bench_summary.h"

#include <utility>

#include "src/base/check.h"

namespace batchlog::bench {
namespace {

std::string FormatValue(std::optional<double> value, std::string_view unit) {
  if (!value) return "-";
  char text[64];
  if (unit == "events/s") {
    std::snprintf(text, sizeof text, "%.2fM", *value / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.0f", *value);
  }
  return text;
}

// Speed ratio: > 1 means the RocksDB log is faster, whichever way the unit points.
std::string FormatRatio(const SummaryRow& row) {
  if (!row.rocksdb || !row.sqlite || *row.rocksdb <= 0 || *row.sqlite <= 0) return "-";
  const double ratio =
      row.better == Better::kHigher ? *row.rocksdb / *row.sqlite : *row.sqlite / *row.rocksdb;
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", ratio);
  return text;
}

std::string FormatTarget(const SummaryRow& row) {
  if (!row.target) return "-";
  const char* relation = row.better == Better::kHigher ? ">=" : "<=";
  std::string text = std::string(relation) + " " + FormatValue(row.target, row.unit);
  if (!row.rocksdb) return text;
  const bool met =
      row.better == Better::kHigher ? *row.rocksdb >= *row.target : *row.rocksdb <= *row.target;
  return text + (met ? " (met)" : " (MISSED)");
}

}  // namespace

void BenchSummary::AddRow(std::string key, std::string title, std::string unit, Better better,
                          std::optional<double> target) {
  rows_.push_back(SummaryRow{std::move(key), std::move(title), std::move(unit), better, target,
                             std::nullopt, std::nullopt});
}

void BenchSummary::Record(std::string_view key, Engine engine, double value) {
  for (SummaryRow& row : rows_) {
    if (row.key != key) continue;
    (engine == Engine::kRocksDb ? row.rocksdb : row.sqlite) = value;
    return;
  }
  BATCHLOG_CHECK(false && "BenchSummary::Record: undeclared row");
}

void BenchSummary::AddNote(std::string note) { notes_.push_back(std::move(note)); }

void BenchSummary::Print(std::FILE* out) const {
  std::fprintf(out, "\nSummary (speed ratio > 1: the RocksDB log is faster than SQLite-WAL)\n\n");
  std::fprintf(out, "| workload | unit | RocksDB log | SQLite-WAL | speed ratio | target |\n");
  std::fprintf(out, "| --- | --- | ---: | ---: | ---: | --- |\n");
  for (const SummaryRow& row : rows_) {
    std::fprintf(out, "| %s | %s | %s | %s | %s | %s |\n", row.title.c_str(), row.unit.c_str(),
                 FormatValue(row.rocksdb, row.unit).c_str(),
                 FormatValue(row.sqlite, row.unit).c_str(), FormatRatio(row).c_str(),
                 FormatTarget(row).c_str());
  }
  std::fprintf(out, "\n");
  for (const std::string& note : notes_) std::fprintf(out, "%s\n", note.c_str());
  std::fflush(out);
}

BenchSummary& GlobalSummary() {
  static BenchSummary summary;
  return summary;
}

}  // namespace batchlog::bench
