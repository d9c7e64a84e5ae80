#include "src/orchestrator/time_travel.h"

#include <charconv>
#include <string>

#include "src/base/time_format.h"
#include "src/providers/rfc3339.h"

namespace batchlog::orchestrator {
namespace {

base::Result<std::int64_t> RecordedAt(const RunReader& reader, std::uint64_t seq) {
  std::int64_t at = 0;
  bool found = false;
  BATCHLOG_RETURN_IF_ERROR(reader.VisitEvents(seq, seq, [&](const events::v1::Event& event) {
    at = event.recorded_at_unix_us();
    found = true;
    return false;
  }));
  if (!found) {
    return base::DataLossError("run '" + reader.run_id() + "': no event at seq " +
                               std::to_string(seq));
  }
  return at;
}

}  // namespace

std::optional<std::int64_t> ParseTimestamp(std::string_view text) {
  return providers::ParseRfc3339Micros(text);
}

base::Result<std::uint64_t> SeqAtOrBefore(const RunReader& reader, std::int64_t unix_us) {
  const std::uint64_t last = reader.last_seq();
  if (last == 0) {
    return base::NotFoundError("run '" + reader.run_id() + "' has no events");
  }
  BATCHLOG_ASSIGN_OR_RETURN(const std::int64_t first_at, RecordedAt(reader, 1));
  if (first_at > unix_us) {
    return base::NotFoundError("run '" + reader.run_id() + "' has no event at or before " +
                               base::FormatUnixMicrosUtc(unix_us) + " (its first is at " +
                               base::FormatUnixMicrosUtc(first_at) + ")");
  }
  // Invariant: time(low) <= unix_us; time(high + 1) > unix_us or high == last.
  std::uint64_t low = 1;
  std::uint64_t high = last;
  while (low < high) {
    const std::uint64_t mid = low + (high - low + 1) / 2;
    BATCHLOG_ASSIGN_OR_RETURN(const std::int64_t at, RecordedAt(reader, mid));
    if (at <= unix_us) {
      low = mid;
    } else {
      high = mid - 1;
    }
  }
  return low;
}

base::Result<std::uint64_t> ResolvePoint(const RunReader& reader, std::string_view point) {
  if (point.empty() || point == "latest") return reader.last_seq();
  std::uint64_t seq = 0;
  const auto [end, error] = std::from_chars(point.data(), point.data() + point.size(), seq);
  if (error == std::errc() && end == point.data() + point.size()) {
    if (seq > reader.last_seq()) {
      return base::NotFoundError("run '" + reader.run_id() + "' has no seq " +
                                 std::to_string(seq) + " (its last seq is " +
                                 std::to_string(reader.last_seq()) + ")");
    }
    return seq;
  }
  const std::optional<std::int64_t> unix_us = ParseTimestamp(point);
  if (!unix_us) {
    return base::InvalidArgumentError("'" + std::string(point) +
                                      "' is neither a seq nor an RFC 3339 UTC timestamp (e.g. "
                                      "2026-11-28T17:30:00Z)");
  }
  return SeqAtOrBefore(reader, *unix_us);
}

base::Result<replay::ManifestDiff> DiffManifestPoints(const RunReader& reader,
                                                      std::string_view from, std::string_view to) {
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint64_t from_seq, ResolvePoint(reader, from));
  BATCHLOG_ASSIGN_OR_RETURN(const std::uint64_t to_seq, ResolvePoint(reader, to));
  BATCHLOG_ASSIGN_OR_RETURN(const replay::Projections a, reader.ReplayTo(from_seq));
  BATCHLOG_ASSIGN_OR_RETURN(const replay::Projections b, reader.ReplayTo(to_seq));
  return replay::DiffManifests(a, b);
}

}  // namespace batchlog::orchestrator
