// FaultPlan: what goes wrong in the emulator, and the pure functions that decide it.
//
// Three layers (docs/emulator.md has the file format with a full example):
//   - Request level: each request of a batch gets an OutcomeKind, a pure function of
//     (seed, custom_id, attempt) where attempt = how many times that custom_id has been
//     submitted to that API so far (1-based). hash -> uniform u in [0,1) -> kind by the
//     cumulative rates in OutcomeKind order. custom_ids listed in `always_fail` get their
//     kind on every attempt. With `transient_attempts_max = N`, transient kinds only strike
//     on attempts <= N, so a retry can succeed.
//   - Batch level: the nth batch created on an API (or a seeded fraction of batches) fails
//     validation, fails with token_limit_exceeded, expires with only part of its requests
//     done, or is cancelled by someone else part-way.
//   - Control plane: the nth call of an operation (upload, create, get, list, download,
//     cancel, delete) on an API, or a seeded fraction of calls, answers 429 + Retry-After,
//     500, 503 (Anthropic 529), resets the connection, drops the response of a create that
//     did succeed, answers slowly, or truncates a download. A pure function of
//     (seed, api, operation, per-operation call number).
//
// The file is YAML or JSON (yaml-cpp parses both). An empty plan injects nothing.
//
// Thread-safety: a FaultPlan is an immutable value after parsing; the Decide* functions
// are const and pure, callable from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"

namespace batchlog::sim {

// The two emulated provider APIs.
enum class Api : std::uint8_t { kOpenAi = 0, kAnthropic = 1 };
inline constexpr std::size_t kApiCount = 2;
// "openai" / "anthropic".
std::string_view ApiName(Api api);
std::optional<Api> ParseApi(std::string_view name);

// Per-request outcome. The order is the cumulative-rate order of the decision.
enum class OutcomeKind : std::uint8_t {
  kNone = 0,        // success
  kRateLimit,       // 429
  kServerError,     // 500
  kOverloaded,      // 503 (Anthropic 529)
  kTimeout,         // the model call timed out
  kExpired,         // not run before the window closed (this request only)
  kContentFilter,   // HTTP success; finish_reason content_filter / stop_reason refusal
  kInvalidRequest,  // 400
  // OpenAI 429 insufficient_quota, Anthropic billing_error: needs someone to act (billing)
  kInsufficientQuota,
};
inline constexpr std::size_t kOutcomeKindCount = 9;
// "none", "rate_limit", "server_error", "overloaded", "timeout", "expired",
// "content_filter", "invalid_request", "insufficient_quota".
std::string_view OutcomeKindName(OutcomeKind kind);
std::optional<OutcomeKind> ParseOutcomeKind(std::string_view name);
// rate_limit, server_error, overloaded, timeout and expired: worth retrying as they are.
bool IsTransient(OutcomeKind kind);

struct RequestFaults {
  // Probability of each kind; index = OutcomeKind; the kNone slot is ignored (success is
  // whatever the others leave). The sum of the others must be <= 1.
  std::array<double, kOutcomeKindCount> rates{};
  // custom_id -> kind, on every attempt (ignores transient_attempts_max).
  std::map<std::string, OutcomeKind, std::less<>> always_fail;
  // custom_id -> kind on its first `attempts` attempts, success after (scripted retries).
  struct FirstAttempts {
    OutcomeKind kind = OutcomeKind::kNone;
    std::int32_t attempts = 1;
  };
  std::map<std::string, FirstAttempts, std::less<>> fail_first_attempts;
  // When set, transient kinds (IsTransient) drawn from `rates` only strike on attempts
  // <= this; later attempts succeed.
  std::optional<std::int32_t> transient_attempts_max;
};

enum class BatchFaultKind : std::uint8_t {
  kNone = 0,
  kValidationFailure,   // the batch fails validation (OpenAI: status failed)
  kTokenLimitExceeded,  // OpenAI: failed with errors.data[].code token_limit_exceeded
  kExpire,              // stays in progress until the window closes with only a fraction done
  kCancelByOther,       // someone else cancels it once a fraction is done
};
// "none", "validation_failure", "token_limit_exceeded", "expire", "cancel".
std::string_view BatchFaultKindName(BatchFaultKind kind);

struct BatchFaultRule {
  BatchFaultKind kind = BatchFaultKind::kNone;
  std::optional<Api> api;  // empty = both APIs
  // 1-based ordinals of batches created on the API that this rule strikes.
  std::vector<std::int64_t> batches;
  // Otherwise, the probability that a batch is struck (seeded by the batch ordinal).
  double rate = 0;
  // kExpire / kCancelByOther: the fraction of the batch's requests done before it happens.
  double completed_fraction = 0.5;
  // kExpire / kCancelByOther: the requests that never ran get no line in either results
  // file (instead of batch_expired / batch_cancelled, or expired / canceled), as the
  // reference leaves open for OpenAI ("otherwise missing from both files").
  bool omit_unrun_lines = false;
};

struct BatchFault {
  BatchFaultKind kind = BatchFaultKind::kNone;
  double completed_fraction = 0;
  bool omit_unrun_lines = false;
};

// The operation classes of the control plane.
enum class Operation : std::uint8_t {
  kUpload = 0,  // POST /v1/files
  kCreate,      // POST /v1/batches, POST /v1/messages/batches
  kGet,         // GET a batch or a file object (polling)
  kList,        // GET the batch list
  kDownload,    // GET file content / batch results
  kCancel,      // POST .../cancel
  kDelete,      // DELETE a file or a batch
};
inline constexpr std::size_t kOperationCount = 7;
// "upload", "create", "get", "list", "download", "cancel", "delete".
std::string_view OperationName(Operation operation);
std::optional<Operation> ParseOperation(std::string_view name);

enum class ControlFaultKind : std::uint8_t {
  kNone = 0,
  kRateLimit,        // 429 with Retry-After: retry_after_s
  kServerError,      // 500
  kOverloaded,       // 503 (OpenAI) / 529 (Anthropic)
  kConnectionReset,  // the socket is closed without any response
  kDropResponse,     // the operation takes effect, then the connection is reset
  kSlow,             // the answer is delayed by delay_ms (real milliseconds), then normal
  kTruncate,         // downloads: only truncate_fraction of the body is sent, then close
  kUnauthorized,     // 401: the key is refused (OpenAI invalid_api_key, echoing it masked)
  kQuotaExceeded,    // OpenAI 429 insufficient_quota; Anthropic 402 billing_error
  kNotFound,         // 404: the batch, file or results are unknown (deleted, archived)
  kTimeout,          // 408 (OpenAI) / 504 timeout_error (Anthropic)
  kConflict,         // 409
  kBadGateway,       // 502 with an HTML body, as a gateway in front of the API sends
  kFileNotReady,     // OpenAI create: 400 "Cannot find file", param input_file_id (as seen
                     // right after an upload); Anthropic, which has no files: no fault
};
// "none", "rate_limit", "server_error", "overloaded", "connection_reset", "drop_response",
// "slow", "truncate", "unauthorized", "quota_exceeded", "not_found", "timeout", "conflict",
// "bad_gateway", "file_not_ready".
std::string_view ControlFaultKindName(ControlFaultKind kind);

struct ControlFaultRule {
  Operation operation = Operation::kCreate;
  ControlFaultKind kind = ControlFaultKind::kNone;
  std::optional<Api> api;  // empty = both APIs
  // 1-based call numbers (per api and operation) that this rule strikes.
  std::vector<std::int64_t> calls;
  // Otherwise, the probability that a call is struck.
  double rate = 0;
  std::int32_t retry_after_s = 1;
  std::int32_t delay_ms = 200;
  double truncate_fraction = 0.5;
};

// What the wire layer must do to one control-plane call.
struct ControlFault {
  ControlFaultKind kind = ControlFaultKind::kNone;
  std::int32_t retry_after_s = 0;
  std::int32_t delay_ms = 0;
  double truncate_fraction = 1.0;
};

class FaultPlan {
 public:
  // The empty plan: no faults.
  FaultPlan() = default;

