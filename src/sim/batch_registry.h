// BatchRegistry: the emulator's shared state and the batch lifecycle both APIs use.
//
// It holds files (metadata in memory, bytes in the spool directory), batches (tagged with
// their Api), per-API per-custom_id submission counts, per-API stats and per-API
// control-plane call counters. The wire files (openai_wire, anthropic_wire) only
// translate between their wire format and this API.
//
// Lifecycle (docs/emulator.md, "Lifecycle and timing"). A batch's status is evaluated
// lazily from simulated time on every read; nothing runs in the background:
//
//   created_at = T0
//   validating   [T0, T1)        T1 = T0 + validating_s   (0 when spec.validating is false)
//   failed       at T1           when the spec carries validation errors or a batch fault
//                                made it fail; no request runs
//   in_progress  [T1, T2)        request k (0-based, processing order) finishes at
//                                T1 + processing_s_base + (k + 1) * processing_s_per_request
//   finalizing   [T2, T3)        T2 = when the last request finished, T3 = T2 + finalizing_s
//   completed    at T3
//   expired      at expires_at = T0 + window_s, if still validating / in_progress then;
//                requests not done get RequestFate::kExpired
//   cancelling   [Tc, Tc + cancelling_s) after CancelBatch (or a cancel-by-other fault)
//                at Tc; requests done by Tc keep their result, the rest are kCancelled
//   cancelled    at Tc + cancelling_s
//
// Processing order is a seeded shuffle of the input order; results files list the
// requests that ran in that order, then those that did not.
//
// Attempts and outcomes are decided at CreateBatch: attempt = ++submissions[api][custom_id]
// and outcome = FaultPlan::DecideRequestOutcome(seed, custom_id, attempt). Batches that
// carry validation errors do not count as submissions.
//
// Results files are written once, the first time a read observes the batch at or past
// finalizing (or terminal): one pass over the input spool file through the batch's
// ResultFormatter, streamed to two spool files (output, error). They are registered as
// files (purpose "batch_output", ids "file-...") when non-empty and exposed on the snapshot
// once the batch is terminal. Only the request index (custom_id, byte range, attempt,
// outcome) is held in memory, never the bodies.
//
// Ownership: the registry owns the spool directory's contents it created (files are
// deleted on DeleteFile / DeleteBatch / Reset / destruction). `clock`, `plan` must
// outlive it; formatters passed in a BatchSpec must outlive it (use static instances).
// Thread-safety: every public method is thread-safe. One registry mutex guards the maps;
// a batch's results are written under that batch's own mutex, so other batches and files
// stay readable meanwhile.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/base/clock.h"
#include "src/base/result.h"
#include "src/base/status.h"
#include "src/sim/fault_plan.h"
#include "src/sim/sim_clock.h"

