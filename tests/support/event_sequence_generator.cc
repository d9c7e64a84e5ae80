#include "tests/support/event_sequence_generator.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <utility>

#include "src/base/random.h"

namespace batchlog::testing {
namespace {

namespace v1 = events::v1;

constexpr std::int64_t kEventSpacingUs = 1000;

void SetUsage(v1::Usage* usage, std::uint64_t input_tokens, std::uint64_t output_tokens) {
  usage->set_input_tokens(input_tokens);
  usage->set_output_tokens(output_tokens);
}

std::string Hex(std::uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xf];
    value >>= 4;
  }
  return out;
}

std::string Padded(std::uint64_t value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

struct ErrorKind {
  const char* code;
  const char* type;
  std::int32_t http_status;
  v1::ErrorClass error_class;
};

constexpr std::array<ErrorKind, 6> kRetryableErrors = {{
    {"rate_limit_exceeded", "rate_limit_error", 429, v1::ERROR_CLASS_RETRYABLE},
    {"server_error", "api_error", 500, v1::ERROR_CLASS_RETRYABLE},
    {"timeout", "timeout_error", 504, v1::ERROR_CLASS_RETRYABLE},
    {"overloaded_error", "overloaded_error", 529, v1::ERROR_CLASS_RETRYABLE},
    {"api_error", "api_error", 502, v1::ERROR_CLASS_RETRYABLE},
    {"mystery_error", "mystery", 418, v1::ERROR_CLASS_UNKNOWN},
}};
constexpr std::array<ErrorKind, 3> kPermanentErrors = {{
    {"invalid_request_error", "invalid_request_error", 400, v1::ERROR_CLASS_PERMANENT},
    {"content_policy_violation", "invalid_request_error", 400, v1::ERROR_CLASS_PERMANENT},
    {"context_length_exceeded", "invalid_request_error", 400, v1::ERROR_CLASS_PERMANENT},
}};

// Generates one workflow's events (seqs and times are assigned when workflows are merged).
class WorkflowGenerator {
 public:
  WorkflowGenerator(const GeneratorOptions& options, std::uint32_t workflow, std::uint64_t seed)
      : options_(options),
        workflow_index_(workflow),
        workflow_("workflow-" + std::to_string(workflow)),
        random_(seed),
        builder_(options.run_id) {}

  std::vector<v1::Event> Generate() {
    std::vector<std::string> ids;
    ids.reserve(options_.requests_per_workflow);
    for (std::uint32_t i = 0; i < options_.requests_per_workflow; ++i) {
      ids.push_back("w" + std::to_string(workflow_index_) + "_sample_" + Padded(i, 6) + "_e0_" +
                    Hex(random_.NextU64(), 6));
    }
    std::vector<std::string> sources(ids.size());
    for (std::uint32_t stage = 1; stage <= options_.stages; ++stage) {
      ids = RunStage(stage, ids, sources);
      sources = ids;
      for (std::string& id : ids) id = "s" + std::to_string(stage + 1) + "_" + id;
    }
    return builder_.Take();
  }

 private:
  struct Pending {
    std::uint32_t request;
    std::uint32_t attempt;
  };

  bool Chance(double probability) { return random_.NextUnit() < probability; }

  // Runs one stage to completion; returns the custom_ids that succeeded, in ordinal order.
  std::vector<std::string> RunStage(std::uint32_t stage_number, const std::vector<std::string>& ids,
                                    const std::vector<std::string>& sources) {
    const std::string stage = "stage_" + std::to_string(stage_number);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      v1::Event& event = builder_.RequestPlanned(workflow_, stage, ids[i], i);
      v1::RequestPlanned* planned = event.mutable_request_planned();
      planned->set_source_custom_id(sources[i]);
      planned->set_estimated_input_tokens(100 + random_.Below(400));
      planned->set_model("gpt-4o-mini");
    }
    std::vector<bool> succeeded(ids.size(), false);
    std::vector<Pending> pending;
    pending.reserve(ids.size());
    for (std::uint32_t i = 0; i < ids.size(); ++i) pending.push_back({i, 1});

    std::vector<Pending> next;
    // Request indices to retry, by the attempt the retry will be.
    std::vector<std::vector<std::uint32_t>> retries(options_.max_retries + 2);
    std::vector<std::uint32_t> permanent;
    std::vector<std::uint32_t> exhausted;
    std::uint32_t failed_count = 0;
    for (int round = 0; !pending.empty(); ++round) {
      // Batch-level trouble stops after a while so every stage terminates.
      const bool trouble = round < 20;
      next.clear();
      const std::size_t batch_size = std::max<std::size_t>(1, options_.max_batch_size);
      for (std::size_t begin = 0; begin < pending.size(); begin += batch_size) {
        const std::size_t end = std::min(pending.size(), begin + batch_size);
        const auto first = pending.begin() + static_cast<std::ptrdiff_t>(begin);
        const auto last = pending.begin() + static_cast<std::ptrdiff_t>(end);
        const std::string key = workflow_ + "-" + stage + "-b" + std::to_string(batch_counter_++);
        v1::BatchPlanned* planned = builder_.Append().mutable_batch_planned();
        planned->set_batch_key(key);
        planned->set_workflow(workflow_);
        planned->set_stage(stage);
        planned->set_provider("openai");
        planned->set_endpoint("/v1/chat/completions");
        planned->set_model("gpt-4o-mini");
        planned->mutable_custom_ids()->Reserve(static_cast<int>(end - begin));
        for (auto it = first; it != last; ++it) {
          planned->add_custom_ids(ids[it->request]);
          planned->add_attempts(it->attempt);
        }
        const std::uint64_t planned_seq = builder_.last_seq();
        if (Chance(0.01)) {
          v1::QuotaWarning* warning = builder_.Append().mutable_quota_warning();
          warning->set_provider("openai");
          warning->set_model("gpt-4o-mini");
          warning->set_holding(Chance(0.5));
        }
        if (trouble && Chance(options_.submit_reject_rate)) {
          v1::SubmitRejected* rejected = builder_.Append().mutable_submit_rejected();
          rejected->set_batch_key(key);
          rejected->set_planned_seq(planned_seq);
          rejected->set_http_status(400);
          rejected->set_error_code("invalid_file");
          rejected->set_error_class(v1::ERROR_CLASS_PERMANENT);
          next.insert(next.end(), first, last);
          continue;
        }
        v1::FileUploaded* uploaded = builder_.Append().mutable_file_uploaded();
        uploaded->set_batch_key(key);
        uploaded->set_planned_seq(planned_seq);
        uploaded->set_file_id("file-" + Hex(random_.NextU64(), 12));
        builder_.BatchSubmitted(key, "batch_" + Hex(random_.NextU64(), 16))
            .mutable_batch_submitted()
            ->set_planned_seq(planned_seq);
        for (std::uint64_t polls = random_.Below(3); polls > 0; --polls) {
          v1::BatchPolled* polled = builder_.Append().mutable_batch_polled();
          polled->set_batch_key(key);
          polled->set_status(v1::BATCH_STATUS_IN_PROGRESS);
          polled->set_provider_status("in_progress");
          polled->mutable_counts()->set_total(static_cast<std::uint32_t>(end - begin));
        }
        const double roll = random_.NextUnit();
        if (trouble && roll < options_.batch_failure_rate) {
          v1::BatchEnded* ended =
              builder_.BatchEnded(key, v1::BATCH_STATUS_FAILED).mutable_batch_ended();
          ended->set_planned_seq(planned_seq);
          v1::BatchError* error = ended->add_errors();
          error->set_code("invalid_json_line");
          error->set_line(1);
          builder_.ResultsIngested(key).mutable_results_ingested()->set_planned_seq(planned_seq);
          next.insert(next.end(), first, last);
          continue;
        }
        const bool expired =
            trouble && roll < options_.batch_failure_rate + options_.batch_expiry_rate;
        builder_.BatchEnded(key, expired ? v1::BATCH_STATUS_EXPIRED : v1::BATCH_STATUS_COMPLETED)
            .mutable_batch_ended()
            ->set_planned_seq(planned_seq);
        std::uint32_t batch_succeeded = 0;
        std::uint32_t batch_failed = 0;
        for (auto it = first; it != last; ++it) {
          const Pending member = *it;
          const std::string& id = ids[member.request];
          if (expired && Chance(0.5)) {
            v1::RequestFailed* failed = builder_
                                            .RequestFailed(key, id, member.attempt, "batch_expired",
                                                           v1::ERROR_CLASS_RETRYABLE)
                                            .mutable_request_failed();
            failed->set_error_type("expired");
            ++batch_failed;
            Retry(member, retries, exhausted);
          } else if (Chance(options_.failure_rate)) {
            const bool is_permanent = Chance(options_.permanent_share);
            const ErrorKind& kind = is_permanent
                                        ? kPermanentErrors[random_.Below(kPermanentErrors.size())]
                                        : kRetryableErrors[random_.Below(kRetryableErrors.size())];
            const std::uint64_t billed = Chance(0.2) ? 10 + random_.Below(100) : 0;
            v1::RequestFailed* failed = builder_
                                            .RequestFailed(key, id, member.attempt, kind.code,
                                                           kind.error_class, billed, billed / 2)
                                            .mutable_request_failed();
            failed->set_error_type(kind.type);
            failed->set_http_status(kind.http_status);
            failed->set_message("generated failure");
            ++batch_failed;
            if (is_permanent) {
              permanent.push_back(member.request);
            } else {
              Retry(member, retries, exhausted);
            }
          } else {
            builder_
                .RequestSucceeded(key, id, member.attempt, 50 + random_.Below(500),
                                  10 + random_.Below(300))
                .mutable_request_succeeded()
                ->set_finish_reason("stop");
            succeeded[member.request] = true;
            ++batch_succeeded;
          }
        }
        v1::ResultsIngested* ingested = builder_.ResultsIngested(key).mutable_results_ingested();
        ingested->set_planned_seq(planned_seq);
        ingested->set_succeeded(batch_succeeded);
        ingested->set_failed(batch_failed);
      }
      // Decisions after the round: abandon what cannot be retried, schedule the rest.
      failed_count += static_cast<std::uint32_t>(permanent.size() + exhausted.size());
      Abandon(stage, ids, permanent, v1::ABANDON_REASON_PERMANENT);
      Abandon(stage, ids, exhausted, v1::ABANDON_REASON_EXHAUSTED);
      for (std::uint32_t attempt = 2; attempt < retries.size(); ++attempt) {
        std::vector<std::uint32_t>& group = retries[attempt];
        if (group.empty()) continue;
        const double jitter = random_.Uniform(0.8, 1.2);
        const double delay_s = std::min(300.0, 30.0 * static_cast<double>(1u << (attempt - 2)));
        v1::RetryScheduled* scheduled = builder_.Append().mutable_retry_scheduled();
        scheduled->set_workflow(workflow_);
        scheduled->set_stage(stage);
        scheduled->mutable_custom_ids()->Reserve(static_cast<int>(group.size()));
        for (const std::uint32_t request : group) {
          scheduled->add_custom_ids(ids[request]);
          next.push_back({request, attempt});
        }
        scheduled->set_attempt(attempt);
        scheduled->set_not_before_unix_us(builder_.now_unix_us() +
                                          static_cast<std::int64_t>(delay_s * jitter * 1e6));
        scheduled->set_delay_s(delay_s * jitter);
        scheduled->set_jitter_factor(jitter);
        group.clear();
      }
      pending.swap(next);
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (succeeded[i]) out.push_back(ids[i]);
    }
    v1::StageCompleted* completed =
        builder_.StageCompleted(workflow_, stage).mutable_stage_completed();
    completed->set_succeeded(static_cast<std::uint32_t>(out.size()));
    completed->set_failed(failed_count);
    return out;
  }

  void Retry(const Pending& member, std::vector<std::vector<std::uint32_t>>& retries,
             std::vector<std::uint32_t>& exhausted) {
    if (member.attempt > options_.max_retries) {
      exhausted.push_back(member.request);
    } else {
      retries[member.attempt + 1].push_back(member.request);
    }
  }

  void Abandon(const std::string& stage, const std::vector<std::string>& ids,
               std::vector<std::uint32_t>& requests, v1::AbandonReason reason) {
    if (requests.empty()) return;
    v1::RequestsAbandoned* abandoned = builder_.Append().mutable_requests_abandoned();
    abandoned->set_workflow(workflow_);
    abandoned->set_stage(stage);
    for (const std::uint32_t request : requests) abandoned->add_custom_ids(ids[request]);
    abandoned->set_reason(reason);
    requests.clear();
  }

  const GeneratorOptions& options_;
  std::uint32_t workflow_index_;
  std::string workflow_;
  base::SeededRandom random_;
  EventSequenceBuilder builder_;
  std::uint64_t batch_counter_ = 0;
};

}  // namespace

