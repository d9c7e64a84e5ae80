// The engine benchmark's floor: the finished run's own log (every event and every payload,
// byte for byte) written again by RocksDB alone, with no batchlog code — the same keys and
// values, one synced WriteBatch per `events_per_step` events with their payloads, as the
// executor groups them, into a fresh database with RocksDB's default options. Its CPU per
// request per stage is what any engine that records this run in this RocksDB package pays
// before doing anything else. With kAscendingArrays the events and payloads memtables are
// the log's own (src/store/ascending_key_memtable.h): the floor of this engine's writes,
// not of any engine's.
//
// Benchmark code only (reads RocksDB directly, as bench/raw_anchors does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace batchlog::bench {

enum class RewriteMemTables : std::uint8_t {
  kSkipList,         // RocksDB's default memtable
  kAscendingArrays,  // the log's memtables for events and payloads
};

struct RawRewrite {
  std::uint64_t events = 0;
  std::uint64_t payloads = 0;
  std::uint64_t bytes = 0;  // keys and values written
  std::uint64_t steps = 0;
  double cpu_s = 0;  // the writing thread's CPU, reading the source excluded
  std::string error;  // empty when the rewrite ran
};

// `run_log_dir`: the finished run's RocksDB directory (store/runs/<run_id>/log), opened read
// only; `scratch_dir`: where the fresh database is written (removed afterwards).
RawRewrite RewriteRunWithRawRocksDb(const std::filesystem::path& run_log_dir,
                                    const std::filesystem::path& scratch_dir,
                                    std::uint64_t events_per_step,
                                    RewriteMemTables memtables);

}  // namespace batchlog::bench
