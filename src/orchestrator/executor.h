// Executor: carries out the decider's commands against the providers and records every
// step in the run's log with the intent -> effect -> outcome protocol (design.md "The
// loop"): an intent (BatchPlanned) is synced before the effect it announces, the effect is
// a provider call, and its outcome (FileUploaded, BatchSubmitted, SubmitRejected,
// BatchPolled, BatchEnded, results, ResultsIngested) is appended after it. Each appended
// step is folded at once into the live projections with the same Replayer a resume uses,
// so the state the decider sees is always the state a replay of the log would give.
//
// Provider trouble is data, not a crash: a transient failure holds the stage or delays the
// poll and is logged; a rejection is a SubmitRejected event. Only store failures (the log
// cannot be written) and broken invariants stop the run: Execute returns them.
//
// Kill points (kill_point.h) mark the instants the crash suite stops the process at.
//
// Ownership: borrows everything in ExecutorDeps, which must outlive it. Thread-safety:
// one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "replay/projections.h"
#include "replay/replayer.h"
#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/base/status.h"
#include "src/orchestrator/command.h"
#include "src/orchestrator/decide.h"
#include "src/orchestrator/pending_event_pool.h"
#include "src/orchestrator/request_factory.h"
#include "src/orchestrator/stage_policy.h"
#include "src/orchestrator/unsent_bodies.h"
#include "src/providers/batch_provider.h"
#include "src/providers/error_classifier.h"
#include "src/store/event_log.h"

namespace batchlog::orchestrator {

struct ExecutorDeps {
  store::EventLog* log = nullptr;
  replay::Projections* projections = nullptr;  // folded up to log->last_seq()
  const std::vector<StagePolicy>* policies = nullptr;
  // By provider entry name.
  std::map<std::string, providers::BatchProvider*, std::less<>> providers;
  // Per policy (same order as `policies`).
  std::vector<const providers::ErrorClassifier*> classifiers;
  RequestFactory* requests = nullptr;
  base::Clock* clock = nullptr;
  base::Random* random = nullptr;
  std::filesystem::path spool_dir;  // results downloads and input files
  // Events per appended step when planning requests or ingesting results (group commit).
  std::size_t events_per_step = 10'000;
};

// Calls in a row about one submitted batch that fail for a cause waiting does not cure
// (not found, refused) before the run stops for a person. More than one: a batch looked up
// right after its create can briefly be unknown (provider-apis: "retry briefly").
inline constexpr std::uint32_t kHardLookupFailuresToStop = 3;

// Transient failures of a provider that has not answered once in this process before the
// run stops (exit 6) instead of waiting: a typo in base_url should not hold a run forever.
// Once a provider has answered, outages are waited out with the stage's backoff.
inline constexpr std::uint32_t kUnansweredCallsToStop = 5;
// The hold between those calls (seconds of the run's clock), instead of the stage's backoff.
inline constexpr double kUnansweredHoldS = 2.0;

// Whole-batch failures of a transient kind (token_limit_exceeded) in a row, each while no
// other batch of the same provider was in flight, before the run stops for a person. With
// other batches in flight the provider's queue drains as they end, so waiting is bounded;
// with none, the same requests resubmitted as a batch of the same size fail the same way
// (a batch alone larger than the organisation's enqueued-token limit), forever.
inline constexpr std::uint32_t kLoneBatchFailuresToStop = 3;

class Executor {
 public:
  explicit Executor(ExecutorDeps deps);

  // Carries out one command. Non-OK only when the run must stop (see the header comment).
  base::Status Execute(const Command& command);

  // Appends the run's closing event (RunFailed) with a reason; used when the loop stops on
  // an error it can name.
  base::Status FailRun(std::string_view reason, std::string_view code);

  // Records a snapshot of the projections at the last seq (a snapshot-only step), so a
  // resume folds only the tail after it.
  base::Status WriteSnapshot();

  const SessionFacts& session() const { return session_; }

  // Non-OK when the run should stop, resumable, after the command just executed; taking it
  // clears it. kFailedPrecondition, for a person: an ingestion recorded failures of the
  // operator-action class (billing, quota, credentials; the failed requests stay retryable
  // and `resume` retries them, one attempt each), a batch create was refused for such a
  // cause (its requests stay planned, no attempt spent), or a submitted batch could not be
  // fetched for kHardLookupFailuresToStop calls in a row (not found, refused), or a stage's
  // batches failed as a whole kLoneBatchFailuresToStop times in a row with nothing else of
  // their provider in flight (their requests stay planned, no attempt spent).
  // kUnavailable: a provider that has not answered any of its first kUnansweredCallsToStop
  // calls (a wrong base_url, no network). Other codes: a local failure of a provider call
  // that no retry cures (a malformed request, an unwritable spool).
  base::Status TakeStop() { return std::exchange(stop_, base::Status::Ok()); }
  const replay::Projections& projections() const { return *deps_.projections; }

 private:
  base::Status Do(const PlanRequests& command);
  base::Status Do(const PlanBatch& command);
  base::Status Do(const SubmitBatch& command);
  base::Status Do(const PollBatch& command);
  base::Status Do(const IngestBatch& command);
  base::Status Do(const ScheduleRetry& command);
  base::Status Do(const AbandonRequests& command);
  base::Status Do(const WarnQuota& command);
  base::Status Do(const CompleteStage& command);
  base::Status Do(const CompleteRun& command);

