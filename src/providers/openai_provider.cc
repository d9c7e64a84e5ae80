#include "src/providers/openai_provider.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include "src/base/json_string.h"

namespace batchlog::providers {
namespace {

// FindBatch stops paging once batches are this much older than the plan: the listing is
// newest first, and a batch cannot be created before its plan was recorded, so the margin
// only absorbs clock skew between us and the provider.
constexpr std::int64_t kFindSkewMarginUs = 10LL * 60 * 1'000'000;
constexpr std::size_t kWriteBufferBytes = 1 << 20;

base::Result<std::vector<BatchErrorInfo>> ParseErrors(std::string_view call, const Json& batch) {
  std::vector<BatchErrorInfo> errors;
  const Json* list = FindField(batch, "errors");
  if (list == nullptr) return errors;
  const Json* data = FindField(*list, "data");
  if (data == nullptr) return errors;
  if (!data->is_array()) {
    return base::InvalidArgumentError(std::string(call) + ": errors.data is not an array");
  }
  const std::string context = std::string(call) + ": errors.data[]";
  for (const Json& entry : *data) {
    BatchErrorInfo error;
    BATCHLOG_ASSIGN_OR_RETURN(error.code, OptionalString(entry, "code", context));
    BATCHLOG_ASSIGN_OR_RETURN(error.message, OptionalString(entry, "message", context));
    BATCHLOG_ASSIGN_OR_RETURN(error.param, OptionalString(entry, "param", context));
    BATCHLOG_ASSIGN_OR_RETURN(const std::optional<std::int64_t> line,
                              OptionalInt(entry, "line", context));
    if (line && *line > 0 && *line <= static_cast<std::int64_t>(UINT32_MAX)) {
      error.line = static_cast<std::uint32_t>(*line);
    }
    errors.push_back(std::move(error));
  }
  return errors;
}

}  // namespace

base::Result<BatchState> OpenAiBatchState(std::string_view status) {
  if (status == "validating") return BatchState::kValidating;
  if (status == "in_progress") return BatchState::kInProgress;
  if (status == "finalizing") return BatchState::kFinalizing;
  if (status == "cancelling" || status == "canceling") return BatchState::kCancelling;
  if (status == "completed") return BatchState::kCompleted;
  if (status == "failed") return BatchState::kFailed;
  if (status == "expired") return BatchState::kExpired;
  if (status == "cancelled" || status == "canceled") return BatchState::kCancelled;
  return base::InvalidArgumentError("unexpected batch status value \"" + Snippet(status) + "\"");
}

base::Result<BatchInfo> ParseOpenAiBatch(std::string_view call, const Json& object) {
  if (FindField(object, "error") != nullptr && FindField(object, "status") == nullptr) {
    return base::InvalidArgumentError(std::string(call) +
                                      ": answered 2xx with an error body instead of a batch: \"" +
                                      Snippet(object.dump()) + "\"");
  }
  BatchInfo batch;
  BATCHLOG_ASSIGN_OR_RETURN(batch.id, RequiredString(object, "id", call));
  BATCHLOG_ASSIGN_OR_RETURN(batch.provider_status, RequiredString(object, "status", call));
  const base::Result<BatchState> state = OpenAiBatchState(batch.provider_status);
  if (!state.ok()) return state.status().WithContext(std::string(call) + ": batch " + batch.id);
  batch.state = *state;

  if (const Json* counts = FindField(object, "request_counts")) {
    const std::string context = std::string(call) + ": request_counts";
    BATCHLOG_ASSIGN_OR_RETURN(batch.counts.total, CountField(*counts, "total", context));
    BATCHLOG_ASSIGN_OR_RETURN(batch.counts.succeeded, CountField(*counts, "completed", context));
    BATCHLOG_ASSIGN_OR_RETURN(batch.counts.failed, CountField(*counts, "failed", context));
    const std::uint64_t done = std::uint64_t{batch.counts.succeeded} + batch.counts.failed;
    if (!IsTerminal(batch.state) && done < batch.counts.total) {
      batch.counts.processing = batch.counts.total - static_cast<std::uint32_t>(done);
    }
  }
  BATCHLOG_ASSIGN_OR_RETURN(const std::optional<std::int64_t> created_s,
                            OptionalInt(object, "created_at", call));
  batch.created_at_unix_us = created_s ? *created_s * 1'000'000 : 0;
  BATCHLOG_ASSIGN_OR_RETURN(batch.input_file_id, OptionalString(object, "input_file_id", call));
  BATCHLOG_ASSIGN_OR_RETURN(batch.output_file_id, OptionalString(object, "output_file_id", call));
  BATCHLOG_ASSIGN_OR_RETURN(batch.error_file_id, OptionalString(object, "error_file_id", call));
  BATCHLOG_ASSIGN_OR_RETURN(batch.errors, ParseErrors(call, object));
  if (const Json* metadata = FindField(object, "metadata"); metadata && metadata->is_object()) {
    for (const auto& [key, value] : metadata->items()) {
      if (value.is_string()) batch.metadata.emplace(key, value.get<std::string>());
    }
  }
  return batch;
}

base::Result<std::uint64_t> WriteOpenAiInputFile(const SubmitSpec& spec,
                                                 const std::filesystem::path& path) {
  if (spec.requests.empty()) {
    return base::InvalidArgumentError("batch " + spec.batch_key + " has no requests");
  }
  for (const RequestEntry& request : spec.requests) {
    BATCHLOG_RETURN_IF_ERROR(
        CheckJsonObjectText("request " + request.custom_id + ": body_json", request.body_json));
  }
  std::error_code error;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), error);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return base::InternalError("cannot create the input file " + path.string() + ": " +
                               std::error_code(errno, std::generic_category()).message());
  }
  std::setvbuf(file, nullptr, _IOFBF, kWriteBufferBytes);
  std::string prefix;
  std::string body;
  std::uint64_t bytes = 0;
  bool written = true;
  for (const RequestEntry& request : spec.requests) {
    prefix.clear();
    prefix += "{\"custom_id\":";
    base::AppendJsonString(prefix, request.custom_id);
    prefix += ",\"method\":\"POST\",\"url\":";
    base::AppendJsonString(prefix, spec.endpoint);
    prefix += ",\"body\":";
    std::string_view verbatim = request.body_json;
    // Two vectorized scans; find_first_of("\r\n") calls memchr once per byte of the body.
    if (std::memchr(verbatim.data(), '\n', verbatim.size()) != nullptr ||
        std::memchr(verbatim.data(), '\r', verbatim.size()) != nullptr) {
      body.assign(verbatim);
      for (char& c : body) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      verbatim = body;
    }
    written = written && std::fwrite(prefix.data(), 1, prefix.size(), file) == prefix.size() &&
              std::fwrite(verbatim.data(), 1, verbatim.size(), file) == verbatim.size() &&
              std::fwrite("}\n", 1, 2, file) == 2;
    bytes += prefix.size() + verbatim.size() + 2;
  }
  int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (written && !closed) write_errno = errno;  // buffered bytes failed at close
  if (!written || !closed) {
    std::string message = "cannot write the input file " + path.string() + ": " +
                          std::error_code(write_errno, std::generic_category()).message();
    // A full disk is a resource to free, not an internal fault (exit 6, docs/cli.md).
    if (write_errno == ENOSPC || write_errno == EDQUOT) {
      return base::ResourceExhaustedError(std::move(message));
    }
    return base::InternalError(std::move(message));
  }
  return bytes;
}

