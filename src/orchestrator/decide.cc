#include "src/orchestrator/decide.h"

#include <algorithm>
#include <map>
#include <optional>

#include "src/orchestrator/enqueued_tokens.h"

namespace batchlog::orchestrator {
namespace {

using replay::BatchPhase;
using replay::kNoIndex;
using replay::RequestStatus;
using replay::RunState;
using replay::StageRecord;

std::uint32_t CountOf(const StageRecord& record, RequestStatus status) {
  return record.by_status[static_cast<std::size_t>(status)];
}

class Decider {
 public:
  explicit Decider(const DecideInput& input)
      : in_(input),
        state_(input.state),
        lifecycle_(input.state.lifecycle),
        stage_of_policy_(StagesOfPolicies(input)),
        enqueued_(input.state, input.policies, stage_of_policy_, input.request_body_bytes) {}

  static std::vector<std::uint32_t> StagesOfPolicies(const DecideInput& input) {
    std::vector<std::uint32_t> stages;
    stages.reserve(input.policies.size());
    for (const StagePolicy& policy : input.policies) {
      stages.push_back(input.state.FindStage(policy.workflow, policy.stage));
    }
    return stages;
  }

  // True (and the wake-up noted) while new provider calls for the batch's stage are held.
  bool BatchHeld(std::uint32_t batch) {
    const std::uint32_t stage = lifecycle_.batches.records[batch].stage;
    for (std::size_t policy = 0; policy < stage_of_policy_.size(); ++policy) {
      if (stage_of_policy_[policy] != stage) continue;
      if (policy < in_.session.hold_until_us.size() &&
          in_.session.hold_until_us[policy] > in_.now_us) {
        WakeAt(in_.session.hold_until_us[policy]);
        return true;
      }
    }
    return false;
  }

  Decision Run() {
    if (lifecycle_.run_status != replay::RunStatus::kRunning) {
      decision_.done = lifecycle_.run_status != replay::RunStatus::kNotStarted;
      return std::move(decision_);
    }
    DecideOpenBatches();
    for (std::size_t policy = 0; policy < in_.policies.size(); ++policy) {
      DecideRetries(policy);
    }
    for (std::size_t policy = 0; policy < in_.policies.size(); ++policy) {
      DecidePlanning(policy);
      DecideBatches(policy);
    }
    DecideQuotaWarning();
    bool all_completed = true;
    for (std::size_t policy = 0; policy < in_.policies.size(); ++policy) {
      if (StageCompleted(policy)) continue;
      if (StageComplete(policy)) {
        decision_.commands.push_back(CompleteStage{policy});
      }
      all_completed = false;
    }
    if (all_completed) decision_.commands.push_back(CompleteRun{});
    if (const auto retry_due = state_.NextRetryDueUnixUs(); retry_due && *retry_due > in_.now_us) {
      WakeAt(*retry_due);
    }
    return std::move(decision_);
  }

 private:
  void WakeAt(std::int64_t at_us) {
    if (!decision_.wake_at_us || at_us < *decision_.wake_at_us) decision_.wake_at_us = at_us;
  }

  bool StageCompleted(std::size_t policy) const {
    const std::uint32_t stage = stage_of_policy_[policy];
    return stage != kNoIndex && lifecycle_.stage_records[stage].completed;
  }

  std::uint32_t Requests(std::size_t policy) const {
    const std::uint32_t stage = stage_of_policy_[policy];
    return stage == kNoIndex ? 0 : lifecycle_.stage_records[stage].requests;
  }

  std::uint32_t Succeeded(std::size_t policy) const {
    const std::uint32_t stage = stage_of_policy_[policy];
    return stage == kNoIndex ? 0
                             : CountOf(lifecycle_.stage_records[stage], RequestStatus::kSucceeded);
  }

