// ManifestDiff: what changed in a run's manifest between two points of its log (`batchlog
// diff-manifest RUN_ID A B`): per workflow and stage, the counts before and after, every
// request whose state changed (with its error when it failed), the provider batches that
// appeared, the cost, and whether the stage completed in between.
//
// Both sides are manifest projections of the same run (replay/manifest_projection.h),
// usually at two seqs. Requests are matched by (workflow, stage, custom_id), so A may be
// later than B (the diff then reads backwards); a request present on one side only is
// "not_planned" on the other.
//
// Pure functions; thread-safety: none needed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "replay/manifest_projection.h"
#include "replay/projections.h"

namespace batchlog::replay {

struct RequestChange {
  std::string custom_id;
  std::string from;   // RequestStatusName, or "not_planned"
  std::string to;
  std::string error;  // B's latest error code (or abandon reason) when `to` is a failure
};

// The counts of a stage in the order of kStageCountNames.
inline constexpr std::size_t kStageCountCount = 6;
inline constexpr std::array<const char*, kStageCountCount> kStageCountNames = {
    "total_requests", "succeeded", "failed_final", "in_flight", "waiting_retry", "planned"};
using StageCounts = std::array<std::uint32_t, kStageCountCount>;

struct StageDiff {
  std::string workflow;
  std::string stage;
  bool in_a = false;
  bool in_b = false;
  bool completed_a = false;
  bool completed_b = false;
  StageCounts counts_a{};
  StageCounts counts_b{};
  std::vector<RequestChange> changes;  // in B's request order, then A-only requests
  std::vector<std::string> new_batch_ids;  // provider batch ids in B, not in A
  double cost_a = 0;
  double cost_b = 0;
};

struct ManifestDiff {
  std::string run_id;
  std::uint64_t seq_a = 0;
  std::uint64_t seq_b = 0;
  std::string status_a;
  std::string status_b;
  double cost_a = 0;
  double cost_b = 0;
  std::vector<StageDiff> stages;  // B's stages in order, then A-only ones
};

// The manifests of two folds of one run (A usually the earlier).
ManifestDiff DiffManifests(const Projections& a, const Projections& b);

// For people: a header line, then per stage its changed counts and up to
// `ids_per_transition` custom_ids per (from -> to) transition ("... and N more").
std::string RenderManifestDiffText(const ManifestDiff& diff, std::size_t ids_per_transition);
// One JSON document (2-space indent, trailing newline) with every change listed.
std::string RenderManifestDiffJson(const ManifestDiff& diff);

}  // namespace batchlog::replay
