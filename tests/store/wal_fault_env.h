// A RocksDB Env whose WAL appends or syncs fail on demand (Debian's RocksDB ships no
// fault-injection file system, so this is our small one). Shared by the store tests and
// the crash suite; the header names RocksDB only by a forward declaration, so a test
// outside tests/store/ can use it without including RocksDB.
#pragma once

#include <atomic>
#include <memory>

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace batchlog::store::testing {

// Countdowns: -1 never fails; n >= 0 lets n more calls through, then every later call fails
// (appends with NoSpace, syncs with IOError, both with "injected" in the message).
struct WalFaults {
  std::atomic<int> appends_until_failure{-1};
  std::atomic<int> syncs_until_failure{-1};
  std::atomic<int> failures{0};  // calls that failed

  void FailAppendsNow() { appends_until_failure = 0; }
  void FailSyncsNow() { syncs_until_failure = 0; }
  void Heal() {
    appends_until_failure = -1;
    syncs_until_failure = -1;
  }
};

// Owns the Env; pass env() as StoreOptions::env. `faults` must outlive it.
class WalFaultEnv {
 public:
  explicit WalFaultEnv(WalFaults& faults);
  ~WalFaultEnv();
  WalFaultEnv(const WalFaultEnv&) = delete;
  WalFaultEnv& operator=(const WalFaultEnv&) = delete;

  rocksdb::Env* env() const { return env_.get(); }

 private:
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace batchlog::store::testing