EventSequenceBuilder::EventSequenceBuilder(std::string run_id, std::int64_t start_unix_us)
    : run_id_(std::move(run_id)), now_unix_us_(start_unix_us) {}

v1::Event& EventSequenceBuilder::Append() {
  v1::Event& event = events_.emplace_back();
  now_unix_us_ += kEventSpacingUs;
  event.set_seq(events_.size());
  event.set_run_id(run_id_);
  event.set_recorded_at_unix_us(now_unix_us_);
  return event;
}

v1::Event& EventSequenceBuilder::RunStarted() {
  v1::Event& event = Append();
  v1::RunStarted* started = event.mutable_run_started();
  started->set_run_name("generated");
  started->set_config_text("workflows: []\n");
  started->set_config_sha256(std::string(64, '0'));
  started->set_batchlog_version("0.1.0");
  started->set_random_seed(7);
  return event;
}

v1::Event& EventSequenceBuilder::RequestPlanned(std::string_view workflow, std::string_view stage,
                                                std::string_view custom_id, std::uint64_t ordinal) {
  v1::Event& event = Append();
  v1::RequestPlanned* planned = event.mutable_request_planned();
  planned->set_workflow(std::string(workflow));
  planned->set_stage(std::string(stage));
  planned->set_custom_id(std::string(custom_id));
  planned->set_ordinal(ordinal);
  return event;
}

