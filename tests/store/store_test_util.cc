#include "tests/store/store_test_util.h"

#include <catch2/catch.hpp>

#include "src/store/key_format.h"

namespace batchlog::store::testing {

PendingEvent MakeEvent(std::uint64_t index, std::string blob) {
  PendingEvent pending;
  pending.event.set_recorded_at_unix_us(1'700'000'000'000'000 + static_cast<std::int64_t>(index));
  auto* succeeded = pending.event.mutable_request_succeeded();
  succeeded->set_batch_key("wf/stage_1/a1/0001");
  succeeded->set_custom_id("c" + std::to_string(index));
  succeeded->set_attempt(1);
  succeeded->mutable_usage()->set_input_tokens(index);
  pending.blob = std::move(blob);
  return pending;
}

StepBatch MakeStep(std::uint64_t first_index, std::size_t count, Durability durability) {
  StepBatch step;
  step.durability = durability;
  step.events.reserve(count);
  for (std::size_t i = 0; i < count; ++i) step.events.push_back(MakeEvent(first_index + i));
  return step;
}

int CountTableFiles(const std::filesystem::path& log_dir) {
  int tables = 0;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir)) {
    tables += entry.path().extension() == ".sst" ? 1 : 0;
  }
  return tables;
}

RunMetadata MakeMetadata(std::string_view run_id, std::int64_t created_at_unix_us) {
  RunMetadata metadata;
  metadata.run_id = std::string(run_id);
  metadata.run_name = "test";
  metadata.created_at_unix_us = created_at_unix_us;
  metadata.updated_at_unix_us = created_at_unix_us;
  metadata.status = "running";
  return metadata;
}

ReadResult ReadAll(const EventLog& log, const ReadOptions& options) {
  ReadResult result;
  std::unique_ptr<EventLogReader> reader = log.NewReader(options);
  while (reader->Next()) result.events.push_back(reader->event());
  result.status = reader->status();
  result.next_seq = reader->next_seq();
  return result;
}

std::string SerializedEvent(std::uint64_t seq, std::string_view run_id) {
  events::v1::Event event;
  event.set_seq(seq);
  event.set_run_id(std::string(run_id));
  event.set_recorded_at_unix_us(1'700'000'000'000'000);
  event.mutable_run_completed()->set_workflows(1);
  return event.SerializeAsString();
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xF];
  }
  return out;
}

Store MustOpen(const std::filesystem::path& root) {
  auto store = Store::Open(root, /*create_if_missing=*/true);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

RawRunDatabase::RawRunDatabase(const std::filesystem::path& log_dir,
                               const rocksdb::DBOptions& options) {
  std::vector<std::string> names;
  rocksdb::Status status = rocksdb::DB::ListColumnFamilies(options, log_dir.string(), &names);
  REQUIRE(status.ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  status = rocksdb::DB::Open(options, log_dir.string(), families, &handles_, &db_);
  INFO(status.ToString());
  REQUIRE(status.ok());
}

RawRunDatabase::~RawRunDatabase() {
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
  delete db_;
}

rocksdb::ColumnFamilyHandle* RawRunDatabase::Handle(std::string_view column_family) const {
  for (auto* handle : handles_) {
    if (handle->GetName() == column_family) return handle;
  }
  FAIL("no column family " << column_family);
  return nullptr;
}

void RawRunDatabase::Put(std::string_view column_family, std::string_view key,
                         std::string_view value) {
  rocksdb::WriteOptions options;
  options.sync = true;
  REQUIRE(db_->Put(options, Handle(column_family), key, value).ok());
}

void RawRunDatabase::Delete(std::string_view column_family, std::string_view key) {
  rocksdb::WriteOptions options;
  options.sync = true;
  REQUIRE(db_->Delete(options, Handle(column_family), key).ok());
}

std::string RawRunDatabase::Get(std::string_view column_family, std::string_view key) {
  std::string value;
  REQUIRE(db_->Get(rocksdb::ReadOptions(), Handle(column_family), key, &value).ok());
  return value;
}

}  // namespace batchlog::store::testing
