#include "src/orchestrator/history.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace batchlog::orchestrator {
namespace {

using replay::kNoIndex;
using replay::Lifecycle;

// Point reads close together are read as one range: a few extra events cost less than a
// new iterator.
constexpr std::uint64_t kMergeGap = 32;

struct SeqRange {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
};

std::vector<SeqRange> MergeRanges(std::vector<SeqRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const SeqRange& a, const SeqRange& b) { return a.from < b.from; });
  std::vector<SeqRange> merged;
  for (const SeqRange& range : ranges) {
    if (range.from == 0) continue;
    if (!merged.empty() && range.from <= merged.back().to + kMergeGap) {
      merged.back().to = std::max(merged.back().to, range.to);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

bool StageAllowed(const Lifecycle& lifecycle, const replay::AuditSelection& selection,
                  std::uint32_t stage) {
  return (selection.workflow.empty() ||
          lifecycle.workflow_name(lifecycle.stage_records[stage].workflow) ==
              selection.workflow) &&
         (selection.stage.empty() || lifecycle.stage_name(stage) == selection.stage);
}

std::string StageLabel(const Lifecycle& lifecycle, std::uint32_t stage) {
  return std::string(lifecycle.workflow_name(lifecycle.stage_records[stage].workflow)) + "/" +
         std::string(lifecycle.stage_name(stage));
}

// not_planned summaries: stages of the custom_id's workflows it never reached, and why.
void AddNotPlanned(const Lifecycle& lifecycle, const replay::AuditSelection& selection,
                   replay::AuditState& state) {
  for (const std::string& custom_id : selection.custom_ids) {
    std::vector<std::uint32_t> found(lifecycle.stage_records.size(), kNoIndex);
    std::vector<bool> workflow_seen(lifecycle.workflows.size(), false);
    for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
      found[stage] = lifecycle.FindRequest(stage, custom_id);
      if (found[stage] != kNoIndex) workflow_seen[lifecycle.stage_records[stage].workflow] = true;
    }
    for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
      const std::uint32_t workflow = lifecycle.stage_records[stage].workflow;
      if (found[stage] != kNoIndex || !workflow_seen[workflow] ||
          !StageAllowed(lifecycle, selection, stage)) {
        continue;
      }
      replay::AuditSummary& summary = state.summaries.emplace_back();
      summary.workflow = std::string(lifecycle.workflow_name(workflow));
      summary.stage = std::string(lifecycle.stage_name(stage));
      summary.custom_id = custom_id;
      summary.state = "not_planned";
      std::uint32_t earlier = kNoIndex;
      for (std::uint32_t before = 0; before < stage; ++before) {
        if (lifecycle.stage_records[before].workflow == workflow && found[before] != kNoIndex) {
          earlier = before;
        }
      }
      if (earlier == kNoIndex) {
        summary.explanation = "never planned in " + StageLabel(lifecycle, stage);
        continue;
      }
      const replay::RequestStatus status = lifecycle.requests.status[found[earlier]];
      summary.explanation =
          "never planned in " + StageLabel(lifecycle, stage) + ": a later stage is built from " +
          "the successes of the stage before it, and its request in " +
          StageLabel(lifecycle, earlier) + " is " + std::string(replay::RequestStatusName(status)) +
          (status == replay::RequestStatus::kSucceeded ? " (the stage has not planned it yet)"
                                                       : "");
    }
  }
}

}  // namespace

