#include "tests/support/sample_events.h"

#include <cstdint>
#include <string>
#include <utility>

namespace batchlog::testing {

namespace {

namespace v1 = events::v1;

// 2023-11-14T22:13:20Z, then one second per event.
constexpr std::int64_t kFirstRecordedAtUnixUs = 1'700'000'000'000'000;

void FillCounts(v1::RequestCounts* counts) {
  counts->set_total(100);
  counts->set_processing(1);
  counts->set_succeeded(90);
  counts->set_failed(5);
  counts->set_cancelled(2);
  counts->set_expired(2);
}

void FillUsage(v1::Usage* usage) {
  usage->set_input_tokens(1200);
  usage->set_output_tokens(340);
  usage->set_cached_input_tokens(800);
  usage->set_cache_write_input_tokens(150);
}

class Builder {
 public:
  v1::Event& Add(std::string blob = {}) {
    store::PendingEvent pending;
    pending.event.set_recorded_at_unix_us(kFirstRecordedAtUnixUs +
                                          static_cast<std::int64_t>(events_.size()) * 1'000'000);
    pending.blob = std::move(blob);
    events_.push_back(std::move(pending));
    return events_.back().event;
  }
  std::vector<store::PendingEvent> Take() { return std::move(events_); }

 private:
  std::vector<store::PendingEvent> events_;
};

}  // namespace

std::vector<store::PendingEvent> OneOfEachEventType() {
  Builder b;
  {
    auto* e = b.Add().mutable_run_started();
    e->set_run_name("math-paraphrase");
    e->set_config_text("name: math-paraphrase\nstages: 2\n");
    e->set_config_sha256("4f2a9c1d0e8b7a6f5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b");
    e->set_config_path("examples/math.yaml");
    e->set_batchlog_version("0.1.0");
    e->set_random_seed(424242);
    auto* price = e->add_prices();
    price->set_workflow("math");
    price->set_stage("stage_1");
    price->set_model("gpt-4o-mini");
    price->set_input_per_million(0.15);
    price->set_output_per_million(0.6);
    price->set_batch_discount(0.5);
    price->set_cached_input_per_million(0.075);
    price->set_cached_in_input(true);
    price->set_cache_write_input_per_million(0.1875);
    auto* fork = e->mutable_forked_from();
    fork->set_source_run_id("math-20261127-101500");
    fork->set_source_seq(9123);
    fork->set_from_stage("stage_2");
    auto* carried = fork->add_carried_stages();
    carried->set_workflow("math");
    carried->set_stage("stage_1");
    carried->set_source_completed_seq(8001);
    auto* dataset = e->add_datasets();
    dataset->set_workflow("math");
    dataset->set_path("data/math.jsonl");
    dataset->set_sha256("9b1c7e0f2a3d4c5b6a7980f1e2d3c4b5a69788f0e1d2c3b4a5968778695a4b3c");
    dataset->set_bytes(48213);
    e->set_in_process_emulator(true);
  }
  {
    auto* e = b.Add(R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"2+2?"}]})")
                  .mutable_request_planned();
    e->set_workflow("math-paraphrase");
    e->set_stage("stage_2");
    e->set_custom_id("sample_005_original_e0_3f2a9c");
    e->set_ordinal(5);
    e->set_source_custom_id("sample_005_original_e0_1a2b3c");
    e->set_estimated_input_tokens(1200);
    e->set_model("gpt-4o-mini");
  }
  {
    auto* e = b.Add().mutable_batch_planned();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_workflow("math-paraphrase");
    e->set_stage("stage_1");
    e->set_provider("openai");
    e->add_custom_ids("sample_000_original_e0_aaaaaa");
    e->add_custom_ids("sample_001_original_e0_bbbbbb");
    e->add_attempts(1);
    e->add_attempts(2);
    e->set_estimated_input_tokens(2400);
    e->set_input_bytes(4096);
    e->set_endpoint("/v1/chat/completions");
    e->set_model("gpt-4o-mini");
  }
  {
    auto* e = b.Add().mutable_file_uploaded();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_planned_seq(3);
    e->set_file_id("file-abc123");
    e->set_bytes(4096);
  }
  {
    auto* e = b.Add().mutable_batch_submitted();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_planned_seq(3);
    e->set_provider_batch_id("batch_abc123");
    e->set_adopted(true);
    e->set_provider_created_at_unix_us(kFirstRecordedAtUnixUs + 4'500'000);
  }
  {
    auto* e = b.Add().mutable_submit_rejected();
    e->set_batch_key("math-paraphrase/stage_1/a1/0002");
    e->set_planned_seq(4);
    e->set_http_status(429);
    e->set_error_type("rate_limit_error");
    e->set_error_code("rate_limit_exceeded");
    e->set_message("Enqueued token limit reached");
    e->set_retry_after_s(30.5);
    e->set_error_class(v1::ERROR_CLASS_RETRYABLE);
    e->set_unknown_code(true);
  }
  {
    auto* e = b.Add().mutable_batch_polled();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_status(v1::BATCH_STATUS_IN_PROGRESS);
    e->set_provider_status("in_progress");
    FillCounts(e->mutable_counts());
  }
  {
    auto* e = b.Add().mutable_batch_ended();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_status(v1::BATCH_STATUS_COMPLETED);
    e->set_provider_status("completed");
    FillCounts(e->mutable_counts());
    e->set_output_file_id("file-out-1");
    e->set_error_file_id("file-err-1");
    e->set_results_url("https://api.example.test/v1/batches/batch_abc123/results");
    auto* error = e->add_errors();
    error->set_code("invalid_request");
    error->set_message("line 3: missing custom_id");
    error->set_line(3);
    error->set_param("custom_id");
    e->set_planned_seq(3);
  }
  {
    auto* e = b.Add(R"({"id":"chatcmpl-1","choices":[{"message":{"content":"4"}}]})")
                  .mutable_request_succeeded();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_custom_id("sample_000_original_e0_aaaaaa");
    e->set_attempt(1);
    FillUsage(e->mutable_usage());
    e->set_finish_reason("stop");
  }
  {
    auto* e = b.Add(R"({"error":{"code":"server_error","message":"overloaded"}})")
                  .mutable_request_failed();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_custom_id("sample_001_original_e0_bbbbbb");
    e->set_attempt(2);
    e->set_code("server_error");
    e->set_error_type("api_error");
    e->set_message("The server is overloaded");
    e->set_http_status(503);
    e->set_error_class(v1::ERROR_CLASS_RETRYABLE);
    e->set_unknown_code(true);
    FillUsage(e->mutable_usage());
  }
  {
    auto* e = b.Add().mutable_results_ingested();
    e->set_batch_key("math-paraphrase/stage_1/a1/0001");
    e->set_planned_seq(3);
    e->set_succeeded(90);
    e->set_failed(8);
    e->set_missing(2);
  }
  {
    auto* e = b.Add().mutable_retry_scheduled();
    e->set_workflow("math-paraphrase");
    e->set_stage("stage_1");
    e->add_custom_ids("sample_001_original_e0_bbbbbb");
    e->set_attempt(3);
    e->set_not_before_unix_us(kFirstRecordedAtUnixUs + 60'000'000);
    e->set_delay_s(57.25);
    e->set_jitter_factor(0.95);
    e->set_retry_after_s(20.0);
  }
  {
    auto* e = b.Add().mutable_requests_abandoned();
    e->set_workflow("math-paraphrase");
    e->set_stage("stage_1");
    e->add_custom_ids("sample_002_original_e0_cccccc");
    e->set_reason(v1::ABANDON_REASON_EXHAUSTED);
  }
  {
    auto* e = b.Add().mutable_quota_warning();
    e->set_provider("openai");
    e->set_model("gpt-4o-mini");
    e->set_enqueued_tokens(1'600'000);
    e->set_quota_tokens(2'000'000);
    e->set_holding(true);
  }
  {
    auto* e = b.Add().mutable_stage_completed();
    e->set_workflow("math-paraphrase");
    e->set_stage("stage_1");
    e->set_succeeded(99);
    e->set_failed(1);
  }
  {
    auto* e = b.Add().mutable_run_completed();
    e->set_workflows(1);
  }
  {
    auto* e = b.Add().mutable_run_failed();
    e->set_reason("stage_2 failed: every batch was rejected");
    e->set_code("stage_failed");
  }
  {
    auto* e = b.Add().mutable_run_cancelled();
    e->set_reason("cancelled by the user");
    e->set_resumable(true);
  }
  {
    auto* e = b.Add().mutable_run_resumed();
    e->set_reason("batchlog resume");
  }
  {
    auto* e = b.Add().mutable_workflow_file_changed();
    e->set_config_path("wf.yaml");
    e->set_config_text("run_name: demo\n");
    e->set_config_sha256(std::string(64, 'b'));
    e->set_previous_sha256(std::string(64, 'a'));
  }
  return b.Take();
}

}  // namespace batchlog::testing
