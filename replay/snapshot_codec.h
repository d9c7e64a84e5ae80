// The snapshot codec: Projections <-> bytes, so a resume folds only the tail after the
// latest snapshot instead of the whole log. The store keeps the bytes opaque in its
// `snapshots` column family (docs/log-format.md); this header is where they are defined.
//
// Format, version 8 (all fixed-width integers little-endian):
//
//   offset  size  field
//   0       8     magic "BLOGSNAP"
//   8       4     version (8; 7 lacked the per-stage cache token counts, 6 held a
//                 "shared" flag and could hold the manifest's own lifecycle, 5 lacked
//                 cache-write prices and tokens, 4 cached-input ones)
//   12      8     body length in bytes
//   20      8     checksum: Hash64(body, seed 0x736e617073686f74) (replay/hash.h)
//   28      ...   body
//
// The body is a sequence of LEB128 varints (signed values zigzag-encoded), strings
// (varint length + bytes) and single bytes, in this order:
//   last_seq; the run state's Lifecycle (the other projections follow it and hold none);
//   the run state's own fields (run metadata and config seq, per-request ordinal and retry
//   group, retry groups and their members, counters, quota flag); the manifest's own fields
//   (generated_at_seq, per-stage usage with cache tokens, prices, models, cost slots with
//   their cached input and cache-write tokens, fork provenance); the stage inputs (per
//   request, the RequestPlanned seq as a delta from the previous request's, then the latest
//   result seq, then the body size).
// A Lifecycle is: run_id, run status; the id tables (workflows, stages, providers, error
// codes, requests, batch keys; each as count, scopes, lengths, characters) with the
// per-stage completed flags, per-request arrays and per-batch records and members.
// Derived values (per-stage counters, hash slots, retry-group pending counts, the manifest's
// carried-stage flags) are not stored; decoding recomputes them.
//
// Encoding is deterministic: equal Projections give identical bytes, which is what lets
// tests compare a snapshot-plus-tail replay to a full one byte for byte.
//
// Decoding never trusts the bytes: a wrong magic or version, a length or checksum
// mismatch, a truncated or overlong body, or an index out of range is kDataLoss.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "replay/projections.h"
#include "src/base/result.h"

namespace batchlog::replay {

inline constexpr std::string_view kSnapshotMagic = "BLOGSNAP";
inline constexpr std::uint32_t kSnapshotVersion = 8;
inline constexpr std::size_t kSnapshotHeaderBytes = 28;

std::string EncodeSnapshot(const Projections& projections);
// The format version in a snapshot's header; nullopt when the bytes do not start with the
// magic. A snapshot of another version is a cache written by another batchlog, not damage:
// readers replay from scratch instead (src/orchestrator/log_replay.cc).
std::optional<std::uint32_t> SnapshotVersion(std::string_view bytes);
base::Result<Projections> DecodeSnapshot(std::string_view bytes);

// The header's checksum of a body (exposed for tests that build damaged snapshots).
std::uint64_t SnapshotChecksum(std::string_view body);

}  // namespace batchlog::replay
