// The manifest projection: what failed, why, on which attempt, and what retries recovered,
// per workflow and stage (design.md "The manifest"). Always regenerable from the log:
// `batchlog manifest RUN_ID [--as-of SEQ]` folds the events up to SEQ and renders this.
//
// ManifestState is a pure fold that follows the run state (replay/lifecycle.h, "Leader and
// follower"): requests, batches, stages and the run's status live in the run state's
// Lifecycle, which every function here takes; the manifest adds what only it needs (usage,
// prices, models, cost slots, fork provenance) and generated_at_seq, the last seq applied.
// ApplyFollowing must be given each event right after the run state applied it successfully.
//
// Per stage, the rendered fields mean:
//   total_requests      RequestPlanned count
//   succeeded           requests whose latest state is success
//   final_failed_ids    requests whose latest state is a final failure (failed permanently or
//                       abandoned), sorted by custom_id
//   total_failures      distinct requests that failed at least once
//   recovered_by_retry  requests that failed at least once and whose latest state is success
//   retry_attempts      highest attempt planned in the stage minus 1 (0 when none)
//   retry_status        "exhausted" if a request was abandoned as exhausted, else
//                       "in_progress" while a retry is scheduled, awaiting a decision or in
//                       flight at attempt > 1, else "completed" if any retry happened,
//                       else "not_needed"
//   batch_ids           provider batch ids of submitted batches holding only attempt 1
//   retry_batch_ids     provider batch ids of submitted batches holding an attempt > 1
//   errors              custom_id -> latest error code, for the final-failed requests (the
//                       abandon reason, e.g. "cancelled", when it never failed)
//   usage               tokens summed over every recorded result (all billed attempts;
//                       re-ingested duplicates are not counted twice): input_tokens,
//                       output_tokens, cached_input_tokens (prompt-cache reads; OpenAI
//                       counts them inside input_tokens, Anthropic beside it) and
//                       cache_write_input_tokens (Anthropic's prompt-cache writes)
//   in_flight           requests in a batch awaiting their result
//   waiting_retry       requests failed and awaiting a retry decision or a scheduled retry
//   cost                {"total", "by_attempt": {"1": .., "2": ..}, "unpriced_tokens":
//                       {input_tokens, output_tokens}}: what this run paid for the stage,
//                       from the billed tokens and the prices recorded in RunStarted (see
//                       "Cost" below)
//   carried_from        only in a fork, for a stage carried over from its source:
//                       {"run_id", "seq"} (the source's StageCompleted seq)
// Top level: run_id, generated_at_seq, status (the run's status), forked_from (a fork only:
// {"run_id", "seq", "from_stage"}), cost ({"total", "by_workflow"}), workflows. Workflows
// and stages appear in order of first appearance in the log.
//
// Cost: tokens are billed once per attempt that has a recorded result: a re-ingested
// duplicate adds nothing, and a result of a cancelled request (ERROR_CLASS_CANCELLED) or an
// expired one (code "expired" / "batch_expired") costs nothing even if it carried usage. A
// stage carried over by a fork costs nothing here (the source run paid for it). Per stage,
// model and attempt the projection sums integer token counts; the render prices them:
// (input * input_per_million + output * output_per_million) / 1e6 * (1 - batch_discount),
// with the price RunStarted recorded for (workflow, stage, model). A price with a cached
// input rate bills cached input tokens at that rate: taken out of `input` where the provider
// counts them in it (OpenAI), added beside it where it does not (Anthropic); without one,
// cached tokens are billed as the input counts them. Prompt-cache writes (Anthropic) are
// billed beside input at the cache-write rate, or at the input rate without one. Tokens of a
// model with no
// price are reported as unpriced_tokens and cost 0. Amounts are rounded to 1e-9 currency
// units, in the currency of the workflow file's prices.
//
// Ownership: a plain value, copyable and movable. Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "batchlog/events/v1/events.pb.h"
#include "replay/id_table.h"
#include "replay/lifecycle.h"
#include "replay/pod_vector.h"
#include "src/base/status.h"

namespace batchlog::replay {

struct StageUsage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cached_input_tokens = 0;       // prompt-cache reads
  std::uint64_t cache_write_input_tokens = 0;  // prompt-cache writes (Anthropic)
  bool operator==(const StageUsage&) const = default;
};

