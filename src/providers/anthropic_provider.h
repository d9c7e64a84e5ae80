// AnthropicProvider: the Anthropic Message Batches API behind BatchProvider. Wire
// reference: shared provider-apis.md section 2; docs/providers.md has the mappings.
//
//   Every call sends x-api-key and anthropic-version (ProviderConfig::anthropic_version).
//   UploadInput  a no-op: requests travel inline in CreateBatch (uploads_input_file() is
//                false); it returns an empty UploadResult and touches no file.
//   CreateBatch  POST /messages/batches {"requests":[{"custom_id","params":<body_json
//                verbatim>}]}. Never retried.
//   GetBatch     GET /messages/batches/{id}; ListBatches GET /messages/batches?limit&after_id
//                (newest first); CancelBatch POST /messages/batches/{id}/cancel (safe).
//   DownloadResults  GET results_url (absolute, or a path), streamed to
//                "<spool_dir>/<batch_id>.jsonl" (reused when already there). The API key
//                goes along only when results_url has base_url's scheme, host and port.
//   FindBatch    pages the listing newest first; a candidate was created within
//                [planned_at - 60 s, planned_at + window_us] and holds request_count
//                requests (the sum of its counts); the one created closest to planned_at
//                wins. Stops once batches are older than the window; kFailedPrecondition
//                when max_pages ran out before that.
//
// State: processing_status in_progress -> kInProgress, canceling -> kCancelling, ended ->
// kCancelled when cancel_initiated_at is set, else kCompleted; anything else is
// kInvalidArgument naming the value. Counts: processing, succeeded, errored -> failed,
// canceled -> cancelled, expired; total = their sum.
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

class AnthropicProvider final : public BatchProvider {
 public:
  // `find_page_size`: the page size FindBatch lists with (1..1000).
  AnthropicProvider(ApiClient client, std::uint32_t find_page_size);

  ProviderKind kind() const override { return ProviderKind::kAnthropic; }
  const std::string& name() const override { return client_.name(); }
  bool uploads_input_file() const override { return false; }

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

// A MessageBatch object. kInvalidArgument (naming `call`) for a missing id or
// processing_status, an unknown status, a bad timestamp or wrong field types.
base::Result<BatchInfo> ParseAnthropicBatch(std::string_view call, const Json& object);

// The create body {"requests":[...]} for `spec`, each params embedded byte for byte.
// kInvalidArgument for no requests or a body that is not a JSON object.
base::Result<std::string> AnthropicCreateBody(const SubmitSpec& spec);

}  // namespace batchlog::providers
