#include "src/providers/anthropic_provider.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "src/base/json_string.h"
#include "src/providers/rfc3339.h"

namespace batchlog::providers {
namespace {

// A batch created this long before its plan was recorded still counts (clock skew).
constexpr std::int64_t kFindSkewUs = 60LL * 1'000'000;

base::Result<std::int64_t> OptionalTime(std::string_view call, const Json& object,
                                        std::string_view key) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::string text, OptionalString(object, key, call));
  if (text.empty()) return std::int64_t{0};
  const std::optional<std::int64_t> micros = ParseRfc3339Micros(text);
  if (!micros) {
    return base::InvalidArgumentError(std::string(call) + ": field \"" + std::string(key) +
                                      "\" is not an RFC 3339 time: \"" + Snippet(text) + "\"");
  }
  return *micros;
}

}  // namespace

base::Result<BatchInfo> ParseAnthropicBatch(std::string_view call, const Json& object) {
  BatchInfo batch;
  BATCHLOG_ASSIGN_OR_RETURN(batch.id, RequiredString(object, "id", call));
  BATCHLOG_ASSIGN_OR_RETURN(batch.provider_status,
                            RequiredString(object, "processing_status", call));
  BATCHLOG_ASSIGN_OR_RETURN(const std::int64_t cancel_initiated_us,
                            OptionalTime(call, object, "cancel_initiated_at"));
  if (batch.provider_status == "in_progress") {
    batch.state = BatchState::kInProgress;
  } else if (batch.provider_status == "canceling") {
    batch.state = BatchState::kCancelling;
  } else if (batch.provider_status == "ended") {
    batch.state = cancel_initiated_us != 0 ? BatchState::kCancelled : BatchState::kCompleted;
  } else {
    return base::InvalidArgumentError(std::string(call) + ": batch " + batch.id +
                                      ": unexpected processing_status value \"" +
                                      Snippet(batch.provider_status) + "\"");
  }
  if (const Json* counts = FindField(object, "request_counts")) {
    const std::string context = std::string(call) + ": request_counts";
    RequestCounts& out = batch.counts;
    BATCHLOG_ASSIGN_OR_RETURN(out.processing, CountField(*counts, "processing", context));
    BATCHLOG_ASSIGN_OR_RETURN(out.succeeded, CountField(*counts, "succeeded", context));
    BATCHLOG_ASSIGN_OR_RETURN(out.failed, CountField(*counts, "errored", context));
    BATCHLOG_ASSIGN_OR_RETURN(out.cancelled, CountField(*counts, "canceled", context));
    BATCHLOG_ASSIGN_OR_RETURN(out.expired, CountField(*counts, "expired", context));
    const std::uint64_t total =
        std::uint64_t{out.processing} + out.succeeded + out.failed + out.cancelled + out.expired;
    if (total > UINT32_MAX) {
      return base::InvalidArgumentError(std::string(call) + ": request_counts overflow");
    }
    out.total = static_cast<std::uint32_t>(total);
  }
  BATCHLOG_ASSIGN_OR_RETURN(batch.created_at_unix_us, OptionalTime(call, object, "created_at"));
  BATCHLOG_ASSIGN_OR_RETURN(batch.results_url, OptionalString(object, "results_url", call));
  return batch;
}

base::Result<std::string> AnthropicCreateBody(const SubmitSpec& spec) {
  if (spec.requests.empty()) {
    return base::InvalidArgumentError("batch " + spec.batch_key + " has no requests");
  }
  std::size_t size = 16;
  for (const RequestEntry& request : spec.requests) {
    BATCHLOG_RETURN_IF_ERROR(
        CheckJsonObjectText("request " + request.custom_id + ": body_json", request.body_json));
    size += request.custom_id.size() + request.body_json.size() + 32;
  }
  std::string body;
  body.reserve(size);
  body += "{\"requests\":[";
  bool first = true;
  for (const RequestEntry& request : spec.requests) {
    if (!first) body += ',';
    first = false;
    body += "{\"custom_id\":";
    base::AppendJsonString(body, request.custom_id);
    body += ",\"params\":";
    body += request.body_json;
    body += '}';
  }
  body += "]}";
  return body;
}

AnthropicProvider::AnthropicProvider(ApiClient client, std::uint32_t find_page_size)
    : client_(std::move(client)), find_page_size_(std::max<std::uint32_t>(find_page_size, 1)) {}

base::Result<UploadResult> AnthropicProvider::UploadInput(const SubmitSpec&,
                                                          const std::filesystem::path&) {
  // Requests travel inline in CreateBatch; there is nothing to upload.
  return UploadResult{};
}

base::Result<CreateResult> AnthropicProvider::CreateBatch(const SubmitSpec& spec,
                                                          std::string_view) {
  BATCHLOG_ASSIGN_OR_RETURN(std::string body, AnthropicCreateBody(spec));
  const std::string call = client_.CallName("CreateBatch", spec.batch_key);
  http::HttpRequest request = client_.NewRequest(http::HttpMethod::kPost, "/messages/batches", call,
                                                 /*safe_to_retry=*/false);
  request.headers.push_back({"Content-Type", "application/json"});
  request.body = std::move(body);
  BATCHLOG_ASSIGN_OR_RETURN(const http::HttpResponse response, client_.Send(request));

  CreateResult result;
  if (response.status < 200 || response.status >= 300) {
    BATCHLOG_ASSIGN_OR_RETURN(result.rejected, client_.BatchCreateRejection(call, response));
    return result;
  }
  // A 2xx we cannot read still created the batch: reconcile (FindBatch), never resubmit.
  const base::Result<Json> object = ParseJsonObject(call, response.body);
  base::Result<BatchInfo> batch =
      object.ok() ? ParseAnthropicBatch(call, *object) : base::Result<BatchInfo>(object.status());
  if (!batch.ok()) {
    return base::OutcomeUnknownError(batch.status().message() +
                                     "; the batch may have been created");
  }
  result.batch = *std::move(batch);
  return result;
}

