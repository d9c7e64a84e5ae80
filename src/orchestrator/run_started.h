// The RunStarted event of a new run (`batchlog run`, `batchlog fork`): the workflow file's
// text and SHA-256, its path, batchlog's version, the seed, and the file's price table
// resolved per stage, so the manifest's cost is a projection of the log alone (replay never
// reads YAML). Prices are keyed by (workflow, stage, model): a model priced differently in
// two stages keeps both prices.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "batchlog/events/v1/events.pb.h"
#include "src/workflow/workflow_file.h"

namespace batchlog::orchestrator {

inline constexpr std::string_view kBatchlogVersion = "0.1.0";

// Lowercase hex SHA-256 of `text`.
std::string Sha256Hex(std::string_view text);

// `config_path` is recorded as an absolute path (resume re-reads the datasets relative to it).
events::v1::RunStarted MakeRunStarted(const workflow::WorkflowFile& file,
                                      const std::filesystem::path& config_path,
                                      std::uint64_t seed);

}  // namespace batchlog::orchestrator
