// A RocksDB memtable representation for column families whose keys arrive in ascending
// order: a run's events and payloads, keyed by dense seqs that the writer appends in order
// (docs/log-format.md). An insert is one comparison with the last entry and an append to an
// array; a seek is a search of that array, galloping from where the previous seek ended.
//
// Why not RocksDB's skip list: Debian's librocksdb is built without NDEBUG, and its skip
// list checks its own invariants on every insert (about 16 key comparisons per insert for
// a sequential key, where a release build needs two); that was 15 % of the engine's CPU.
//
// Any key that does not sort after the last one (a rewritten or deleted key, which the log
// never writes to these column families) moves every entry into an ordinary skip list
// (RocksDB's own, which also allocated every entry) and the memtable works as a skip list
// from then on, so the representation is correct for any write, and fast for the log's.
#pragma once

#include <cstdint>
#include <memory>

namespace rocksdb {
class MemTableRepFactory;
}  // namespace rocksdb

namespace batchlog::store {

// The factory to set as ColumnFamilyOptions::memtable_factory. Requires
// DBOptions::allow_concurrent_memtable_write = false (one writer per run). Registered in
// RocksDB's default object library under its name, so an OPTIONS file naming it parses.
std::shared_ptr<rocksdb::MemTableRepFactory> NewAscendingKeyMemTableFactory();

// How many memtables of this process have moved to a skip list because a key arrived out
// of order. The log never does that; a non-zero count is worth a look (and tests check it).
std::uint64_t AscendingKeyMemTablesMovedToSkipList();

// How many point reads (Get) could not read RocksDB's lookup key and took RocksDB's
// generic path, which leaks a small iterator per read (RocksDB 7.8.3). Expected 0 for the
// log's 8-byte keys; tests check it.
std::uint64_t AscendingKeyMemTableGenericGets();

// The name the factory reports (and the OPTIONS file records).
inline constexpr const char* kAscendingKeyMemTableName = "BatchlogAscendingKeyMemTable";

}  // namespace batchlog::store