  // Parses YAML or JSON text. InvalidArgument names the offending key.
  static base::Result<FaultPlan> Parse(std::string_view text);
  // Reads and parses a file; NotFound / InvalidArgument.
  static base::Result<FaultPlan> LoadFile(const std::filesystem::path& path);

  // The outcome of one request; attempt >= 1.
  OutcomeKind DecideRequestOutcome(std::uint64_t seed, std::string_view custom_id,
                                   std::int64_t attempt) const;
  // The batch-level fault of the `batch_ordinal`-th batch (1-based) created on `api`.
  // The first matching rule wins.
  BatchFault DecideBatchFault(std::uint64_t seed, Api api, std::int64_t batch_ordinal) const;
  // The control-plane fault of the `call_number`-th call (1-based) of `operation` on `api`.
  // The first matching rule wins.
  ControlFault DecideControlFault(std::uint64_t seed, Api api, Operation operation,
                                  std::int64_t call_number) const;

  const RequestFaults& request_faults() const { return request_faults_; }
  const std::vector<BatchFaultRule>& batch_rules() const { return batch_rules_; }
  const std::vector<ControlFaultRule>& control_rules() const { return control_rules_; }

  // Builders, for tests and in-process callers.
  RequestFaults& mutable_request_faults() { return request_faults_; }
  void AddBatchRule(BatchFaultRule rule) { batch_rules_.push_back(std::move(rule)); }
  void AddControlRule(ControlFaultRule rule) { control_rules_.push_back(std::move(rule)); }

 private:
  RequestFaults request_faults_;
  std::vector<BatchFaultRule> batch_rules_;
  std::vector<ControlFaultRule> control_rules_;
};

}  // namespace batchlog::sim
