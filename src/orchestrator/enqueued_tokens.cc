#include "src/orchestrator/enqueued_tokens.h"

#include <map>
#include <utility>

namespace batchlog::orchestrator {

EnqueuedTokens::EnqueuedTokens(const replay::RunState& state,
                               const std::vector<StagePolicy>& policies,
                               const std::vector<std::uint32_t>& stage_of_policy,
                               std::span<const std::uint32_t> body_bytes)
    : body_bytes_(body_bytes) {
  std::map<std::pair<std::string, std::string>, std::size_t> keys;
  key_of_policy_.reserve(policies.size());
  for (const StagePolicy& policy : policies) {
    if (policy.quota_tokens) active_ = true;
    const auto [at, inserted] = keys.try_emplace({policy.provider, policy.model}, keys.size());
    key_of_policy_.push_back(at->second);
  }
  by_key_.assign(keys.size(), 0);
  if (!active_) return;

  const replay::Lifecycle& lifecycle = state.lifecycle;
  for (const replay::OpenIntent& intent : state.OpenIntents()) {
    // An ended batch (awaiting ingestion) no longer holds tokens at the provider.
    if (intent.kind == replay::OpenIntent::Kind::kAwaitingIngest) continue;
    const replay::BatchRecord& record = lifecycle.batches.records[intent.batch];
    std::size_t policy = 0;
    while (policy < stage_of_policy.size() && stage_of_policy[policy] != record.stage) ++policy;
    if (policy == stage_of_policy.size()) continue;  // a stage the workflow file no longer has
    std::uint64_t tokens = 0;
    for (std::uint32_t i = 0; i < record.member_count; ++i) {
      tokens += TokensOf(lifecycle.batches.members[record.member_begin + i]);
    }
    Add(policy, tokens);
  }
}

}  // namespace batchlog::orchestrator
