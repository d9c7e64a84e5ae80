// EnqueuedTokens: the decider's ledger for the enqueued-token quota (design.md "Retry
// rules" 6). Providers limit the input tokens a model may have waiting in batches (OpenAI's
// "enqueued token limit"); a batch over the limit fails whole (token_limit_exceeded). The
// ledger counts, per (provider, model), the estimated input tokens of the batches that are
// planned or at the provider and not yet ended, as folded from the log, so a resumed run
// counts exactly what the interrupted one had in flight.
//
// A request's estimate is ceil(body bytes / 4) (workflow::EstimateInputTokens), computed
// here from the stage inputs' body sizes so the decider depends on no parsing code.
//
// Thread-safety: a value built for one Decide call.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "replay/run_state_projection.h"
#include "src/orchestrator/stage_policy.h"

namespace batchlog::orchestrator {

inline std::uint64_t EstimatedTokensOfBody(std::uint32_t body_bytes) {
  return (static_cast<std::uint64_t>(body_bytes) + 3) / 4;
}

class EnqueuedTokens {
 public:
  // `stage_of_policy`: each policy's stage index in `state` (kNoIndex before its first
  // request); `body_bytes`: per request index, its body size (stage inputs projection).
  EnqueuedTokens(const replay::RunState& state, const std::vector<StagePolicy>& policies,
                 const std::vector<std::uint32_t>& stage_of_policy,
                 std::span<const std::uint32_t> body_bytes);

  // True when some policy has a quota (otherwise nothing is counted).
  bool active() const { return active_; }
  // The count of the policy's (provider, model).
  std::uint64_t Of(std::size_t policy) const { return by_key_[key_of_policy_[policy]]; }
  // A new batch of the policy's stage: its tokens join the count.
  void Add(std::size_t policy, std::uint64_t tokens) { by_key_[key_of_policy_[policy]] += tokens; }
  // The estimate of one request (0 when its body size is unknown).
  std::uint64_t TokensOf(std::uint32_t request) const {
    return request < body_bytes_.size() ? EstimatedTokensOfBody(body_bytes_[request]) : 0;
  }

 private:
  bool active_ = false;
  std::span<const std::uint32_t> body_bytes_;
  std::vector<std::size_t> key_of_policy_;  // policy -> index into by_key_
  std::vector<std::uint64_t> by_key_;
};

}  // namespace batchlog::orchestrator
