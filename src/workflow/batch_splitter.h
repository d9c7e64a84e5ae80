// The batch splitter: cuts an ordered list of requests into batches that fit a provider's
// limits (docs/workflow-file.md, "Batch limits").
//
// Size is counted as the bytes the provider receives, for these compact wire shapes (an
// estimate, exact when the writer uses the same shapes; Anthropic's count has one comma
// more than is sent, erring on the small side):
//   OpenAI (and compatible), one JSONL line per request:
//     {"custom_id":"ID","method":"POST","url":"ENDPOINT","body":BODY}\n
//   Anthropic, one element of the create request's `requests` array per request, plus a
//   comma, and the envelope {"requests":[]} once per batch:
//     {"custom_id":"ID","params":BODY},
// custom_ids need no escaping (they match ^[a-zA-Z0-9_-]{1,64}$). Multipart framing of the
// OpenAI upload is not counted: the limit applies to the file.
//
// Splitting is greedy and deterministic: requests stay in order and a batch is closed when
// the next request would break either limit. The same input gives the same batches.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "src/base/result.h"
#include "src/workflow/policies.h"
#include "src/workflow/request_builder.h"

namespace batchlog::workflow {

// One request as the splitter sees it.
struct SizedRequest {
  std::string_view custom_id;
  std::uint64_t body_bytes = 0;
};

// A batch: requests [begin, end) of the input, and its counted bytes (envelope included).
struct BatchSlice {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::uint64_t bytes = 0;
  std::size_t size() const { return end - begin; }
  bool operator==(const BatchSlice&) const = default;
};

// Bytes one request adds to a batch of `kind` (see above).
std::uint64_t RequestWireBytes(ProviderKind kind, std::string_view endpoint,
                               std::size_t custom_id_bytes, std::uint64_t body_bytes);
// Bytes a batch of `kind` takes besides its requests.
std::uint64_t BatchEnvelopeBytes(ProviderKind kind);

// Splits `requests` (in order) into batches within `limits`. InvalidArgument, naming the
// custom_id, when one request alone is over the byte limit; limits must be positive.
// An empty input gives no batches.
base::Result<std::vector<BatchSlice>> SplitIntoBatches(std::span<const SizedRequest> requests,
                                                       ProviderKind kind, std::string_view endpoint,
                                                       const BatchLimits& limits);

// The same over planned requests (custom_id and body_json.size()).
base::Result<std::vector<BatchSlice>> SplitIntoBatches(std::span<const PlannedRequest> requests,
                                                       ProviderKind kind, std::string_view endpoint,
                                                       const BatchLimits& limits);

}  // namespace batchlog::workflow
