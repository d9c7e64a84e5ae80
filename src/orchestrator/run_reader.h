// RunReader: the read-only view of one run that `status`, `manifest`, `events` (and later
// `history`) are built on. It opens the run's log as a RocksDB secondary, so it works while
// the run's writer is going in another process, and it answers every question by replaying
// the log: from the latest snapshot at or before the asked seq, then the tail (never a
// different answer than a from-scratch replay; tests/replay proves the equivalence).
//
// Ownership: owns its EventLog handle. Not thread-safe; one per command.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "replay/projections.h"
#include "src/base/result.h"
#include "src/base/status.h"
#include "src/orchestrator/log_replay.h"
#include "src/store/event_log.h"
#include "src/store/store.h"

namespace batchlog::orchestrator {

// Lists the runs of the store at `store_root` (a path that is not a store is an error). A
// run whose metadata says running but that no process writes is listed as "stopped".
base::Result<std::vector<store::RunMetadata>> ListRuns(const std::filesystem::path& store_root);

// How a read-only command opens a run: as a RocksDB secondary while another process writes
// it, else read-only. A secondary tolerates table files it cannot find (the primary may have
// compacted them away), so on a run nobody writes it would read a damaged log as a shorter
// one without an error; a read-only open refuses it.
store::OpenMode ReadModeFor(const store::Store& store, std::string_view run_id);

class RunReader {
 public:
  static base::Result<RunReader> Open(const std::filesystem::path& store_root,
                                      std::string_view run_id);

  const std::string& run_id() const;
  std::uint64_t last_seq() const;
  // Whether another process was writing the run when it was opened (see ReadModeFor).
  bool has_writer() const { return has_writer_; }

  // Calls `visit` for each event with from_seq <= seq <= to_seq, in order; stops early when
  // visit returns false. A damaged log stops the visit with kDataLoss naming run and seq.
  base::Status VisitEvents(std::uint64_t from_seq, std::uint64_t to_seq,
                           const std::function<bool(const events::v1::Event&)>& visit) const;

  // The blob (request or response body) of the event at `seq`.
  base::Result<std::string> ReadBlob(std::uint64_t seq) const;

  // The projections as of `as_of_seq` (kLatestSeq = the whole log). Asking for a seq past
  // the end of the log is kNotFound naming the last seq.
  base::Result<replay::Projections> ReplayTo(std::uint64_t as_of_seq) const;

  // The manifest JSON as of `as_of_seq`.
  base::Result<std::string> Manifest(std::uint64_t as_of_seq) const;

 private:
  RunReader(std::unique_ptr<store::EventLog> log, bool has_writer)
      : log_(std::move(log)), has_writer_(has_writer) {}
  std::unique_ptr<store::EventLog> log_;
  bool has_writer_ = false;
};

}  // namespace batchlog::orchestrator