base::Result<replay::AuditState> History(const RunReader& reader,
                                         const replay::AuditSelection& selection,
                                         const HistoryOptions& options, HistoryStats* stats) {
  if (selection.custom_ids.empty() && selection.batch_key.empty() && selection.stage.empty() &&
      selection.workflow.empty()) {
    return base::InvalidArgumentError(
        "history needs a selection: --custom-id ID, --batch KEY, or --workflow W --stage S");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const replay::Projections projections,
                            reader.ReplayTo(kLatestSeq));
  const Lifecycle& lifecycle = projections.run_state.lifecycle;
  const replay::AuditIndex& index = projections.audit_index;
  const std::string run = "run '" + reader.run_id() + "'";

  std::vector<std::uint32_t> requests;
  std::vector<std::uint8_t> stage_wanted(lifecycle.stage_records.size(), 0);
  std::vector<std::uint8_t> batch_wanted(lifecycle.batches.size(), 0);
  bool full_scan = options.force_full_scan;
  if (!selection.batch_key.empty()) {
    const std::uint32_t batch = lifecycle.FindBatch(selection.batch_key);
    if (batch == kNoIndex) {
      return base::NotFoundError(run + " has no batch '" + selection.batch_key + "'");
    }
    batch_wanted[batch] = 1;
    stage_wanted[lifecycle.batches.records[batch].stage] = 1;
  } else {
    bool any_stage = false;
    std::uint64_t stage_requests = 0;
    for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size(); ++stage) {
      if (!StageAllowed(lifecycle, selection, stage)) continue;
      any_stage = true;
      stage_requests += lifecycle.stage_records[stage].requests;
      if (selection.custom_ids.empty()) {
        stage_wanted[stage] = 1;
        continue;
      }
      for (const std::string& custom_id : selection.custom_ids) {
        const std::uint32_t request = lifecycle.FindRequest(stage, custom_id);
        if (request == kNoIndex) continue;
        requests.push_back(request);
        stage_wanted[stage] = 1;
      }
    }
    if (!any_stage) {
      return base::NotFoundError(run + " has no stage " +
                                 (selection.workflow.empty() ? "*" : selection.workflow) + "/" +
                                 (selection.stage.empty() ? "*" : selection.stage));
    }
    if (!selection.custom_ids.empty() && requests.empty()) {
      // Planned in another stage only: the answer is the not_planned summary (why not).
      bool anywhere = false;
      for (std::uint32_t stage = 0; stage < lifecycle.stage_records.size() && !anywhere; ++stage) {
        for (const std::string& custom_id : selection.custom_ids) {
          anywhere = anywhere || lifecycle.FindRequest(stage, custom_id) != kNoIndex;
        }
      }
      if (!anywhere) {
        return base::NotFoundError(run + ": custom_id '" + *selection.custom_ids.begin() +
                                   "' was never planned in any stage");
      }
    }
    if (selection.custom_ids.empty()) {
      if (stage_requests > kTargetedRequestsMax) {
        full_scan = true;
      } else {
        for (std::uint32_t request = 0; request < lifecycle.requests.size(); ++request) {
          if (stage_wanted[lifecycle.requests.stage(request)] != 0) requests.push_back(request);
        }
      }
    }
  }

  replay::AuditState state;
  state.selection = selection;
  HistoryStats local;
  const auto fold = [&](const events::v1::Event& event) {
    ++local.events_read;
    replay::Apply(state, event).IgnoreError();  // the fold reports nothing (its header)
    return true;
  };
  if (full_scan) {
    local.full_scan = true;
    local.ranges = 1;
    BATCHLOG_RETURN_IF_ERROR(reader.VisitEvents(1, projections.last_seq, fold));
  } else {
    std::vector<std::uint8_t> request_wanted(lifecycle.requests.size(), 0);
    for (const std::uint32_t request : requests) request_wanted[request] = 1;
    const replay::BatchTable& batches = lifecycle.batches;
    for (std::uint32_t batch = 0; batch < batches.size(); ++batch) {
      const replay::BatchRecord& record = batches.records[batch];
      for (std::uint32_t i = 0; i < record.member_count && batch_wanted[batch] == 0; ++i) {
        if (request_wanted[batches.members[record.member_begin + i]] != 0) batch_wanted[batch] = 1;
      }
    }
    std::vector<SeqRange> ranges;
    const auto point = [&ranges](std::uint64_t seq) { ranges.push_back({seq, seq}); };
    for (const std::uint32_t request : requests) {
      point(projections.stage_inputs.planned_seq[request]);
    }
    for (const std::uint64_t seq : index.run_events) point(seq);
    for (std::uint32_t batch = 0; batch < batches.size(); ++batch) {
      if (batch_wanted[batch] == 0) continue;
      const replay::BatchSeqs& seqs = index.batches[batch];
      point(batches.records[batch].planned_seq);
      point(seqs.uploaded);
      point(seqs.outcome);
      point(seqs.ended);
      point(seqs.ingested);
      if (seqs.first_result != 0) ranges.push_back({seqs.first_result, seqs.last_result});
    }
    for (const replay::IndexedSeq& poll : index.polls) {
      if (batch_wanted[poll.owner] != 0) point(poll.seq);
    }
    for (const replay::IndexedSeq& decision : index.decisions) {
      if (stage_wanted[decision.owner] != 0) point(decision.seq);
    }
    for (const SeqRange& range : MergeRanges(std::move(ranges))) {
      ++local.ranges;
      BATCHLOG_RETURN_IF_ERROR(reader.VisitEvents(range.from, range.to, fold));
    }
  }
  replay::FinishAudit(state);
  if (selection.batch_key.empty()) AddNotPlanned(lifecycle, selection, state);
  if (stats != nullptr) *stats = local;
  return state;
}

}  // namespace batchlog::orchestrator
