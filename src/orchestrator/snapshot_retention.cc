#include "src/orchestrator/snapshot_retention.h"

#include <bit>

namespace batchlog::orchestrator {

std::vector<std::uint64_t> SnapshotsToDrop(std::span<const std::uint64_t> listed) {
  // The two newest, the one being written and listed.back(), are always kept. Each other
  // one is kept when it is the newest of its range [2^k, 2^(k+1)), i.e. the next one is in a
  // higher range; earlier calls have already dropped the rest, so `listed` is what is kept.
  std::vector<std::uint64_t> drop;
  for (std::size_t i = 0; i + 1 < listed.size(); ++i) {
    if (std::bit_width(listed[i + 1]) == std::bit_width(listed[i])) drop.push_back(listed[i]);
  }
  return drop;
}

}  // namespace batchlog::orchestrator
