#include "bench/event_corpus.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "src/base/check.h"
#include "tests/support/event_sequence_generator.h"

namespace batchlog::bench {
namespace {

constexpr std::uint64_t kDefaultSeed = 20'240'601;
// Requests of stage_1 per workflow per million events wanted: each stage_1 request brings
// about four events (planned and result in stage_1, again in stage_2, plus its share of
// batch and retry events). Generation repeats with more requests if it falls short.
constexpr std::uint32_t kRequestsPerWorkflowPerMillion = 130'000;

std::uint64_t EnvNumber(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 10);
}

std::unique_ptr<EventCorpus>& CorpusSlot() {
  static std::unique_ptr<EventCorpus> corpus;
  return corpus;
}

std::unique_ptr<EventCorpus> BuildCorpus() {
  auto corpus = std::make_unique<EventCorpus>();
  corpus->seed = EnvNumber("BATCHLOG_SEED", kDefaultSeed);
  const std::size_t wanted = LogEventCount();

  testing::GeneratorOptions options;
  options.run_id = kBenchRunId;
  options.workflows = 2;
  options.stages = 2;
  // Provider batches of up to 1,000 requests: BatchPlanned lists its custom_ids, so a few
  // events are KBs, as in a real run; the rest are lean.
  options.max_batch_size = 1'000;
  options.requests_per_workflow = static_cast<std::uint32_t>(
      std::max<std::size_t>(1'000, wanted * kRequestsPerWorkflowPerMillion / 1'000'000));
  for (;;) {
    corpus->events = testing::GenerateRun(options, corpus->seed);
    if (corpus->events.size() >= wanted) break;
    options.requests_per_workflow += options.requests_per_workflow / 4 + 1;
  }
  // A prefix of a valid run is a valid run (seqs dense from 1).
  corpus->events.resize(wanted);

  std::uint64_t bytes = 0;
  for (const events::v1::Event& event : corpus->events) bytes += event.ByteSizeLong();
  corpus->mean_encoded_bytes =
      static_cast<double>(bytes) / static_cast<double>(corpus->events.size());
  std::fprintf(stderr, "corpus: %zu events (seed %llu), mean %.0f bytes encoded\n",
               corpus->events.size(), static_cast<unsigned long long>(corpus->seed),
               corpus->mean_encoded_bytes);
  return corpus;
}

}  // namespace

std::size_t LogEventCount() {
  const std::uint64_t count = EnvNumber("BATCHLOG_BENCH_EVENTS", kDefaultLogEvents);
  return count == 0 ? kDefaultLogEvents : static_cast<std::size_t>(count);
}

const EventCorpus& SharedCorpus() {
  std::unique_ptr<EventCorpus>& corpus = CorpusSlot();
  if (corpus == nullptr) corpus = BuildCorpus();
  return *corpus;
}

const EventCorpus* BuiltCorpus() { return CorpusSlot().get(); }

std::vector<store::StepBatch> MakeSteps(const std::vector<events::v1::Event>& events,
                                        std::size_t group_size) {
  BATCHLOG_CHECK(group_size > 0);
  std::vector<store::StepBatch> steps;
  steps.reserve((events.size() + group_size - 1) / group_size);
  for (std::size_t begin = 0; begin < events.size(); begin += group_size) {
    const std::size_t end = std::min(events.size(), begin + group_size);
    store::StepBatch& step = steps.emplace_back();
    step.durability = store::Durability::kSynced;
    step.events.resize(end - begin);
    for (std::size_t i = begin; i < end; ++i) step.events[i - begin].event = events[i];
  }
  return steps;
}

events::v1::Event MakeIntentEvent(std::uint64_t n) {
  events::v1::Event event;
  event.set_recorded_at_unix_us(1'700'000'000'000'000 + static_cast<std::int64_t>(n));
  events::v1::BatchPlanned& planned = *event.mutable_batch_planned();
  planned.set_batch_key("math-paraphrase/stage_1/b" + std::to_string(n) + "/a2");
  planned.set_workflow("math-paraphrase");
  planned.set_stage("stage_1");
  planned.set_provider("openai");
  // A retry batch of a few failed requests.
  for (int i = 0; i < 3; ++i) {
    planned.add_custom_ids("sample_" + std::to_string(n * 3 + static_cast<std::uint64_t>(i)) +
                           "_original_e0_3f2a9c");
    planned.add_attempts(2);
  }
  planned.set_estimated_input_tokens(1'200);
  planned.set_input_bytes(4'096);
  planned.set_endpoint("/v1/chat/completions");
  planned.set_model("gpt-4o-mini");
  return event;
}

}  // namespace batchlog::bench