std::string OpenAiBatchMetadata(const SubmitSpec& spec) {
  std::string out = "{\"batchlog_run\":";
  base::AppendJsonString(out, spec.run_id);
  out += ",\"batchlog_batch_key\":";
  base::AppendJsonString(out, spec.batch_key);
  out += ",\"batchlog_stage\":";
  base::AppendJsonString(out, spec.workflow + "/" + spec.stage);
  out += ",\"batchlog_attempt\":";
  base::AppendJsonString(out, std::to_string(spec.attempt));
  out += '}';
  return out;
}

OpenAiProvider::OpenAiProvider(ApiClient client, std::uint32_t find_page_size)
    : client_(std::move(client)), find_page_size_(std::max<std::uint32_t>(find_page_size, 1)) {}

base::Result<UploadResult> OpenAiProvider::UploadInput(const SubmitSpec& spec,
                                                       const std::filesystem::path& spool_file) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint64_t bytes, WriteOpenAiInputFile(spec, spool_file));
  const std::string call = client_.CallName("UploadInput", spec.batch_key);
  http::HttpRequest request = client_.NewRequest(http::HttpMethod::kPost, "/files", call,
                                                 /*safe_to_retry=*/false);
  request.multipart.push_back({"purpose", "batch", {}, {}, {}});
  request.multipart.push_back(
      {"file", {}, spool_file, spool_file.filename().string(), "application/jsonl"});
  BATCHLOG_ASSIGN_OR_RETURN(const http::HttpResponse response, client_.Send(request));

  UploadResult result;
  result.bytes = bytes;
  if (response.status < 200 || response.status >= 300) {
    BATCHLOG_ASSIGN_OR_RETURN(result.rejected, client_.Rejection(call, response));
    return result;
  }
  // The file exists now even if its answer cannot be read: say so rather than "invalid".
  const base::Result<Json> file = ParseJsonObject(call, response.body);
  base::Result<std::string> id =
      file.ok() ? RequiredString(*file, "id", call) : base::Result<std::string>(file.status());
  if (!id.ok()) {
    return base::OutcomeUnknownError(id.status().message() + "; the file may have been uploaded");
  }
  result.file_id = *std::move(id);
  return result;
}

