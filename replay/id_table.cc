#include "replay/id_table.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "replay/hash.h"

namespace batchlog::replay {
namespace {

constexpr std::size_t kInitialSlots = 16;
// Entries hashed and prefetched ahead of placement when indexing many at once.
constexpr std::uint32_t kCatchUpWindow = 16;
// From this many entries, an empty index is built in slot order (BuildIndexInSlotOrder).
constexpr std::uint32_t kBulkIndexMin = 4096;

// Sorts slot values by their home position (hash & mask) with a two-pass LSD radix sort on
// the position's bits; being stable, it keeps entries of one position in index order. A
// bulk build then writes the slot array front to back instead of at random.
void SortByHomePosition(PodVector<std::uint64_t>& slots, std::uint64_t mask) {
  // Slot values are (hash << 32) | (index + 1); the home position is the hash's low bits.
  const auto position = [mask](std::uint64_t slot) { return (slot >> 32) & mask; };
  const int bits = std::max(1, 64 - __builtin_clzll(mask | 1));
  const int low_bits = bits / 2;
  const int high_bits = bits - low_bits;
  PodVector<std::uint64_t> scratch;
  scratch.resize(slots.size());
  for (const auto& [shift, width] : {std::pair{0, low_bits}, std::pair{low_bits, high_bits}}) {
    const std::uint64_t digit_mask = (std::uint64_t{1} << width) - 1;
    std::vector<std::uint32_t> starts((std::size_t{1} << width) + 1, 0);
    for (const std::uint64_t slot : slots) ++starts[((position(slot) >> shift) & digit_mask) + 1];
    for (std::size_t i = 1; i < starts.size(); ++i) starts[i] += starts[i - 1];
    for (const std::uint64_t slot : slots) {
      scratch[starts[(position(slot) >> shift) & digit_mask]++] = slot;
    }
    std::swap(slots, scratch);
  }
}

}  // namespace

std::uint32_t IdTable::Hash(std::uint32_t scope, std::string_view id) {
  return static_cast<std::uint32_t>(Hash64(id, scope) >> 32);
}

std::uint32_t IdTable::Find(std::uint32_t scope, std::string_view id, std::uint32_t hash) const {
  if (indexed_ != size()) CatchUp();
  if (slots_.empty()) return kNone;
  for (std::uint64_t pos = hash & mask_;; pos = (pos + 1) & mask_) {
    const std::uint64_t slot = slots_[pos];
    if (slot == 0) return kNone;
    if (static_cast<std::uint32_t>(slot >> 32) == hash) {
      const auto index = static_cast<std::uint32_t>(slot) - 1;
      if (scopes_[index] == scope && this->id(index) == id) return index;
    }
  }
}

std::pair<std::uint32_t, bool> IdTable::Intern(std::uint32_t scope, std::string_view id) {
  if (indexed_ != size()) CatchUp();
  EnsureCapacity(static_cast<std::size_t>(size()) + 1);
  const std::uint32_t hash = Hash(scope, id);
  std::uint64_t pos = hash & mask_;
  for (;; pos = (pos + 1) & mask_) {
    const std::uint64_t slot = slots_[pos];
    if (slot == 0) break;
    if (static_cast<std::uint32_t>(slot >> 32) == hash) {
      const auto index = static_cast<std::uint32_t>(slot) - 1;
      if (scopes_[index] == scope && this->id(index) == id) return {index, false};
    }
  }
  const std::uint32_t index = Append(scope, id);
  if (index == kNone) return {kNone, false};
  slots_[pos] = (static_cast<std::uint64_t>(hash) << 32) | (static_cast<std::uint64_t>(index) + 1);
  indexed_ = size();
  return {index, true};
}

std::uint32_t IdTable::Append(std::uint32_t scope, std::string_view id) {
  if (size() >= kNone - 1 ||
      arena_.size() + id.size() > std::numeric_limits<std::uint32_t>::max()) {
    return kNone;
  }
  const std::uint32_t index = size();
  arena_.append(id.data(), id.size());
  ends_.push_back(static_cast<std::uint32_t>(arena_.size()));
  scopes_.push_back(scope);
  return index;
}

bool IdTable::IndexAll() const {
  CatchUp();
  return first_duplicate_ == kNone;
}

void IdTable::CatchUp() const {
  EnsureCapacity(size());
  if (indexed_ == 0 && size() >= kBulkIndexMin) {
    BuildIndexInSlotOrder();
    return;
  }
  std::uint32_t hashes[kCatchUpWindow];
  while (indexed_ < size()) {
    const std::uint32_t count = std::min(kCatchUpWindow, size() - indexed_);
    for (std::uint32_t i = 0; i < count; ++i) {
      hashes[i] = Hash(scopes_[indexed_ + i], id(indexed_ + i));
      Prefetch(hashes[i]);
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      if (!PlaceEntry(indexed_ + i, hashes[i]) && first_duplicate_ == kNone) {
        first_duplicate_ = indexed_ + i;
      }
    }
    indexed_ += count;
  }
}

// Linear probing places an entry in the first free slot at or after its home position.
// Placing entries in order of home position gives the same lookup invariant (no empty slot
// between an entry's home and its slot) while writing the array sequentially: each entry
// goes to max(home, next free), and those that run past the end wrap to the front after the
// main pass. Equal ids have equal hashes, hence the same home position: within a position's
// run only equal hashes are compared, and of equal ids the lowest index is kept, as
// sequential indexing does.
void IdTable::BuildIndexInSlotOrder() const {
  const std::uint32_t count = size();
  PodVector<std::uint64_t> sorted;
  sorted.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t hash = Hash(scopes_[i], id(i));
    sorted[i] = (hash << 32) | (static_cast<std::uint64_t>(i) + 1);
  }
  SortByHomePosition(sorted, mask_);
  std::vector<std::uint64_t> wrapped;
  std::uint64_t next_free = 0;
  for (std::uint32_t k = 0; k < count; ++k) {
    const std::uint64_t slot = sorted[k];
    const auto hash = static_cast<std::uint32_t>(slot >> 32);
    const auto index = static_cast<std::uint32_t>(slot) - 1;
    bool duplicate = false;
    // Earlier entries of the same hash sit just before this one (same position, sorted by
    // position then by index within a position, since the sort is stable and indices rise).
    for (std::uint32_t j = k; j > 0; --j) {
      const std::uint64_t other_slot = sorted[j - 1];
      if (((other_slot >> 32) & mask_) != (hash & mask_)) break;
      if (static_cast<std::uint32_t>(other_slot >> 32) != hash) continue;
      const auto other = static_cast<std::uint32_t>(other_slot) - 1;
      if (scopes_[other] == scopes_[index] && id(other) == id(index)) {
        duplicate = true;
        if (first_duplicate_ == kNone || index < first_duplicate_) first_duplicate_ = index;
        break;
      }
    }
    if (duplicate) continue;
    const std::uint64_t pos = std::max<std::uint64_t>(hash & mask_, next_free);
    if (pos > mask_) {
      wrapped.push_back(slot);
      continue;
    }
    slots_[pos] = slot;
    next_free = pos + 1;
  }
  for (const std::uint64_t slot : wrapped) Place(slot);
  indexed_ = count;
}

