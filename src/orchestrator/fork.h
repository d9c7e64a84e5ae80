// Forking a run (`batchlog fork RUN_ID --from STAGE [--workflow-file NEW.yaml]`): a new run
// that carries over the recorded results of the stages before STAGE from a source run, and
// runs STAGE onwards with the (possibly new) workflow file — e.g. a new judge prompt for
// stage 2 without paying for stage 1 again.
//
// The fork's log is an ordinary log, so every projection, the decider and resume treat it
// as any run:
//   seq 1      RunStarted: the new file's text, prices and seed, and `forked_from`: the
//              source run, its last seq when the fork was made, STAGE, and per carried stage
//              the seq of its StageCompleted in the source (the provenance);
//   seq 2..    the source's events of the carried stages, copied in their order with their
//              blobs (RequestPlanned, the batches' events and results, retry and abandon
//              decisions, StageCompleted), each stamped with the fork's time; `planned_seq`
//              fields are renumbered to the fork's seqs. The lifecycle accepts them (they are
//              a stage-closed subsequence of a valid log) and the decider sees the carried
//              stages completed, so it plans STAGE from their successes at once;
//   then       the fork runs like a resumed run (ResumeRun).
// The manifest cites the source (`forked_from`, and `carried_from` per carried stage); the
// carried stages cost nothing in the fork (the source paid); history marks their rows
// carried.
//
// Rules: STAGE must not be the first stage of its workflow, and every carried stage must be
// completed in the source (else kFailedPrecondition naming it). With several workflows,
// every workflow that has a stage named STAGE forks there (or only --workflow W); the
// other workflows run from their first stage. The carried results are used as recorded,
// whatever the new file says about the carried stages.
//
// Thread-safety: blocking; one fork per call.
#pragma once

#include <filesystem>
#include <string>

#include "src/base/result.h"
#include "src/orchestrator/run_session.h"

namespace batchlog::orchestrator {

struct ForkOptions {
  std::string source_run_id = {};
  std::string from_stage = {};
  std::string workflow = {};                 // empty: every workflow with a stage from_stage
  std::filesystem::path workflow_file = {};  // empty: the source's recorded workflow file
};

// `request.run_id` names the fork (empty: "<source>-fork-<UTC time>"); the rest as for
// StartRun. Returns the fork's outcome once it ran (or stopped).
base::Result<RunOutcome> ForkRun(const ForkOptions& options, const RunRequest& request);

}  // namespace batchlog::orchestrator
