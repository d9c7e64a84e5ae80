#include "src/store/wal_damage_scanner.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <rocksdb/slice.h>
#include <rocksdb/status.h>
#include <rocksdb/write_batch.h>

#include "src/store/key_format.h"

namespace batchlog::store {

namespace {

namespace fs = std::filesystem;

// RocksDB's WAL framing (db/log_format.h of RocksDB 7.x; stable since LevelDB): the file is
// a sequence of 32 KiB blocks; a block holds physical records and, when fewer than a header's
// bytes remain, zero padding. A record: masked CRC32C (4 bytes LE) of the type byte and the
// payload, payload length (2 bytes LE), type (1 byte), payload. A write (one WriteBatch) is one
// kFull record or kFirst, kMiddle..., kLast fragments.
constexpr std::size_t kBlockBytes = 32768;
constexpr std::size_t kHeaderBytes = 7;
enum RecordType : std::uint8_t {
  kZero = 0,  // preallocated, never written
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
  // 5..8 are the recyclable variants (recycle_log_file_num, which the log never enables).
  kSetCompression = 9,  // wal_compression metadata; the log never enables it either
};

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), one table lookup per byte: it runs
// on a WAL that RocksDB already reported damaged, and on a last block that looks torn.
constexpr std::array<std::uint32_t, 256> MakeCrc32cTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1U) != 0 ? 0x82F63B78U : 0U);
    table[i] = crc;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrc32cTable = MakeCrc32cTable();

std::uint32_t Crc32c(const unsigned char* data, std::size_t size) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (std::size_t i = 0; i < size; ++i) crc = kCrc32cTable[(crc ^ data[i]) & 0xFFU] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFU;
}

// RocksDB stores a CRC rotated and offset ("masked") so that a CRC of data containing CRCs
// does not degenerate.
std::uint32_t Unmask(std::uint32_t masked) {
  const std::uint32_t rotated = masked - 0xA282EAD8U;
  return (rotated >> 17) | (rotated << 15);
}

std::uint32_t LoadLittleEndian32(const unsigned char* bytes) {
  return static_cast<std::uint32_t>(bytes[0]) | (static_cast<std::uint32_t>(bytes[1]) << 8) |
         (static_cast<std::uint32_t>(bytes[2]) << 16) |
         (static_cast<std::uint32_t>(bytes[3]) << 24);
}

// The payload length in a record header (2 bytes LE at offset 4).
std::size_t RecordLength(const unsigned char* header) {
  return static_cast<std::size_t>(header[4]) | (static_cast<std::size_t>(header[5]) << 8);
}

// Preallocated space never written: a zero type and length; it ends the block's records.
bool IsUnwritten(const unsigned char* header) {
  return header[6] == kZero && RecordLength(header) == 0;
}

struct PhysicalRecord {
  std::uint8_t type = kZero;
  std::size_t payload_bytes = 0;
};

// The record starting at `pos` of a block of `block_bytes` bytes, when its header is a known
// type, its payload lies inside the block and its checksum matches.
bool ReadRecordAt(const unsigned char* block, std::size_t block_bytes, std::size_t pos,
                  PhysicalRecord* record) {
  if (pos + kHeaderBytes > block_bytes) return false;
  const unsigned char* header = block + pos;
  const std::size_t length = RecordLength(header);
  const std::uint8_t type = header[6];
  if (pos + kHeaderBytes + length > block_bytes) return false;
  if (type != kFull && type != kFirst && type != kMiddle && type != kLast &&
      type != kSetCompression) {
    return false;
  }
  if (Unmask(LoadLittleEndian32(header)) != Crc32c(header + 6, 1 + length)) return false;
  record->type = type;
  record->payload_bytes = length;
  return true;
}

// Collects the seqs of the events a write puts; any other operation is accepted unread.
class EventSeqCollector final : public rocksdb::WriteBatch::Handler {
 public:
  explicit EventSeqCollector(std::uint32_t events_column_family_id)
      : events_column_family_id_(events_column_family_id) {}

