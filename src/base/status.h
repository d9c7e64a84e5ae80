// Status: the outcome of one of our calls, as a value. Errors cross module boundaries as
// Status or Result<T>; exceptions never do (docs/architecture.md, "Errors").
//
// Codes follow abseil's canonical names so their retry meaning is already documented:
// kUnavailable / kDeadlineExceeded / kResourceExhausted are worth retrying later,
// kInvalidArgument / kFailedPrecondition are not, kDataLoss means the log is damaged.
//
// A per-request failure inside a finished provider batch is *data* (a RequestFailed
// event), never a Status: a Status only says how our own call went.
//
// Thread-safety: a Status is an immutable value; copies may be used from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace batchlog::base {

enum class StatusCode : std::uint8_t {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kAborted,
  kUnavailable,
  kResourceExhausted,
  kDeadlineExceeded,
  kDataLoss,
  kCancelled,
  kUnimplemented,
  kInternal,
  // A call that may have taken effect: a create whose response was lost (timeout, reset
  // after the request was sent). Never retried blindly; the caller reconciles instead.
  kOutcomeUnknown,
};

// Returns the canonical name, e.g. "DATA_LOSS".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // OK. Cheap: no allocation.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // Empty for OK.
  const std::string& message() const;

  // "DATA_LOSS: run r1: event at seq 42 ..." or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  // How long the server asked the caller to wait before trying again (its Retry-After),
  // when the failure came with such a request; kept by WithContext.
  std::optional<std::chrono::microseconds> retry_after() const;
  // Returns a copy carrying `delay` (clamped at 0) as retry_after(); OK stays OK.
  Status WithRetryAfter(std::chrono::microseconds delay) const;

  // Marks a deliberately dropped error; greppable, as RocksDB's PermitUncheckedError.
  void IgnoreError() const {}

  bool IsRetryable() const {
    return code() == StatusCode::kUnavailable || code() == StatusCode::kDeadlineExceeded ||
           code() == StatusCode::kResourceExhausted || code() == StatusCode::kAborted;
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::int64_t retry_after_us = -1;  // < 0: none
  };
  // Shared and immutable, so copying a Status is one refcount increment.
  std::shared_ptr<const Rep> rep_;
};

// Factories, one per code.
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status UnavailableError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DeadlineExceededError(std::string message);
Status DataLossError(std::string message);
Status CancelledError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status OutcomeUnknownError(std::string message);

}  // namespace batchlog::base

#define BATCHLOG_STATUS_CONCAT_INNER_(a, b) a##b
#define BATCHLOG_STATUS_CONCAT_(a, b) BATCHLOG_STATUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define BATCHLOG_RETURN_IF_ERROR(expr)                                           \
  do {                                                                           \
    ::batchlog::base::Status batchlog_status_ = (expr);                          \
    if (!batchlog_status_.ok()) return batchlog_status_;                         \
  } while (false)