namespace batchlog::sim {

// Simulated durations of the lifecycle, in simulated seconds.
struct LifecycleOptions {
  double validating_s = 2.0;                 // only for specs with validating = true
  double processing_s_base = 5.0;            // before the first request finishes
  double processing_s_per_request = 0.01;    // between consecutive requests
  double finalizing_s = 2.0;
  double cancelling_s = 5.0;
  double window_s = 86400.0;                 // the completion window (24 h)
};

// API-neutral phase; each wire maps it to its own status names.
enum class BatchPhase : std::uint8_t {
  kValidating = 0,
  kFailed,
  kInProgress,
  kFinalizing,
  kCompleted,
  kExpired,
  kCancelling,
  kCancelled,
};
std::string_view BatchPhaseName(BatchPhase phase);
// failed, completed, expired, cancelled.
bool IsTerminal(BatchPhase phase);

// What became of one request when the results were written.
enum class RequestFate : std::uint8_t {
  kRan = 0,    // it ran, with its OutcomeKind
  kExpired,    // the window closed before it ran
  kCancelled,  // the batch was cancelled before it ran
};

// A batch-level error (OpenAI errors.data[]).
struct BatchError {
  std::string code;
  std::string message;
  std::optional<std::string> param;
  std::optional<std::int64_t> line;  // 1-based input line
};

struct FileRecord {
  std::string id;  // "file-..."
  Api api = Api::kOpenAi;
  std::string filename;
  std::string purpose;  // "batch" for uploads, "batch_output" for results
  std::int64_t bytes = 0;
  base::Timestamp created_at;
  std::filesystem::path path;  // in the spool directory
};

// One request of a new batch: its custom_id and where its JSON text lies in the spec's
// input file (the wire decides what that text is: OpenAI the whole input line, Anthropic
// whatever it spooled, e.g. the params object).
struct RequestSlice {
  std::string custom_id;
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  // Set by a wire that already knows the outcome (Anthropic: params that fail the
  // asynchronous validation -> kInvalidRequest); replaces the fault plan's decision. The
  // attempt still counts.
  std::optional<OutcomeKind> outcome_override;
};

// Input of ResultFormatter::FormatLine.
struct ResultLineInput {
  std::string_view batch_id;
  std::string_view custom_id;
  std::string_view request_json;  // the RequestSlice's bytes
  const nlohmann::json* wire_fields = nullptr;  // the batch's BatchSpec::wire_fields
  OutcomeKind outcome = OutcomeKind::kNone;     // meaningful when fate == kRan
  RequestFate fate = RequestFate::kRan;
  std::int64_t attempt = 1;
  base::Timestamp finished_at;  // when it ran (kRan) or when the batch ended
  std::uint64_t line_hash = 0;  // MixHash(seed, batch_id + custom_id, 0): for line ids
};

enum class ResultDestination : std::uint8_t { kOutput = 0, kError };

// Turns one request's result into one JSONL line; implemented by each wire file.
// Implementations must be stateless (or thread-safe), must not throw, and must outlive
// the registry (static instances).
class ResultFormatter {
 public:
  virtual ~ResultFormatter() = default;
  // Appends exactly one line, ending in '\n', to `line`; returns the file it belongs in.
  virtual ResultDestination FormatLine(const ResultLineInput& input,
                                       std::string& line) const = 0;
};

struct BatchSpec {
  Api api = Api::kOpenAi;
  std::string id_prefix = "batch_";  // "batch_" / "msgbatch_"
  bool validating = true;            // passes through the validating phase
  bool finalizing = true;            // passes through finalizing (Anthropic: ends at once)
  // Holds the requests' JSON text. The registry hard-links (or copies) it into the batch's
  // own spool path at create, so deleting the source afterwards is safe.
  std::filesystem::path input_path;
  std::vector<RequestSlice> requests;  // input order
  // Non-empty: the batch fails at the end of validation with these errors.
  std::vector<BatchError> validation_errors;
  // Opaque wire fields echoed back on snapshots (endpoint, metadata, input_file_id, ...).
  nlohmann::json wire_fields = nlohmann::json::object();
  const ResultFormatter* formatter = nullptr;  // required
};

// A consistent view of a batch at one simulated instant. Cheap to copy (no requests).
struct BatchSnapshot {
  std::string id;
  Api api = Api::kOpenAi;
  BatchPhase phase = BatchPhase::kValidating;
  base::Timestamp now;  // the simulated instant this view describes
  base::Timestamp created_at;
  base::Timestamp expires_at;
  std::optional<base::Timestamp> in_progress_at;
  std::optional<base::Timestamp> finalizing_at;
  std::optional<base::Timestamp> completed_at;
  std::optional<base::Timestamp> failed_at;
  std::optional<base::Timestamp> expired_at;
  std::optional<base::Timestamp> cancelling_at;
  std::optional<base::Timestamp> cancelled_at;
  // The terminal instant (completed/failed/expired/cancelled_at), if terminal.
  std::optional<base::Timestamp> ended_at;

  std::int64_t total = 0;  // requests in the batch
  // Requests that ran so far, by outcome (index = OutcomeKind); sum = ran.
  std::array<std::int64_t, kOutcomeKindCount> ran_by_outcome{};
  std::int64_t ran = 0;
  std::int64_t expired = 0;    // fate kExpired; non-zero only once terminal
  std::int64_t cancelled = 0;  // fate kCancelled; non-zero only once terminal

  std::vector<BatchError> errors;  // set once failed
  // Set once terminal and the file is non-empty. For one-file APIs (Anthropic) every
  // line is in the output file.
  std::optional<FileRecord> output_file;
  std::optional<FileRecord> error_file;
  // Whether results were written (terminal and not failed).
  bool results_ready = false;

