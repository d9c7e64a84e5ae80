// StagePolicy: what the decider needs to know about one stage of one workflow, resolved
// from the workflow file (stage overrides workflow overrides defaults). The orchestrator's
// own copy, so the pure decider depends on no parsing code.
//
// Ownership: plain values. Thread-safety: immutable once built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace batchlog::orchestrator {

struct RetrySchedule {
  std::uint32_t max_retries = 2;  // attempts = 1 + max_retries, per request, absolute
  double initial_delay_s = 30;
  double multiplier = 2;
  double max_delay_s = 300;
  double jitter = 0.2;  // delays are scaled by U(1 - jitter, 1 + jitter)
};

struct PollSchedule {
  double initial_s = 15;
  double max_s = 300;  // polls back off from initial_s to max_s while nothing changes
};

struct StagePolicy {
  std::string workflow;
  std::string stage;
  std::string provider;                           // the provider entry's name
  std::string endpoint = "/v1/chat/completions";  // OpenAI-style providers' `url`
  // Index (into the run's policies) of the stage this one is built from; nullopt for a
  // workflow's first stage, which is built from the dataset.
  std::optional<std::size_t> upstream;
  // First stage: how many requests the dataset gives (samples x variants x epochs).
  std::uint64_t expected_requests = 0;
  // Later stages: build from each upstream success as it arrives, instead of after the
  // upstream stage completed.
  bool as_ready = false;
  RetrySchedule retry;
  PollSchedule poll;
  std::uint32_t batch_max_requests = 50'000;
  std::uint64_t batch_max_bytes = 200ULL * 1000 * 1000;
  // The enqueued-token quota (design.md "Retry rules" 6). Stages with the same provider and
  // model share one count: the estimated input tokens of their batches that are planned or
  // at the provider and not yet ended.
  std::string model;                          // the body's model (a template as written)
  std::optional<std::uint64_t> quota_tokens;  // nullopt = unlimited
  double quota_warn_fraction = 0.8;           // a QuotaWarning when the count reaches this
};

}  // namespace batchlog::orchestrator
