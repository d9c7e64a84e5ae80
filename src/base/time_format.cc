#include "src/base/time_format.h"

#include <chrono>
#include <cstdio>

namespace batchlog::base {

std::string FormatUnixMicrosUtc(std::int64_t unix_us) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds(unix_us)};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> clock{t - day};
  char out[40];
  std::snprintf(out, sizeof(out), "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()),
                static_cast<long long>(clock.subseconds().count()));
  return out;
}

}  // namespace batchlog::base
