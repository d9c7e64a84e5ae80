// RunsIndex: the runs of a store as seen through their small meta.json files
// (STORE/runs/<run_id>/meta.json), so listing runs never opens a database. meta.json is
// replaced atomically: a temp file beside it, fsync, rename, fsync of the directory — a
// reader sees the old file or the new one, never a torn one.
//
// Thread-safety: stateless apart from the path; safe from any thread and any process
// (concurrent writers of one run's meta.json: the last rename wins).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/store/store.h"

namespace batchlog::store {

// Writes `contents` to `path` atomically (temp file, fsync, rename, fsync dir).
base::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents);
// Reads a small file whole; kNotFound when absent, kFailedPrecondition over `bytes_max`.
base::Result<std::string> ReadSmallFile(const std::filesystem::path& path, std::size_t bytes_max);

// meta.json <-> RunMetadata. Decoding never throws: bad JSON or a field of the wrong type is
// kDataLoss naming `origin` (the file).
std::string EncodeRunMetadata(const RunMetadata& metadata);
base::Result<RunMetadata> DecodeRunMetadata(std::string_view json, std::string_view origin);

class RunsIndex {
 public:
  explicit RunsIndex(std::filesystem::path runs_dir) : runs_dir_(std::move(runs_dir)) {}

  std::filesystem::path RunDir(std::string_view run_id) const { return runs_dir_ / run_id; }
  static std::filesystem::path MetaPath(const std::filesystem::path& run_dir);

  // kNotFound when the run has no meta.json.
  base::Result<RunMetadata> Read(std::string_view run_id) const;
  // Writes meta.json into `run_dir` (which must exist).
  static base::Status WriteIn(const std::filesystem::path& run_dir, const RunMetadata& metadata);
  // Every run folder's metadata, sorted by creation time then run id. Folders whose name is
  // not a valid run id (temp folders start with '.') are skipped. A run whose meta.json is
  // missing or unreadable is still listed, with only run_id set and status
  // "unreadable: <why>", so one damaged run never hides the others.
  base::Result<std::vector<RunMetadata>> List() const;

 private:
  std::filesystem::path runs_dir_;
};

}  // namespace batchlog::store
