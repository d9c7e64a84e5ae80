#include "src/sim/batch_registry.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <system_error>
#include <utility>

#include "src/base/random.h"
#include "src/sim/sim_hash.h"

namespace batchlog::sim {
namespace {

constexpr std::string_view kPhaseNames[] = {"validating", "failed",  "in_progress", "finalizing",
                                            "completed",  "expired", "cancelling",  "cancelled"};

// Results are written through a buffer of this size per file, so a results file of
// hundreds of MB never sits in memory.
constexpr std::size_t kWriteBufferBytes = 1 << 20;

std::string Hex(std::uint64_t value, int digits) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016" PRIx64, value);
  return std::string(buffer + (16 - digits), static_cast<std::size_t>(digits));
}

void RemoveQuietly(const std::filesystem::path& path) {
  if (path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

}  // namespace

std::string_view BatchPhaseName(BatchPhase phase) {
  return kPhaseNames[static_cast<std::size_t>(phase)];
}

bool IsTerminal(BatchPhase phase) {
  switch (phase) {
    case BatchPhase::kFailed:
    case BatchPhase::kCompleted:
    case BatchPhase::kExpired:
    case BatchPhase::kCancelled:
      return true;
    case BatchPhase::kValidating:
    case BatchPhase::kInProgress:
    case BatchPhase::kFinalizing:
    case BatchPhase::kCancelling:
      return false;
  }
  return false;
}

struct BatchRegistry::ApiState {
  std::int64_t batches_created = 0;
  // CreateBatch calls, including those a batch fault rejected (specs with validating =
  // false): the batch ordinal of the fault plan, so a rule striking the 1st batch strikes
  // once.
  std::int64_t create_calls = 0;
  std::int64_t files_created = 0;
  std::int64_t requests_submitted = 0;
  std::int64_t control_faults_injected = 0;
  std::array<std::int64_t, kOperationCount> control_calls{};
  std::map<std::string, std::int64_t, std::less<>> submissions;
};

struct BatchRegistry::Batch {
  struct Entry {
    std::string custom_id;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::int32_t attempt = 0;
    OutcomeKind outcome = OutcomeKind::kNone;
  };

  ~Batch() { RemoveQuietly(input_path); }

  // Immutable after CreateBatch.
  std::string id;
  Api api = Api::kOpenAi;
  base::Timestamp created_at;
  base::Timestamp validated_at;  // T1
  base::Timestamp expires_at;
  base::Duration processing_base{0};
  base::Duration per_request{0};
  base::Duration finalizing{0};  // 0 for specs with finalizing = false
  bool fails_validation = false;
  std::vector<BatchError> errors;
  // >= 0: an expire fault; exactly this many requests run, spread over the window.
  std::int64_t expire_target = -1;
  bool omit_unrun_lines = false;  // the fault's: requests that never ran get no line
  std::filesystem::path input_path;
  std::vector<Entry> entries;  // processing order
  nlohmann::json wire_fields;
  const ResultFormatter* formatter = nullptr;

  // Guarded by `mutex`.
  std::mutex mutex;
  std::optional<base::Timestamp> cancel_at;
  bool results_written = false;
  std::optional<FileRecord> output_file;
  std::optional<FileRecord> error_file;
  // ran_by_outcome over entries[0, counted): extended as time moves forward.
  std::int64_t counted = 0;
  std::array<std::int64_t, kOutcomeKindCount> counted_by_outcome{};

  // Set under the registry mutex when the batch leaves the registry (delete / reset), so
  // a results writer racing with it discards its files instead of registering them.
  bool dropped = false;

  std::int64_t size() const { return static_cast<std::int64_t>(entries.size()); }

  // When the k-th request (0-based, processing order) finishes.
  base::Timestamp FinishTime(std::int64_t k) const {
    if (expire_target >= 0) {
      const auto spacing = (expires_at - validated_at) / (expire_target + 1);
      return validated_at + spacing * (k + 1);
    }
    return validated_at + processing_base + per_request * (k + 1);
  }

  // Requests done by `t`.
  std::int64_t DoneAt(base::Timestamp t) const {
    if (t < validated_at) return 0;
    if (expire_target >= 0) {
      const auto spacing = (expires_at - validated_at) / (expire_target + 1);
      if (spacing.count() <= 0) return expire_target;
      return std::min<std::int64_t>(expire_target, (t - validated_at) / spacing);
    }
    const auto since = t - validated_at - processing_base;
    if (since.count() < 0) return 0;
    if (per_request.count() <= 0) return size();
    return std::min<std::int64_t>(size(), since / per_request);
  }

  // When the last request finishes (finalizing starts); meaningless with an expire fault.
  base::Timestamp AllDoneAt() const { return FinishTime(std::max<std::int64_t>(size(), 0) - 1); }

  const std::array<std::int64_t, kOutcomeKindCount>& CountsUpTo(std::int64_t done) {
    if (done < counted) {
      counted = 0;
      counted_by_outcome.fill(0);
    }
    for (; counted < done; ++counted) {
      ++counted_by_outcome[static_cast<std::size_t>(
          entries[static_cast<std::size_t>(counted)].outcome)];
    }
    return counted_by_outcome;
  }
};

BatchRegistry::BatchRegistry(const SimClock& clock, const FaultPlan& plan, std::uint64_t seed,
                             LifecycleOptions lifecycle, std::filesystem::path spool_dir)
    : clock_(clock),
      plan_(plan),
      seed_(seed),
      lifecycle_(lifecycle),
      spool_dir_(std::move(spool_dir)) {
  for (auto& state : api_state_) state = std::make_unique<ApiState>();
}

BatchRegistry::~BatchRegistry() { Reset(); }

std::filesystem::path BatchRegistry::NewSpoolPath(std::string_view hint) {
  const auto n = spool_counter_.fetch_add(1) + 1;
  return spool_dir_ / ("spool-" + std::to_string(n) + "-" + std::string(hint));
}

std::string BatchRegistry::NewId(std::string_view prefix) {
  ++id_counter_;
  return std::string(prefix) + Hex(MixHash(seed_, prefix, id_counter_), 16) +
         Hex(SplitMix64(id_counter_), 8);
}

base::Result<FileRecord> BatchRegistry::AddFile(Api api, std::string filename, std::string purpose,
                                                const std::filesystem::path& spooled_path) {
  std::error_code error;
  const auto bytes = std::filesystem::file_size(spooled_path, error);
  if (error) return base::NotFoundError("spooled file missing: " + spooled_path.string());
  FileRecord record;
  record.api = api;
  record.filename = std::move(filename);
  record.purpose = std::move(purpose);
  record.bytes = static_cast<std::int64_t>(bytes);
  record.created_at = clock_.Now();
  record.path = spooled_path;
  std::lock_guard lock(mutex_);
  record.id = NewId("file-");
  ++api_state_[static_cast<std::size_t>(api)]->files_created;
  files_.emplace(record.id, record);
  return record;
}

base::Result<FileRecord> BatchRegistry::GetFile(std::string_view file_id) const {
  std::lock_guard lock(mutex_);
  const auto it = files_.find(file_id);
  if (it == files_.end()) return base::NotFoundError("no such file: " + std::string(file_id));
  return it->second;
}

base::Status BatchRegistry::DeleteFile(std::string_view file_id) {
  std::filesystem::path path;
  {
    std::lock_guard lock(mutex_);
    const auto it = files_.find(file_id);
    if (it == files_.end()) return base::NotFoundError("no such file: " + std::string(file_id));
    path = it->second.path;
    files_.erase(it);
  }
  // A download in flight keeps its open descriptor; unlinking is safe on POSIX.
  RemoveQuietly(path);
  return base::Status::Ok();
}

base::Result<BatchSnapshot> BatchRegistry::CreateBatch(BatchSpec spec) {
  if (spec.formatter == nullptr) return base::InvalidArgumentError("batch spec needs a formatter");
  if (spec.input_path.empty()) return base::InvalidArgumentError("batch spec needs an input");

  auto batch = std::make_shared<Batch>();
  batch->api = spec.api;
  batch->created_at = clock_.Now();
  batch->validated_at =
      batch->created_at +
      (spec.validating ? SecondsToDuration(lifecycle_.validating_s) : base::Duration(0));
  batch->expires_at = batch->created_at + SecondsToDuration(lifecycle_.window_s);
  batch->processing_base = SecondsToDuration(lifecycle_.processing_s_base);
  batch->per_request = SecondsToDuration(lifecycle_.processing_s_per_request);
  batch->finalizing =
      spec.finalizing ? SecondsToDuration(lifecycle_.finalizing_s) : base::Duration(0);
  batch->errors = std::move(spec.validation_errors);
  batch->wire_fields = std::move(spec.wire_fields);
  batch->formatter = spec.formatter;

  const std::size_t api_index = static_cast<std::size_t>(spec.api);
  std::unique_lock lock(mutex_);
  ApiState& state = *api_state_[api_index];
  const std::int64_t ordinal = ++state.create_calls;
  const BatchFault fault = plan_.DecideBatchFault(seed_, spec.api, ordinal);

  switch (fault.kind) {
    case BatchFaultKind::kValidationFailure:
      if (!spec.validating) {
        return base::InvalidArgumentError("batch failed validation (injected by the fault plan)");
      }
      batch->errors.push_back(BatchError{
          "invalid_request", "The batch input failed validation (injected by the fault plan).",
          std::nullopt, std::nullopt});
      break;
    case BatchFaultKind::kTokenLimitExceeded: {
      const std::string model = batch->wire_fields.value("model", std::string("the model"));
      const std::string message = "Enqueued token limit reached for " + model +
                                  " in organization org-sim. Limit: 2,000,000 enqueued "
                                  "tokens. Please try again once some in_progress batches "
                                  "have been completed.";
      if (!spec.validating) return base::ResourceExhaustedError(message);
      batch->errors.push_back(
          BatchError{"token_limit_exceeded", message, std::nullopt, std::nullopt});
      break;
    }
    case BatchFaultKind::kNone:
    case BatchFaultKind::kExpire:
    case BatchFaultKind::kCancelByOther:
      break;
  }
  batch->fails_validation = !batch->errors.empty();

  batch->id = NewId(spec.id_prefix);
  ++state.batches_created;

  // The batch keeps its own link to the input, so the uploaded file may be deleted.
  batch->input_path = NewSpoolPath(batch->id + ".input");
  {
    std::error_code error;
    std::filesystem::create_hard_link(spec.input_path, batch->input_path, error);
    if (error) {
      std::filesystem::copy_file(spec.input_path, batch->input_path, error);
      if (error) {
        batch->input_path.clear();
        return base::InternalError("cannot spool batch input: " + error.message());
      }
    }
  }

  if (!batch->fails_validation) {
    batch->entries.reserve(spec.requests.size());
    for (auto& slice : spec.requests) {
      Batch::Entry entry;
      const std::int64_t attempt = ++state.submissions[slice.custom_id];
      entry.attempt = static_cast<std::int32_t>(attempt);
      entry.outcome = slice.outcome_override
                          ? *slice.outcome_override
                          : plan_.DecideRequestOutcome(seed_, slice.custom_id, attempt);
      entry.custom_id = std::move(slice.custom_id);
      entry.offset = slice.offset;
      entry.length = slice.length;
      batch->entries.push_back(std::move(entry));
    }
    state.requests_submitted += batch->size();
    // Processing (and so results) order: a seeded shuffle of the input order.
    base::SeededRandom random(MixHash(seed_, batch->id, 0));
    for (std::size_t i = batch->entries.size(); i > 1; --i) {
      std::swap(batch->entries[i - 1], batch->entries[random.Below(i)]);
    }
    const std::int64_t n = batch->size();
    const auto done_target = [&](double fraction) {
      return std::clamp<std::int64_t>(static_cast<std::int64_t>(fraction * static_cast<double>(n)),
                                      0, n);
    };
    batch->omit_unrun_lines = fault.omit_unrun_lines;
    if (fault.kind == BatchFaultKind::kExpire) {
      batch->expire_target =
          std::min(done_target(fault.completed_fraction), std::max<std::int64_t>(n - 1, 0));
    } else if (fault.kind == BatchFaultKind::kCancelByOther) {
      const std::int64_t m = done_target(fault.completed_fraction);
      // Strictly before the last request finishes, so the cancel is not a no-op.
      base::Timestamp at = m == 0 ? batch->validated_at : batch->FinishTime(m - 1);
      if (n > 0 && at >= batch->AllDoneAt()) at = batch->AllDoneAt() - base::Duration(1);
      batch->cancel_at = std::max(at, batch->validated_at);
    }
  }

  batches_.emplace(batch->id, batch);
  batch_order_.push_back(batch);
  lock.unlock();

  std::lock_guard batch_lock(batch->mutex);
  return Evaluate(*batch, clock_.Now());
}

std::shared_ptr<BatchRegistry::Batch> BatchRegistry::FindBatch(std::string_view batch_id) const {
  std::lock_guard lock(mutex_);
  const auto it = batches_.find(batch_id);
  return it == batches_.end() ? nullptr : it->second;
}

BatchSnapshot BatchRegistry::Evaluate(Batch& batch, base::Timestamp now) {
  BatchSnapshot s;
  s.id = batch.id;
  s.api = batch.api;
  s.now = now;
  s.created_at = batch.created_at;
  s.expires_at = batch.expires_at;
  s.total = batch.size();
  s.wire_fields = batch.wire_fields;

  const base::Timestamp t1 = batch.validated_at;
  const bool expires = batch.expire_target >= 0 || batch.AllDoneAt() > batch.expires_at;
  // The instant the batch would leave validating / in_progress without a cancel.
  const base::Timestamp natural_end = batch.fails_validation ? t1
                                      : expires              ? batch.expires_at
                                                             : batch.AllDoneAt();
  std::int64_t done = 0;
  if (batch.cancel_at && *batch.cancel_at < natural_end && *batch.cancel_at <= now) {
    const base::Timestamp tc = *batch.cancel_at;
    const base::Timestamp cancelled_at = tc + SecondsToDuration(lifecycle_.cancelling_s);
    if (tc >= t1) s.in_progress_at = t1;
    s.cancelling_at = tc;
    done = batch.fails_validation ? 0 : batch.DoneAt(tc);
    if (now < cancelled_at) {
      s.phase = BatchPhase::kCancelling;
    } else {
      s.phase = BatchPhase::kCancelled;
      s.cancelled_at = cancelled_at;
      s.ended_at = cancelled_at;
      s.cancelled = s.total - done;
    }
  } else if (now < t1) {
    s.phase = BatchPhase::kValidating;
  } else if (batch.fails_validation) {
    s.phase = BatchPhase::kFailed;
    s.failed_at = t1;
    s.ended_at = t1;
    s.errors = batch.errors;
  } else if (expires) {
    s.in_progress_at = t1;
    if (now < batch.expires_at) {
      s.phase = BatchPhase::kInProgress;
      done = batch.DoneAt(now);
    } else {
      s.phase = BatchPhase::kExpired;
      s.expired_at = batch.expires_at;
      s.ended_at = batch.expires_at;
      done = batch.DoneAt(batch.expires_at);
      s.expired = s.total - done;
    }
  } else {
    s.in_progress_at = t1;
    const base::Timestamp t2 = batch.AllDoneAt();
    const base::Timestamp t3 = t2 + batch.finalizing;
    if (now < t2) {
      s.phase = BatchPhase::kInProgress;
      done = batch.DoneAt(now);
    } else {
      done = s.total;
      s.finalizing_at = t2;
      if (now < t3) {
        s.phase = BatchPhase::kFinalizing;
      } else {
        s.phase = BatchPhase::kCompleted;
        s.completed_at = t3;
        s.ended_at = t3;
      }
    }
  }
  s.ran = done;
  s.ran_by_outcome = batch.CountsUpTo(done);
  return s;
}

void BatchRegistry::EnsureResults(Batch& batch, BatchSnapshot& snapshot) {
  const bool due =
      snapshot.phase == BatchPhase::kFinalizing || snapshot.phase == BatchPhase::kCompleted ||
      snapshot.phase == BatchPhase::kExpired || snapshot.phase == BatchPhase::kCancelled;
  if (!due) return;
  if (!batch.results_written) {
    const base::Status status = WriteResults(batch, snapshot);
    // A failed write (disk full) is retried on the next read; the batch stays finalizing
    // from the client's point of view.
    if (!status.ok()) {
      if (snapshot.phase == BatchPhase::kCompleted) {
        snapshot.phase = BatchPhase::kFinalizing;
        snapshot.completed_at.reset();
        snapshot.ended_at.reset();
      }
      return;
    }
    batch.results_written = true;
  }
  if (IsTerminal(snapshot.phase)) {
    snapshot.results_ready = true;
    snapshot.output_file = batch.output_file;
    snapshot.error_file = batch.error_file;
  }
}

base::Status BatchRegistry::WriteResults(Batch& batch, const BatchSnapshot& snapshot) {
  std::ifstream input(batch.input_path, std::ios::binary);
  if (!input) return base::InternalError("cannot read batch input " + batch.input_path.string());

  struct Sink {
    std::filesystem::path path;
    std::ofstream out;
    std::string buffer;
    std::int64_t lines = 0;
  };
  Sink sinks[2];
  sinks[0].path = NewSpoolPath(batch.id + "_output.jsonl");
  sinks[1].path = NewSpoolPath(batch.id + "_error.jsonl");
  for (auto& sink : sinks) {
    sink.out.open(sink.path, std::ios::binary | std::ios::trunc);
    if (!sink.out) return base::InternalError("cannot write " + sink.path.string());
    sink.buffer.reserve(kWriteBufferBytes + 4096);
  }

  const RequestFate not_run_fate =
      snapshot.phase == BatchPhase::kCancelled ? RequestFate::kCancelled : RequestFate::kExpired;
  const base::Timestamp end_time = snapshot.ended_at.value_or(snapshot.now);
  std::string request_json;
  std::string line;
  for (std::int64_t k = 0; k < batch.size(); ++k) {
    const Batch::Entry& entry = batch.entries[static_cast<std::size_t>(k)];
    request_json.resize(entry.length);
    input.seekg(static_cast<std::streamoff>(entry.offset));
    input.read(request_json.data(), static_cast<std::streamsize>(entry.length));
    if (!input) return base::DataLossError("batch input truncated at " + entry.custom_id);

    ResultLineInput in;
    in.batch_id = batch.id;
    in.custom_id = entry.custom_id;
    in.request_json = request_json;
    in.wire_fields = &batch.wire_fields;
    in.outcome = entry.outcome;
    in.attempt = entry.attempt;
    in.line_hash = MixHash(seed_, batch.id + "/" + entry.custom_id, 0);
    if (k < snapshot.ran) {
      in.fate = RequestFate::kRan;
      in.finished_at = batch.FinishTime(k);
    } else {
      if (batch.omit_unrun_lines) continue;
      in.fate = not_run_fate;
      in.finished_at = end_time;
    }
    line.clear();
    Sink& sink = sinks[static_cast<std::size_t>(batch.formatter->FormatLine(in, line))];
    sink.buffer += line;
    ++sink.lines;
    if (sink.buffer.size() >= kWriteBufferBytes) {
      sink.out.write(sink.buffer.data(), static_cast<std::streamsize>(sink.buffer.size()));
      sink.buffer.clear();
    }
  }
  for (auto& sink : sinks) {
    sink.out.write(sink.buffer.data(), static_cast<std::streamsize>(sink.buffer.size()));
    sink.out.close();
    if (!sink.out) {
      for (auto& other : sinks) RemoveQuietly(other.path);
      return base::InternalError("cannot write " + sink.path.string());
    }
  }

  std::optional<FileRecord>* targets[2] = {&batch.output_file, &batch.error_file};
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < 2; ++i) {
    if (sinks[i].lines == 0 || batch.dropped) {
      RemoveQuietly(sinks[i].path);
      continue;
    }
    FileRecord record;
    record.id = NewId("file-");
    record.api = batch.api;
    record.filename = batch.id + (i == 0 ? "_output.jsonl" : "_error.jsonl");
    record.purpose = "batch_output";
    std::error_code error;
    record.bytes = static_cast<std::int64_t>(std::filesystem::file_size(sinks[i].path, error));
    record.created_at = end_time;
    record.path = sinks[i].path;
    files_.emplace(record.id, record);
    *targets[i] = std::move(record);
  }
  return base::Status::Ok();
}

base::Result<BatchSnapshot> BatchRegistry::GetBatch(std::string_view batch_id) {
  auto batch = FindBatch(batch_id);
  if (!batch) return base::NotFoundError("no such batch: " + std::string(batch_id));
  std::lock_guard lock(batch->mutex);
  BatchSnapshot snapshot = Evaluate(*batch, clock_.Now());
  EnsureResults(*batch, snapshot);
  return snapshot;
}

base::Result<BatchSnapshot> BatchRegistry::CancelBatch(std::string_view batch_id) {
  auto batch = FindBatch(batch_id);
  if (!batch) return base::NotFoundError("no such batch: " + std::string(batch_id));
  std::lock_guard lock(batch->mutex);
  const base::Timestamp now = clock_.Now();
  BatchSnapshot snapshot = Evaluate(*batch, now);
  switch (snapshot.phase) {
    case BatchPhase::kValidating:
    case BatchPhase::kInProgress:
      batch->cancel_at = now;
      snapshot = Evaluate(*batch, now);
      break;
    case BatchPhase::kCancelling:
      break;
    case BatchPhase::kFinalizing:
    case BatchPhase::kFailed:
    case BatchPhase::kCompleted:
    case BatchPhase::kExpired:
    case BatchPhase::kCancelled:
      EnsureResults(*batch, snapshot);
      return base::FailedPreconditionError("batch " + batch->id + " is " +
                                           std::string(BatchPhaseName(snapshot.phase)) +
                                           " and can no longer be cancelled");
  }
  EnsureResults(*batch, snapshot);
  return snapshot;
}

base::Status BatchRegistry::DeleteBatch(std::string_view batch_id) {
  auto batch = FindBatch(batch_id);
  if (!batch) return base::NotFoundError("no such batch: " + std::string(batch_id));
  std::unique_lock batch_lock(batch->mutex);
  BatchSnapshot snapshot = Evaluate(*batch, clock_.Now());
  if (!IsTerminal(snapshot.phase)) {
    return base::FailedPreconditionError("batch " + batch->id + " is still " +
                                         std::string(BatchPhaseName(snapshot.phase)));
  }
  std::vector<std::filesystem::path> doomed;
  {
    std::lock_guard lock(mutex_);
    batch->dropped = true;
    batches_.erase(batch->id);
    std::erase(batch_order_, batch);
    for (const auto* file : {&batch->output_file, &batch->error_file}) {
      if (!file->has_value()) continue;
      files_.erase((*file)->id);
      doomed.push_back((*file)->path);
    }
  }
  for (const auto& path : doomed) RemoveQuietly(path);
  return base::Status::Ok();
}

base::Result<BatchListPage> BatchRegistry::ListBatches(Api api, std::string_view after_id,
                                                       std::string_view before_id,
                                                       std::size_t limit) {
  if (limit == 0) return base::InvalidArgumentError("limit must be >= 1");
  std::vector<std::shared_ptr<Batch>> newest_first;
  {
    std::lock_guard lock(mutex_);
    for (auto it = batch_order_.rbegin(); it != batch_order_.rend(); ++it) {
      if ((*it)->api == api) newest_first.push_back(*it);
    }
  }
  const auto position = [&](std::string_view id) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < newest_first.size(); ++i) {
      if (newest_first[i]->id == id) return i;
    }
    return std::nullopt;
  };
  std::size_t begin = 0;
  std::size_t end = newest_first.size();
  bool has_more = false;
  if (!after_id.empty()) {
    const auto at = position(after_id);
    if (!at) return base::NotFoundError("no such batch: " + std::string(after_id));
    begin = *at + 1;
  }
  if (!before_id.empty()) {
    const auto at = position(before_id);
    if (!at) return base::NotFoundError("no such batch: " + std::string(before_id));
    end = std::min(end, *at);
    // Paging backwards: the `limit` entries closest to the cursor.
    if (end > begin + limit) {
      begin = end - limit;
      has_more = true;
    }
  } else if (end > begin + limit) {
    end = begin + limit;
    has_more = true;
  }
  BatchListPage page;
  page.has_more = has_more;
  const base::Timestamp now = clock_.Now();
  for (std::size_t i = begin; i < end; ++i) {
    Batch& batch = *newest_first[i];
    std::lock_guard lock(batch.mutex);
    BatchSnapshot snapshot = Evaluate(batch, now);
    EnsureResults(batch, snapshot);
    page.batches.push_back(std::move(snapshot));
  }
  return page;
}