  void DecideOpenBatches() {
    for (const replay::OpenIntent& intent : state_.OpenIntents()) {
      switch (intent.kind) {
        case replay::OpenIntent::Kind::kAwaitingIngest: {
          if (BatchHeld(intent.batch)) break;
          // An ingestion whose fetch or download failed is paced like a poll.
          const auto next = in_.session.next_poll_us.find(intent.batch);
          if (next != in_.session.next_poll_us.end() && next->second > in_.now_us) {
            WakeAt(next->second);
            break;
          }
          decision_.commands.push_back(IngestBatch{intent.batch});
          break;
        }
        case replay::OpenIntent::Kind::kAwaitingSubmit: {
          if (BatchHeld(intent.batch)) break;
          // A reconciliation waiting for a candidate batch to end is paced like a poll.
          const auto next = in_.session.next_poll_us.find(intent.batch);
          if (next != in_.session.next_poll_us.end() && next->second > in_.now_us) {
            WakeAt(next->second);
            break;
          }
          decision_.commands.push_back(
              SubmitBatch{intent.batch, !in_.session.planned_here.contains(intent.batch)});
          break;
        }
        case replay::OpenIntent::Kind::kAwaitingEnd: {
          const auto next = in_.session.next_poll_us.find(intent.batch);
          if (next == in_.session.next_poll_us.end() || next->second <= in_.now_us) {
            decision_.commands.push_back(PollBatch{intent.batch});
          } else {
            WakeAt(next->second);
          }
          break;
        }
      }
    }
  }

  // Failed, retryable requests awaiting a decision: retry while attempts remain.
  void DecideRetries(std::size_t policy) {
    const std::uint32_t stage = stage_of_policy_[policy];
    if (stage == kNoIndex) return;
    if (CountOf(lifecycle_.stage_records[stage], RequestStatus::kFailedRetryableWaiting) == 0) {
      return;
    }
    const std::uint32_t attempts_max = 1 + in_.policies[policy].retry.max_retries;
    std::map<std::uint16_t, std::vector<std::uint32_t>> by_attempt;
    AbandonRequests exhausted{policy, {}, events::v1::ABANDON_REASON_EXHAUSTED};
    for (const std::uint32_t request :
         state_.RequestsOfStage(stage, RequestStatus::kFailedRetryableWaiting)) {
      const std::uint16_t attempt = lifecycle_.requests.attempt[request];
      if (attempt >= attempts_max) {
        exhausted.requests.push_back(request);
      } else {
        by_attempt[attempt].push_back(request);
      }
    }
    if (!exhausted.requests.empty()) decision_.commands.push_back(std::move(exhausted));
    for (auto& [attempt, requests] : by_attempt) {
      decision_.commands.push_back(
          ScheduleRetry{policy, std::move(requests), static_cast<std::uint16_t>(attempt + 1)});
    }
  }

  // Requests of the stage that are not planned yet.
  void DecidePlanning(std::size_t policy) {
    const StagePolicy& rules = in_.policies[policy];
    if (StageCompleted(policy)) return;
    if (!rules.upstream) {
      if (Requests(policy) < rules.expected_requests) {
        decision_.commands.push_back(PlanRequests{policy, {}});
      }
      return;
    }
    const std::size_t upstream = *rules.upstream;
    if (!rules.as_ready && !StageCompleted(upstream)) return;
    // Every upstream success has a request here once the counts match (requests are only
    // ever built from successes, and a success is final).
    if (Succeeded(upstream) <= Requests(policy)) return;
    const std::uint32_t upstream_stage = stage_of_policy_[upstream];
    const std::uint32_t stage = stage_of_policy_[policy];
    PlanRequests plan{policy, {}};
    for (const std::uint32_t request :
         state_.RequestsOfStage(upstream_stage, RequestStatus::kSucceeded)) {
      if (stage == kNoIndex ||
          state_.FindRequest(stage, lifecycle_.requests.custom_id(request)) == kNoIndex) {
        plan.sources.push_back(request);
      }
    }
    if (!plan.sources.empty()) decision_.commands.push_back(std::move(plan));
  }

