#include "src/providers/batch_provider.h"
#include "src/providers/result_line.h"

namespace batchlog::providers {

std::string_view ProviderKindName(ProviderKind kind) {
  switch (kind) {
    case ProviderKind::kOpenAi:
      return "openai";
    case ProviderKind::kAnthropic:
      return "anthropic";
  }
  return "openai";
}

bool IsTerminal(BatchState state) {
  switch (state) {
    case BatchState::kCompleted:
    case BatchState::kFailed:
    case BatchState::kExpired:
    case BatchState::kCancelled:
      return true;
    case BatchState::kUnspecified:
    case BatchState::kValidating:
    case BatchState::kInProgress:
    case BatchState::kFinalizing:
    case BatchState::kCancelling:
      return false;
  }
  return false;
}

}  // namespace batchlog::providers
