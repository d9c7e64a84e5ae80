#include "src/store/ascending_key_memtable.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

#include <rocksdb/memtablerep.h>
#include <rocksdb/slice.h>
#include <rocksdb/utilities/object_registry.h>

namespace batchlog::store {
namespace {

using rocksdb::MemTableRep;
using KeyComparator = rocksdb::MemTableRep::KeyComparator;

std::atomic<std::uint64_t> moved_to_skip_list{0};
std::atomic<std::uint64_t> generic_gets{0};

// RocksDB's LookupKey (db/dbformat.h) is not public API, and MemTableRep's generic Get
// leaks the iterator it makes (7.8.3). Since leveldb, a LookupKey starts with three
// pointers: the memtable key (varint32 length + internal key), the internal key, and the
// end; a key under 200 bytes lives in the object's own buffer right after them. They are
// read only when they describe exactly that: a well-formed key inside the object.
bool InternalKeyOf(const rocksdb::LookupKey& lookup, rocksdb::Slice* internal_key) {
  const char* pointers[3];
  std::memcpy(pointers, &lookup, sizeof(pointers));
  const char* start = pointers[0];
  const char* key = pointers[1];
  const char* end = pointers[2];
  const char* inline_buffer = reinterpret_cast<const char*>(&lookup) + sizeof(pointers);
  if (start != inline_buffer) return false;
  // The varint32 length, within the first 5 bytes of the buffer, must end at `key` and
  // equal the key's size (an internal key: user key + 8-byte tag).
  std::uint32_t length = 0;
  const char* p = start;
  for (int shift = 0; shift <= 28 && p < start + 5; shift += 7) {
    const auto byte = static_cast<unsigned char>(*p++);
    length |= static_cast<std::uint32_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      if (p != key || length < 8 || length > 200) return false;
      if (end != key + length) return false;
      *internal_key = rocksdb::Slice(key, length);
      return true;
    }
  }
  return false;
}

// Entry pointers in insertion order, in fixed-size chunks that never move: readers on other
// threads index them while the one writer appends. The writer fills a slot (and its chunk)
// before publishing the new size with release; readers load the size with acquire and read
// only below it.
class EntryArray {
 public:
  static constexpr std::size_t kChunkBits = 12;
  static constexpr std::size_t kChunkEntries = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kMaxChunks = std::size_t{1} << 14;  // 64M entries
  static constexpr std::size_t kCapacity = kChunkEntries * kMaxChunks;

  EntryArray() : chunks_(new std::unique_ptr<const char*[]>[kMaxChunks]) {}

  std::size_t size() const { return size_.load(std::memory_order_acquire); }
  const char* at(std::size_t i) const { return chunks_[i >> kChunkBits][i & (kChunkEntries - 1)]; }

  // Writer only. False when full.
  bool push_back(const char* entry) {
    const std::size_t n = size_.load(std::memory_order_relaxed);
    if (n == kCapacity) return false;
    const std::size_t chunk = n >> kChunkBits;
    if ((n & (kChunkEntries - 1)) == 0) chunks_[chunk].reset(new const char*[kChunkEntries]);
    chunks_[chunk][n & (kChunkEntries - 1)] = entry;
    size_.store(n + 1, std::memory_order_release);
    return true;
  }

  std::size_t memory_bytes() const {
    const std::size_t chunks = (size() + kChunkEntries - 1) >> kChunkBits;
    return kMaxChunks * sizeof(chunks_[0]) + chunks * kChunkEntries * sizeof(const char*);
  }

 private:
  std::unique_ptr<std::unique_ptr<const char*[]>[]> chunks_;
  std::atomic<std::size_t> size_{0};
};

class AscendingKeyRep final : public MemTableRep {
 public:
  AscendingKeyRep(const KeyComparator& compare, rocksdb::Allocator* allocator,
                  MemTableRep* fallback)
      : MemTableRep(allocator), compare_(compare), fallback_(fallback) {}

  ~AscendingKeyRep() override {
    for (void* storage : arena_iterators_) ::operator delete(storage);
  }

  // Entries are allocated by the skip list (each with its node header), so any of them can
  // move into it if the order breaks.
  rocksdb::KeyHandle Allocate(const std::size_t len, char** buf) override {
    return fallback_->Allocate(len, buf);
  }

  void Insert(rocksdb::KeyHandle handle) override {
    const char* entry = static_cast<const char*>(handle);
    if (!degraded_.load(std::memory_order_relaxed)) {
      const std::size_t n = entries_.size();
      if ((n == 0 || compare_(entries_.at(n - 1), entry) < 0) && entries_.push_back(entry)) return;
      MoveEntriesToSkipList();
    }
    fallback_->Insert(handle);
  }

