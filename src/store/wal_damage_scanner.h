// WalDamageScanner: tells a torn write-ahead-log tail from damage in the middle of it.
//
// RocksDB's point-in-time recovery stops at the first record of a WAL file that fails its
// checksum and drops the rest of the file (and later files, unless one continues the
// sequence numbers where replay stopped), which is right for a torn tail (a write cut short
// by a crash was never acknowledged) and silently wrong for damage followed by intact,
// acknowledged writes. RunDatabase therefore opens with kTolerateCorruptedTailRecords (an
// incomplete last record is fine; anything else is an error) and, only when that open
// reports corruption, asks this scanner whether any whole, checksummed write follows the
// first damaged record that recovery would drop. If one does, the open fails with DataLoss
// naming the seqs; if none does, the damage is the tail and point-in-time recovery is exact.
//
// The scanner reads RocksDB's WAL framing (32 KiB blocks of CRC32C-checked physical records,
// docs/log-format.md "Write-ahead log") and hands each whole logical record to
// rocksdb::WriteBatch (public API) to find the events' seqs. It never writes.
// Thread-safety: a pure function of the files it reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "src/base/result.h"

namespace batchlog::store {

struct WalDamage {
  // Where replay stops: the WAL file (name only, e.g. "000012.log") and the byte offset of the
  // damaged record, of a fragment that does not continue its write, or of a write the file
  // ends inside.
  std::string file;
  std::uint64_t offset = 0;
  // The highest events seq replayed before that point from the WAL; 0 when none (the events
  // before it are in table files).
  std::uint64_t last_seq_before = 0;
  // True when whole, checksummed, non-empty writes follow that point that point-in-time
  // recovery would drop: acknowledged data it would lose.
  bool intact_writes_after = false;
  // The lowest and highest events seq in those writes; 0 when they hold no event.
  std::uint64_t first_seq_after = 0;
  std::uint64_t last_seq_after = 0;
};

struct WalScan {
  // False when replay reads every WAL file to its end. True for damage and for a torn tail
  // alike; `damage` describes the stop before the first lost write, else the first stop.
  bool damaged = false;
  WalDamage damage;
};

// Cheap enough for every open (at most 32 KiB read per WAL file): true when the last,
// partial block of a WAL file holds a record running past the file's end (a torn write to
// RocksDB, which then stops there without a word) followed by a whole, checksummed record,
// i.e. a damaged length field hiding acknowledged writes. A file it cannot read is skipped
// (a live writer may retire it meanwhile); the open reports real I/O errors.
bool WalTailMayHideDamage(const std::filesystem::path& log_dir);

// Scans every *.log file in `log_dir` in file-number order and describes the first damage.
// `events_column_family_id` identifies the events' keys inside a write. Errors: kInternal
// when a file cannot be read (named).
base::Result<WalScan> ScanWalForDamage(const std::filesystem::path& log_dir,
                                       std::uint32_t events_column_family_id);

}  // namespace batchlog::store