v1::Event& EventSequenceBuilder::BatchPlanned(std::string_view batch_key, std::string_view workflow,
                                              std::string_view stage,
                                              const std::vector<std::string>& custom_ids,
                                              std::uint32_t attempt) {
  v1::Event& event = Append();
  v1::BatchPlanned* planned = event.mutable_batch_planned();
  planned->set_batch_key(std::string(batch_key));
  planned->set_workflow(std::string(workflow));
  planned->set_stage(std::string(stage));
  planned->set_provider("openai");
  for (const std::string& custom_id : custom_ids) {
    planned->add_custom_ids(custom_id);
    planned->add_attempts(attempt);
  }
  return event;
}

v1::Event& EventSequenceBuilder::BatchSubmitted(std::string_view batch_key,
                                                std::string_view provider_batch_id) {
  v1::Event& event = Append();
  v1::BatchSubmitted* submitted = event.mutable_batch_submitted();
  submitted->set_batch_key(std::string(batch_key));
  submitted->set_provider_batch_id(std::string(provider_batch_id));
  return event;
}

v1::Event& EventSequenceBuilder::BatchEnded(std::string_view batch_key, v1::BatchStatus status) {
  v1::Event& event = Append();
  v1::BatchEnded* ended = event.mutable_batch_ended();
  ended->set_batch_key(std::string(batch_key));
  ended->set_status(status);
  return event;
}

