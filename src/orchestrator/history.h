// History: the audit timeline of some requests of a run (`batchlog history`), read from the
// log through the audit projection (replay/audit_projection.h).
//
// The projections are replayed first (latest snapshot + tail); they say which requests the
// selection names, which batches held them (lifecycle batch members), where each request's
// RequestPlanned is (stage inputs) and where each batch's events, results, decisions and
// run events are (replay/audit_index.h). History then reads only those events — a few
// ranges of the log, at most the results of each batch a request was in — and folds them.
// A selection of more than kTargetedRequestsMax requests (a whole large stage) scans the
// log once instead; both ways give the same answer (tests/audit checks it).
//
// For a custom_id, a stage of its workflow that never planned it gets a not_planned
// summary saying why (the earlier stage's request did not succeed, or has not yet).
//
// Thread-safety: as the RunReader (one thread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "replay/audit_projection.h"
#include "src/base/result.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::orchestrator {

inline constexpr std::size_t kTargetedRequestsMax = 4096;

struct HistoryStats {
  std::uint64_t events_read = 0;
  bool full_scan = false;
  std::uint64_t ranges = 0;  // log ranges read (targeted)
};

struct HistoryOptions {
  bool force_full_scan = false;  // tests: the reference answer
};

// kInvalidArgument for an empty selection; kNotFound for a custom_id planned in no stage
// the selection allows, an unknown batch key, or an unknown workflow/stage.
base::Result<replay::AuditState> History(const RunReader& reader,
                                         const replay::AuditSelection& selection,
                                         const HistoryOptions& options = {},
                                         HistoryStats* stats = nullptr);

}  // namespace batchlog::orchestrator