  nlohmann::json wire_fields;
};

struct BatchListPage {
  std::vector<BatchSnapshot> batches;  // newest first
  bool has_more = false;
};

class BatchRegistry {
 public:
  // `spool_dir` must exist and be writable. `clock` and `plan` must outlive the registry.
  BatchRegistry(const SimClock& clock, const FaultPlan& plan, std::uint64_t seed,
                LifecycleOptions lifecycle, std::filesystem::path spool_dir);
  ~BatchRegistry();
  BatchRegistry(const BatchRegistry&) = delete;
  BatchRegistry& operator=(const BatchRegistry&) = delete;

  std::uint64_t seed() const { return seed_; }
  const SimClock& clock() const { return clock_; }
  const FaultPlan& fault_plan() const { return plan_; }
  const LifecycleOptions& lifecycle() const { return lifecycle_; }

  // A fresh, unique path in the spool directory (not created). `hint` becomes part of
  // the name. The caller writes it and then hands it to AddFile or a BatchSpec, or
  // removes it.
  std::filesystem::path NewSpoolPath(std::string_view hint);

  // --- Files ---
  // Registers a spooled file (moves ownership of `spooled_path` to the registry).
  // Counts in the API's files_created stat.
  base::Result<FileRecord> AddFile(Api api, std::string filename, std::string purpose,
                                   const std::filesystem::path& spooled_path);
  // NotFound if unknown or deleted.
  base::Result<FileRecord> GetFile(std::string_view file_id) const;
  // Removes the record and its bytes. NotFound if unknown.
  base::Status DeleteFile(std::string_view file_id);

  // --- Batches ---
  // Creates the batch, assigns attempts and outcomes, draws its batch-level fault.
  // For specs with validating = false (Anthropic), a drawn validation_failure fault
  // returns InvalidArgument and token_limit_exceeded returns ResourceExhausted, and no
  // batch is created. InvalidArgument if the spec lacks a formatter or input.
  base::Result<BatchSnapshot> CreateBatch(BatchSpec spec);
  // NotFound if unknown. Writes the results file on the first read past finalizing.
  base::Result<BatchSnapshot> GetBatch(std::string_view batch_id);
  // Moves a validating or in-progress batch to cancelling (a batch already cancelling is
  // returned as is). FailedPrecondition once it is finalizing or terminal; NotFound.
  base::Result<BatchSnapshot> CancelBatch(std::string_view batch_id);
  // Removes a terminal batch and its results files. FailedPrecondition while it is not
  // terminal; NotFound.
  base::Status DeleteBatch(std::string_view batch_id);
  // Batches of `api`, newest first. `after_id` (exclusive) starts after that batch,
  // `before_id` (exclusive) ends before it; an unknown cursor is NotFound. limit >= 1.
  base::Result<BatchListPage> ListBatches(Api api, std::string_view after_id,
                                          std::string_view before_id, std::size_t limit);

  // --- Control plane ---
  // Counts the call and returns the fault (if any) the plan assigns to it.
  ControlFault NextControlFault(Api api, Operation operation);

  // --- Introspection ---
  // How many times `custom_id` was submitted to `api` (0 if never).
  std::int64_t SubmissionCount(Api api, std::string_view custom_id) const;
  // {"openai": {"batches_created", "files_created", "requests_submitted",
  //             "control_faults_injected", "submissions": {custom_id: n}}, "anthropic": ...}
  nlohmann::json StatsJson() const;
  // Forgets every file, batch, counter and stat and deletes their spool files.
  void Reset();

 private:
  struct Batch;
  struct ApiState;

  std::shared_ptr<Batch> FindBatch(std::string_view batch_id) const;
  // Both require batch.mutex held.
  BatchSnapshot Evaluate(Batch& batch, base::Timestamp now);
  void EnsureResults(Batch& batch, BatchSnapshot& snapshot);
  base::Status WriteResults(Batch& batch, const BatchSnapshot& snapshot);
  // Requires mutex_ held.
  std::string NewId(std::string_view prefix);

  const SimClock& clock_;
  const FaultPlan& plan_;
  const std::uint64_t seed_;
  const LifecycleOptions lifecycle_;
  const std::filesystem::path spool_dir_;

  mutable std::mutex mutex_;
  std::map<std::string, FileRecord, std::less<>> files_;
  std::map<std::string, std::shared_ptr<Batch>, std::less<>> batches_;
  std::vector<std::shared_ptr<Batch>> batch_order_;  // creation order
  std::unique_ptr<ApiState> api_state_[kApiCount];
  std::uint64_t id_counter_ = 0;
  std::atomic<std::uint64_t> spool_counter_{0};
};

}  // namespace batchlog::sim
