// EventCorpus: the events every log benchmark writes and reads, generated once per process
// so that the RocksDB log and the SQLite baseline are fed identical bytes.
//
// The events are a prefix of one valid random run from tests/support's generator (lean
// events, no blobs), with seq = 1..N and run_id set as the store would set them, so a
// prefix folds through the replayer without error.
//
// Benchmark code only. Thread-safety: SharedCorpus() builds on first call (not
// thread-safe against a concurrent first call); the corpus is immutable afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "src/store/event_log.h"

namespace batchlog::bench {

inline constexpr char kBenchRunId[] = "bench-run";
// The corpus size: 1M events, as the acceptance asks. Overridden by the
// environment variable BATCHLOG_BENCH_EVENTS (e.g. for a small callgrind run).
inline constexpr std::size_t kDefaultLogEvents = 1'000'000;

struct EventCorpus {
  std::vector<events::v1::Event> events;
  // Mean serialized size of an event, envelope included.
  double mean_encoded_bytes = 0;
  std::uint64_t seed = 0;
};

// The number of events in the corpus (kDefaultLogEvents unless overridden).
std::size_t LogEventCount();

// The process-wide corpus, generated on first use.
const EventCorpus& SharedCorpus();
// The process-wide corpus if it was generated, else nullptr.
const EventCorpus* BuiltCorpus();

// Copies `events` into steps of `group_size` events each (the last may be shorter), every
// step Durability::kSynced: one group-committed WriteBatch or transaction per step.
std::vector<store::StepBatch> MakeSteps(const std::vector<events::v1::Event>& events,
                                        std::size_t group_size);

// A small intent event, as the executor appends before a provider call: a BatchPlanned
// for a retry batch of a few requests. `n` varies the batch key.
events::v1::Event MakeIntentEvent(std::uint64_t n);

}  // namespace batchlog::bench