base::Result<BatchInfo> AnthropicProvider::GetBatch(std::string_view batch_id) {
  BATCHLOG_RETURN_IF_ERROR(CheckId("batch id", batch_id));
  const std::string call = client_.CallName("GetBatch", batch_id);
  const http::HttpRequest request =
      client_.NewRequest(http::HttpMethod::kGet, "/messages/batches/" + std::string(batch_id), call,
                         /*safe_to_retry=*/true);
  BATCHLOG_ASSIGN_OR_RETURN(const Json object, client_.SendForObject(request));
  return ParseAnthropicBatch(call, object);
}

base::Result<BatchPage> AnthropicProvider::ListBatches(std::string_view after,
                                                       std::uint32_t limit) {
  std::string path = "/messages/batches?limit=" + std::to_string(std::max<std::uint32_t>(limit, 1));
  if (!after.empty()) {
    BATCHLOG_RETURN_IF_ERROR(CheckId("after_id cursor", after));
    path += "&after_id=";
    path.append(after);
  }
  const std::string call = client_.CallName("ListBatches", after);
  const http::HttpRequest request =
      client_.NewRequest(http::HttpMethod::kGet, path, call, /*safe_to_retry=*/true);
  BATCHLOG_ASSIGN_OR_RETURN(const Json object, client_.SendForObject(request));
  return ParseBatchPage(call, object, &ParseAnthropicBatch);
}

base::Result<BatchInfo> AnthropicProvider::CancelBatch(std::string_view batch_id) {
  BATCHLOG_RETURN_IF_ERROR(CheckId("batch id", batch_id));
  const std::string call = client_.CallName("CancelBatch", batch_id);
  const http::HttpRequest request = client_.NewRequest(
      http::HttpMethod::kPost, "/messages/batches/" + std::string(batch_id) + "/cancel", call,
      /*safe_to_retry=*/true);
  BATCHLOG_ASSIGN_OR_RETURN(const Json object, client_.SendForObject(request));
  return ParseAnthropicBatch(call, object);
}

base::Result<DownloadedResults> AnthropicProvider::DownloadResults(
    const BatchInfo& batch, const std::filesystem::path& spool_dir) {
  const std::string call = client_.CallName("DownloadResults", batch.id);
  if (!IsTerminal(batch.state) || batch.results_url.empty()) {
    return base::FailedPreconditionError(call +
                                         ": the batch has not ended or has no results_url"
                                         " (processing_status " +
                                         batch.provider_status + ")");
  }
  BATCHLOG_RETURN_IF_ERROR(CheckId("batch id", batch.id));
  std::error_code error;
  std::filesystem::create_directories(spool_dir, error);
  if (error) {
    return base::InternalError("cannot create the spool directory " + spool_dir.string() + ": " +
                               error.message());
  }
  DownloadedResults results;
  const std::filesystem::path path = spool_dir / (batch.id + ".jsonl");
  // Downloads land only complete (fsynced .part, checked, renamed): a file at the final name
  // is a finished earlier download of the same results.
  if (std::filesystem::is_regular_file(path, error)) {
    results.bytes = std::filesystem::file_size(path, error);
    results.files.push_back(path);
    return results;
  }
  http::HttpRequest request = client_.NewRequestForUrl(http::HttpMethod::kGet, batch.results_url,
                                                       call, /*safe_to_retry=*/true);
  client_.MakeDownload(request, path);
  BATCHLOG_ASSIGN_OR_RETURN(const http::HttpResponse response, client_.Send(request));
  if (response.status < 200 || response.status >= 300) return client_.ErrorStatus(call, response);
  results.bytes = response.downloaded_bytes;
  results.files.push_back(path);
  return results;
}

base::Result<std::optional<BatchInfo>> AnthropicProvider::FindBatch(const FindBatchQuery& query) {
  const std::int64_t earliest_us = query.planned_at_unix_us - kFindSkewUs;
  const std::int64_t latest_us = query.planned_at_unix_us + query.window_us;
  std::optional<BatchInfo> best;
  std::int64_t best_distance_us = 0;
  std::string after;
  for (std::uint32_t page_index = 0; page_index < query.max_pages; ++page_index) {
    BATCHLOG_ASSIGN_OR_RETURN(BatchPage page, ListBatches(after, find_page_size_));
    for (BatchInfo& batch : page.batches) {
      const std::int64_t created_us = batch.created_at_unix_us;
      if (created_us < earliest_us || created_us > latest_us) continue;
      if (batch.counts.total != query.request_count) continue;
      if (std::count(query.exclude_ids.begin(), query.exclude_ids.end(), batch.id)) continue;
      const std::int64_t distance_us = created_us >= query.planned_at_unix_us
                                           ? created_us - query.planned_at_unix_us
                                           : query.planned_at_unix_us - created_us;
      if (!best || distance_us < best_distance_us) {
        best_distance_us = distance_us;
        best = std::move(batch);
      }
    }
    if (!page.has_more || page.batches.empty() || page.last_id.empty()) return best;
    // Newest first: once a page ends before the window, nothing older can match.
    if (page.batches.back().created_at_unix_us < earliest_us) return best;
    after = page.last_id;
  }
  if (best) return best;
  return base::FailedPreconditionError(
      client_.CallName("FindBatch", query.batch_key) + ": no match in the newest " +
      std::to_string(query.max_pages) + " pages of " + std::to_string(find_page_size_) +
      " batches, which are all newer than the window's start; raise max_pages");
}

}  // namespace batchlog::providers