  bool Contains(const char* key) const override {
    if (degraded_.load(std::memory_order_acquire)) return fallback_->Contains(key);
    const std::size_t n = entries_.size();
    const std::size_t at = LowerBound(rocksdb::GetLengthPrefixedSlice(key), n);
    return at < n && compare_(entries_.at(at), key) == 0;
  }

  void Get(const rocksdb::LookupKey& lookup, void* callback_args,
           bool (*callback)(void* arg, const char* entry)) override {
    if (degraded_.load(std::memory_order_acquire)) {
      fallback_->Get(lookup, callback_args, callback);
      return;
    }
    rocksdb::Slice internal_key;
    if (!InternalKeyOf(lookup, &internal_key)) {
      generic_gets.fetch_add(1, std::memory_order_relaxed);
      MemTableRep::Get(lookup, callback_args, callback);
      return;
    }
    const std::size_t n = entries_.size();
    for (std::size_t i = LowerBound(internal_key, n); i < n; ++i) {
      if (!callback(callback_args, entries_.at(i))) break;
    }
  }

  void MarkReadOnly() override { fallback_->MarkReadOnly(); }
  void MarkFlushed() override { fallback_->MarkFlushed(); }

  std::uint64_t ApproximateNumEntries(const rocksdb::Slice& start_ikey,
                                      const rocksdb::Slice& end_ikey) override {
    if (degraded_.load(std::memory_order_acquire)) {
      return fallback_->ApproximateNumEntries(start_ikey, end_ikey);
    }
    const std::size_t n = entries_.size();
    const std::size_t begin = LowerBound(start_ikey, n);
    const std::size_t end = LowerBound(end_ikey, n);
    return end > begin ? end - begin : 0;
  }

  void UniqueRandomSample(const std::uint64_t num_entries, const std::uint64_t target_sample_size,
                          std::unordered_set<const char*>* entries) override {
    if (degraded_.load(std::memory_order_acquire)) {
      fallback_->UniqueRandomSample(num_entries, target_sample_size, entries);
      return;
    }
    // Evenly spaced rather than random: unique, and enough for a size estimate.
    const std::size_t n = entries_.size();
    if (n == 0 || target_sample_size == 0) return;
    const std::size_t stride = std::max<std::size_t>(1, n / target_sample_size);
    for (std::size_t i = 0; i < n; i += stride) entries->insert(entries_.at(i));
  }

  // Must not grow once the memtable is read-only (RocksDB accounts an immutable memtable's
  // usage once), so the iterators' blocks are left out.
  std::size_t ApproximateMemoryUsage() override {
    return entries_.memory_bytes() + fallback_->ApproximateMemoryUsage();
  }

  MemTableRep::Iterator* GetIterator(rocksdb::Arena* arena) override {
    if (degraded_.load(std::memory_order_acquire)) return fallback_->GetIterator(arena);
    if (arena == nullptr) return new ArrayIterator(this);
    // A caller that passes an arena ends the iterator by calling its destructor, never
    // delete. RocksDB's Arena is not public API, so the storage comes from the heap and
    // is freed with this memtable (one small block per database iterator opened on it).
    void* storage = ::operator new(sizeof(ArrayIterator));
    {
      const std::lock_guard<std::mutex> lock(arena_iterators_mutex_);
      arena_iterators_.push_back(storage);
    }
    return new (storage) ArrayIterator(this);
  }

 private:
  class ArrayIterator final : public MemTableRep::Iterator {
   public:
    explicit ArrayIterator(const AscendingKeyRep* rep) : rep_(rep) {}

    bool Valid() const override { return valid_; }
    const char* key() const override { return rep_->entries_.at(position_); }
    // Entries appended after a step are seen, as in a skip list.
    void Next() override {
      ++position_;
      valid_ = position_ < rep_->entries_.size();
    }
    void Prev() override {
      valid_ = position_ > 0;
      if (valid_) --position_;
    }
    void Seek(const rocksdb::Slice& internal_key, const char* /*memtable_key*/) override {
      const std::size_t n = rep_->entries_.size();
      position_ = rep_->LowerBound(internal_key, n);
      valid_ = position_ < n;
    }
    // The last entry not after the target: the first at or after it, or one before.
    // RocksDB 7.8.3's memtable iterator seeks backwards through Seek and Prev and never
    // calls this (so the database-level tests cannot reach it); it is kept to the interface.
    void SeekForPrev(const rocksdb::Slice& internal_key, const char* memtable_key) override {
      Seek(internal_key, memtable_key);
      if (!valid_) {
        SeekToLast();
      } else if (rep_->compare_(key(), internal_key) > 0) {
        Prev();
      }
    }
    void SeekToFirst() override {
      position_ = 0;
      valid_ = rep_->entries_.size() > 0;
    }
    void SeekToLast() override {
      const std::size_t n = rep_->entries_.size();
      valid_ = n > 0;
      position_ = valid_ ? n - 1 : 0;
    }

