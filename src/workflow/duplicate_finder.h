// FindFirstDuplicate: the first repeated key of a long list, without a hash table of
// strings: only 64-bit hashes are stored, and keys are rewritten and compared as strings
// only when their hashes are equal. Used for dataset ids and custom_ids (millions of
// keys). Private to src/workflow. Thread-safe if `key` is.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace batchlog::workflow {

// Writes key `index` into `out` (replacing its contents).
using KeyWriter = std::function<void(std::size_t index, std::string& out)>;

// Among keys 0..count-1, the pair (first, second), first < second, of equal keys with the
// smallest `second`: the duplicate a reader scanning in order meets first. nullopt when all
// keys differ.
std::optional<std::pair<std::size_t, std::size_t>> FindFirstDuplicate(std::size_t count,
                                                                      const KeyWriter& key);

}  // namespace batchlog::workflow
