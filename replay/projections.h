// Projections: every view replay maintains, folded together from one event stream, and the
// seq they cover. The Replayer advances them; snapshot_codec.h persists them.
//
// Ownership: a plain value, copyable and movable. Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>

#include "replay/audit_index.h"
#include "replay/manifest_projection.h"
#include "replay/run_state_projection.h"
#include "replay/stage_inputs_projection.h"

namespace batchlog::replay {

struct Projections {
  RunState run_state;
  ManifestState manifest;
  StageInputs stage_inputs;
  AuditIndex audit_index;
  // The last seq folded into every projection (0 = none).
  std::uint64_t last_seq = 0;

  bool operator==(const Projections&) const = default;
};

// The manifest of `projections`, with the run state's lifecycle it follows.
inline std::string RenderManifestJson(const Projections& projections) {
  return RenderManifestJson(projections.manifest, projections.run_state.lifecycle);
}
inline ManifestCost ComputeCost(const Projections& projections) {
  return ComputeCost(projections.manifest, projections.run_state.lifecycle);
}

}  // namespace batchlog::replay
