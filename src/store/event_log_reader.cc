#include "src/store/event_log_reader.h"

#include <limits>
#include <string>

#include <google/protobuf/unknown_field_set.h>
#include <rocksdb/db.h>

#include "src/store/rocksdb_status.h"

namespace batchlog::store {

namespace {

namespace kf = key_format;

// Replay reads long runs of consecutive blocks; 2 MiB of readahead turns them into few
// large reads.
constexpr std::size_t kReadaheadBytes = 2 * 1024 * 1024;

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xF];
  }
  return out;
}

// The envelope's seq without a full decode: the writer always sets seq (>= 1), and
// Protobuf writes fields in number order, so a value starts with tag 0x08 (field 1,
// varint) and the seq. False when the bytes do not start that way.
bool PeekEnvelopeSeq(std::string_view value, std::uint64_t* seq) {
  if (value.empty() || static_cast<unsigned char>(value[0]) != 0x08) return false;
  std::uint64_t result = 0;
  for (std::size_t i = 1; i < value.size() && i <= 10; ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    result |= static_cast<std::uint64_t>(byte & 0x7F) << (7 * (i - 1));
    if ((byte & 0x80) == 0) {
      *seq = result;
      return true;
    }
  }
  return false;
}

}  // namespace

RocksDbEventLogReader::RocksDbEventLogReader(const RunDatabase& database,
                                             const ReadOptions& options)
    : database_(database),
      options_(options),
      next_seq_(options.from_seq == 0 ? 1 : options.from_seq) {
  read_options_.fill_cache = options.fill_cache;
  read_options_.readahead_size = kReadaheadBytes;
  read_options_.verify_checksums = true;
  if (options.to_seq < std::numeric_limits<std::uint64_t>::max()) {
    upper_bound_key_ = kf::EncodeSeqKey(options.to_seq + 1);
    upper_bound_ = rocksdb::Slice(upper_bound_key_.data(), upper_bound_key_.size());
    read_options_.iterate_upper_bound = &upper_bound_;
  }
}

std::string RocksDbEventLogReader::Where(std::uint64_t seq, std::string_view key) const {
  return "run '" + database_.run_id() + "': event at seq " + std::to_string(seq) + " (key " +
         Hex(key) + ")";
}

bool RocksDbEventLogReader::Fail(base::Status status) {
  status_ = std::move(status);
  raw_ = {};
  return false;
}

bool RocksDbEventLogReader::Next() {
  if (!status_.ok()) return false;
  raw_ = {};
  // next_seq_ == 0 only after reading seq 2^64-1: the seq space is exhausted.
  if (next_seq_ > options_.to_seq || next_seq_ == 0) return false;
  if (need_seek_) {
    iterator_.reset(database_.db()->NewIterator(read_options_, database_.events()));
    const kf::SeqKey start = kf::EncodeSeqKey(next_seq_);
    iterator_->Seek(rocksdb::Slice(start.data(), start.size()));
    need_seek_ = false;
  } else {
    iterator_->Next();
  }
  if (!iterator_->Valid()) {
    const rocksdb::Status status = iterator_->status();
    if (!status.ok()) {
      const kf::SeqKey key = kf::EncodeSeqKey(next_seq_);
      return Fail(FromRocksDbStatus(status, "reading " + Where(next_seq_, kf::SeqKeyView(key))));
    }
    need_seek_ = true;  // caught up
    return false;
  }
  const rocksdb::Slice key = iterator_->key();
  const rocksdb::Slice value = iterator_->value();
  return Accept(std::string_view(key.data(), key.size()),
                std::string_view(value.data(), value.size()));
}

bool RocksDbEventLogReader::Accept(std::string_view key, std::string_view value) {
  std::uint64_t key_seq = 0;
  if (!kf::DecodeSeqKey(key, &key_seq)) {
    return Fail(base::DataLossError("run '" + database_.run_id() + "': expected the event at seq " +
                                    std::to_string(next_seq_) + " but found key " + Hex(key) +
                                    " (" + std::to_string(key.size()) +
                                    " bytes, not an 8-byte seq)"));
  }
  if (key_seq != next_seq_) {
    const kf::SeqKey expected = kf::EncodeSeqKey(next_seq_);
    return Fail(base::DataLossError(Where(next_seq_, kf::SeqKeyView(expected)) +
                                    " is missing: the next key is seq " + std::to_string(key_seq) +
                                    " (key " + Hex(key) + "), a gap in the log"));
  }
  if (!options_.decode) {
    std::uint64_t envelope_seq = 0;
    if (!PeekEnvelopeSeq(value, &envelope_seq)) {
      return Fail(base::DataLossError(Where(key_seq, key) + " is undecodable (" +
                                      std::to_string(value.size()) +
                                      " bytes; no envelope seq at its start)"));
    }
    if (envelope_seq != key_seq) {
      return Fail(base::DataLossError(Where(key_seq, key) + " carries seq " +
                                      std::to_string(envelope_seq) + " in its envelope"));
    }
  } else {
    if (!decoder_.Decode(value)) {
      return Fail(base::DataLossError(Where(key_seq, key) + " is undecodable (" +
                                      std::to_string(value.size()) +
                                      " bytes; not a batchlog.events.v1.Event)"));
    }
    const events::v1::Event& event = decoder_.event();
    if (event.seq() != key_seq) {
      return Fail(base::DataLossError(Where(key_seq, key) + " carries seq " +
                                      std::to_string(event.seq()) + " in its envelope"));
    }
    if (event.run_id() != database_.run_id()) {
      return Fail(base::DataLossError(Where(key_seq, key) + " carries run id '" + event.run_id() +
                                      "' in its envelope"));
    }
    if (event.payload_case() == events::v1::Event::PAYLOAD_NOT_SET && !event.reader_may_ignore()) {
      if (event.GetReflection()->GetUnknownFields(event).empty()) {
        return Fail(base::DataLossError(Where(key_seq, key) + " has no payload (" +
                                        std::to_string(value.size()) + " bytes; truncated?)"));
      }
      return Fail(base::FailedPreconditionError(
          Where(key_seq, key) +
          " has a payload this build does not know (written by a newer batchlog)"));
    }
  }
  raw_ = value;
  ++next_seq_;
  return true;
}

}  // namespace batchlog::store
