// ReplayLog: the projections of a run as of a seq, from its latest snapshot at or before
// that seq plus the tail (design.md "The loop": state = replay(log)). Used by the writer
// on resume and by every read-only command; the answer is always the one a from-scratch
// replay gives (tests/replay proves the equivalence). A snapshot of another snapshot format
// version (written by another batchlog) is skipped: the log is folded from its start.
#pragma once

#include <cstdint>
#include <limits>

#include "replay/projections.h"
#include "src/base/result.h"
#include "src/store/event_log.h"

namespace batchlog::orchestrator {

inline constexpr std::uint64_t kLatestSeq = std::numeric_limits<std::uint64_t>::max();

// kNotFound when as_of_seq is past the end of the log (naming the last seq); kDataLoss
// for a damaged log or snapshot, naming the run and seq. `from_snapshot_seq`, when given,
// receives the seq of the snapshot the fold started from (0: none usable, folded from the
// start), so the writer knows how long a tail the next resume would fold.
base::Result<replay::Projections> ReplayLog(const store::EventLog& log,
                                            std::uint64_t as_of_seq = kLatestSeq,
                                            std::uint64_t* from_snapshot_seq = nullptr);

}  // namespace batchlog::orchestrator