v1::Event& EventSequenceBuilder::RequestSucceeded(std::string_view batch_key,
                                                  std::string_view custom_id, std::uint32_t attempt,
                                                  std::uint64_t input_tokens,
                                                  std::uint64_t output_tokens) {
  v1::Event& event = Append();
  v1::RequestSucceeded* succeeded = event.mutable_request_succeeded();
  succeeded->set_batch_key(std::string(batch_key));
  succeeded->set_custom_id(std::string(custom_id));
  succeeded->set_attempt(attempt);
  SetUsage(succeeded->mutable_usage(), input_tokens, output_tokens);
  return event;
}

v1::Event& EventSequenceBuilder::RequestFailed(std::string_view batch_key,
                                               std::string_view custom_id, std::uint32_t attempt,
                                               std::string_view code, v1::ErrorClass error_class,
                                               std::uint64_t input_tokens,
                                               std::uint64_t output_tokens) {
  v1::Event& event = Append();
  v1::RequestFailed* failed = event.mutable_request_failed();
  failed->set_batch_key(std::string(batch_key));
  failed->set_custom_id(std::string(custom_id));
  failed->set_attempt(attempt);
  failed->set_code(std::string(code));
  failed->set_error_class(error_class);
  if (input_tokens != 0 || output_tokens != 0) {
    SetUsage(failed->mutable_usage(), input_tokens, output_tokens);
  }
  return event;
}

