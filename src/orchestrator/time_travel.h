// Time travel over a run's log: `--as-of SEQ|TIMESTAMP` for `manifest`, and `diff-manifest`.
// A point is a seq (all digits) or an RFC 3339 timestamp ("2026-11-28T17:30:00Z",
// fractional seconds and offsets allowed); a timestamp names the last seq recorded at or
// before that instant. Recorded times never decrease along a run's log (one writer, wall
// clock at append; a fork stamps the events it copies with its own time), so the seq is
// found by binary search with about log2(N) point reads.
//
// Thread-safety: as the RunReader (one thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "replay/manifest_diff.h"
#include "src/base/result.h"
#include "src/orchestrator/run_reader.h"

namespace batchlog::orchestrator {

// Unix microseconds of an RFC 3339 timestamp; nullopt for anything else.
std::optional<std::int64_t> ParseTimestamp(std::string_view text);

// The last seq whose recorded time is <= unix_us. kNotFound when the log is empty or its
// first event is later (the message names the first event's time).
base::Result<std::uint64_t> SeqAtOrBefore(const RunReader& reader, std::int64_t unix_us);

// A seq or a timestamp (see above) to a seq; "latest" or "" is the last seq. kInvalidArgument
// for text that is neither; kNotFound for a seq past the end of the log.
base::Result<std::uint64_t> ResolvePoint(const RunReader& reader, std::string_view point);

// The manifest diff (replay/manifest_diff.h) between two points of the log (ResolvePoint).
base::Result<replay::ManifestDiff> DiffManifestPoints(const RunReader& reader,
                                                      std::string_view from, std::string_view to);

}  // namespace batchlog::orchestrator
