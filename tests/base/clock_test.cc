// Clock: the fake clock moves only when told, and Sleep on it advances instead of waiting,
// so code written against Clock is testable without wall time.
#include "src/base/clock.h"

#include <catch2/catch.hpp>

#include <chrono>

#include "src/base/time_format.h"

namespace batchlog::base {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::seconds;

// 2025-11-28T13:07:46Z.
constexpr std::int64_t kStartUs = 1'764'335'266'000'000;

}  // namespace

TEST_CASE("a fake clock starts where it is told and stands still", "[base][clock]") {
  const FakeClock clock(FromUnixMicros(kStartUs));
  CHECK(ToUnixMicros(clock.Now()) == kStartUs);
  CHECK(ToUnixMicros(clock.Now()) == kStartUs);
}

TEST_CASE("Advance moves a fake clock by exactly the duration", "[base][clock]") {
  FakeClock clock(FromUnixMicros(kStartUs));
  clock.Advance(seconds(30));
  CHECK(ToUnixMicros(clock.Now()) == kStartUs + 30'000'000);
  clock.Advance(microseconds(1));
  CHECK(ToUnixMicros(clock.Now()) == kStartUs + 30'000'001);
}

TEST_CASE("Sleep on a fake clock advances it instead of waiting", "[base][clock]") {
  FakeClock fake(FromUnixMicros(kStartUs));
  Clock& clock = fake;
  // A real 24-hour sleep would time the test out, so returning at all shows no waiting.
  clock.Sleep(hours(24));
  CHECK(clock.Now() - FromUnixMicros(kStartUs) == hours(24));
}

TEST_CASE("Set puts a fake clock at an instant, even backwards", "[base][clock]") {
  FakeClock clock(FromUnixMicros(kStartUs));
  clock.Set(FromUnixMicros(5));
  CHECK(ToUnixMicros(clock.Now()) == 5);
}

TEST_CASE("unix microseconds round-trip through Timestamp", "[base][clock]") {
  for (const std::int64_t us : {std::int64_t{0}, std::int64_t{1}, kStartUs, -kStartUs}) {
    CAPTURE(us);
    CHECK(ToUnixMicros(FromUnixMicros(us)) == us);
  }
}

TEST_CASE("the system clock reads a plausible wall time", "[base][clock]") {
  SystemClock clock;
  // After 2020-01-01 and before 2200-01-01.
  CHECK(ToUnixMicros(clock.Now()) > 1'577'836'800'000'000);
  CHECK(ToUnixMicros(clock.Now()) < 7'258'118'400'000'000);
}

TEST_CASE("recorded times render as RFC 3339 UTC with microseconds", "[base][clock]") {
  CHECK(FormatUnixMicrosUtc(kStartUs + 123'456) == "2025-11-28T13:07:46.123456Z");
  CHECK(FormatUnixMicrosUtc(0) == "1970-01-01T00:00:00.000000Z");
}

}  // namespace batchlog::base