v1::Event& EventSequenceBuilder::ResultsIngested(std::string_view batch_key) {
  v1::Event& event = Append();
  event.mutable_results_ingested()->set_batch_key(std::string(batch_key));
  return event;
}

v1::Event& EventSequenceBuilder::RetryScheduled(std::string_view workflow, std::string_view stage,
                                                const std::vector<std::string>& custom_ids,
                                                std::uint32_t attempt,
                                                std::int64_t not_before_unix_us) {
  v1::Event& event = Append();
  v1::RetryScheduled* scheduled = event.mutable_retry_scheduled();
  scheduled->set_workflow(std::string(workflow));
  scheduled->set_stage(std::string(stage));
  for (const std::string& custom_id : custom_ids) scheduled->add_custom_ids(custom_id);
  scheduled->set_attempt(attempt);
  scheduled->set_not_before_unix_us(not_before_unix_us);
  return event;
}

v1::Event& EventSequenceBuilder::RequestsAbandoned(std::string_view workflow,
                                                   std::string_view stage,
                                                   const std::vector<std::string>& custom_ids,
                                                   v1::AbandonReason reason) {
  v1::Event& event = Append();
  v1::RequestsAbandoned* abandoned = event.mutable_requests_abandoned();
  abandoned->set_workflow(std::string(workflow));
  abandoned->set_stage(std::string(stage));
  for (const std::string& custom_id : custom_ids) abandoned->add_custom_ids(custom_id);
  abandoned->set_reason(reason);
  return event;
}

v1::Event& EventSequenceBuilder::StageCompleted(std::string_view workflow, std::string_view stage) {
  v1::Event& event = Append();
  v1::StageCompleted* completed = event.mutable_stage_completed();
  completed->set_workflow(std::string(workflow));
  completed->set_stage(std::string(stage));
  return event;
}

v1::Event& EventSequenceBuilder::RunCompleted() {
  v1::Event& event = Append();
  event.mutable_run_completed();
  return event;
}

