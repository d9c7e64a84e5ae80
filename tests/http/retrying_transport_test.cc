// The transport-level retry policy, against a scripted transport and a fake clock: which
// calls are retried, how long each wait is, and when the caller gets the answer instead.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <vector>

#include <catch2/catch.hpp>

#include "src/base/clock.h"
#include "src/base/random.h"
#include "src/http/retrying_transport.h"
#include "tests/http/scripted_transport.h"

namespace batchlog::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::MakeResponse;
using testing::ScriptedTransport;

std::uint64_t Seed() {
  static const std::uint64_t seed = [] {
    const char* text = std::getenv("BATCHLOG_SEED");
    const std::uint64_t value = text != nullptr ? std::strtoull(text, nullptr, 10) : 20261128;
    std::cout << "BATCHLOG_SEED=" << value << "\n";
    return value;
  }();
  return seed;
}

RetryPolicy Policy() {
  RetryPolicy policy;
  policy.attempts_max = 5;
  policy.delay_initial = milliseconds(500);
  policy.delay_multiplier = 2.0;
  policy.delay_cap = seconds(3);
  policy.jitter_fraction = 0.25;
  policy.retry_after_max = seconds(60);
  return policy;
}

HttpRequest SafeGet() {
  HttpRequest request;
  request.method = HttpMethod::kGet;
  request.url = "http://example.invalid/v1/batches/b1";
  request.call_name = "test GetBatch b1";
  request.safe_to_retry = true;
  return request;
}

HttpRequest CreatePost() {
  HttpRequest request;
  request.method = HttpMethod::kPost;
  request.url = "http://example.invalid/v1/batches";
  request.call_name = "test CreateBatch k1";
  request.safe_to_retry = false;
  return request;
}

