// OpenAiProvider: the OpenAI Batch API (and OpenAI-compatible services at another base
// URL) behind BatchProvider. Wire reference: shared provider-apis.md section 1;
// docs/providers.md has the status mapping and the error contract.
//
//   UploadInput  writes the input JSONL to the spool file (one line per request:
//                {"custom_id","method":"POST","url":endpoint,"body":<body_json verbatim>})
//                and streams it as multipart POST /files, purpose=batch. Never retried.
//   CreateBatch  POST /batches {input_file_id, endpoint, completion_window, metadata:
//                batchlog_run, batchlog_batch_key, batchlog_stage ("<workflow>/<stage>"),
//                batchlog_attempt}. Never retried.
//   GetBatch     GET /batches/{id};  ListBatches GET /batches?limit&after;
//   CancelBatch  POST /batches/{id}/cancel (safe: cancelling twice is harmless);
//   DownloadResults  GET /files/{id}/content for output_file_id then error_file_id,
//                streamed to "<spool_dir>/<file_id>.jsonl" (a file already there is
//                complete by construction and is reused);
//   FindBatch    pages GET /batches newest first, matching metadata.batchlog_batch_key;
//                nullopt once the listing ends or reaches batches created well before
//                planned_at; kFailedPrecondition when max_pages ran out before either.
//
// Statuses: validating, in_progress, finalizing, cancelling, completed, failed, expired,
// cancelled (the American "canceling"/"canceled" too, for compatible services); anything
// else is kInvalidArgument naming the value. Null timestamps, file ids, errors and
// metadata read as empty.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "src/base/result.h"
#include "src/providers/api_client.h"
#include "src/providers/batch_provider.h"

namespace batchlog::providers {

class OpenAiProvider final : public BatchProvider {
 public:
  // `find_page_size`: the page size FindBatch lists with (1..100).
  OpenAiProvider(ApiClient client, std::uint32_t find_page_size);

  ProviderKind kind() const override { return ProviderKind::kOpenAi; }
  const std::string& name() const override { return client_.name(); }
  bool uploads_input_file() const override { return true; }

  base::Result<UploadResult> UploadInput(const SubmitSpec& spec,
                                         const std::filesystem::path& spool_file) override;
  base::Result<CreateResult> CreateBatch(const SubmitSpec& spec,
                                         std::string_view input_file_id) override;
  base::Result<BatchInfo> GetBatch(std::string_view batch_id) override;
  base::Result<BatchPage> ListBatches(std::string_view after, std::uint32_t limit) override;
  base::Result<BatchInfo> CancelBatch(std::string_view batch_id) override;
  base::Result<DownloadedResults> DownloadResults(const BatchInfo& batch,
                                                  const std::filesystem::path& spool_dir) override;
  base::Result<std::optional<BatchInfo>> FindBatch(const FindBatchQuery& query) override;

 private:
  ApiClient client_;
  std::uint32_t find_page_size_;
};

// The BatchState of an OpenAI status string; kInvalidArgument naming an unknown value.
base::Result<BatchState> OpenAiBatchState(std::string_view status);

// A Batch object. kInvalidArgument (naming `call`) for a missing id/status, an unknown
// status, wrong field types, or an error envelope answered with 2xx.
base::Result<BatchInfo> ParseOpenAiBatch(std::string_view call, const Json& object);

// Writes the batch input JSONL for `spec` to `path` (replacing it); returns its size.
// Each body is embedded byte for byte, except that CR and LF bytes (which valid JSON can
// only hold as whitespace) become spaces so that one request stays one line.
// kInvalidArgument for no requests or a body that is not a JSON object; kInternal for a
// write error.
base::Result<std::uint64_t> WriteOpenAiInputFile(const SubmitSpec& spec,
                                                 const std::filesystem::path& path);

// The metadata CreateBatch attaches, as a JSON object text.
std::string OpenAiBatchMetadata(const SubmitSpec& spec);

}  // namespace batchlog::providers