std::vector<v1::Event> GenerateRun(const GeneratorOptions& options, std::uint64_t seed) {
  base::SeededRandom random(seed);
  std::vector<std::vector<v1::Event>> workflows;
  std::size_t total = 2;
  for (std::uint32_t w = 0; w < options.workflows; ++w) {
    workflows.push_back(WorkflowGenerator(options, w, random.NextU64()).Generate());
    total += workflows.back().size();
  }

  std::vector<v1::Event> out;
  out.reserve(total);
  std::int64_t now = EventSequenceBuilder::kDefaultStartUnixUs;
  // Gives the event its final seq and time. A RetryScheduled keeps its delay relative to
  // its own recorded time; planned_seq references move with the BatchPlanned they name.
  const auto place = [&](v1::Event& event, std::vector<std::uint64_t>* final_seq) {
    const std::int64_t generated_at = event.recorded_at_unix_us();
    now += 1 + static_cast<std::int64_t>(random.Below(1000));
    const std::uint64_t seq = out.size() + 1;
    if (final_seq != nullptr) (*final_seq)[event.seq()] = seq;
    event.set_seq(seq);
    event.set_recorded_at_unix_us(now);
    const auto remap = [final_seq](std::uint64_t planned_seq) {
      return final_seq != nullptr && planned_seq != 0 ? (*final_seq)[planned_seq] : planned_seq;
    };
    switch (event.payload_case()) {
      case v1::Event::kRetryScheduled: {
        v1::RetryScheduled* scheduled = event.mutable_retry_scheduled();
        scheduled->set_not_before_unix_us(now + (scheduled->not_before_unix_us() - generated_at));
        break;
      }
      case v1::Event::kFileUploaded:
        event.mutable_file_uploaded()->set_planned_seq(remap(event.file_uploaded().planned_seq()));
        break;
      case v1::Event::kBatchSubmitted:
        event.mutable_batch_submitted()->set_planned_seq(
            remap(event.batch_submitted().planned_seq()));
        break;
      case v1::Event::kSubmitRejected:
        event.mutable_submit_rejected()->set_planned_seq(
            remap(event.submit_rejected().planned_seq()));
        break;
      case v1::Event::kBatchEnded:
        event.mutable_batch_ended()->set_planned_seq(remap(event.batch_ended().planned_seq()));
        break;
      case v1::Event::kResultsIngested:
        event.mutable_results_ingested()->set_planned_seq(
            remap(event.results_ingested().planned_seq()));
        break;
      default:
        break;
    }
    out.push_back(std::move(event));
  };

  EventSequenceBuilder run_events(options.run_id);
  run_events.RunStarted();
  run_events.RunCompleted().mutable_run_completed()->set_workflows(options.workflows);
  std::vector<v1::Event> bookends = run_events.Take();
  place(bookends[0], nullptr);

  // Interleave the workflows in random runs of events, as the orchestrator's steps would:
  // each workflow keeps its order, and workflows touch disjoint stages and batches, so
  // every interleaving is a valid log. Long runs also keep each event's memory near the
  // previous one's, as a reader decoding a log sequentially would have it.
  std::vector<std::size_t> cursor(workflows.size(), 0);
  std::vector<std::vector<std::uint64_t>> final_seq(workflows.size());
  std::vector<std::uint32_t> open;
  for (std::uint32_t w = 0; w < workflows.size(); ++w) {
    final_seq[w].assign(workflows[w].size() + 1, 0);
    if (!workflows[w].empty()) open.push_back(w);
  }
  while (!open.empty()) {
    const std::size_t pick = random.Below(open.size());
    const std::uint32_t w = open[pick];
    for (std::uint64_t run = 1 + random.Below(256); run > 0 && cursor[w] < workflows[w].size();
         --run) {
      place(workflows[w][cursor[w]++], &final_seq[w]);
    }
    if (cursor[w] == workflows[w].size()) {
      open[pick] = open.back();
      open.pop_back();
    }
  }
  place(bookends[1], nullptr);

  if (options.stop_at_random_point) out.resize(1 + random.Below(out.size()));
  return out;
}

std::uint64_t SeedFromEnvironment(std::uint64_t default_seed) {
  const char* text = std::getenv("BATCHLOG_SEED");
  if (text == nullptr || *text == '\0') return default_seed;
  char* end = nullptr;
  const unsigned long long seed = std::strtoull(text, &end, 10);
  return end != nullptr && *end == '\0' ? seed : default_seed;
}

}  // namespace batchlog::testing
