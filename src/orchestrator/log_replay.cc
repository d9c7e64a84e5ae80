#include "src/orchestrator/log_replay.h"

#include <memory>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "replay/replayer.h"
#include "replay/snapshot_codec.h"

namespace batchlog::orchestrator {
namespace {

// Adapts the store's reader to the replayer's pull interface; store and replay know
// nothing of each other (docs/architecture.md), so the orchestrator joins them.
class LogEventSource final : public replay::EventSource {
 public:
  explicit LogEventSource(std::unique_ptr<store::EventLogReader> reader)
      : reader_(std::move(reader)) {}
  const events::v1::Event* Next() override { return reader_->Next() ? &reader_->event() : nullptr; }
  base::Status status() const override { return reader_->status(); }

 private:
  std::unique_ptr<store::EventLogReader> reader_;
};

}  // namespace

base::Result<replay::Projections> ReplayLog(const store::EventLog& log, std::uint64_t as_of_seq,
                                            std::uint64_t* from_snapshot_seq) {
  const std::uint64_t last = log.last_seq();
  if (as_of_seq == kLatestSeq) as_of_seq = last;
  if (as_of_seq > last) {
    return base::NotFoundError("run '" + log.run_id() + "' has no seq " +
                               std::to_string(as_of_seq) + " (its last seq is " +
                               std::to_string(last) + ")");
  }
  replay::Projections projections;
  // A snapshot is a cache of the fold: one that cannot be read or decoded (damage) is
  // reported, then the log, which is the truth, is folded from its start instead.
  auto snapshot = log.LatestSnapshot(as_of_seq);
  if (!snapshot.ok()) {
    spdlog::warn("run '{}': the latest snapshot cannot be read ({}); folding the log from its "
                 "start instead (`batchlog verify {}` reports the damage)",
                 log.run_id(), snapshot.status().message(), log.run_id());
    snapshot = std::optional<store::Snapshot>();
  }
  // A snapshot written by a batchlog with another snapshot format is a cache this build
  // cannot use, not damage: fold the log from its start instead.
  if (snapshot->has_value() &&
      replay::SnapshotVersion((*snapshot)->bytes).value_or(replay::kSnapshotVersion) !=
          replay::kSnapshotVersion) {
    snapshot->reset();
  }
  if (snapshot->has_value()) {
    auto decoded = replay::DecodeSnapshot((*snapshot)->bytes);
    if (decoded.ok()) {
      projections = std::move(decoded).value();
    } else {
      spdlog::warn("run '{}': the snapshot at seq {} cannot be decoded ({}); folding the log "
                   "from its start instead (`batchlog verify {}` reports the damage)",
                   log.run_id(), (*snapshot)->seq, decoded.status().message(), log.run_id());
    }
  }
  if (from_snapshot_seq != nullptr) *from_snapshot_seq = projections.last_seq;
  store::ReadOptions options;
  options.from_seq = projections.last_seq + 1;
  options.to_seq = as_of_seq;
  LogEventSource source(log.NewReader(options));
  replay::Replayer replayer(projections);
  BATCHLOG_RETURN_IF_ERROR(replayer.Fold(source));
  return projections;
}

}  // namespace batchlog::orchestrator
