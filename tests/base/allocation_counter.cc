#include "tests/base/allocation_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::int64_t> g_allocations{0};
}  // namespace

namespace batchlog::base::testing {
std::int64_t AllocationCount() { return g_allocations.load(); }
}  // namespace batchlog::base::testing

// Replacements for the global allocation functions (the array and sized forms forward to
// these by default). Test code, so throwing bad_alloc is the standard's contract here.
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