ControlFault BatchRegistry::NextControlFault(Api api, Operation operation) {
  std::int64_t call = 0;
  {
    std::lock_guard lock(mutex_);
    call = ++api_state_[static_cast<std::size_t>(api)]
                 ->control_calls[static_cast<std::size_t>(operation)];
  }
  ControlFault fault = plan_.DecideControlFault(seed_, api, operation, call);
  if (fault.kind != ControlFaultKind::kNone) {
    std::lock_guard lock(mutex_);
    ++api_state_[static_cast<std::size_t>(api)]->control_faults_injected;
  }
  return fault;
}

std::int64_t BatchRegistry::SubmissionCount(Api api, std::string_view custom_id) const {
  std::lock_guard lock(mutex_);
  const auto& submissions = api_state_[static_cast<std::size_t>(api)]->submissions;
  const auto it = submissions.find(custom_id);
  return it == submissions.end() ? 0 : it->second;
}

nlohmann::json BatchRegistry::StatsJson() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t i = 0; i < kApiCount; ++i) {
    const ApiState& state = *api_state_[i];
    nlohmann::json calls = nlohmann::json::object();
    for (std::size_t op = 0; op < kOperationCount; ++op) {
      calls[std::string(OperationName(static_cast<Operation>(op)))] = state.control_calls[op];
    }
    nlohmann::json submissions = nlohmann::json::object();
    for (const auto& [custom_id, count] : state.submissions) submissions[custom_id] = count;
    out[std::string(ApiName(static_cast<Api>(i)))] = {
        {"batches_created", state.batches_created},
        {"files_created", state.files_created},
        {"requests_submitted", state.requests_submitted},
        {"control_calls", std::move(calls)},
        {"control_faults_injected", state.control_faults_injected},
        {"submissions", std::move(submissions)},
    };
  }
  return out;
}

void BatchRegistry::Reset() {
  std::vector<std::filesystem::path> doomed;
  std::vector<std::shared_ptr<Batch>> batches;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, file] : files_) doomed.push_back(file.path);
    files_.clear();
    for (auto& [id, batch] : batches_) {
      batch->dropped = true;
      batches.push_back(batch);
    }
    batches_.clear();
    batch_order_.clear();
    for (auto& state : api_state_) state = std::make_unique<ApiState>();
    id_counter_ = 0;
  }
  for (const auto& path : doomed) RemoveQuietly(path);
  // Dropping the last references removes each batch's input link.
  batches.clear();
}

}  // namespace batchlog::sim