   private:
    const AscendingKeyRep* rep_;
    std::size_t position_ = 0;
    bool valid_ = false;
  };

  // The first of entries [0, n) not less than `target` (an internal key), n if none. Gallops
  // from where the previous search ended: the log's reads go forward through nearby keys.
  std::size_t LowerBound(const rocksdb::Slice& target, std::size_t n) const {
    std::size_t lo = 0;  // the answer is in [lo, hi]
    std::size_t hi = n;
    const std::size_t hint = last_found_.load(std::memory_order_relaxed);
    if (hint < n) {
      if (compare_(entries_.at(hint), target) < 0) {
        lo = hint + 1;
        for (std::size_t step = 1;; step *= 2) {
          const std::size_t probe = hint + step;
          if (probe >= n) break;
          if (compare_(entries_.at(probe), target) >= 0) {
            hi = probe;
            break;
          }
          lo = probe + 1;
        }
      } else {
        hi = hint;
        for (std::size_t step = 1;; step *= 2) {
          if (step > hint) break;
          const std::size_t probe = hint - step;
          if (compare_(entries_.at(probe), target) < 0) {
            lo = probe + 1;
            break;
          }
          hi = probe;
        }
      }
    }
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (compare_(entries_.at(mid), target) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    last_found_.store(lo, std::memory_order_relaxed);
    return lo;
  }

  // A key out of order (or a full array): from now on the skip list holds everything.
  // Readers that already hold an array iterator keep reading the array, which stays
  // valid; they miss only entries inserted after they were created.
  void MoveEntriesToSkipList() {
    const std::size_t n = entries_.size();
    for (std::size_t i = 0; i < n; ++i) fallback_->Insert(const_cast<char*>(entries_.at(i)));
    degraded_.store(true, std::memory_order_release);
    moved_to_skip_list.fetch_add(1, std::memory_order_relaxed);
  }

  const KeyComparator& compare_;
  std::unique_ptr<MemTableRep> fallback_;
  EntryArray entries_;
  std::atomic<bool> degraded_{false};
  // A search hint shared by all readers; any value is safe (it is only a starting point).
  mutable std::atomic<std::size_t> last_found_{0};
  std::mutex arena_iterators_mutex_;
  std::vector<void*> arena_iterators_;
};

class AscendingKeyMemTableFactory final : public rocksdb::MemTableRepFactory {
 public:
  const char* Name() const override { return kAscendingKeyMemTableName; }

  using rocksdb::MemTableRepFactory::CreateMemTableRep;
  MemTableRep* CreateMemTableRep(const KeyComparator& compare, rocksdb::Allocator* allocator,
                                 const rocksdb::SliceTransform* transform,
                                 rocksdb::Logger* logger) override {
    return new AscendingKeyRep(compare, allocator,
                               skip_list_.CreateMemTableRep(compare, allocator, transform, logger));
  }

  bool IsInsertConcurrentlySupported() const override { return false; }
  bool CanHandleDuplicatedKey() const override { return false; }

 private:
  rocksdb::SkipListFactory skip_list_;
};

void RegisterOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    rocksdb::ObjectLibrary::Default()->AddFactory<rocksdb::MemTableRepFactory>(
        kAscendingKeyMemTableName,
        [](const std::string& /*uri*/, std::unique_ptr<rocksdb::MemTableRepFactory>* guard,
           std::string* /*error*/) {
          guard->reset(new AscendingKeyMemTableFactory());
          return guard->get();
        });
  });
}

}  // namespace

std::uint64_t AscendingKeyMemTableGenericGets() {
  return generic_gets.load(std::memory_order_relaxed);
}

std::uint64_t AscendingKeyMemTablesMovedToSkipList() {
  return moved_to_skip_list.load(std::memory_order_relaxed);
}

std::shared_ptr<rocksdb::MemTableRepFactory> NewAscendingKeyMemTableFactory() {
  RegisterOnce();
  return std::make_shared<AscendingKeyMemTableFactory>();
}

}  // namespace batchlog::store
