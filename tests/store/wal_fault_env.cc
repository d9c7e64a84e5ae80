#include "tests/store/wal_fault_env.h"

#include <string>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace batchlog::store::testing {
namespace {

// True when this call must fail; a countdown at 0 stays there, so every later call fails.
bool Strike(std::atomic<int>& countdown) {
  int left = countdown.load();
  while (left >= 0) {
    if (left == 0) return true;
    if (countdown.compare_exchange_weak(left, left - 1)) return false;
  }
  return false;
}

class FaultyWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWalFile(std::unique_ptr<rocksdb::FSWritableFile> file, WalFaults& faults)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), faults_(faults) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (Strike(faults_.appends_until_failure)) return NoSpace();
    return target()->Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (Strike(faults_.appends_until_failure)) return NoSpace();
    return target()->Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (Strike(faults_.syncs_until_failure)) return SyncFailed();
    return target()->Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (Strike(faults_.syncs_until_failure)) return SyncFailed();
    return target()->Fsync(options, dbg);
  }

 private:
  rocksdb::IOStatus NoSpace() {
    ++faults_.failures;
    return rocksdb::IOStatus::NoSpace("injected: No space left");
  }
  rocksdb::IOStatus SyncFailed() {
    ++faults_.failures;
    return rocksdb::IOStatus::IOError("injected: sync failed");
  }
  WalFaults& faults_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(WalFaults& faults)
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(faults) {}
  static const char* kClassName() { return "BatchlogWalFaultFileSystem"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, dbg);
    // WAL files are <number>.log; the info log is LOG, tables .sst, MANIFEST-<n>.
    if (status.ok() && name.ends_with(".log")) {
      *result = std::make_unique<FaultyWalFile>(std::move(*result), faults_);
    }
    return status;
  }

 private:
  WalFaults& faults_;
};

}  // namespace

WalFaultEnv::WalFaultEnv(WalFaults& faults)
    : env_(rocksdb::NewCompositeEnv(std::make_shared<FaultyFileSystem>(faults))) {}

WalFaultEnv::~WalFaultEnv() = default;

}  // namespace batchlog::store::testing
