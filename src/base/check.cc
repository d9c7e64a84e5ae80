#include "src/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace batchlog::base::internal {

void CheckFailed(const char* file, int line, const char* condition) {
  std::fprintf(stderr, "batchlog: check failed at %s:%d: %s\n", file, line, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace batchlog::base::internal
