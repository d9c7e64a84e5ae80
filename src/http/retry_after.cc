#include "src/http/retry_after.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>

namespace batchlog::http {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A whole-string non-negative finite number, or nullopt.
std::optional<double> ParseNumber(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

std::optional<base::Duration> FromSeconds(double seconds) {
  // A day is far beyond any ceiling; clamping keeps the conversion in range.
  constexpr double kSecondsMax = 86'400.0 * 365;
  if (seconds > kSecondsMax) seconds = kSecondsMax;
  return base::Duration(static_cast<std::int64_t>(std::llround(seconds * 1e6)));
}

std::optional<int> ParseDigits(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::optional<base::Timestamp> ParseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
  text = Trim(text);
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < kMonths.size(); ++i) {
    if (text.substr(8, 3) == kMonths[i]) month = i + 1;
  }
  const auto day = ParseDigits(text.substr(5, 2));
  const auto year = ParseDigits(text.substr(12, 4));
  const auto hour = ParseDigits(text.substr(17, 2));
  const auto minute = ParseDigits(text.substr(20, 2));
  const auto second = ParseDigits(text.substr(23, 2));
  if (month == 0 || !day || !year || !hour || !minute || !second) return std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(month),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  const auto time = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
                    std::chrono::minutes(*minute) + std::chrono::seconds(*second);
  return std::chrono::time_point_cast<base::Duration>(time);
}

std::optional<base::Duration> ParseRetryAfterValue(std::string_view value, base::Timestamp now) {
  if (const std::optional<double> seconds = ParseNumber(value)) return FromSeconds(*seconds);
  if (const std::optional<base::Timestamp> date = ParseHttpDate(value)) {
    return *date > now ? *date - now : base::Duration(0);
  }
  return std::nullopt;
}

std::optional<base::Duration> ParseRetryAfter(const HttpHeaders& headers, base::Timestamp now) {
  if (const auto ms = headers.Find("retry-after-ms")) {
    if (const std::optional<double> millis = ParseNumber(*ms)) return FromSeconds(*millis / 1e3);
  }
  if (const auto value = headers.Find("retry-after")) return ParseRetryAfterValue(*value, now);
  return std::nullopt;
}

}  // namespace batchlog::http
