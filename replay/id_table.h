// IdTable: interns (scope, id) pairs as dense indices 0, 1, 2, ... in first-seen order.
// Projections use it for custom_ids (scope = stage index, so the same custom_id in two
// stages is two requests), batch keys, workflow and stage names, providers and error codes.
//
// Layout, chosen for replay speed and memory: all ids live in one character arena; per
// entry the table keeps the arena end offset and the scope (8 bytes), plus an
// open-addressing slot array of 8-byte (hash, index) pairs kept between 3/8 and 3/4 full,
// i.e. about 11-21 bytes per entry. Lookups take a std::string_view and never allocate.
// Indices are stable for the table's lifetime; nothing is ever removed.
//
// The lookup index (the slot array) may lag behind the entries: Append() adds an entry
// without indexing it (for a table that follows another, already checked one, and is
// rarely searched), and the next lookup indexes the lagging entries first, in one
// prefetching pass. Hence even const lookups may write to the index.
//
// Capacity: fewer than 2^32 - 2 entries and less than 4 GiB of id bytes in total; Intern
// and Append report kNone when either would be exceeded.
//
// Thread-safety: none, not even for concurrent const calls (lookups may build the index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay/pod_vector.h"

namespace batchlog::replay {

class IdTable {
 public:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

  std::uint32_t size() const { return static_cast<std::uint32_t>(scopes_.size()); }
  bool empty() const { return scopes_.empty(); }

  // The index of (scope, id), or kNone.
  std::uint32_t Find(std::uint32_t scope, std::string_view id) const {
    return Find(scope, id, Hash(scope, id));
  }

  // Batched lookups: Hash() and Prefetch() every id first, then Find() each with its hash,
  // so the cache misses of many lookups overlap instead of queueing one after another.
  static std::uint32_t Hash(std::uint32_t scope, std::string_view id);
  void Prefetch(std::uint32_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  }
  std::uint32_t Find(std::uint32_t scope, std::string_view id, std::uint32_t hash) const;

  // Returns (index, true) when (scope, id) was added, (index, false) when it was already
  // present, and (kNone, false) when the table is full.
  std::pair<std::uint32_t, bool> Intern(std::uint32_t scope, std::string_view id);

  // Adds (scope, id) without looking for it: the caller knows it is new. Returns its index,
  // or kNone when the table is full.
  std::uint32_t Append(std::uint32_t scope, std::string_view id);

  // Entries added by Append() and not indexed yet.
  std::uint32_t pending() const { return size() - indexed_; }

  // Indexes every entry now. Returns false if an appended entry was found equal to an
  // earlier one (see TakeFirstDuplicate).
  bool IndexAll() const;

  // The first appended entry that indexing found equal to an earlier one, or kNone; reading
  // it resets it. Indexing happens on demand (any lookup) or through IndexAll().
  std::uint32_t TakeFirstDuplicate() { return std::exchange(first_duplicate_, kNone); }

  // index < size().
  std::string_view id(std::uint32_t index) const {
    const std::uint32_t begin = index == 0 ? 0 : ends_[index - 1];
    return std::string_view(arena_.data() + begin, ends_[index] - begin);
  }
  std::uint32_t scope(std::uint32_t index) const { return scopes_[index]; }

  // The raw arena and per-entry arrays, for the snapshot codec.
  std::string_view arena() const { return {arena_.data(), arena_.size()}; }
  const PodVector<std::uint32_t>& ends() const { return ends_; }
  const PodVector<std::uint32_t>& scopes() const { return scopes_; }

  void Reserve(std::size_t entries, std::size_t id_bytes);

  // Bytes held, counting capacity. ArenaBytes() is the part that is the ids themselves.
  std::size_t MemoryBytes() const;
  std::size_t ArenaBytes() const { return arena_.capacity(); }

  // Same entries in the same order (the index is derived and not compared).
  friend bool operator==(const IdTable& a, const IdTable& b) {
    return a.arena_ == b.arena_ && a.ends_ == b.ends_ && a.scopes_ == b.scopes_;
  }

 private:
  void CatchUp() const;
  // Indexes every entry into an empty index, writing the slot array in order.
  void BuildIndexInSlotOrder() const;
  void EnsureCapacity(std::size_t entries) const;
  void Place(std::uint64_t slot) const;
  // Places entry `index`; false when an equal entry is already indexed.
  bool PlaceEntry(std::uint32_t index, std::uint32_t hash) const;

  PodVector<char> arena_;
  PodVector<std::uint32_t> ends_;
  PodVector<std::uint32_t> scopes_;
  // The index: 0 = empty; otherwise (hash << 32) | (index + 1). The slot position is
  // hash & mask_, so growing re-places slots without rehashing any id. Entries
  // [indexed_, size()) are not in it yet.
  mutable PodVector<std::uint64_t> slots_;
  mutable std::uint64_t mask_ = 0;
  mutable std::uint32_t indexed_ = 0;
  mutable std::uint32_t first_duplicate_ = kNone;
};

}  // namespace batchlog::replay
