// The on-disk layout of a run's log: column family names, key encodings, meta keys and
// file names. docs/log-format.md is the specification; this header is its one mirror in
// code. Change both together (tests/store/log_format_doc_test.cc pins the worked example).
//
//   events    key := seq (8 bytes, big-endian u64)   value := serialized v1.Event
//   payloads  key := seq of the owning event         value := the blob, raw bytes
//   snapshots key := seq of the last event covered   value := opaque snapshot bytes
//   meta      key := ASCII name (kMeta*Key)          value := ASCII text
//
// Header-only and constexpr so the layout can be pinned by static_asserts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace batchlog::store::key_format {

// Column families of a run's database. `default` exists (RocksDB requires it) and is unused.
inline constexpr std::string_view kEventsColumnFamily = "events";
inline constexpr std::string_view kPayloadsColumnFamily = "payloads";
inline constexpr std::string_view kMetaColumnFamily = "meta";
inline constexpr std::string_view kSnapshotsColumnFamily = "snapshots";

// Keys of the meta column family. Values are ASCII: the version in decimal, the run id as is.
inline constexpr std::string_view kMetaSchemaVersionKey = "schema_version";
inline constexpr std::string_view kMetaRunIdKey = "run_id";

// One meta key per snapshot, written in the snapshot's WriteBatch: kMetaSnapshotKeyPrefix +
// the seq it covers as 20 decimal digits (zero-padded, so byte order == numeric order), value
// the snapshot's size in bytes (ASCII decimal). Finding the latest snapshot at or before a seq
// through these small keys reads only that snapshot (SnapshotStore). Runs written before
// these keys existed have snapshots without them; readers fall back to the snapshots CF.
inline constexpr std::string_view kMetaSnapshotKeyPrefix = "snapshot_at/";
inline constexpr std::size_t kMetaSnapshotSeqDigits = 20;

// The version of a run's log layout (this header) this build writes and the newest it reads.
inline constexpr std::uint32_t kRunSchemaVersion = 1;

// Store layout: STORE/STORE_FORMAT, STORE/runs/<run_id>/{meta.json,log/}.
inline constexpr std::string_view kStoreFormatFileName = "STORE_FORMAT";
// STORE_FORMAT holds exactly kStoreFormatPrefix + decimal version + "\n".
inline constexpr std::string_view kStoreFormatPrefix = "batchlog-store ";
inline constexpr std::string_view kRunsDirName = "runs";
inline constexpr std::string_view kRunMetaFileName = "meta.json";
inline constexpr std::string_view kRunLogDirName = "log";
// Scratch directories of secondary instances (their info logs), one per open handle.
inline constexpr std::string_view kSecondaryDirName = "secondary";

// Run ids are 1..kRunIdBytesMax bytes of [A-Za-z0-9_.-], not starting with '.'.
inline constexpr std::size_t kRunIdBytesMax = 64;

// A seq key is the seq as an unsigned 64-bit big-endian integer: byte order equals numeric
// order, so RocksDB's default bytewise comparator sorts events by seq.
inline constexpr std::size_t kSeqKeyBytes = 8;
using SeqKey = std::array<char, kSeqKeyBytes>;

constexpr SeqKey EncodeSeqKey(std::uint64_t seq) {
  SeqKey key{};
  for (std::size_t i = 0; i < kSeqKeyBytes; ++i) {
    key[i] = static_cast<char>(static_cast<unsigned char>(seq >> (8 * (kSeqKeyBytes - 1 - i))));
  }
  return key;
}

constexpr std::uint64_t DecodeSeqKeyUnchecked(const char* bytes) {
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < kSeqKeyBytes; ++i) {
    seq = (seq << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return seq;
}

// Decodes a seq key; false when `key` is not exactly kSeqKeyBytes long.
constexpr bool DecodeSeqKey(std::string_view key, std::uint64_t* seq) {
  if (key.size() != kSeqKeyBytes) return false;
  *seq = DecodeSeqKeyUnchecked(key.data());
  return true;
}

inline std::string_view SeqKeyView(const SeqKey& key) { return {key.data(), key.size()}; }

// kMetaSnapshotKeyPrefix + `seq` in kMetaSnapshotSeqDigits zero-padded decimal digits.
using MetaSnapshotKey = std::array<char, kMetaSnapshotKeyPrefix.size() + kMetaSnapshotSeqDigits>;
constexpr MetaSnapshotKey EncodeMetaSnapshotKey(std::uint64_t seq) {
  MetaSnapshotKey key{};
  for (std::size_t i = 0; i < kMetaSnapshotKeyPrefix.size(); ++i) {
    key[i] = kMetaSnapshotKeyPrefix[i];
  }
  for (std::size_t i = key.size(); i > kMetaSnapshotKeyPrefix.size(); --i) {
    key[i - 1] = static_cast<char>('0' + seq % 10);
    seq /= 10;
  }
  return key;
}

// The seq of a meta snapshot key; false when `key` is not one.
constexpr bool DecodeMetaSnapshotKey(std::string_view key, std::uint64_t* seq) {
  if (key.size() != kMetaSnapshotKeyPrefix.size() + kMetaSnapshotSeqDigits ||
      key.substr(0, kMetaSnapshotKeyPrefix.size()) != kMetaSnapshotKeyPrefix) {
    return false;
  }
  std::uint64_t value = 0;
  for (std::size_t i = kMetaSnapshotKeyPrefix.size(); i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9') return false;
    const auto digit = static_cast<std::uint64_t>(key[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *seq = value;
  return true;
}

inline std::string_view MetaSnapshotKeyView(const MetaSnapshotKey& key) {
  return {key.data(), key.size()};
}

namespace internal {
constexpr bool BytesLess(const SeqKey& a, const SeqKey& b) {
  for (std::size_t i = 0; i < kSeqKeyBytes; ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return false;
}
}  // namespace internal

// The layout, pinned: 8 bytes, most significant byte first, bytewise order == numeric order.
static_assert(kSeqKeyBytes == sizeof(std::uint64_t));
static_assert(EncodeSeqKey(1)[7] == 1 && EncodeSeqKey(1)[0] == 0);
static_assert(EncodeSeqKey(0x0102030405060708ULL)[0] == 0x01);
static_assert(EncodeSeqKey(0x0102030405060708ULL)[7] == 0x08);
static_assert(DecodeSeqKeyUnchecked(EncodeSeqKey(0xFEDCBA9876543210ULL).data()) ==
              0xFEDCBA9876543210ULL);
static_assert(internal::BytesLess(EncodeSeqKey(255), EncodeSeqKey(256)));
static_assert(internal::BytesLess(EncodeSeqKey(0x7FFFFFFFFFFFFFFFULL),
                                  EncodeSeqKey(0x8000000000000000ULL)));
static_assert(EncodeMetaSnapshotKey(1600097)[kMetaSnapshotKeyPrefix.size() - 1] == '/');
static_assert(EncodeMetaSnapshotKey(1600097).back() == '7');
static_assert(EncodeMetaSnapshotKey(1600097)[kMetaSnapshotKeyPrefix.size()] == '0');
static_assert(EncodeMetaSnapshotKey(UINT64_MAX)[kMetaSnapshotKeyPrefix.size()] == '1');
static_assert(kRunSchemaVersion == 1, "a new schema version needs a docs/log-format.md entry");

}  // namespace batchlog::store::key_format
