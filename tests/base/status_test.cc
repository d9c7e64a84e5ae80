// Status: codes and their canonical names, factories, context, the retry vocabulary, and
// the promise that OK costs nothing.
#include "src/base/status.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "tests/base/allocation_counter.h"

namespace batchlog::base {
namespace {

struct CodeRow {
  Status (*factory)(std::string);
  StatusCode code;
  const char* name;
  bool retryable;
};

}  // namespace

TEST_CASE("a default Status is OK with an empty message", "[base][status]") {
  const Status status;
  CHECK(status.ok());
  CHECK(status.code() == StatusCode::kOk);
  CHECK(status.message().empty());
  CHECK(status.ToString() == "OK");
  CHECK(status == Status::Ok());
  CHECK_FALSE(status.IsRetryable());
}

TEST_CASE("each factory makes its code, its canonical name and its retry meaning",
          "[base][status]") {
  const CodeRow row = GENERATE(values<CodeRow>({
      {InvalidArgumentError, StatusCode::kInvalidArgument, "INVALID_ARGUMENT", false},
      {NotFoundError, StatusCode::kNotFound, "NOT_FOUND", false},
      {AlreadyExistsError, StatusCode::kAlreadyExists, "ALREADY_EXISTS", false},
      {FailedPreconditionError, StatusCode::kFailedPrecondition, "FAILED_PRECONDITION", false},
      {AbortedError, StatusCode::kAborted, "ABORTED", true},
      {UnavailableError, StatusCode::kUnavailable, "UNAVAILABLE", true},
      {ResourceExhaustedError, StatusCode::kResourceExhausted, "RESOURCE_EXHAUSTED", true},
      {DeadlineExceededError, StatusCode::kDeadlineExceeded, "DEADLINE_EXCEEDED", true},
      {DataLossError, StatusCode::kDataLoss, "DATA_LOSS", false},
      {CancelledError, StatusCode::kCancelled, "CANCELLED", false},
      {UnimplementedError, StatusCode::kUnimplemented, "UNIMPLEMENTED", false},
      {InternalError, StatusCode::kInternal, "INTERNAL", false},
      {OutcomeUnknownError, StatusCode::kOutcomeUnknown, "OUTCOME_UNKNOWN", false},
  }));
  CAPTURE(row.name);
  const Status status = row.factory("run r1: event at seq 42");
  CHECK_FALSE(status.ok());
  CHECK(status.code() == row.code);
  CHECK(status.message() == "run r1: event at seq 42");
  CHECK(StatusCodeName(row.code) == row.name);
  CHECK(status.ToString() == std::string(row.name) + ": run r1: event at seq 42");
  CHECK(status.IsRetryable() == row.retryable);
}

TEST_CASE("the OK code is named OK", "[base][status]") {
  CHECK(StatusCodeName(StatusCode::kOk) == "OK");
}

TEST_CASE("a Status built with the OK code is OK and drops its message", "[base][status]") {
  const Status status(StatusCode::kOk, "ignored");
  CHECK(status.ok());
  CHECK(status.message().empty());
}

TEST_CASE("WithContext prefixes the message and keeps the code", "[base][status]") {
  const Status status = DataLossError("event at seq 42 is truncated").WithContext("run r1");
  CHECK(status.code() == StatusCode::kDataLoss);
  CHECK(status.message() == "run r1: event at seq 42 is truncated");
  CHECK(status.WithContext("open").message() == "open: run r1: event at seq 42 is truncated");
}

TEST_CASE("a server's Retry-After travels with the status, through WithContext",
          "[base][status]") {
  using std::chrono::seconds;
  const Status plain = ResourceExhaustedError("429 rate limited");
  CHECK_FALSE(plain.retry_after().has_value());
  const Status asked = plain.WithRetryAfter(seconds(600));
  REQUIRE(asked.retry_after().has_value());
  CHECK(*asked.retry_after() == seconds(600));
  CHECK(asked.code() == StatusCode::kResourceExhausted);
  CHECK(asked.message() == "429 rate limited");
  const Status wrapped = asked.WithContext("poll");
  REQUIRE(wrapped.retry_after().has_value());
  CHECK(*wrapped.retry_after() == seconds(600));
  CHECK(wrapped.message() == "poll: 429 rate limited");
  CHECK(*plain.WithRetryAfter(seconds(-5)).retry_after() == seconds(0));
  CHECK_FALSE(Status::Ok().WithRetryAfter(seconds(1)).retry_after().has_value());
  CHECK(plain.WithContext("poll").retry_after() == std::nullopt);
}

TEST_CASE("WithContext on OK stays OK", "[base][status]") {
  const Status status = Status::Ok().WithContext("run r1");
  CHECK(status.ok());
  CHECK(status.message().empty());
}

TEST_CASE("statuses are equal when code and message are equal", "[base][status]") {
  CHECK(NotFoundError("x") == NotFoundError("x"));
  CHECK_FALSE(NotFoundError("x") == NotFoundError("y"));
  CHECK_FALSE(NotFoundError("x") == InternalError("x"));
  CHECK_FALSE(NotFoundError("x") == Status::Ok());
}

TEST_CASE("a copy of an error shares its message and outlives the original", "[base][status]") {
  Status copy;
  {
    const Status original = UnavailableError("provider returned 503");
    copy = original;
  }
  CHECK(copy.code() == StatusCode::kUnavailable);
  CHECK(copy.message() == "provider returned 503");
}

TEST_CASE("OK is cheap: making, copying and testing it allocates nothing", "[base][status]") {
  static_assert(sizeof(Status) <= 2 * sizeof(void*));
  const std::int64_t before = testing::AllocationCount();
  const Status ok;
  Status copy = ok;
  const Status moved = std::move(copy);
  const bool all_ok = ok.ok() && moved.ok() && Status::Ok().ok() && ok.message().empty();
  const std::int64_t after = testing::AllocationCount();
  CHECK(all_ok);
  CHECK(after == before);
}

TEST_CASE("the allocation counter sees an error's allocation", "[base][status]") {
  // Guards the test above: if the counter were not wired up, "allocates nothing" would
  // pass vacuously.
  const std::int64_t before = testing::AllocationCount();
  const Status error = InternalError("a message long enough to defeat the small-string buffer");
  CHECK(testing::AllocationCount() > before);
  CHECK_FALSE(error.ok());
}

}  // namespace batchlog::base
