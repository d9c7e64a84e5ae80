#include "src/workflow/duplicate_finder.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string_view>
#include <vector>

namespace batchlog::workflow {

std::optional<std::pair<std::size_t, std::size_t>> FindFirstDuplicate(std::size_t count,
                                                                      const KeyWriter& key) {
  // Only 64-bit hashes are kept. They are bucketed by their top bits (one counting-sort
  // pass, buckets of ~2k entries) and each bucket is sorted in cache: at a million keys
  // this is several times faster than probing a hash table far larger than the cache.
  std::vector<std::uint64_t> hashes(count);
  std::string buffer;
  for (std::size_t i = 0; i < count; ++i) {
    key(i, buffer);
    hashes[i] = std::hash<std::string_view>{}(buffer);
  }
  const int width = static_cast<int>(std::bit_width(count));
  const int bucket_bits = width > 11 ? width - 11 : 0;
  const std::size_t buckets = std::size_t{1} << bucket_bits;
  auto bucket_of = [&](std::uint64_t hash) {
    return bucket_bits == 0 ? std::size_t{0} : static_cast<std::size_t>(hash >> (64 - bucket_bits));
  };
  std::vector<std::size_t> starts(buckets + 1, 0);
  for (const std::uint64_t hash : hashes) ++starts[bucket_of(hash) + 1];
  for (std::size_t b = 0; b < buckets; ++b) starts[b + 1] += starts[b];
  std::vector<std::pair<std::uint64_t, std::size_t>> sorted(count);
  {
    std::vector<std::size_t> next(starts.begin(), starts.end() - 1);
    for (std::size_t i = 0; i < count; ++i) sorted[next[bucket_of(hashes[i])]++] = {hashes[i], i};
  }
  std::optional<std::pair<std::size_t, std::size_t>> best;
  std::string other;
  for (std::size_t b = 0; b < buckets; ++b) {
    const auto begin = sorted.begin() + static_cast<std::ptrdiff_t>(starts[b]);
    const auto end = sorted.begin() + static_cast<std::ptrdiff_t>(starts[b + 1]);
    std::sort(begin, end);
    // Equal hashes sit together, in index order; compare each with those before it.
    for (auto run = begin; run != end;) {
      auto run_end = run + 1;
      while (run_end != end && run_end->first == run->first) ++run_end;
      for (auto j = run + 1; j < run_end; ++j) {
        if (best.has_value() && j->second >= best->second) break;
        key(j->second, buffer);
        for (auto k = run; k < j; ++k) {
          key(k->second, other);
          if (other == buffer) {
            best = std::pair{k->second, j->second};
            break;
          }
        }
        if (best.has_value() && best->second == j->second) break;
      }
      run = run_end;
    }
  }
  return best;
}

}  // namespace batchlog::workflow