struct Fixture {
  base::FakeClock clock{base::FromUnixMicros(1'772'355'600'000'000)};
  ScriptedTransport inner;
  std::uint64_t seed = Seed();
  base::SeededRandom random{seed};

  base::Duration Slept(base::Timestamp since) const { return clock.Now() - since; }
};

TEST_CASE("the backoff doubles from the initial delay up to the cap, and jitter only shortens it",
          "[http][retry]") {
  const RetryPolicy policy = Policy();
  CHECK(BackoffDelay(policy, 0, 0.0) == milliseconds(500));
  CHECK(BackoffDelay(policy, 1, 0.0) == milliseconds(1000));
  CHECK(BackoffDelay(policy, 2, 0.0) == milliseconds(2000));
  CHECK(BackoffDelay(policy, 3, 0.0) == milliseconds(3000));
  CHECK(BackoffDelay(policy, 200, 0.0) == milliseconds(3000));
  // The largest jitter draw takes off just under a quarter.
  CHECK(BackoffDelay(policy, 0, 0.99) > milliseconds(375));
  CHECK(BackoffDelay(policy, 0, 0.5) == milliseconds(437) + std::chrono::microseconds(500));
}

TEST_CASE("a safe request is retried on 5xx with the jittered backoff sequence", "[http][retry]") {
  Fixture f;
  f.inner.Push(MakeResponse(500, R"({"error":{"message":"boom"}})"));
  f.inner.Push(MakeResponse(503));
  f.inner.Push(MakeResponse(529));
  f.inner.Push(MakeResponse(200, "{}"));
  RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
  const base::Timestamp start = f.clock.Now();

  const auto result = transport.Send(SafeGet());
  REQUIRE(result.ok());
  CHECK(result->status == 200);
  CHECK(f.inner.requests().size() == 4);

  base::SeededRandom replay(f.seed);
  base::Duration expected(0);
  for (std::uint32_t retry = 0; retry < 3; ++retry) {
    expected += BackoffDelay(Policy(), retry, replay.NextUnit());
  }
  CHECK(f.Slept(start) == expected);
}

TEST_CASE("408, 409 and 429 are retried, 400, 401, 403 and 404 are not", "[http][retry]") {
  for (const int status : {408, 409, 429}) {
    CAPTURE(status);
    Fixture f;
    f.inner.Push(MakeResponse(status));
    f.inner.Push(MakeResponse(200, "{}"));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const auto result = transport.Send(SafeGet());
    REQUIRE(result.ok());
    CHECK(result->status == 200);
  }
  for (const int status : {400, 401, 403, 404, 422}) {
    CAPTURE(status);
    Fixture f;
    f.inner.Push(MakeResponse(status));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const base::Timestamp start = f.clock.Now();
    const auto result = transport.Send(SafeGet());
    REQUIRE(result.ok());
    CHECK(result->status == status);
    CHECK(f.inner.requests().size() == 1);
    CHECK(f.Slept(start) == base::Duration(0));
  }
}

TEST_CASE("a Retry-After within the ceiling is waited exactly", "[http][retry]") {
  Fixture f;
  f.inner.Push(MakeResponse(429, "{}", {{"Retry-After", "7"}}));
  f.inner.Push(MakeResponse(200, "{}"));
  RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
  const base::Timestamp start = f.clock.Now();
  const auto result = transport.Send(SafeGet());
  REQUIRE(result.ok());
  CHECK(result->status == 200);
  CHECK(f.Slept(start) == seconds(7));
}

TEST_CASE("retry-after-ms is preferred to Retry-After", "[http][retry]") {
  Fixture f;
  f.inner.Push(MakeResponse(503, "{}", {{"retry-after", "9"}, {"retry-after-ms", "1250"}}));
  f.inner.Push(MakeResponse(200, "{}"));
  RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
  const base::Timestamp start = f.clock.Now();
  REQUIRE(transport.Send(SafeGet()).ok());
  CHECK(f.Slept(start) == milliseconds(1250));
}

TEST_CASE("a Retry-After above the ceiling is not waited for: the answer goes back",
          "[http][retry]") {
  Fixture f;
  f.inner.Push(MakeResponse(429, "{}", {{"Retry-After", "61"}}));
  f.inner.Push(MakeResponse(200, "{}"));
  RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
  const base::Timestamp start = f.clock.Now();
  const auto result = transport.Send(SafeGet());
  REQUIRE(result.ok());
  CHECK(result->status == 429);
  CHECK(f.inner.requests().size() == 1);
  CHECK(f.Slept(start) == base::Duration(0));
}

TEST_CASE("a Retry-After HTTP-date is measured from the clock", "[http][retry]") {
  Fixture f;
  // The fixture's clock reads 2026-03-01T09:00:00Z.
  f.inner.Push(MakeResponse(503, "{}", {{"Retry-After", "Sun, 01 Mar 2026 09:00:12 GMT"}}));
  f.inner.Push(MakeResponse(200, "{}"));
  RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
  const base::Timestamp start = f.clock.Now();
  REQUIRE(transport.Send(SafeGet()).ok());
  CHECK(f.Slept(start) == seconds(12));
}

TEST_CASE("a request that is not safe is never retried, whatever happened", "[http][retry]") {
  std::vector<base::Result<HttpResponse>> answers;
  answers.emplace_back(base::OutcomeUnknownError("reset after sending"));
  answers.emplace_back(base::UnavailableError("connection refused"));
  answers.emplace_back(base::DeadlineExceededError("timed out"));
  answers.emplace_back(MakeResponse(503));
  answers.emplace_back(MakeResponse(429, "{}", {{"Retry-After", "1"}}));
  answers.emplace_back(MakeResponse(500, "{}", {{"x-should-retry", "true"}}));
  for (auto& answer : answers) {
    Fixture f;
    const bool was_ok = answer.ok();
    f.inner.Push(std::move(answer));
    f.inner.Push(MakeResponse(200, "{}"));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const base::Timestamp start = f.clock.Now();
    const auto result = transport.Send(CreatePost());
    CHECK(result.ok() == was_ok);
    CHECK(f.inner.requests().size() == 1);
    CHECK(f.inner.remaining() == 1);
    CHECK(f.Slept(start) == base::Duration(0));
  }
}

TEST_CASE("a broken exchange of a safe request is retried, other failures are not",
          "[http][retry]") {
  {
    Fixture f;
    f.inner.Push(base::UnavailableError("connection reset"));
    f.inner.Push(base::DeadlineExceededError("timed out"));
    f.inner.Push(MakeResponse(200, "{}"));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const auto result = transport.Send(SafeGet());
    REQUIRE(result.ok());
    CHECK(f.inner.requests().size() == 3);
  }
  for (auto status : {base::InvalidArgumentError("body cap"),
                      base::FailedPreconditionError("TLS verification failed"),
                      base::InternalError("disk full")}) {
    Fixture f;
    f.inner.Push(status);
    f.inner.Push(MakeResponse(200, "{}"));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const auto result = transport.Send(SafeGet());
    CHECK(result.status() == status);
    CHECK(f.inner.requests().size() == 1);
  }
}

TEST_CASE("attempts_max bounds the attempts and the last answer is returned", "[http][retry]") {
  Fixture f;
  for (int i = 0; i < 10; ++i) {
    f.inner.Push(MakeResponse(500, "{\"attempt\":" + std::to_string(i) + "}"));
  }
  RetryPolicy policy = Policy();
  policy.attempts_max = 3;
  RetryingTransport transport(f.inner, policy, f.clock, f.random);
  const auto result = transport.Send(SafeGet());
  REQUIRE(result.ok());
  CHECK(result->status == 500);
  CHECK(result->body == "{\"attempt\":2}");
  CHECK(f.inner.requests().size() == 3);
}

TEST_CASE("x-should-retry overrides the status", "[http][retry]") {
  {
    Fixture f;
    f.inner.Push(MakeResponse(503, "{}", {{"X-Should-Retry", "false"}}));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const auto result = transport.Send(SafeGet());
    REQUIRE(result.ok());
    CHECK(result->status == 503);
    CHECK(f.inner.requests().size() == 1);
  }
  {
    Fixture f;
    f.inner.Push(MakeResponse(400, "{}", {{"x-should-retry", "true"}}));
    f.inner.Push(MakeResponse(200, "{}"));
    RetryingTransport transport(f.inner, Policy(), f.clock, f.random);
    const auto result = transport.Send(SafeGet());
    REQUIRE(result.ok());
    CHECK(result->status == 200);
  }
}

}  // namespace
}  // namespace batchlog::http