  rocksdb::Status PutCF(std::uint32_t column_family_id, const rocksdb::Slice& key,
                        const rocksdb::Slice& /*value*/) override {
    std::uint64_t seq = 0;
    if (column_family_id == events_column_family_id_ &&
        key_format::DecodeSeqKey(std::string_view(key.data(), key.size()), &seq)) {
      min_seq_ = min_seq_ == 0 ? seq : std::min(min_seq_, seq);
      max_seq_ = std::max(max_seq_, seq);
    }
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(std::uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(std::uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(std::uint32_t, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(std::uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  void LogData(const rocksdb::Slice&) override {}

  std::uint64_t min_seq() const { return min_seq_; }
  std::uint64_t max_seq() const { return max_seq_; }

 private:
  std::uint32_t events_column_family_id_;
  std::uint64_t min_seq_ = 0;
  std::uint64_t max_seq_ = 0;
};

std::uint64_t LoadLittleEndian64(const unsigned char* bytes) {
  return static_cast<std::uint64_t>(LoadLittleEndian32(bytes)) |
         (static_cast<std::uint64_t>(LoadLittleEndian32(bytes + 4)) << 32);
}

// The first record at or after `from` that starts a write (kFull or kFirst) and passes its
// checksum; `size` when there is none.
std::size_t NextWriteStart(const unsigned char* block, std::size_t size, std::size_t from) {
  for (std::size_t pos = from; pos + kHeaderBytes <= size; ++pos) {
    const std::uint8_t type = block[pos + 6];
    if (type != kFull && type != kFirst) continue;
    PhysicalRecord record;
    if (ReadRecordAt(block, size, pos, &record)) return pos;
  }
  return size;
}

// Whether the record that fails at `pos` of a file's last block was cut short by a crash:
// it runs past the end of the file and no whole write follows it. (A whole write after it
// means its length field is what broke.)
bool CutShortAt(const unsigned char* block, std::size_t size, std::size_t pos) {
  return pos + kHeaderBytes + RecordLength(block + pos) > size &&
         NextWriteStart(block, size, pos + 1) == size;
}

// A WriteBatch starts with its first sequence number (fixed64 LE) and its operation count
// (fixed32 LE); each Put consumes one sequence number (db/write_batch.cc).
constexpr std::size_t kWriteBatchHeaderBytes = 12;

// Follows RocksDB 7.x point-in-time recovery over the WAL files (db/db_impl/db_impl_open.cc,
// RecoverLogFiles): replay stops at a damaged record, or where a file ends inside a write,
// and drops the rest of that file; it resumes at a later file only when that file's first
// write continues the sequence numbers exactly where replay stopped (a process that
// recovered and wrote on; RocksDB starts every WAL after a recovery with an empty write at
// that sequence for this purpose). Every non-empty write it drops was written whole after
// the damage: acknowledged data that recovery would lose.
class Scanner {
 public:
  explicit Scanner(std::uint32_t events_column_family_id)
      : events_column_family_id_(events_column_family_id) {}

  base::Status ScanFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return base::InternalError("cannot read write-ahead log " + path.string() + ": " +
                                 std::strerror(errno));
    }
    file_ = path.filename().string();
    in_write_ = false;  // a write never continues into the next file
    write_.clear();
    first_write_of_file_ = true;
    file_dropped_ = false;
    std::vector<unsigned char> block(kBlockBytes);
    for (std::uint64_t block_offset = 0;; block_offset += kBlockBytes) {
      in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(kBlockBytes));
      const auto got = static_cast<std::size_t>(in.gcount());
      if (in.bad()) {
        return base::InternalError("cannot read write-ahead log " + path.string() + " at byte " +
                                   std::to_string(block_offset));
      }
      if (got == 0) break;
      const bool last_block = got < kBlockBytes || in.peek() == EOF;
      if (!ScanBlock(block.data(), got, last_block, block_offset)) break;
      if (last_block) break;
    }
    if (in_write_) Stop(write_offset_);  // the file ends inside a write: a torn tail
    return base::Status::Ok();
  }

  WalScan Result() const {
    WalScan scan;
    scan.damaged = first_stop_.has_value();
    if (lost_.has_value()) {
      scan.damage = *lost_;
    } else if (first_stop_.has_value()) {
      scan.damage = *first_stop_;
    }
    return scan;
  }

 private:
  // False when the rest of the file is a torn tail.
  bool ScanBlock(const unsigned char* block, std::size_t size, bool last_block,
                 std::uint64_t block_offset) {
    std::size_t pos = 0;
    while (pos + kHeaderBytes <= size) {
      const unsigned char* header = block + pos;
      if (IsUnwritten(header)) return true;
      PhysicalRecord record;
      if (!ReadRecordAt(block, size, pos, &record)) {
        if (last_block && CutShortAt(block, size, pos)) {
          Stop(in_write_ ? write_offset_ : block_offset + pos);
          return false;
        }
        Stop(block_offset + pos);
        // Look on for whole writes: the damaged part may be this record's length.
        pos = NextWriteStart(block, size, pos + 1);
        continue;
      }
      const std::uint64_t at = block_offset + pos;
      const auto payload = std::string_view(reinterpret_cast<const char*>(header + kHeaderBytes),
                                            record.payload_bytes);
      switch (record.type) {
        case kFull:
          if (in_write_) Stop(write_offset_);  // the earlier write never finished
          FinishWrite(payload, at);
          break;
        case kFirst:
          if (in_write_) Stop(write_offset_);
          in_write_ = true;
          write_offset_ = at;
          write_.assign(payload);
          break;
        case kMiddle:
        case kLast:
          if (!in_write_) {
            Stop(at);  // a continuation without its start (after damage: the damaged write's)
            break;
          }
          write_.append(payload);
          if (record.type == kLast) {
            in_write_ = false;
            FinishWrite(write_, write_offset_);
            write_.clear();
          }
          break;
        default:  // kSetCompression: metadata, not a write
          break;
      }
      pos += kHeaderBytes + record.payload_bytes;
    }
    return true;
  }

  // Replay stops at `offset` of the current file (no-op when it already stopped).
  void Stop(std::uint64_t offset) {
    in_write_ = false;
    write_.clear();
    file_dropped_ = true;  // replay reads nothing more of this file
    if (!replaying_) return;
    replaying_ = false;
    stop_.file = file_;
    stop_.offset = offset;
    stop_.last_seq_before = last_applied_event_seq_;
    if (!first_stop_.has_value()) first_stop_ = stop_;
  }

  void FinishWrite(std::string_view bytes, std::uint64_t offset) {
    if (bytes.size() < kWriteBatchHeaderBytes) {
      Stop(offset);  // RocksDB: "log record too small"
      return;
    }
    const auto* header = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::uint64_t sequence = LoadLittleEndian64(header);
    const std::uint32_t count = LoadLittleEndian32(header + 8);
    rocksdb::WriteBatch batch{std::string(bytes)};
    EventSeqCollector seqs(events_column_family_id_);
    if (!batch.Iterate(&seqs).ok()) {
      Stop(offset);  // framed and checksummed but not a WriteBatch: damage all the same
      return;
    }
    const bool first_of_file = std::exchange(first_write_of_file_, false);
    if (!replaying_ && first_of_file && !file_dropped_ && next_sequence_.has_value() &&
        sequence == *next_sequence_) {
      replaying_ = true;  // this file continues exactly where replay stopped
    }
    if (!replaying_) {
      file_dropped_ = true;
      if (count > 0) Lose(seqs);
      return;
    }
    next_sequence_ = sequence + count;
    last_applied_event_seq_ = std::max(last_applied_event_seq_, seqs.max_seq());
  }

  void Lose(const EventSeqCollector& seqs) {
    if (!lost_.has_value()) {
      lost_ = stop_;
      lost_->intact_writes_after = true;
    }
    if (seqs.min_seq() != 0) {
      lost_->first_seq_after = lost_->first_seq_after == 0
                                   ? seqs.min_seq()
                                   : std::min(lost_->first_seq_after, seqs.min_seq());
      lost_->last_seq_after = std::max(lost_->last_seq_after, seqs.max_seq());
    }
  }

  const std::uint32_t events_column_family_id_;
  // Where replay stopped last, the first time, and the stop before the first lost write.
  WalDamage stop_;
  std::optional<WalDamage> first_stop_;
  std::optional<WalDamage> lost_;
  bool replaying_ = true;
  // The sequence number the next replayed write must start at; unknown before the first
  // whole write (RocksDB takes it from the MANIFEST, which this scanner does not read: a
  // write after damage in the very first record counts as lost).
  std::optional<std::uint64_t> next_sequence_;
  std::uint64_t last_applied_event_seq_ = 0;
  // The current file.
  std::string file_;
  bool first_write_of_file_ = true;
  bool file_dropped_ = false;
  bool in_write_ = false;
  std::uint64_t write_offset_ = 0;
  std::string write_;
};

// RocksDB names WAL files <number>.log; they are replayed in number order.
std::vector<fs::path> WalFilesInOrder(const fs::path& log_dir, std::error_code& ec) {
  std::vector<std::pair<std::uint64_t, fs::path>> numbered;
  for (fs::directory_iterator it(log_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() != ".log") continue;
    const std::string stem = it->path().stem().string();
    std::uint64_t number = 0;
    const auto [end, err] = std::from_chars(stem.data(), stem.data() + stem.size(), number);
    if (err != std::errc() || end != stem.data() + stem.size()) continue;
    numbered.emplace_back(number, it->path());
  }
  std::sort(numbered.begin(), numbered.end());
  std::vector<fs::path> paths;
  for (auto& [number, path] : numbered) paths.push_back(std::move(path));
  return paths;
}

}  // namespace

bool WalTailMayHideDamage(const fs::path& log_dir) {
  std::error_code ec;
  const std::vector<fs::path> files = WalFilesInOrder(log_dir, ec);
  std::vector<unsigned char> block(kBlockBytes);
  for (const fs::path& file : files) {
    const std::uintmax_t size = fs::file_size(file, ec);
    if (ec) continue;  // gone (a live writer retired it) or unreadable: RocksDB will say
    const std::size_t tail = size % kBlockBytes;
    if (tail == 0) continue;  // a full last block: RocksDB reports an overrun in it
    std::ifstream in(file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(size - tail));
    in.read(reinterpret_cast<char*>(block.data()), static_cast<std::streamsize>(tail));
    if (static_cast<std::size_t>(in.gcount()) != tail) continue;
    std::size_t pos = 0;
    PhysicalRecord record;
    while (pos + kHeaderBytes <= tail && !IsUnwritten(block.data() + pos) &&
           ReadRecordAt(block.data(), tail, pos, &record)) {
      pos += kHeaderBytes + record.payload_bytes;
    }
    // The first record that fails: runs past the end, yet a whole write follows it. (Any
    // other failure is a torn tail, or damage RocksDB reports itself.)
    if (pos + kHeaderBytes <= tail && !IsUnwritten(block.data() + pos) &&
        pos + kHeaderBytes + RecordLength(block.data() + pos) > tail &&
        !CutShortAt(block.data(), tail, pos)) {
      return true;
    }
  }
  return false;
}

base::Result<WalScan> ScanWalForDamage(const fs::path& log_dir,
                                       std::uint32_t events_column_family_id) {
  std::error_code ec;
  const std::vector<fs::path> files = WalFilesInOrder(log_dir, ec);
  if (ec) {
    return base::InternalError("cannot list the write-ahead logs in " + log_dir.string() + ": " +
                               ec.message());
  }
  Scanner scanner(events_column_family_id);
  for (const fs::path& file : files) BATCHLOG_RETURN_IF_ERROR(scanner.ScanFile(file));
  return scanner.Result();
}

}  // namespace batchlog::store