  // Planned requests and due retries into new batches.
  void DecideBatches(std::size_t policy) {
    const std::uint32_t stage = stage_of_policy_[policy];
    if (stage == kNoIndex) return;
    const StageRecord& record = lifecycle_.stage_records[stage];
    const bool has_planned = CountOf(record, RequestStatus::kPlanned) > 0;
    const bool has_scheduled = CountOf(record, RequestStatus::kRetryScheduled) > 0;
    if (!has_planned && !has_scheduled) return;
    const bool under_quota = in_.policies[policy].quota_tokens.has_value();
    if (policy < in_.session.hold_until_us.size() &&
        in_.session.hold_until_us[policy] > in_.now_us) {
      WakeAt(in_.session.hold_until_us[policy]);
      if (under_quota) quota_requests_unweighed_ = true;
      return;
    }
    // attempt -> requests, in planning order within each attempt.
    std::map<std::uint16_t, std::vector<std::uint32_t>> by_attempt;
    if (has_planned) {
      for (const std::uint32_t request : state_.RequestsOfStage(stage, RequestStatus::kPlanned)) {
        const std::uint16_t attempt =
            std::max<std::uint16_t>(lifecycle_.requests.attempt[request], 1);
        by_attempt[attempt].push_back(request);
      }
    }
    if (has_scheduled) {
      std::uint32_t due = 0;
      for (const std::uint32_t request : state_.RetriesDue(in_.now_us)) {
        if (lifecycle_.requests.stage(request) != stage) continue;
        const replay::RetryGroup& group = state_.retry_groups[state_.request_retry_group[request]];
        by_attempt[group.attempt].push_back(request);
        ++due;
      }
      if (under_quota && due < CountOf(record, RequestStatus::kRetryScheduled)) {
        quota_requests_unweighed_ = true;  // retries not due yet
      }
    }
    const StagePolicy& rules = in_.policies[policy];
    const std::size_t limit = std::max<std::uint32_t>(rules.batch_max_requests, 1);
    const bool quota = rules.quota_tokens.has_value() && enqueued_.active();
    // A request over the byte limit on its own fits no batch: the provider would refuse any
    // batch holding it, every time. It is abandoned, never sent.
    AbandonRequests too_large{policy, {}, events::v1::ABANDON_REASON_TOO_LARGE};
    for (auto& [attempt, requests] : by_attempt) {
      std::erase_if(requests, [&](std::uint32_t request) {
        if (request >= in_.request_body_bytes.size()) return false;
        const bool over = PlannedLineBytes(in_.request_body_bytes[request],
                                           lifecycle_.requests.custom_id(request).size()) >
                          rules.batch_max_bytes;
        if (over) too_large.requests.push_back(request);
        return over;
      });
    }
    if (!too_large.requests.empty()) {
      std::sort(too_large.requests.begin(), too_large.requests.end());
      decision_.commands.push_back(std::move(too_large));
    }
    for (auto& [attempt, requests] : by_attempt) {
      std::sort(requests.begin(), requests.end());
      std::size_t begin = 0;
      while (begin < requests.size()) {
        std::size_t end = std::min(requests.size(), begin + limit);
        if (quota) {
          end = FitQuota(policy, requests, begin, end);
          if (end == begin) return;  // held until enqueued batches end
        }
        PlanBatch batch{policy,
                        {requests.begin() + static_cast<std::ptrdiff_t>(begin),
                         requests.begin() + static_cast<std::ptrdiff_t>(end)},
                        {}};
        batch.attempts.assign(batch.requests.size(), attempt);
        decision_.commands.push_back(std::move(batch));
        begin = end;
      }
    }
  }