// A price from RunStarted.prices.
struct StagePrice {
  std::string workflow;
  std::string stage;
  std::string model;
  double input_per_million = 0;
  double output_per_million = 0;
  double batch_discount = 0;
  double cached_input_per_million = 0;
  bool has_cached_price = false;  // cached_input_per_million was recorded
  bool cached_in_input = false;   // the provider counts cached tokens inside input_tokens
  double cache_write_input_per_million = 0;
  bool has_cache_write_price = false;  // cache_write_input_per_million was recorded
  bool operator==(const StagePrice&) const = default;
};

// Billed tokens of one (stage, model, attempt).
struct CostSlot {
  std::uint32_t stage = 0;
  std::uint32_t model = kNoIndex;  // ManifestState::models index; kNoIndex = no model
  std::uint16_t attempt = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cached_input_tokens = 0;
  std::uint64_t cache_write_input_tokens = 0;
  bool operator==(const CostSlot&) const = default;
};

struct CarriedStageRecord {
  std::string workflow;
  std::string stage;
  std::uint64_t source_completed_seq = 0;
  bool operator==(const CarriedStageRecord&) const = default;
};

// RunStarted.forked_from; source_run_id is empty when the run is not a fork.
struct ForkProvenance {
  std::string source_run_id;
  std::uint64_t source_seq = 0;
  std::string from_stage;
  std::vector<CarriedStageRecord> carried;
  bool operator==(const ForkProvenance&) const = default;
};

// Lookup caches of the fold: not state, always equal.
struct ManifestCaches {
  std::uint32_t model = kNoIndex;  // the model of the last RequestPlanned
  std::uint32_t slot = kNoIndex;   // the cost slot of the last billed result
  bool operator==(const ManifestCaches&) const { return true; }
};

inline constexpr std::uint16_t kNoModel = 0xffff;

struct ManifestState {
  std::uint64_t generated_at_seq = 0;
  std::vector<StageUsage> usage;  // indexed by stage

  // Cost accounting (header comment, "Cost").
  std::vector<StagePrice> prices;          // from RunStarted
  IdTable models;                          // scope 0: models named by RequestPlanned
  PodVector<std::uint16_t> request_model;  // per request: models index, or kNoModel
  std::vector<CostSlot> cost_slots;        // in order of the first billed result of each
  ForkProvenance forked_from;              // from RunStarted
  // Derived from forked_from and the stage names (recomputed after a snapshot decode):
  // 1 for a stage carried over from the fork's source.
  std::vector<std::uint8_t> stage_carried;
  ManifestCaches caches;

  bool operator==(const ManifestState&) const = default;
};

// Recomputes the derived members (stage_carried) from the rest and the run state's lifecycle;
// the snapshot codec calls it.
void RecomputeDerived(ManifestState& state, const Lifecycle& lifecycle);

// What the run paid per stage (indexed by stage), per workflow and in total, priced as the
// header comment says ("Cost"). For `status`, `runs` and the render.
struct StageCost {
  double total = 0;
  std::vector<std::pair<std::uint16_t, double>> by_attempt;  // ascending attempt
  std::uint64_t unpriced_input_tokens = 0;
  std::uint64_t unpriced_output_tokens = 0;
};
struct ManifestCost {
  std::vector<StageCost> stages;
  std::vector<double> workflows;  // indexed by workflow
  double total = 0;
};
ManifestCost ComputeCost(const ManifestState& state, const Lifecycle& lifecycle);
// Rounds a currency amount as the manifest shows it (1e-9 units).
double RoundCost(double amount);

// Folds one event that `leader` (the run state's lifecycle) has just applied successfully;
// the leader validated it. Fails only when the model table is full (kResourceExhausted
// naming the seq); the state is then unchanged.
base::Status ApplyFollowing(ManifestState& state, const events::v1::Event& event,
                            const Lifecycle& leader);

// The manifest as JSON: deterministic, keys in the order of the design page, 2-space
// indent, trailing newline. Invalid UTF-8 in an id is replaced, never thrown on.
std::string RenderManifestJson(const ManifestState& state, const Lifecycle& lifecycle);

// "permanent", "exhausted", "cancelled", "upstream_failed", "batch_failed"; "abandoned"
// for a reason this build does not name.
std::string_view AbandonReasonName(events::v1::AbandonReason reason);

}  // namespace batchlog::replay