base::Result<CreateResult> OpenAiProvider::CreateBatch(const SubmitSpec& spec,
                                                       std::string_view input_file_id) {
  BATCHLOG_RETURN_IF_ERROR(CheckId("input_file_id", input_file_id));
  const std::string call = client_.CallName("CreateBatch", spec.batch_key);
  std::string body = "{\"input_file_id\":";
  base::AppendJsonString(body, input_file_id);
  body += ",\"endpoint\":";
  base::AppendJsonString(body, spec.endpoint);
  body += ",\"completion_window\":";
  base::AppendJsonString(body, spec.completion_window);
  body += ",\"metadata\":";
  body += OpenAiBatchMetadata(spec);
  body += '}';
  http::HttpRequest request = client_.NewRequest(http::HttpMethod::kPost, "/batches", call,
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
      object.ok() ? ParseOpenAiBatch(call, *object) : base::Result<BatchInfo>(object.status());
  if (!batch.ok()) {
    return base::OutcomeUnknownError(batch.status().message() +
                                     "; the batch may have been created");
  }
  result.batch = *std::move(batch);
  return result;
}

base::Result<BatchInfo> OpenAiProvider::GetBatch(std::string_view batch_id) {
  BATCHLOG_RETURN_IF_ERROR(CheckId("batch id", batch_id));
  const std::string call = client_.CallName("GetBatch", batch_id);
  const http::HttpRequest request =
      client_.NewRequest(http::HttpMethod::kGet, "/batches/" + std::string(batch_id), call,
                         /*safe_to_retry=*/true);
  BATCHLOG_ASSIGN_OR_RETURN(const Json object, client_.SendForObject(request));
  return ParseOpenAiBatch(call, object);
}

base::Result<BatchPage> OpenAiProvider::ListBatches(std::string_view after, std::uint32_t limit) {
  std::string path = "/batches?limit=" + std::to_string(std::max<std::uint32_t>(limit, 1));
  if (!after.empty()) {
    BATCHLOG_RETURN_IF_ERROR(CheckId("after cursor", after));
    path += "&after=";
    path.append(after);
  }
  const std::string call = client_.CallName("ListBatches", after);
  const http::HttpRequest request =
      client_.NewRequest(http::HttpMethod::kGet, path, call, /*safe_to_retry=*/true);
  BATCHLOG_ASSIGN_OR_RETURN(const Json object, client_.SendForObject(request));
  return ParseBatchPage(call, object, &ParseOpenAiBatch);
}

base::Result<BatchInfo> OpenAiProvider::CancelBatch(std::string_view batch_id) {
  BATCHLOG_RETURN_IF_ERROR(CheckId("batch id", batch_id));
  const std::string call = client_.CallName("CancelBatch", batch_id);
  const http::HttpRequest request = client_.NewRequest(
      http::HttpMethod::kPost, "/batches/" + std::string(batch_id) + "/cancel", call,
      /*safe_to_retry=*/true);
  BATCHLOG_ASSIGN_OR_RETURN(const Json object, client_.SendForObject(request));
  return ParseOpenAiBatch(call, object);
}

base::Result<DownloadedResults> OpenAiProvider::DownloadResults(
    const BatchInfo& batch, const std::filesystem::path& spool_dir) {
  if (!IsTerminal(batch.state)) {
    return base::FailedPreconditionError(client_.CallName("DownloadResults", batch.id) +
                                         ": the batch has not ended (status " +
                                         batch.provider_status + ")");
  }
  std::error_code error;
  std::filesystem::create_directories(spool_dir, error);
  if (error) {
    return base::InternalError("cannot create the spool directory " + spool_dir.string() + ": " +
                               error.message());
  }
  DownloadedResults results;
  for (const std::string* file_id : {&batch.output_file_id, &batch.error_file_id}) {
    if (file_id->empty()) continue;
    BATCHLOG_RETURN_IF_ERROR(CheckId("file id", *file_id));
    const std::filesystem::path path = spool_dir / (*file_id + ".jsonl");
    // Downloads land only complete (fsynced .part, checked, renamed): a file at the final
    // name is a finished earlier download of the same immutable file.
    if (std::filesystem::is_regular_file(path, error)) {
      results.bytes += std::filesystem::file_size(path, error);
      results.files.push_back(path);
      continue;
    }
    const std::string call = client_.CallName("DownloadResults", *file_id);
    http::HttpRequest request = client_.NewRequest(
        http::HttpMethod::kGet, "/files/" + *file_id + "/content", call, /*safe_to_retry=*/true);
    client_.MakeDownload(request, path);
    BATCHLOG_ASSIGN_OR_RETURN(const http::HttpResponse response, client_.Send(request));
    if (response.status < 200 || response.status >= 300) {
      return client_.ErrorStatus(call, response);
    }
    results.bytes += response.downloaded_bytes;
    results.files.push_back(path);
  }
  return results;
}

base::Result<std::optional<BatchInfo>> OpenAiProvider::FindBatch(const FindBatchQuery& query) {
  std::string after;
  // The list's order is not specified (it is newest first in practice): stopping at batches
  // older than the plan is only safe while every batch seen so far came newest first.
  bool newest_first = true;
  std::int64_t previous_us = std::numeric_limits<std::int64_t>::max();
  for (std::uint32_t page_index = 0; page_index < query.max_pages; ++page_index) {
    BATCHLOG_ASSIGN_OR_RETURN(BatchPage page, ListBatches(after, find_page_size_));
    for (BatchInfo& batch : page.batches) {
      newest_first = newest_first && batch.created_at_unix_us <= previous_us;
      previous_us = batch.created_at_unix_us;
      const auto key = batch.metadata.find("batchlog_batch_key");
      if (key == batch.metadata.end() || key->second != query.batch_key) continue;
      // Another run's batch of the same workflow carries the same key; and a batch created
      // before this one was planned cannot be its create.
      const auto run = batch.metadata.find("batchlog_run");
      if (!query.run_id.empty() && (run == batch.metadata.end() || run->second != query.run_id)) {
        continue;
      }
      if (query.planned_at_unix_us > 0 && batch.created_at_unix_us > 0 &&
          batch.created_at_unix_us < query.planned_at_unix_us - kFindSkewMarginUs) {
        continue;
      }
      return std::optional<BatchInfo>(std::move(batch));
    }
    if (!page.has_more || page.batches.empty() || page.last_id.empty()) {
      return std::optional<BatchInfo>();
    }
    const std::int64_t oldest_us = page.batches.back().created_at_unix_us;
    if (newest_first && query.planned_at_unix_us > 0 && oldest_us > 0 &&
        oldest_us < query.planned_at_unix_us - kFindSkewMarginUs) {
      return std::optional<BatchInfo>();
    }
    after = page.last_id;
  }
  // Not found, but not everything that could hold it was seen: "absent" would invite a
  // duplicate submission.
  return base::FailedPreconditionError(
      client_.CallName("FindBatch", query.batch_key) + ": not found in the newest " +
      std::to_string(query.max_pages) + " pages of " + std::to_string(find_page_size_) +
      " batches, and older ones may still hold it; raise max_pages");
}

}  // namespace batchlog::providers
