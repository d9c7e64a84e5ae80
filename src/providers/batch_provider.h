// BatchProvider: the provider-neutral interface the orchestrator drives (OpenAI Batch,
// Anthropic Message Batches, OpenAI-compatible services behind another base URL).
//
// Error contract (docs/providers.md):
// - A provider *rejection* of a create (HTTP 4xx/5xx with the provider's error envelope,
//   after the transport's safe retries) is data: CreateResult.rejected / UploadResult
//   .rejected, because the orchestrator records it as a SubmitRejected event.
// - A non-OK Status means the call itself did not complete: kUnavailable / kDeadlineExceeded
//   (transient; safe calls were already retried by the transport), kNotFound (unknown id),
//   kInvalidArgument (a response we cannot understand: HTML, empty, truncated JSON,
//   unexpected status value; the message names the call and what was wrong), and
//   kOutcomeUnknown for a create whose response was lost (timeout or reset after the
//   request was sent): the caller reconciles with FindBatch and never resubmits blindly.
// - No message, log line or field ever contains the API key.
//
// Thread-safety: one provider object per thread; calls are blocking.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/base/status.h"
#include "src/providers/result_line.h"

namespace batchlog::providers {

// Same meanings and numbering as events::v1::BatchStatus (the orchestrator maps 1:1).
enum class BatchState : std::uint8_t {
  kUnspecified = 0,
  kValidating = 1,
  kInProgress = 2,
  kFinalizing = 3,
  kCancelling = 4,
  kCompleted = 10,
  kFailed = 11,
  kExpired = 12,
  kCancelled = 13,
};
bool IsTerminal(BatchState state);

struct RequestCounts {
  std::uint32_t total = 0;
  std::uint32_t processing = 0;
  std::uint32_t succeeded = 0;
  std::uint32_t failed = 0;
  std::uint32_t cancelled = 0;
  std::uint32_t expired = 0;
  bool operator==(const RequestCounts&) const = default;
};

struct BatchErrorInfo {  // OpenAI batch.errors.data[] (validation failures)
  std::string code;
  std::string message;
  std::uint32_t line = 0;
  std::string param;
};

struct BatchInfo {
  std::string id;  // the provider's batch id
  BatchState state = BatchState::kUnspecified;
  std::string provider_status;  // as the provider spells it, e.g. "in_progress", "ended"
  RequestCounts counts;
  std::int64_t created_at_unix_us = 0;
  std::string input_file_id;   // OpenAI; empty when null
  std::string output_file_id;  // OpenAI; empty when null
  std::string error_file_id;   // OpenAI; empty when null
  std::string results_url;     // Anthropic; empty until ended
  std::vector<BatchErrorInfo> errors;
  std::map<std::string, std::string> metadata;  // OpenAI only
};

// A provider's refusal of an upload or create, as the provider reported it.
struct ApiError {
  int http_status = 0;
  std::string type;
  std::string code;
  std::string message;
  std::string param;  // OpenAI: the parameter at fault, when named (e.g. "input_file_id")
  std::optional<double> retry_after_s;  // Retry-After / retry-after-ms, when sent
  std::string request_id;  // x-request-id (OpenAI) / request-id (Anthropic), when sent
};

struct RequestEntry {
  std::string custom_id;
  // The request body as JSON text: OpenAI the endpoint's body ({"model":..,"messages":..}),
  // Anthropic the `params` object. Embedded verbatim (never re-serialized).
  std::string body_json;
};

struct SubmitSpec {
  std::string run_id;
  std::string batch_key;  // deterministic local key; OpenAI metadata batchlog_batch_key
  std::string workflow;
  std::string stage;
  std::uint32_t attempt = 1;  // highest attempt among the requests
  std::string endpoint = "/v1/chat/completions";  // OpenAI `url` of each line
  std::string completion_window = "24h";
  std::vector<RequestEntry> requests;
};

struct UploadResult {
  std::string file_id;            // set when uploaded
  std::uint64_t bytes = 0;
  std::optional<ApiError> rejected;  // set when the provider refused the upload
};

struct CreateResult {
  std::optional<BatchInfo> batch;    // set when created
  std::optional<ApiError> rejected;  // set when the provider refused the create
};

struct BatchPage {
  std::vector<BatchInfo> batches;
  bool has_more = false;
  std::string last_id;  // cursor for the next page (OpenAI after; Anthropic after_id)
};

struct FindBatchQuery {
  std::string batch_key;
  // OpenAI: the batch's metadata batchlog_run must name this run (batch keys repeat across
  // runs of one workflow, and across a fork and its source). Empty: not checked.
  std::string run_id;
  std::int64_t planned_at_unix_us = 0;  // when the BatchPlanned intent was recorded
  std::uint32_t request_count = 0;
  std::int64_t window_us = 15LL * 60 * 1'000'000;  // Anthropic: created within this window
  std::uint32_t max_pages = 20;                    // bound on the listing
  std::vector<std::string> exclude_ids;  // Anthropic: batches already claimed, never a match
};

struct DownloadedResults {
  // OpenAI: the output file, then the error file (each only when the batch has one).
  // Anthropic: the results file. Each is complete: a truncated download is an error.
  std::vector<std::filesystem::path> files;
  std::uint64_t bytes = 0;
};

class BatchProvider {
 public:
  virtual ~BatchProvider() = default;

  virtual ProviderKind kind() const = 0;
  // The workflow file's name for this provider entry, e.g. "openai" or "claude".
  virtual const std::string& name() const = 0;
  // True for OpenAI-style providers: UploadInput before CreateBatch.
  virtual bool uploads_input_file() const = 0;

  // OpenAI: writes the input JSONL (one line per request, url = spec.endpoint) to
  // `spool_file` and uploads it with purpose=batch.
  virtual base::Result<UploadResult> UploadInput(const SubmitSpec& spec,
                                                 const std::filesystem::path& spool_file) = 0;
  // OpenAI: creates from `input_file_id`, metadata batchlog_run, batchlog_batch_key,
  // batchlog_stage ("<workflow>/<stage>"), batchlog_attempt. Anthropic: inline requests
  // (input_file_id ignored).
  virtual base::Result<CreateResult> CreateBatch(const SubmitSpec& spec,
                                                 std::string_view input_file_id) = 0;
  virtual base::Result<BatchInfo> GetBatch(std::string_view batch_id) = 0;
  // One page; `after` empty for the first. OpenAI newest first by the API's order;
  // Anthropic newest first.
  virtual base::Result<BatchPage> ListBatches(std::string_view after, std::uint32_t limit) = 0;
  virtual base::Result<BatchInfo> CancelBatch(std::string_view batch_id) = 0;
  // Downloads every results file of an ended batch into `spool_dir` (created if missing),
  // streaming to disk. A truncated download (short body, last line without its newline)
  // is kUnavailable and leaves no file that looks complete.
  virtual base::Result<DownloadedResults> DownloadResults(
      const BatchInfo& batch, const std::filesystem::path& spool_dir) = 0;
  // Reconciliation after a crash between BatchPlanned and BatchSubmitted. OpenAI: the batch
  // whose metadata.batchlog_batch_key matches (client-side filter over bounded pages).
  // Anthropic: a batch created within the window after planned_at with request_count
  // requests (the caller verifies custom_ids when results arrive). nullopt when none.
  virtual base::Result<std::optional<BatchInfo>> FindBatch(const FindBatchQuery& query) = 0;
};

}  // namespace batchlog::providers
