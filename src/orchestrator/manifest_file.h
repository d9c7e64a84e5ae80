// The manifest file next to a run (STORE/runs/<id>/manifest.json): written atomically
// (temp file, fsync, rename, fsync of the directory), so a reader or a crash never sees a
// half-written manifest. Its content is exactly `batchlog manifest RUN_ID` at that seq.
#pragma once

#include <filesystem>
#include <string_view>

#include "src/base/status.h"

namespace batchlog::orchestrator {

base::Status WriteFileAtomically(const std::filesystem::path& path, std::string_view content);

}  // namespace batchlog::orchestrator
