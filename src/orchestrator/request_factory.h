// RequestFactory: where new requests come from. The executor asks it for a first stage's
// requests (from the dataset) and for a later stage's request built from the answers of
// the earlier stages. src/orchestrator/workflow_request_factory.h adapts the workflow file;
// tests provide their own.
//
// Thread-safety: called from the executor's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/base/result.h"

namespace batchlog::orchestrator {

struct NewRequest {
  std::string custom_id;
  std::uint64_t ordinal = 0;  // dataset order
  std::string body_json;      // the provider request body, as sent
  std::string model;
  std::uint64_t estimated_input_tokens = 0;
  std::string source_custom_id;  // later stages: the upstream request it was built from
};

// One earlier stage's answer for the request being built.
struct EarlierAnswer {
  std::string_view stage;
  std::string_view response_body;  // raw JSON as the provider returned it
};

class RequestFactory {
 public:
  virtual ~RequestFactory() = default;
  // Every request of the first stage of policy `policy`, in ordinal order.
  virtual base::Result<std::vector<NewRequest>> FirstStageRequests(std::size_t policy) = 0;
  // The request of stage `policy` built from upstream request `source_custom_id` (ordinal
  // `source_ordinal`), given the answers of every earlier stage of its workflow.
  virtual base::Result<NewRequest> LaterStageRequest(std::size_t policy,
                                                     std::string_view source_custom_id,
                                                     std::uint64_t source_ordinal,
                                                     const std::vector<EarlierAnswer>& answers) = 0;
};

}  // namespace batchlog::orchestrator
