#include "src/workflow/batch_splitter.h"

namespace batchlog::workflow {
namespace {

// The fixed parts of each wire shape; sizes come from the literals so they cannot drift.
constexpr std::string_view kOpenAiBeforeId = R"({"custom_id":")";
constexpr std::string_view kOpenAiBeforeUrl = R"(","method":"POST","url":")";
constexpr std::string_view kOpenAiBeforeBody = R"(","body":)";
constexpr std::string_view kOpenAiEnd = "}\n";
constexpr std::string_view kAnthropicBeforeId = R"({"custom_id":")";
constexpr std::string_view kAnthropicBeforeBody = R"(","params":)";
constexpr std::string_view kAnthropicEnd = "},";
constexpr std::string_view kAnthropicEnvelope = R"({"requests":[]})";

template <typename Item, typename SizeOf>
base::Result<std::vector<BatchSlice>> Split(std::span<const Item> requests, ProviderKind kind,
                                            std::string_view endpoint, const BatchLimits& limits,
                                            SizeOf size_of) {
  BATCHLOG_CHECK(limits.max_requests > 0 && limits.max_bytes > 0);
  const std::uint64_t envelope = BatchEnvelopeBytes(kind);
  std::vector<BatchSlice> batches;
  BatchSlice current{0, 0, envelope};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto [custom_id, body_bytes] = size_of(requests[i]);
    const std::uint64_t bytes = RequestWireBytes(kind, endpoint, custom_id.size(), body_bytes);
    if (envelope + bytes > limits.max_bytes) {
      return base::InvalidArgumentError(
          "request " + std::string(custom_id) + " takes " + std::to_string(envelope + bytes) +
          " bytes in a batch, over the batch byte limit of " + std::to_string(limits.max_bytes));
    }
    if (current.size() > 0 &&
        (current.size() >= limits.max_requests || current.bytes + bytes > limits.max_bytes)) {
      batches.push_back(current);
      current = BatchSlice{i, i, envelope};
    }
    current.end = i + 1;
    current.bytes += bytes;
  }
  if (current.size() > 0) batches.push_back(current);
  return batches;
}

}  // namespace

std::uint64_t RequestWireBytes(ProviderKind kind, std::string_view endpoint,
                               std::size_t custom_id_bytes, std::uint64_t body_bytes) {
  switch (kind) {
    case ProviderKind::kOpenAi:
    case ProviderKind::kOpenAiCompatible:
      return kOpenAiBeforeId.size() + custom_id_bytes + kOpenAiBeforeUrl.size() + endpoint.size() +
             kOpenAiBeforeBody.size() + body_bytes + kOpenAiEnd.size();
    case ProviderKind::kAnthropic:
      return kAnthropicBeforeId.size() + custom_id_bytes + kAnthropicBeforeBody.size() +
             body_bytes + kAnthropicEnd.size();
  }
  return body_bytes;
}

std::uint64_t BatchEnvelopeBytes(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kOpenAi:
    case ProviderKind::kOpenAiCompatible:
      return 0;
    case ProviderKind::kAnthropic:
      return kAnthropicEnvelope.size();
  }
  return 0;
}

base::Result<std::vector<BatchSlice>> SplitIntoBatches(std::span<const SizedRequest> requests,
                                                       ProviderKind kind, std::string_view endpoint,
                                                       const BatchLimits& limits) {
  return Split(requests, kind, endpoint, limits, [](const SizedRequest& r) {
    return std::pair<std::string_view, std::uint64_t>(r.custom_id, r.body_bytes);
  });
}

base::Result<std::vector<BatchSlice>> SplitIntoBatches(std::span<const PlannedRequest> requests,
                                                       ProviderKind kind, std::string_view endpoint,
                                                       const BatchLimits& limits) {
  return Split(requests, kind, endpoint, limits, [](const PlannedRequest& r) {
    return std::pair<std::string_view, std::uint64_t>(r.custom_id, r.body_json.size());
  });
}

}  // namespace batchlog::workflow
