#include "src/store/rocksdb_status.h"

#include <string>

namespace batchlog::store {

namespace {

base::StatusCode CodeFor(const rocksdb::Status& status) {
  using rocksdb::Status;
  if (status.IsNoSpace()) return base::StatusCode::kResourceExhausted;
  switch (status.code()) {
    case Status::kOk:
      return base::StatusCode::kOk;
    case Status::kNotFound:
      return base::StatusCode::kNotFound;
    case Status::kCorruption:
      return base::StatusCode::kDataLoss;
    case Status::kNotSupported:
      return base::StatusCode::kUnimplemented;
    case Status::kInvalidArgument:
      return base::StatusCode::kInvalidArgument;
    case Status::kIOError:
      return base::StatusCode::kInternal;
    case Status::kMergeInProgress:
      return base::StatusCode::kInternal;
    case Status::kIncomplete:
      return base::StatusCode::kInternal;
    case Status::kShutdownInProgress:
      return base::StatusCode::kAborted;
    case Status::kTimedOut:
      return base::StatusCode::kUnavailable;
    case Status::kAborted:
      return base::StatusCode::kAborted;
    case Status::kBusy:
      return base::StatusCode::kUnavailable;
    case Status::kExpired:
      return base::StatusCode::kInternal;
    case Status::kTryAgain:
      return base::StatusCode::kUnavailable;
    case Status::kCompactionTooLarge:
      return base::StatusCode::kInternal;
    case Status::kColumnFamilyDropped:
      return base::StatusCode::kInternal;
    case Status::kMaxCode:
      return base::StatusCode::kInternal;
  }
  return base::StatusCode::kInternal;
}

}  // namespace

base::Status FromRocksDbStatus(const rocksdb::Status& status, std::string_view context) {
  if (status.ok()) return base::Status::Ok();
  std::string message(context);
  message += ": ";
  message += status.ToString();
  return base::Status(CodeFor(status), std::move(message));
}

bool IsLockHeldError(const rocksdb::Status& status) {
  if (!status.IsIOError()) return false;
  // RocksDB has no dedicated code for a held lock; both of its messages name the LOCK file
  // ("While lock file: .../LOCK: Resource temporarily unavailable" from another process,
  // "lock hold by current process ... /LOCK: No locks available" from this one).
  const std::string text = status.ToString();
  return text.find("/LOCK") != std::string::npos &&
         (text.find("lock hold by current process") != std::string::npos ||
          text.find("While lock file") != std::string::npos ||
          text.find("Resource temporarily unavailable") != std::string::npos);
}

bool IsLockHeldByThisProcess(const rocksdb::Status& status) {
  return IsLockHeldError(status) &&
         status.ToString().find("lock hold by current process") != std::string::npos;
}

}  // namespace batchlog::store
