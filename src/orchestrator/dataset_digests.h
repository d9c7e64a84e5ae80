// Dataset digests: RunStarted records each workflow's dataset (path, SHA-256, size) as it
// was read, and a resume checks that the file it reads again is the same. A run's
// requests are built from the dataset (stage 1 from its samples, later stages from the
// sample fields their templates name), so a dataset edited or replaced between a stop and
// a resume would mix two datasets in one run without a trace.
//
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "batchlog/events/v1/events.pb.h"
#include "src/base/status.h"
#include "src/orchestrator/run_setup.h"

namespace batchlog::orchestrator {

// Adds one DatasetDigest per workflow of `setup` to `started`.
void AddDatasetDigests(const RunSetup& setup, events::v1::RunStarted& started);

// FailedPrecondition naming the workflow, the file and both digests when a dataset of
// `setup` differs from the one `started` recorded for its workflow; OK when all match, and
// for workflows (or runs) with no recorded digest.
base::Status CheckDatasetsUnchanged(std::string_view run_id,
                                    const events::v1::RunStarted& started,
                                    const RunSetup& setup);

}  // namespace batchlog::orchestrator
