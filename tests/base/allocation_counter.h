// Counts calls to the global operator new made by this test binary, so a test can assert
// that an operation does not allocate (e.g. that an OK Status is cheap). The replacement
// operators live in allocation_counter.cc and forward to malloc/free.
//
// Thread-safety: the counter is atomic; a measurement is meaningful only when no other
// thread allocates meanwhile (Catch2 runs tests on one thread).
#pragma once

#include <cstdint>

namespace batchlog::base::testing {

// Global operator new calls so far in this process.
std::int64_t AllocationCount();

}  // namespace batchlog::base::testing
