// Converts rocksdb::Status to base::Status, so RocksDB's error type never leaves src/store.
// Mapping (by what the caller can do about it):
//   IOError "No space left" (kNoSpace)  -> kResourceExhausted (free space, then retry)
//   Corruption                          -> kDataLoss (the log is damaged)
//   NotFound                            -> kNotFound
//   Busy, TimedOut, TryAgain            -> kUnavailable (transient)
//   InvalidArgument, NotSupported       -> kInvalidArgument / kUnimplemented
//   Aborted, ShutdownInProgress         -> kAborted
//   IOError (other), everything else    -> kInternal
#pragma once

#include <string_view>

#include <rocksdb/status.h>

#include "src/base/status.h"

namespace batchlog::store {

// OK stays OK; otherwise the message is "<context>: <rocksdb's message>".
base::Status FromRocksDbStatus(const rocksdb::Status& status, std::string_view context);

// True when `status` is RocksDB refusing to open a database whose LOCK file another
// handle holds, in this process or another.
bool IsLockHeldError(const rocksdb::Status& status);
// True when the LOCK is held by this very process (RocksDB's message says so).
bool IsLockHeldByThisProcess(const rocksdb::Status& status);

}  // namespace batchlog::store