bool IdTable::PlaceEntry(std::uint32_t index, std::uint32_t hash) const {
  std::uint64_t pos = hash & mask_;
  for (;; pos = (pos + 1) & mask_) {
    const std::uint64_t slot = slots_[pos];
    if (slot == 0) break;
    if (static_cast<std::uint32_t>(slot >> 32) == hash) {
      const auto other = static_cast<std::uint32_t>(slot) - 1;
      if (scopes_[other] == scopes_[index] && id(other) == id(index)) return false;
    }
  }
  slots_[pos] = (static_cast<std::uint64_t>(hash) << 32) | (static_cast<std::uint64_t>(index) + 1);
  return true;
}

void IdTable::Place(std::uint64_t slot) const {
  for (std::uint64_t pos = (slot >> 32) & mask_;; pos = (pos + 1) & mask_) {
    if (slots_[pos] == 0) {
      slots_[pos] = slot;
      return;
    }
  }
}

void IdTable::EnsureCapacity(std::size_t entries) const {
  // Keep the load at or below 3/4 so probe sequences stay short.
  if (entries * 4 <= slots_.size() * 3) return;
  std::size_t capacity = slots_.empty() ? kInitialSlots : slots_.size();
  while (entries * 4 > capacity * 3) capacity *= 2;
  PodVector<std::uint64_t> old;
  old.resize(capacity);
  std::swap(old, slots_);
  mask_ = capacity - 1;
  for (const std::uint64_t slot : old) {
    if (slot != 0) Place(slot);
  }
}

void IdTable::Reserve(std::size_t entries, std::size_t id_bytes) {
  arena_.reserve(id_bytes);
  ends_.reserve(entries);
  scopes_.reserve(entries);
}

std::size_t IdTable::MemoryBytes() const {
  return arena_.capacity() + (ends_.capacity() + scopes_.capacity()) * sizeof(std::uint32_t) +
         slots_.capacity() * sizeof(std::uint64_t);
}

}  // namespace batchlog::replay
