// Run summaries for `batchlog runs` and `batchlog status`: progress, failures and cost.
//
// `runs` never opens a log: it reads each run's manifest file (STORE/runs/<id>/manifest.json,
// rewritten by the run loop at most once a second while the run goes, at each stage's end
// and at the end; by `cancel` and `fork` too). So a live run's figures may lag its log by a
// second; `batchlog status RUN_ID` replays the log for exact ones.
//
// Thread-safety: pure functions, except ReadRunSummary which reads a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "replay/projections.h"

namespace batchlog::orchestrator {

struct RunSummary {
  bool known = false;  // false: no manifest file yet, or unreadable
  std::uint64_t generated_at_seq = 0;
  std::uint64_t requests = 0;   // planned, over every workflow and stage
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;     // failed for good (final_failed_ids)
  double cost = 0;
};

// From the text of a manifest (replay/manifest_projection.h's render); known = false when
// it does not parse.
RunSummary SummarizeManifestJson(std::string_view manifest_json);

// From the run's manifest file.
RunSummary ReadRunSummary(const std::filesystem::path& store_root, std::string_view run_id);

// "cost 0.001234 (math/stage_1 0.001, math/stage_2 0.000234)" for `status`; notes unpriced
// tokens.
std::string RenderCostLine(const replay::Projections& projections);

}  // namespace batchlog::orchestrator
