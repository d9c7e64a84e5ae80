// RocksDbEventLogReader: the EventLogReader of a run's RocksDB log. It scans the events
// column family in key order and checks, for every event, that the key is an 8-byte seq,
// that it is the seq expected next (no gap), and that the value decodes to an Event whose
// envelope carries the same seq and run id. Any failure moves it to the failed state with a
// Status naming the run, the seq and the key in hex: kDataLoss for damage, and
// kFailedPrecondition for a payload written by a newer batchlog that is not marked
// reader_may_ignore. It never crashes on bad bytes and never skips an event.
//
// States, as EventLogReader: positioned / caught up (call Next() again later; after
// EventLog::CatchUp() it sees newer events) / failed (sticky).
//
// Speed: one Event message is reused for every Next() (EventDecoder: decoding a run of
// same-type events allocates nothing); the scan bypasses the block cache
// (ReadOptions::fill_cache) and reads ahead 2 MiB at a time.
//
// Ownership: borrows the RunDatabase, which must outlive it. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include <rocksdb/iterator.h>
#include <rocksdb/options.h>

#include "src/store/event_decoder.h"
#include "src/store/event_log.h"
#include "src/store/key_format.h"
#include "src/store/run_database.h"

namespace batchlog::store {

class RocksDbEventLogReader final : public EventLogReader {
 public:
  RocksDbEventLogReader(const RunDatabase& database, const ReadOptions& options);

  bool Next() override;
  const events::v1::Event& event() const override { return decoder_.event(); }
  std::string_view raw() const override { return raw_; }
  const base::Status& status() const override { return status_; }
  std::uint64_t next_seq() const override { return next_seq_; }

 private:
  // Checks the entry under the iterator and decodes it; false (and failed) if it is bad.
  bool Accept(std::string_view key, std::string_view value);
  bool Fail(base::Status status);
  std::string Where(std::uint64_t seq, std::string_view key) const;

  const RunDatabase& database_;
  const ReadOptions options_;
  rocksdb::ReadOptions read_options_;
  key_format::SeqKey upper_bound_key_{};
  rocksdb::Slice upper_bound_;
  std::unique_ptr<rocksdb::Iterator> iterator_;
  // True when the next Next() must (re)create the iterator and seek to next_seq_: at the
  // start, and after catching up, so that a fresh iterator sees events appended since.
  bool need_seek_ = true;
  std::uint64_t next_seq_;
  base::Status status_;
  EventDecoder decoder_;
  std::string_view raw_;
};

}  // namespace batchlog::store
