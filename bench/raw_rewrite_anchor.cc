#include "bench/raw_rewrite_anchor.h"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/thread_cpu.h"
#include "src/store/ascending_key_memtable.h"
#include "src/store/key_format.h"

namespace batchlog::bench {
namespace {

namespace kf = store::key_format;

struct Handles {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;  // in the order they were asked for
  ~Handles() {
    for (rocksdb::ColumnFamilyHandle* family : families) {
      if (db != nullptr) db->DestroyColumnFamilyHandle(family);
    }
  }
};

rocksdb::Status Open(const std::filesystem::path& dir, bool read_only,
                     const std::vector<std::string>& names, RewriteMemTables memtables,
                     Handles& out) {
  rocksdb::Options options;  // RocksDB's defaults, as a user of the library would start
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, options);
    const bool keyed_by_seq =
        name == kf::kEventsColumnFamily || name == kf::kPayloadsColumnFamily;
    if (memtables == RewriteMemTables::kAscendingArrays && keyed_by_seq) {
      descriptors.back().options.memtable_factory = store::NewAscendingKeyMemTableFactory();
    }
  }
  // The ascending arrays take one writer at a time (as the log has).
  if (memtables == RewriteMemTables::kAscendingArrays) {
    options.allow_concurrent_memtable_write = false;
  }
  rocksdb::DB* db = nullptr;
  const rocksdb::Status status =
      read_only
          ? rocksdb::DB::OpenForReadOnly(options, dir.string(), descriptors, &out.families, &db)
          : rocksdb::DB::Open(options, dir.string(), descriptors, &out.families, &db);
  out.db.reset(db);
  return status;
}

}  // namespace

RawRewrite RewriteRunWithRawRocksDb(const std::filesystem::path& run_log_dir,
                                    const std::filesystem::path& scratch_dir,
                                    std::uint64_t events_per_step,
                                    RewriteMemTables memtables) {
  RawRewrite result;
  std::vector<std::string> names;
  rocksdb::Status status =
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), run_log_dir.string(), &names);
  if (!status.ok()) return {.error = status.ToString()};
  Handles source;
  status = Open(run_log_dir, true, names, RewriteMemTables::kSkipList, source);
  if (!status.ok()) return {.error = status.ToString()};
  std::size_t events_family = names.size();
  std::size_t payloads_family = names.size();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == kf::kEventsColumnFamily) events_family = i;
    if (names[i] == kf::kPayloadsColumnFamily) payloads_family = i;
  }
  if (events_family == names.size() || payloads_family == names.size()) {
    return {.error = "no events or payloads column family in " + run_log_dir.string()};
  }
  Handles target;
  status = Open(scratch_dir, false,
                {rocksdb::kDefaultColumnFamilyName, std::string(kf::kEventsColumnFamily),
                 std::string(kf::kPayloadsColumnFamily)},
                memtables, target);
  if (!status.ok()) return {.error = status.ToString()};

  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> events(
      source.db->NewIterator(read, source.families[events_family]));
  std::unique_ptr<rocksdb::Iterator> payloads(
      source.db->NewIterator(read, source.families[payloads_family]));
  events->SeekToFirst();
  payloads->SeekToFirst();
  rocksdb::WriteOptions synced;
  synced.sync = true;
  std::vector<std::pair<std::string, std::string>> step_events;
  std::vector<std::pair<std::string, std::string>> step_payloads;
  while (events->Valid()) {
    // Read one step (untimed): its events, and the payloads owned by them (payload key =
    // the owning event's key, so they sort together).
    step_events.clear();
    step_payloads.clear();
    while (events->Valid() && step_events.size() < events_per_step) {
      step_events.emplace_back(events->key().ToString(), events->value().ToString());
      events->Next();
    }
    const std::string_view last_key = step_events.back().first;
    while (payloads->Valid() && payloads->key().compare(last_key) <= 0) {
      step_payloads.emplace_back(payloads->key().ToString(), payloads->value().ToString());
      payloads->Next();
    }
    // Write it (timed): one WriteBatch, synced.
    const double cpu_start = ThreadCpuSeconds();
    rocksdb::WriteBatch batch;
    std::size_t next_payload = 0;
    for (const auto& [key, value] : step_events) {
      batch.Put(target.families[1], key, value);
      result.bytes += key.size() + value.size();
      while (next_payload < step_payloads.size() && step_payloads[next_payload].first <= key) {
        const auto& [payload_key, payload] = step_payloads[next_payload++];
        batch.Put(target.families[2], payload_key, payload);
        result.bytes += payload_key.size() + payload.size();
      }
    }
    status = target.db->Write(synced, &batch);
    result.cpu_s += ThreadCpuSeconds() - cpu_start;
    if (!status.ok()) return {.error = status.ToString()};
    result.events += step_events.size();
    result.payloads += step_payloads.size();
    ++result.steps;
  }
  if (!events->status().ok()) return {.error = events->status().ToString()};
  if (!payloads->status().ok()) return {.error = payloads->status().ToString()};
  return result;
}

}  // namespace batchlog::bench
