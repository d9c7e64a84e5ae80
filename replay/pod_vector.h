// PodVector<T>: a growable array of trivially copyable values, for the projections' large
// per-request arrays and hash slots. A replay of a large run is dominated not by
// computation but by touching fresh memory (page faults, TLB misses), so buffers of 2 MiB
// and more are 2 MiB-aligned and advised as transparent huge pages (Linux): one fault and
// one TLB entry per 2 MiB instead of per 4 KiB; on this project's reference VM that halves
// the cost of applying a result. Smaller buffers grow with realloc. Elements added by
// resize() are zero.
//
// Ownership: owns its buffer; copyable and movable. Thread-safety: none.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace batchlog::replay {

template <typename T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  PodVector() = default;
  PodVector(const PodVector& other) { Assign(other.data_, other.size_); }
  PodVector(PodVector&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  PodVector& operator=(const PodVector& other) {
    if (this != &other) Assign(other.data_, other.size_);
    return *this;
  }
  PodVector& operator=(PodVector&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    return *this;
  }
  ~PodVector() { std::free(data_); }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  const T& back() const { return data_[size_ - 1]; }

  void push_back(const T& value) {
    if (size_ == capacity_) Grow(size_ + 1);
    data_[size_++] = value;
  }
  void append(const T* values, std::size_t count) {
    if (count == 0) return;
    if (size_ + count > capacity_) Grow(size_ + count);
    std::memcpy(data_ + size_, values, count * sizeof(T));
    size_ += count;
  }
  void resize(std::size_t size) {
    if (size > capacity_) Reallocate(size);
    if (size > size_) std::memset(static_cast<void*>(data_ + size_), 0, (size - size_) * sizeof(T));
    size_ = size;
  }
  void resize(std::size_t size, const T& value) {
    const std::size_t old = size_;
    resize(size);
    std::fill(data_ + std::min(old, size), data_ + size, value);
  }
  void reserve(std::size_t capacity) {
    if (capacity > capacity_) Reallocate(capacity);
  }
  void clear() { size_ = 0; }

  friend bool operator==(const PodVector& a, const PodVector& b) {
    return a.size_ == b.size_ &&
           (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_ * sizeof(T)) == 0);
  }

 private:
  void Grow(std::size_t needed) {
    Reallocate(std::max(needed, std::max<std::size_t>(16, capacity_ * 2)));
  }
  static constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

  void Reallocate(std::size_t capacity) {
    const std::size_t bytes = capacity * sizeof(T);
    if (bytes < kHugePageBytes) {
      void* grown = std::realloc(data_, bytes);
      if (grown == nullptr) throw std::bad_alloc();  // as std::vector would
      data_ = static_cast<T*>(grown);
      capacity_ = capacity;
      return;
    }
    const std::size_t rounded = (bytes + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
    void* fresh = std::aligned_alloc(kHugePageBytes, rounded);
    if (fresh == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    // Only a hint: without transparent huge pages the buffer simply uses small pages.
    madvise(fresh, rounded, MADV_HUGEPAGE);
#endif
    if (size_ != 0) std::memcpy(fresh, data_, size_ * sizeof(T));
    std::free(data_);
    data_ = static_cast<T*>(fresh);
    capacity_ = rounded / sizeof(T);
  }
  void Assign(const T* values, std::size_t count) {
    size_ = 0;
    if (count > capacity_) Reallocate(count);
    if (count != 0) std::memcpy(data_, values, count * sizeof(T));
    size_ = count;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace batchlog::replay
