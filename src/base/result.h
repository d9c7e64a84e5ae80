// Result<T>: a T or a non-OK Status. Our stand-in for std::expected, which GCC 12 exposes
// only above C++20. Must-use: dropping one is a compile warning (an error in CI).
//
//   Result<EventLog> log = EventLog::Open(...);
//   if (!log.ok()) return log.status();
//   BATCHLOG_ASSIGN_OR_RETURN(auto reader, log->NewReader(1));
#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "src/base/check.h"
#include "src/base/status.h"

namespace batchlog::base {

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Status>, "Result<Status> is meaningless");

 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, as absl::StatusOr.
  Result(T value) : rep_(std::in_place_index<1>, std::move(value)) {}
  // A Result built from a Status must carry an error.
  Result(Status status) : rep_(std::in_place_index<0>, std::move(status)) {
    BATCHLOG_CHECK(!std::get<0>(rep_).ok());
  }

  bool ok() const { return rep_.index() == 1; }
  Status status() const { return ok() ? Status() : std::get<0>(rep_); }

  T& value() & {
    BATCHLOG_CHECK(ok());
    return std::get<1>(rep_);
  }
  const T& value() const& {
    BATCHLOG_CHECK(ok());
    return std::get<1>(rep_);
  }
  T&& value() && {
    BATCHLOG_CHECK(ok());
    return std::get<1>(std::move(rep_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  void IgnoreError() const {}

 private:
  std::variant<Status, T> rep_;
};

}  // namespace batchlog::base

// Evaluates `rexpr` (a Result<T>); returns its Status on error, else moves the value into
// `lhs`, which may be a declaration: BATCHLOG_ASSIGN_OR_RETURN(auto x, MakeX());
#define BATCHLOG_ASSIGN_OR_RETURN(lhs, rexpr) \
  BATCHLOG_ASSIGN_OR_RETURN_IMPL_(BATCHLOG_STATUS_CONCAT_(batchlog_result_, __LINE__), lhs, rexpr)
#define BATCHLOG_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                    \
  if (!result.ok()) return result.status();                 \
  lhs = std::move(result).value()
