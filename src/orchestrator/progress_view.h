// Progress of a run, per workflow and stage, as `status` prints it and as `run` / `resume`
// redraw it on a terminal: requests planned, in flight, succeeded, failed, waiting to
// retry, batches, and the run's status.
#pragma once

#include <string>

#include "replay/projections.h"

namespace batchlog::orchestrator {

// A plain-text table, one line per stage, ending in a newline.
std::string RenderProgress(const replay::Projections& projections);

}  // namespace batchlog::orchestrator