  // Appends one step and folds it into the projections.
  base::Status Commit(std::vector<store::PendingEvent>& events, store::Durability durability);
  base::Status CommitOne(events::v1::Event event, store::Durability durability,
                         std::string blob = {});

  std::int64_t NowUs() const;
  const replay::Lifecycle& lifecycle() const { return deps_.projections->run_state.lifecycle; }
  std::string_view WorkflowOf(std::uint32_t stage) const;
  std::string_view StageName(std::uint32_t stage) const;
  base::Result<providers::BatchProvider*> ProviderOf(std::uint32_t batch);
  std::size_t PolicyOfStage(std::uint32_t stage) const;
  base::Result<events::v1::Event> ReadEventAt(std::uint64_t seq) const;
  base::Result<providers::SubmitSpec> BuildSubmitSpec(std::uint32_t batch);
  base::Status Adopt(std::uint32_t batch, const providers::BatchInfo& info);
  // Anthropic reconciliation: the batch found by creation window and request count is
  // adopted only once its results hold exactly the planned batch's custom_ids; otherwise
  // the adoption is recorded as rejected (SubmitRejected "adoption_rejected") and the
  // requests are resubmitted. Until the candidate ends, the batch stays planned.
  base::Status VerifyCandidate(std::uint32_t batch, providers::BatchProvider& provider);
  // Provider batch ids no reconciliation may adopt: recorded by this run's batches, held
  // as a candidate, or already rejected as one.
  std::vector<std::string> ClaimedProviderIds() const;
  base::Status Reject(std::uint32_t batch, const providers::ApiError& error);
  // Holds new batches of the stage for the retry backoff of its holds in a row (at least
  // `at_least_n`), or the provider's Retry-After when longer.
  void HoldStage(std::size_t policy, double retry_after_s, std::string_view why,
                 std::uint32_t at_least_n = 0);
  // A batch that failed as a whole for a transient cause: holds the stage with a backoff
  // that grows with such failures in a row, or stops the run (kLoneBatchFailuresToStop).
  void BatchFailedTransiently(std::uint32_t batch, std::size_t policy, std::string_view code);
  // True when another batch of `batch`'s provider is submitted and has not ended.
  bool OtherBatchInFlight(std::uint32_t batch) const;
  void SchedulePoll(std::uint32_t batch, bool changed);
  // A failed call about a submitted batch (poll, fetch for ingestion, download): transient
  // causes are retried with the poll backoff; a cause that persists (not found, refused)
  // stops the run for a person after kHardLookupFailuresToStop calls in a row.
  void LookupFailed(std::uint32_t batch, std::string_view what, const base::Status& status);
  // Records the outcome of a call to the batch's provider (OK: it answered). Returns true
  // when a failure is transient (worth waiting out); may set the stop (see TakeStop).
  bool NoteProviderCall(std::uint32_t batch, const base::Status& status);
  // True when `batch`'s provider has answered a call in this process.
  bool ProviderAnswered(std::uint32_t batch) const;
  void StopRun(base::Status why);  // keeps the first reason
  // A failed look-up, upload or create before the batch exists at the provider: transient
  // causes hold the stage (backoff); others stop the run.
  void CallFailed(std::uint32_t batch, std::size_t policy, std::string_view call,
                  const base::Status& status);
  std::filesystem::path SpoolPathOf(std::string_view batch_key) const;
  base::Status IngestFiles(std::uint32_t batch, const providers::BatchInfo& info,
                           const std::vector<std::filesystem::path>& files);

  ExecutorDeps deps_;
  replay::Replayer replayer_;
  SessionFacts session_;
  struct ProviderHealth {
    bool answered = false;               // a call succeeded in this process
    std::uint32_t failures_in_a_row = 0;  // transient failures while never answered
  };
  base::Status stop_;  // see TakeStop
  std::map<std::string, ProviderHealth, std::less<>> provider_health_;  // by provider name
  std::map<std::uint32_t, double> poll_interval_s_;                // by batch
  std::map<std::uint32_t, providers::RequestCounts> last_counts_;  // by batch
  std::map<std::uint32_t, std::uint32_t> hard_lookup_failures_;    // by batch, in a row
  // By policy: creates refused in a row for a cause only a short wait cures (a rejected
  // batch's requests go to a new batch, so the count is the stage's).
  std::map<std::size_t, std::uint32_t> refusals_in_a_row_;
  std::vector<std::uint32_t> holds_in_a_row_;  // by policy: consecutive holds, for backoff
  // By policy: whole-batch transient failures since a batch of the stage last ended
  // otherwise (all, and those with no other batch of the provider in flight).
  std::vector<std::uint32_t> batch_failures_in_a_row_;
  std::vector<std::uint32_t> lone_batch_failures_in_a_row_;
  std::map<std::uint32_t, providers::BatchInfo> candidates_;  // by batch: awaiting verification
  std::vector<std::string> rejected_candidates_;  // provider batch ids refused this session
  PendingEventPool event_pool_;  // the events of appended steps, reused by the next ones
  UnsentBodies unsent_bodies_;   // bodies planned here, until their first batch is built
};

}  // namespace batchlog::orchestrator
