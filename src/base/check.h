// Checks for programmer errors (broken invariants). Operating errors — a corrupt log, a bad
// workflow file, a truncated provider response, a full disk — are Status values, never
// checks (shared style G8).
//
// BATCHLOG_CHECK is always on and aborts with file, line and condition.
// BATCHLOG_DCHECK is compiled only in debug builds, for costly checks.
#pragma once

namespace batchlog::base::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition);
}  // namespace batchlog::base::internal

#define BATCHLOG_CHECK(condition)                                                \
  do {                                                                           \
    if (!(condition)) [[unlikely]]                                               \
      ::batchlog::base::internal::CheckFailed(__FILE__, __LINE__, #condition);   \
  } while (false)

#ifdef NDEBUG
#define BATCHLOG_DCHECK(condition) \
  do {                             \
  } while (false && (condition))
#else
#define BATCHLOG_DCHECK(condition) BATCHLOG_CHECK(condition)
#endif