  // The end of the new batch requests[begin, end) once cut to the quota, and the ledger
  // charged; `begin` when it must wait (the hold is noted).
  std::size_t FitQuota(std::size_t policy, const std::vector<std::uint32_t>& requests,
                       std::size_t begin, std::size_t end) {
    const std::uint64_t quota = *in_.policies[policy].quota_tokens;
    const std::uint64_t enqueued = enqueued_.Of(policy);
    std::uint64_t tokens = 0;
    std::size_t fit = begin;
    while (fit < end) {
      const std::uint64_t next = enqueued_.TokensOf(requests[fit]);
      // Alone on the provider, a request over the quota still goes: holding it would wait
      // forever, and the provider's answer (a batch failure) is then recorded.
      const bool alone = enqueued == 0 && fit == begin;
      if (!alone && enqueued + tokens + next > quota) break;
      tokens += next;
      ++fit;
    }
    if (fit == begin) {
      if (!held_) held_ = WarnQuota{policy, enqueued, quota, true};
      return begin;
    }
    enqueued_.Add(policy, tokens);
    quota_batch_planned_ = true;
    const double warn_at = in_.policies[policy].quota_warn_fraction * static_cast<double>(quota);
    if (!reached_warning_ && static_cast<double>(enqueued + tokens) >= warn_at) {
      reached_warning_ = WarnQuota{policy, enqueued + tokens, quota, false};
    }
    return fit;
  }

  // Records a hold that starts or ends, and the first time a count reaches the warning
  // fraction; the log's latest QuotaWarning says whether batches are held, so a warning is
  // never repeated.
  void DecideQuotaWarning() {
    if (held_) {
      if (!state_.quota_holding) decision_.commands.push_back(*held_);
      return;
    }
    if (state_.quota_holding) {
      // Requests this call did not weigh against the quota (their stage is held for another
      // reason, or their retry is not due) may still be held by it: the hold stands until a
      // batch fits again or nothing waits, so it is not released and taken up again.
      if (quota_requests_unweighed_ && !quota_batch_planned_) return;
      // The hold has ended: batches fit again (or nothing is waiting any more).
      WarnQuota released = reached_warning_.value_or(WarnQuota{});
      if (!reached_warning_) {
        for (std::size_t policy = 0; policy < in_.policies.size(); ++policy) {
          if (!in_.policies[policy].quota_tokens) continue;
          released = {policy, enqueued_.Of(policy), *in_.policies[policy].quota_tokens, false};
          break;
        }
      }
      released.holding = false;
      decision_.commands.push_back(released);
      return;
    }
    if (reached_warning_ && state_.counters.quota_warnings == 0) {
      decision_.commands.push_back(*reached_warning_);
    }
  }

  // All requests planned, and each succeeded or failed for good.
  bool StageComplete(std::size_t policy) const {
    const StagePolicy& rules = in_.policies[policy];
    const std::uint32_t stage = stage_of_policy_[policy];
    if (!rules.upstream) {
      if (Requests(policy) < rules.expected_requests) return false;
    } else {
      if (!StageCompleted(*rules.upstream)) return false;
      if (Requests(policy) < Succeeded(*rules.upstream)) return false;
    }
    if (stage == kNoIndex) return true;  // nothing to do: completes empty
    if (!state_.StageSettled(stage)) return false;
    for (const replay::OpenIntent& intent : state_.OpenIntents()) {
      if (lifecycle_.batches.records[intent.batch].stage == stage) return false;
    }
    return true;
  }

  const DecideInput& in_;
  const RunState& state_;
  const replay::Lifecycle& lifecycle_;
  std::vector<std::uint32_t> stage_of_policy_;
  EnqueuedTokens enqueued_;
  std::optional<WarnQuota> held_;             // the first batch held this call
  bool quota_batch_planned_ = false;          // a batch under a quota was planned this call
  bool quota_requests_unweighed_ = false;     // requests under a quota waited unweighed
  std::optional<WarnQuota> reached_warning_;  // the first count to reach its warning fraction
  Decision decision_;
};

}  // namespace

Decision Decide(const DecideInput& input) { return Decider(input).Run(); }

}  // namespace batchlog::orchestrator
