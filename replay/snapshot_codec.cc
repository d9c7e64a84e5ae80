#include "replay/snapshot_codec.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <limits>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "replay/hash.h"

namespace batchlog::replay {
namespace {

constexpr std::uint64_t kChecksumSeed = 0x736e617073686f74ULL;
static_assert(kSnapshotMagic.size() == 8);
static_assert(kSnapshotHeaderBytes == 8 + 4 + 8 + 8, "magic, version, body size, checksum");
static_assert(sizeof(RunCounters) == kRunCounterCount * sizeof(std::uint64_t),
              "a new counter must be added to the snapshot codec");

// Appends to a string through a raw pointer: the string is grown ahead, in large steps, and
// cut to the bytes written by Finish(). A snapshot of a 1M-request run is ~10M small values,
// and push_back per byte (a capacity check, a size update and a terminator each) made the
// encoding cost as much as the state it writes.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out), used_(out.size()) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Reserve(std::size_t bytes) {
    if (out_.size() - used_ < bytes) [[unlikely]] Grow(bytes);
  }
  // Cuts the string to what was written; the writer must not be used afterwards.
  void Finish() { out_.resize(used_); }

  // Inlined into the column loops: as a call, its prologue cost more than the write.
  [[gnu::always_inline]] void Varint(std::uint64_t value) {
    Reserve(10);
    char* at = out_.data() + used_;
    char* const begin = at;
    while (value >= 0x80) {
      *at++ = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    *at++ = static_cast<char>(value);
    used_ += static_cast<std::size_t>(at - begin);
  }
  void Signed(std::int64_t value) {
    Varint((static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
  }
  // kNoIndex is written as 0, index i as i + 1.
  void Index(std::uint32_t index) { Varint(index == kNoIndex ? 0 : std::uint64_t{index} + 1); }
  void Byte(std::uint8_t value) {
    Reserve(1);
    out_[used_++] = static_cast<char>(value);
  }
  void Bool(bool value) { Byte(value ? 1 : 0); }
  void String(std::string_view value) {
    Varint(value.size());
    Reserve(value.size());
    if (!value.empty()) std::memcpy(out_.data() + used_, value.data(), value.size());
    used_ += value.size();
  }
  void Fixed(std::uint64_t value, int bytes) {
    Reserve(8);
    StoreFixed(out_.data() + used_, value, bytes);
    used_ += static_cast<std::size_t>(bytes);
  }

  // Little-endian, as LoadFixed reads it.
  static void StoreFixed(char* at, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) at[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  }

 private:
  [[gnu::noinline]] void Grow(std::size_t bytes) {
    out_.resize(std::max(2 * out_.size(), used_ + bytes + 4096));
  }

  std::string& out_;
  std::size_t used_;  // bytes written; out_.size() is what is allocated ahead
};

// Reads a body; after the first error every read returns zero and ok() stays false, so
// decoding loops bounded by counts already read terminate without extra checks.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool AtEnd() const { return pos_ == in_.size(); }
  std::size_t remaining() const { return in_.size() - pos_; }
  void Fail() {
    ok_ = false;
    pos_ = in_.size();
  }

  std::uint64_t Varint() {
    // One byte, the common case (lengths, scopes, indices, attempts of 1M-entry columns):
    // no loop and one bounds check.
    if (pos_ < in_.size()) {
      const auto first = static_cast<std::uint8_t>(in_[pos_]);
      if (first < 0x80) {
        ++pos_;
        return first;
      }
    }
    return MultiByteVarint();
  }
  std::int64_t Signed() {
    const std::uint64_t raw = Varint();
    return static_cast<std::int64_t>((raw >> 1) ^ (~(raw & 1) + 1));
  }
  std::uint32_t U32() { return Bounded<std::uint32_t>(std::numeric_limits<std::uint32_t>::max()); }
  std::uint16_t U16() { return Bounded<std::uint16_t>(std::numeric_limits<std::uint16_t>::max()); }
  std::uint32_t Index() {
    const std::uint64_t raw = Varint();
    if (raw == 0) return kNoIndex;
    if (raw - 1 >= kNoIndex) {
      Fail();
      return 0;
    }
    return static_cast<std::uint32_t>(raw - 1);
  }
  std::uint8_t Byte() {
    if (pos_ >= in_.size()) {
      Fail();
      return 0;
    }
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  bool Bool() {
    const std::uint8_t value = Byte();
    if (value > 1) Fail();
    return value == 1;
  }
  std::string_view Bytes(std::uint64_t size) {
    if (size > remaining()) {
      Fail();
      return {};
    }
    const std::string_view out = in_.substr(pos_, static_cast<std::size_t>(size));
    pos_ += static_cast<std::size_t>(size);
    return out;
  }
  std::string String() { return std::string(Bytes(Varint())); }
  // A count of elements that take at least `min_bytes` each: larger than the rest of the
  // body can hold means damage, and must not become a huge allocation.
  std::uint32_t Count(std::size_t min_bytes) {
    const std::uint64_t count = Varint();
    if (count > remaining() / min_bytes || count >= kNoIndex) {
      Fail();
      return 0;
    }
    return static_cast<std::uint32_t>(count);
  }

 private:
  std::uint64_t MultiByteVarint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) {
        Fail();
        return 0;
      }
      const auto byte = static_cast<std::uint8_t>(in_[pos_++]);
      if (shift == 63 && byte > 1) break;
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    Fail();
    return 0;
  }
  template <typename T>
  T Bounded(std::uint64_t max) {
    const std::uint64_t value = Varint();
    if (value > max) {
      Fail();
      return 0;
    }
    return static_cast<T>(value);
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::uint64_t LoadFixed(std::string_view bytes, std::size_t offset, int size) {
  std::uint64_t value = 0;
  for (int i = 0; i < size; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

// --- encoding ----------------------------------------------------------------------------

void PutIdTable(Writer& out, const IdTable& table) {
  out.Varint(table.size());
  for (const std::uint32_t scope : table.scopes()) out.Varint(scope);
  std::uint32_t begin = 0;
  for (const std::uint32_t end : table.ends()) {
    out.Varint(end - begin);
    begin = end;
  }
  out.String(table.arena());
}

void PutLifecycle(Writer& out, const Lifecycle& state) {
  out.String(state.run_id);
  out.Byte(static_cast<std::uint8_t>(state.run_status));
  PutIdTable(out, state.workflows);
  PutIdTable(out, state.stages);
  for (const StageRecord& record : state.stage_records) out.Bool(record.completed);
  PutIdTable(out, state.providers);
  PutIdTable(out, state.error_codes);

  const RequestTable& requests = state.requests;
  PutIdTable(out, requests.ids);
  for (const RequestStatus status : requests.status) out.Byte(static_cast<std::uint8_t>(status));
  for (const std::uint16_t attempt : requests.attempt) out.Varint(attempt);
  for (const std::uint8_t flags : requests.flags) out.Byte(flags);
  for (const std::uint32_t batch : requests.last_batch) out.Index(batch);
  for (const std::uint32_t error : requests.last_error) out.Index(error);

  PutIdTable(out, state.batches.keys);
  for (const BatchRecord& record : state.batches.records) {
    out.Varint(record.stage);
    out.Index(record.provider);
    out.Varint(record.planned_seq);
    out.Varint(record.member_count);
    out.Varint(record.min_attempt);
    out.Varint(record.max_attempt);
    out.Byte(static_cast<std::uint8_t>(record.phase));
    out.Signed(record.status);
    out.Bool(record.adopted);
    out.Varint(record.results);
    out.String(record.provider_batch_id);
    out.String(record.file_id);
  }
  out.Varint(state.batches.members.size());
  for (const std::uint32_t request : state.batches.members) out.Varint(request);
}

void PutRunState(Writer& out, const RunState& state) {
  out.String(state.run_name);
  out.String(state.config_sha256);
  out.Varint(state.config_seq);
  out.String(state.batchlog_version);
  out.Varint(state.random_seed);
  out.String(state.end_reason);
  out.String(state.end_code);
  out.Bool(state.resumable);
  for (const std::uint64_t ordinal : state.request_ordinal) out.Varint(ordinal);
  for (const std::uint32_t group : state.request_retry_group) out.Index(group);
  out.Varint(state.retry_groups.size());
  for (const RetryGroup& group : state.retry_groups) {
    out.Varint(group.stage);
    out.Varint(group.attempt);
    out.Signed(group.not_before_unix_us);
    out.Varint(group.member_count);
  }
  out.Varint(state.retry_members.size());
  for (const std::uint32_t request : state.retry_members) out.Varint(request);
  const RunCounters& c = state.counters;
  for (const std::uint64_t value :
       {c.events, c.requests_planned, c.batches_planned, c.files_uploaded, c.batches_submitted,
        c.batches_adopted, c.submits_rejected, c.polls, c.batches_ended,
        c.batches_ended_unsuccessfully, c.results_succeeded, c.results_failed, c.results_duplicate,
        c.batches_ingested, c.retries_scheduled, c.requests_abandoned, c.quota_warnings,
        c.stages_completed}) {
    out.Varint(value);
  }
  out.Bool(state.quota_holding);
}

void PutDouble(Writer& out, double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  out.Fixed(bits, 8);
}

void PutManifest(Writer& out, const ManifestState& state) {
  out.Varint(state.generated_at_seq);
  out.Varint(state.usage.size());
  for (const StageUsage& usage : state.usage) {
    out.Varint(usage.input_tokens);
    out.Varint(usage.output_tokens);
    out.Varint(usage.cached_input_tokens);
    out.Varint(usage.cache_write_input_tokens);
  }
  out.Varint(state.prices.size());
  for (const StagePrice& price : state.prices) {
    out.String(price.workflow);
    out.String(price.stage);
    out.String(price.model);
    PutDouble(out, price.input_per_million);
    PutDouble(out, price.output_per_million);
    PutDouble(out, price.batch_discount);
    PutDouble(out, price.cached_input_per_million);
    out.Bool(price.has_cached_price);
    out.Bool(price.cached_in_input);
    PutDouble(out, price.cache_write_input_per_million);
    out.Bool(price.has_cache_write_price);
  }
  PutIdTable(out, state.models);
  // Models change rarely along the requests: runs of (length, model + 1; 0 = none).
  std::size_t i = 0;
  const std::size_t count = state.request_model.size();
  std::uint64_t runs = 0;
  for (std::size_t j = 0; j < count; ++runs) {
    std::size_t k = j;
    while (k < count && state.request_model[k] == state.request_model[j]) ++k;
    j = k;
  }
  out.Varint(runs);
  while (i < count) {
    std::size_t k = i;
    while (k < count && state.request_model[k] == state.request_model[i]) ++k;
    out.Varint(k - i);
    out.Varint(state.request_model[i] == kNoModel ? 0 : std::uint64_t{state.request_model[i]} + 1);
    i = k;
  }
  out.Varint(state.cost_slots.size());
  for (const CostSlot& slot : state.cost_slots) {
    out.Varint(slot.stage);
    out.Index(slot.model);
    out.Varint(slot.attempt);
    out.Varint(slot.input_tokens);
    out.Varint(slot.output_tokens);
    out.Varint(slot.cached_input_tokens);
    out.Varint(slot.cache_write_input_tokens);
  }
  const ForkProvenance& fork = state.forked_from;
  out.String(fork.source_run_id);
  out.Varint(fork.source_seq);
  out.String(fork.from_stage);
  out.Varint(fork.carried.size());
  for (const CarriedStageRecord& carried : fork.carried) {
    out.String(carried.workflow);
    out.String(carried.stage);
    out.Varint(carried.source_completed_seq);
  }
}

void PutIndexedSeqs(Writer& out, const PodVector<IndexedSeq>& seqs) {
  out.Varint(seqs.size());
  std::uint64_t previous = 0;
  for (const IndexedSeq& entry : seqs) {
    out.Varint(entry.owner);
    out.Varint(entry.seq - previous);
    previous = entry.seq;
  }
}

// Seqs only grow within each list, so they are stored as deltas.
void PutAuditIndex(Writer& out, const AuditIndex& state) {
  out.Varint(state.batches.size());
  for (const BatchSeqs& seqs : state.batches) {
    for (const std::uint64_t seq : {seqs.uploaded, seqs.outcome, seqs.ended, seqs.ingested,
                                    seqs.first_result, seqs.last_result}) {
      out.Varint(seq);
    }
  }
  PutIndexedSeqs(out, state.polls);
  PutIndexedSeqs(out, state.decisions);
  out.Varint(state.run_events.size());
  std::uint64_t previous = 0;
  for (const std::uint64_t seq : state.run_events) {
    out.Varint(seq - previous);
    previous = seq;
  }
}

// Planned seqs only grow, so they are stored as deltas; result seqs as they are.
void PutStageInputs(Writer& out, const StageInputs& state) {
  std::uint64_t previous = 0;
  for (const std::uint64_t seq : state.planned_seq) {
    out.Varint(seq - previous);
    previous = seq;
  }
  for (const std::uint64_t seq : state.result_seq) out.Varint(seq);
  for (const std::uint32_t bytes : state.body_bytes) out.Varint(bytes);
}

// --- decoding ----------------------------------------------------------------------------

base::Status Damaged(std::string_view what) {
  return base::DataLossError("snapshot is damaged: " + std::string(what));
}

// Builds the lookup index of large id tables on another thread while the rest of the
// snapshot decodes: indexing the request table of a 1M-request run costs about as much as
// decoding everything after it, and a resume waits for the whole decode. The result is the
// same as indexing in place; nothing reads a table's index before Finish().
class BackgroundIndexing {
 public:
  static constexpr std::uint32_t kMinEntries = 65536;

  BackgroundIndexing() = default;
  BackgroundIndexing(const BackgroundIndexing&) = delete;
  BackgroundIndexing& operator=(const BackgroundIndexing&) = delete;
  ~BackgroundIndexing() {
    for (std::future<bool>& job : jobs_) {
      if (job.valid()) job.wait();  // a failed decode still must not outlive its tables
    }
  }

  // Indexes `table` in the background when it is large, else now. False for a repeated id
  // found now; a background job reports through Finish().
  bool Index(const IdTable& table) {
    if (table.size() < kMinEntries) return table.IndexAll();
    try {
      jobs_.push_back(std::async(std::launch::async, [&table] { return table.IndexAll(); }));
      return true;
    } catch (const std::system_error&) {
      return table.IndexAll();  // no thread to be had: index here
    }
  }

  // Waits for every job; false when one found a repeated id.
  bool Finish() {
    bool ok = true;
    for (std::future<bool>& job : jobs_) ok = job.get() && ok;
    jobs_.clear();
    return ok;
  }

 private:
  std::vector<std::future<bool>> jobs_;
};

bool GetIdTable(Reader& in, IdTable& table, BackgroundIndexing* indexing = nullptr) {
  const std::uint32_t count = in.Count(2);  // a scope and a length, at least a byte each
  std::vector<std::uint32_t> scopes(count);
  for (std::uint32_t& scope : scopes) scope = in.U32();
  std::vector<std::uint32_t> lengths(count);
  std::uint64_t total = 0;
  for (std::uint32_t& length : lengths) {
    length = in.U32();
    total += length;
  }
  const std::string_view arena = in.Bytes(in.Varint());
  if (!in.ok() || total != arena.size()) return false;
  table.Reserve(count, arena.size());
  std::size_t offset = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (table.Append(scopes[i], arena.substr(offset, lengths[i])) != i) {
      return false;
    }
    offset += lengths[i];
  }
  // False for a repeated id.
  return indexing != nullptr ? indexing->Index(table) : table.IndexAll();
}

// The request table may still be indexing in `indexing` when this returns.
base::Status GetLifecycle(Reader& in, Lifecycle& state, BackgroundIndexing& indexing) {
  state.run_id = in.String();
  const std::uint8_t run_status = in.Byte();
  if (run_status >= kRunStatusCount) return Damaged("run status");
  state.run_status = static_cast<RunStatus>(run_status);
  if (!GetIdTable(in, state.workflows)) return Damaged("workflow table");
  if (!GetIdTable(in, state.stages)) return Damaged("stage table");
  for (std::uint32_t stage = 0; stage < state.stages.size(); ++stage) {
    const std::uint32_t workflow = state.stages.scope(stage);
    if (workflow >= state.workflows.size()) return Damaged("stage of an unknown workflow");
    state.stage_records.push_back(StageRecord{.workflow = workflow, .completed = in.Bool()});
  }
  if (!GetIdTable(in, state.providers)) return Damaged("provider table");
  if (!GetIdTable(in, state.error_codes)) return Damaged("error code table");

  RequestTable& requests = state.requests;
  if (!GetIdTable(in, requests.ids, &indexing)) return Damaged("request table");
  const std::uint32_t count = requests.size();
  for (std::uint32_t request = 0; request < count; ++request) {
    if (requests.ids.scope(request) >= state.stages.size()) {
      return Damaged("request of an unknown stage");
    }
  }
  requests.status.resize(count);
  requests.attempt.resize(count);
  requests.flags.resize(count);
  requests.last_batch.resize(count);
  requests.last_error.resize(count);
  for (RequestStatus& status : requests.status) {
    const std::uint8_t value = in.Byte();
    if (value >= kRequestStatusCount) return Damaged("request status");
    status = static_cast<RequestStatus>(value);
  }
  for (std::uint16_t& attempt : requests.attempt) attempt = in.U16();
  for (std::uint8_t& flags : requests.flags) {
    flags = in.Byte();
    if ((flags & ~kKnownFlagBits) != 0 ||
        !events::v1::AbandonReason_IsValid(flags >> kAbandonReasonShift)) {
      return Damaged("request flags");
    }
  }
  for (std::uint32_t& batch : requests.last_batch) batch = in.Index();
  for (std::uint32_t& error : requests.last_error) {
    error = in.Index();
    if (error != kNoIndex && error >= state.error_codes.size()) return Damaged("error code index");
  }

  BatchTable& batches = state.batches;
  if (!GetIdTable(in, batches.keys)) return Damaged("batch table");
  batches.records.resize(batches.keys.size());
  std::uint64_t member_begin = 0;
  for (BatchRecord& record : batches.records) {
    record.stage = in.U32();
    record.provider = in.Index();
    record.planned_seq = in.Varint();
    record.member_count = in.U32();
    record.min_attempt = in.U16();
    record.max_attempt = in.U16();
    const std::uint8_t phase = in.Byte();
    const std::int64_t status = in.Signed();
    record.adopted = in.Bool();
    record.results = in.U32();
    record.provider_batch_id = in.String();
    record.file_id = in.String();
    if (!in.ok()) return Damaged("batch record");
    if (record.stage >= state.stages.size() ||
        (record.provider != kNoIndex && record.provider >= state.providers.size()) ||
        record.min_attempt > record.max_attempt || phase >= kBatchPhaseCount ||
        status < std::numeric_limits<std::int32_t>::min() ||
        status > std::numeric_limits<std::int32_t>::max()) {
      return Damaged("batch record");
    }
    record.phase = static_cast<BatchPhase>(phase);
    record.status = static_cast<events::v1::BatchStatus>(status);
    record.member_begin = static_cast<std::uint32_t>(member_begin);
    member_begin += record.member_count;
    if (member_begin > std::numeric_limits<std::uint32_t>::max()) return Damaged("batch members");
  }
  const std::uint32_t members = in.Count(1);
  if (members != member_begin) return Damaged("batch member count");
  batches.members.resize(members);
  for (std::uint32_t& request : batches.members) {
    request = in.U32();
    if (request >= count) return Damaged("batch member");
  }
  for (const std::uint32_t batch : requests.last_batch) {
    if (batch != kNoIndex && batch >= batches.size()) return Damaged("batch index");
  }
  if (!in.ok()) return Damaged("truncated lifecycle");
  state.RecomputeStageCounters();
  return base::Status::Ok();
}

base::Status GetRunState(Reader& in, RunState& state) {
  state.run_name = in.String();
  state.config_sha256 = in.String();
  state.config_seq = in.Varint();
  state.batchlog_version = in.String();
  state.random_seed = in.Varint();
  state.end_reason = in.String();
  state.end_code = in.String();
  state.resumable = in.Bool();
  const std::uint32_t requests = state.lifecycle.requests.size();
  state.request_ordinal.resize(requests);
  for (std::uint64_t& ordinal : state.request_ordinal) ordinal = in.Varint();
  state.request_retry_group.resize(requests);
  for (std::uint32_t& group : state.request_retry_group) group = in.Index();

  const std::uint32_t groups = in.Count(4);
  state.retry_groups.resize(groups);
  std::uint64_t member_begin = 0;
  for (RetryGroup& group : state.retry_groups) {
    group.stage = in.U32();
    group.attempt = in.U16();
    group.not_before_unix_us = in.Signed();
    group.member_count = in.U32();
    if (group.stage >= state.lifecycle.stages.size()) return Damaged("retry group stage");
    group.member_begin = static_cast<std::uint32_t>(member_begin);
    member_begin += group.member_count;
    if (member_begin > std::numeric_limits<std::uint32_t>::max()) return Damaged("retry members");
  }
  const std::uint32_t members = in.Count(1);
  if (members != member_begin) return Damaged("retry member count");
  state.retry_members.resize(members);
  for (std::uint32_t& request : state.retry_members) {
    request = in.U32();
    if (request >= requests) return Damaged("retry member");
  }
  for (const std::uint32_t group : state.request_retry_group) {
    if (group == kNoIndex) continue;
    if (group >= groups) return Damaged("retry group index");
    ++state.retry_groups[group].pending;
  }
  RunCounters& c = state.counters;
  for (std::uint64_t* value :
       {&c.events, &c.requests_planned, &c.batches_planned, &c.files_uploaded, &c.batches_submitted,
        &c.batches_adopted, &c.submits_rejected, &c.polls, &c.batches_ended,
        &c.batches_ended_unsuccessfully, &c.results_succeeded, &c.results_failed,
        &c.results_duplicate, &c.batches_ingested, &c.retries_scheduled, &c.requests_abandoned,
        &c.quota_warnings, &c.stages_completed}) {
    *value = in.Varint();
  }
  state.quota_holding = in.Bool();
  if (!in.ok()) return Damaged("truncated run state");
  return base::Status::Ok();
}

double GetDouble(Reader& in) {
  const std::string_view bytes = in.Bytes(8);
  if (bytes.size() != 8) return 0;
  const std::uint64_t bits = LoadFixed(bytes, 0, 8);
  double value = 0;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// `shape` is the lifecycle the manifest's counts are checked against (the manifest's own, or
// the run state's when the snapshot shares one).
base::Status GetManifest(Reader& in, ManifestState& state, const Lifecycle& shape) {
  state.generated_at_seq = in.Varint();
  const std::uint32_t stages = in.Count(4);
  if (stages != shape.stages.size()) return Damaged("manifest stage count");
  state.usage.resize(stages);
  for (StageUsage& usage : state.usage) {
    usage.input_tokens = in.Varint();
    usage.output_tokens = in.Varint();
    usage.cached_input_tokens = in.Varint();
    usage.cache_write_input_tokens = in.Varint();
  }
  // Three lengths, five doubles and three flags at least.
  const std::uint32_t prices = in.Count(46);
  state.prices.resize(prices);
  for (StagePrice& price : state.prices) {
    price.workflow = in.String();
    price.stage = in.String();
    price.model = in.String();
    price.input_per_million = GetDouble(in);
    price.output_per_million = GetDouble(in);
    price.batch_discount = GetDouble(in);
    price.cached_input_per_million = GetDouble(in);
    price.has_cached_price = in.Bool();
    price.cached_in_input = in.Bool();
    price.cache_write_input_per_million = GetDouble(in);
    price.has_cache_write_price = in.Bool();
  }
  if (!GetIdTable(in, state.models)) return Damaged("model table");
  const std::uint32_t requests = shape.requests.size();
  const std::uint32_t runs = in.Count(2);
  state.request_model.reserve(requests);
  for (std::uint32_t run = 0; run < runs; ++run) {
    const std::uint64_t length = in.Varint();
    const std::uint64_t model = in.Varint();
    if (!in.ok() || length == 0 || length > requests - state.request_model.size() ||
        model > state.models.size() || model > kNoModel) {
      return Damaged("request models");
    }
    const std::uint16_t value = model == 0 ? kNoModel : static_cast<std::uint16_t>(model - 1);
    state.request_model.resize(state.request_model.size() + length, value);
  }
  if (state.request_model.size() != requests) return Damaged("request model count");
  const std::uint32_t slots = in.Count(7);
  state.cost_slots.resize(slots);
  for (CostSlot& slot : state.cost_slots) {
    slot.stage = in.U32();
    slot.model = in.Index();
    slot.attempt = in.U16();
    slot.input_tokens = in.Varint();
    slot.output_tokens = in.Varint();
    slot.cached_input_tokens = in.Varint();
    slot.cache_write_input_tokens = in.Varint();
    if (slot.stage >= stages || (slot.model != kNoIndex && slot.model >= state.models.size())) {
      return Damaged("cost slot");
    }
  }
  ForkProvenance& fork = state.forked_from;
  fork.source_run_id = in.String();
  fork.source_seq = in.Varint();
  fork.from_stage = in.String();
  fork.carried.resize(in.Count(3));
  for (CarriedStageRecord& carried : fork.carried) {
    carried.workflow = in.String();
    carried.stage = in.String();
    carried.source_completed_seq = in.Varint();
  }
  if (!in.ok()) return Damaged("truncated manifest");
  return base::Status::Ok();  // the caller recomputes the derived figures (RecomputeDerived)
}

bool GetIndexedSeqs(Reader& in, std::uint64_t owners, std::uint64_t last_seq,
                    PodVector<IndexedSeq>& seqs) {
  const std::uint32_t count = in.Count(2);
  seqs.resize(count);
  std::uint64_t previous = 0;
  for (IndexedSeq& entry : seqs) {
    entry.owner = in.Varint();
    entry.seq = previous + in.Varint();
    if (entry.owner >= owners || entry.seq < previous || entry.seq > last_seq) return false;
    previous = entry.seq;
  }
  return in.ok();
}

base::Status GetAuditIndex(Reader& in, const Lifecycle& lifecycle, std::uint64_t last_seq,
                           AuditIndex& state) {
  const std::uint32_t batches = in.Count(6);
  if (batches != lifecycle.batches.size()) return Damaged("audit index batch count");
  state.batches.resize(batches);
  for (BatchSeqs& seqs : state.batches) {
    for (std::uint64_t* seq : {&seqs.uploaded, &seqs.outcome, &seqs.ended, &seqs.ingested,
                               &seqs.first_result, &seqs.last_result}) {
      *seq = in.Varint();
      if (*seq > last_seq) return Damaged("audit index batch seq");
    }
  }
  if (!GetIndexedSeqs(in, batches, last_seq, state.polls)) return Damaged("audit index polls");
  if (!GetIndexedSeqs(in, lifecycle.stages.size(), last_seq, state.decisions)) {
    return Damaged("audit index decisions");
  }
  const std::uint32_t run_events = in.Count(1);
  state.run_events.resize(run_events);
  std::uint64_t previous = 0;
  for (std::uint64_t& seq : state.run_events) {
    seq = previous + in.Varint();
    if (seq < previous || seq > last_seq) return Damaged("audit index run events");
    previous = seq;
  }
  if (!in.ok()) return Damaged("truncated audit index");
  return base::Status::Ok();
}

base::Status GetStageInputs(Reader& in, std::uint64_t last_seq, std::uint32_t requests,
                           StageInputs& state) {
  state.planned_seq.resize(requests);
  state.result_seq.resize(requests);
  std::uint64_t previous = 0;
  for (std::uint64_t& seq : state.planned_seq) {
    seq = previous + in.Varint();
    if (seq <= previous || seq > last_seq) return Damaged("request planned seq");
    previous = seq;
  }
  for (std::uint64_t& seq : state.result_seq) {
    seq = in.Varint();
    if (seq > last_seq) return Damaged("request result seq");
  }
  state.body_bytes.resize(requests);
  for (std::uint32_t& bytes : state.body_bytes) bytes = in.U32();
  if (!in.ok()) return Damaged("truncated stage inputs");
  return base::Status::Ok();
}

// A generous guess of the body size, so the body is not copied as it grows.
std::size_t EstimateBodyBytes(const Projections& projections) {
  const Lifecycle& lifecycle = projections.run_state.lifecycle;
  const std::size_t per_request = 2 * 5 + 16;  // ids, arrays, ordinal, group, seqs
  return lifecycle.requests.ids.arena().size() + lifecycle.requests.size() * per_request +
         lifecycle.batches.members.size() * 4 + lifecycle.batches.size() * 96 +
         projections.run_state.retry_members.size() * 4 + 4096;
}

}  // namespace

std::uint64_t SnapshotChecksum(std::string_view body) { return Hash64(body, kChecksumSeed); }

std::optional<std::uint32_t> SnapshotVersion(std::string_view bytes) {
  if (bytes.size() < kSnapshotHeaderBytes ||
      bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(LoadFixed(bytes, 8, 4));
}

std::string EncodeSnapshot(const Projections& projections) {
  // The body is written after room for the header, which is filled in last (it holds the
  // body's size and checksum): no second copy of a snapshot of tens of MiB.
  std::string out(kSnapshotHeaderBytes, '\0');
  Writer writer(out);
  writer.Reserve(EstimateBodyBytes(projections));
  writer.Varint(projections.last_seq);
  PutLifecycle(writer, projections.run_state.lifecycle);
  PutRunState(writer, projections.run_state);
  PutManifest(writer, projections.manifest);
  PutStageInputs(writer, projections.stage_inputs);
  PutAuditIndex(writer, projections.audit_index);
  writer.Finish();

  const std::string_view body = std::string_view(out).substr(kSnapshotHeaderBytes);
  char* header = out.data();
  std::memcpy(header, kSnapshotMagic.data(), kSnapshotMagic.size());
  Writer::StoreFixed(header + 8, kSnapshotVersion, 4);
  Writer::StoreFixed(header + 12, body.size(), 8);
  Writer::StoreFixed(header + 20, SnapshotChecksum(body), 8);
  return out;
}

base::Result<Projections> DecodeSnapshot(std::string_view bytes) {
  if (bytes.size() < kSnapshotHeaderBytes) return Damaged("shorter than its header");
  if (bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) return Damaged("bad magic");
  const std::uint64_t version = LoadFixed(bytes, 8, 4);
  if (version != kSnapshotVersion) {
    return Damaged("unknown version " + std::to_string(version));
  }
  const std::uint64_t body_size = LoadFixed(bytes, 12, 8);
  const std::string_view body = bytes.substr(kSnapshotHeaderBytes);
  if (body_size != body.size()) {
    return Damaged("body is " + std::to_string(body.size()) + " bytes, header says " +
                   std::to_string(body_size));
  }
  if (LoadFixed(bytes, 20, 8) != SnapshotChecksum(body)) return Damaged("checksum mismatch");

  Reader in(body);
  Projections projections;
  BackgroundIndexing indexing;  // after `projections`: joins before the tables are destroyed
  projections.last_seq = in.Varint();
  // From here on the run state's lifecycle is only read while the other thread indexes it.
  BATCHLOG_RETURN_IF_ERROR(GetLifecycle(in, projections.run_state.lifecycle, indexing));
  BATCHLOG_RETURN_IF_ERROR(GetRunState(in, projections.run_state));
  BATCHLOG_RETURN_IF_ERROR(
      GetManifest(in, projections.manifest, projections.run_state.lifecycle));
  BATCHLOG_RETURN_IF_ERROR(GetStageInputs(in, projections.last_seq,
                                          projections.run_state.lifecycle.requests.size(),
                                          projections.stage_inputs));
  BATCHLOG_RETURN_IF_ERROR(GetAuditIndex(in, projections.run_state.lifecycle,
                                         projections.last_seq, projections.audit_index));
  if (!in.ok() || !in.AtEnd()) return Damaged("trailing bytes after the body");
  if (!indexing.Finish()) return Damaged("request table");
  RecomputeDerived(projections.manifest, projections.run_state.lifecycle);
  return projections;
}

}  // namespace batchlog::replay
