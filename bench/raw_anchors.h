// Raw library anchors: RocksDB and SQLite with no batchlog code at all — 1M 150-byte values
// under 8-byte big-endian keys, appended in synced batches and scanned — the workloads the
// design's targets were derived from ("Raw library figures measured here"). Measured on the
// same machine in the same run, they show how much of the library's speed the log keeps,
// independently of how fast the machine is.
//
// Benchmark code only. RegisterRawAnchorBenchmarks() must be called before
// benchmark::RunSpecifiedBenchmarks(); the benchmarks record into GlobalSummary() under
// the keys "raw_append/1000", "raw_append/10000", "raw_scan" and "raw_put/p50".
#pragma once

namespace batchlog::bench {

void RegisterRawAnchorBenchmarks();

}  // namespace batchlog::bench
