#include "src/orchestrator/run_reader.h"

#include <string>
#include <utility>

#include "replay/manifest_projection.h"
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
  const events::v1::Event* Next() override {
    return reader_->Next() ? &reader_->event() : nullptr;
  }
  base::Status status() const override { return reader_->status(); }

 private:
  std::unique_ptr<store::EventLogReader> reader_;
};

}  // namespace

base::Result<std::vector<store::RunMetadata>> ListRuns(const std::filesystem::path& store_root) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(store_root, false));
  return store.ListRuns();
}

base::Result<RunReader> RunReader::Open(const std::filesystem::path& store_root,
                                        std::string_view run_id) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(store_root, false));
  BATCHLOG_ASSIGN_OR_RETURN(auto log, store.OpenRun(run_id, store::OpenMode::kSecondary));
  return RunReader(std::move(log));
}

const std::string& RunReader::run_id() const { return log_->run_id(); }
std::uint64_t RunReader::last_seq() const { return log_->last_seq(); }

base::Status RunReader::VisitEvents(
    std::uint64_t from_seq, std::uint64_t to_seq,
    const std::function<bool(const events::v1::Event&)>& visit) const {
  store::ReadOptions options;
  options.from_seq = from_seq;
  options.to_seq = to_seq;
  auto reader = log_->NewReader(options);
  while (reader->Next()) {
    if (!visit(reader->event())) return base::Status::Ok();
  }
  return reader->status();
}

base::Result<std::string> RunReader::ReadBlob(std::uint64_t seq) const {
  return log_->ReadBlob(seq);
}

base::Result<replay::Projections> RunReader::ReplayTo(std::uint64_t as_of_seq) const {
  const std::uint64_t last = log_->last_seq();
  if (as_of_seq == kLatestSeq) as_of_seq = last;
  if (as_of_seq > last) {
    return base::NotFoundError("run '" + run_id() + "' has no seq " +
                                      std::to_string(as_of_seq) + " (its last seq is " +
                                      std::to_string(last) + ")");
  }
  replay::Projections projections;
  BATCHLOG_ASSIGN_OR_RETURN(auto snapshot, log_->LatestSnapshot(as_of_seq));
  if (snapshot.has_value()) {
    auto decoded = replay::DecodeSnapshot(snapshot->bytes);
    if (!decoded.ok()) {
      return decoded.status().WithContext("run '" + run_id() + "': snapshot at seq " +
                                          std::to_string(snapshot->seq));
    }
    projections = std::move(decoded).value();
  }
  store::ReadOptions options;
  options.from_seq = projections.last_seq + 1;
  options.to_seq = as_of_seq;
  LogEventSource source(log_->NewReader(options));
  replay::Replayer replayer(projections);
  BATCHLOG_RETURN_IF_ERROR(replayer.Fold(source));
  return projections;
}

base::Result<std::string> RunReader::Manifest(std::uint64_t as_of_seq) const {
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections, ReplayTo(as_of_seq));
  return replay::RenderManifestJson(projections.manifest);
}

}  // namespace batchlog::orchestrator
