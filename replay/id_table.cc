#include "replay/id_table.h"

#include <algorithm>

#include "replay/hash.h"

namespace batchlog::replay {
namespace {

constexpr std::size_t kInitialSlots = 16;
// Entries hashed and prefetched ahead of placement when indexing many at once.
constexpr std::uint32_t kCatchUpWindow = 16;

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
