#include "src/orchestrator/run_reader.h"

#include <string>
#include <utility>

#include "replay/manifest_projection.h"
#include "src/orchestrator/log_replay.h"

namespace batchlog::orchestrator {

base::Result<std::vector<store::RunMetadata>> ListRuns(const std::filesystem::path& store_root) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(store_root, false));
  BATCHLOG_ASSIGN_OR_RETURN(std::vector<store::RunMetadata> runs, store.ListRuns());
  for (store::RunMetadata& run : runs) {
    if (run.status == "running" && !store.RunHasWriter(run.run_id)) run.status = "stopped";
  }
  return runs;
}

store::OpenMode ReadModeFor(const store::Store& store, std::string_view run_id) {
  return store.RunHasWriter(run_id) ? store::OpenMode::kSecondary : store::OpenMode::kReadOnly;
}


base::Result<RunReader> RunReader::Open(const std::filesystem::path& store_root,
                                        std::string_view run_id) {
  BATCHLOG_ASSIGN_OR_RETURN(store::Store store, store::Store::Open(store_root, false));
  const store::OpenMode mode = ReadModeFor(store, run_id);
  BATCHLOG_ASSIGN_OR_RETURN(auto log, store.OpenRun(run_id, mode));
  return RunReader(std::move(log), mode == store::OpenMode::kSecondary);
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
  return ReplayLog(*log_, as_of_seq);
}

base::Result<std::string> RunReader::Manifest(std::uint64_t as_of_seq) const {
  BATCHLOG_ASSIGN_OR_RETURN(replay::Projections projections, ReplayTo(as_of_seq));
  return replay::RenderManifestJson(projections);
}

}  // namespace batchlog::orchestrator
