// BatchRegistry: the shared lifecycle, evaluated lazily from simulated time, without HTTP.
#include <fstream>

#include <catch2/catch.hpp>

#include "src/base/clock.h"
#include "src/sim/batch_registry.h"
#include "tests/support/temp_dir.h"

namespace batchlog::sim {
namespace {

// One line per request: "<fate>:<outcome>:<custom_id>:<request json>".
class EchoFormatter final : public ResultFormatter {
 public:
  ResultDestination FormatLine(const ResultLineInput& in, std::string& line) const override {
    const char* fate = in.fate == RequestFate::kRan       ? "ran"
                       : in.fate == RequestFate::kExpired ? "expired"
                                                          : "cancelled";
    line += std::string(fate) + ":" + std::string(OutcomeKindName(in.outcome)) + ":" +
            std::string(in.custom_id) + ":" + std::string(in.request_json) + "\n";
    return in.fate == RequestFate::kRan && in.outcome == OutcomeKind::kNone
               ? ResultDestination::kOutput
               : ResultDestination::kError;
  }
};

const EchoFormatter kFormatter;

struct Fixture {
  explicit Fixture(FaultPlan fault_plan = {}) : plan(std::move(fault_plan)) {
    lifecycle.validating_s = 10;
    lifecycle.processing_s_base = 10;
    lifecycle.processing_s_per_request = 1;
    lifecycle.finalizing_s = 10;
    lifecycle.cancelling_s = 10;
    lifecycle.window_s = 1000;
    registry = std::make_unique<BatchRegistry>(sim_clock, plan, 5, lifecycle, dir.path());
  }

  // A batch of `n` requests "r0".."r<n-1>" whose JSON is "{<i>}".
  BatchSpec Spec(int n, bool validating = true) {
    const auto path = dir.path() / ("input-" + std::to_string(inputs++));
    std::ofstream out(path, std::ios::binary);
    BatchSpec spec;
    spec.validating = validating;
    spec.input_path = path;
    spec.formatter = &kFormatter;
    std::uint64_t offset = 0;
    for (int i = 0; i < n; ++i) {
      const std::string text = "{" + std::to_string(i) + "}";
      out << text << "\n";
      RequestSlice slice;
      slice.custom_id = "r" + std::to_string(i);
      slice.offset = offset;
      slice.length = static_cast<std::uint32_t>(text.size());
      spec.requests.push_back(slice);
      offset += text.size() + 1;
    }
    return spec;
  }

  BatchSnapshot Get(const std::string& id) {
    auto snapshot = registry->GetBatch(id);
    REQUIRE(snapshot.ok());
    return std::move(snapshot).value();
  }

  void Advance(double seconds) { clock.Advance(SecondsToDuration(seconds)); }

  std::string Read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  batchlog::testing::TempDir dir{"batchlog-sim-registry"};
  base::FakeClock clock{base::FromUnixMicros(1'772'355'600'000'000)};
  SimClock sim_clock{clock, 1.0};
  FaultPlan plan;
  LifecycleOptions lifecycle;
  std::unique_ptr<BatchRegistry> registry;
  int inputs = 0;
};

TEST_CASE("a batch moves validating, in_progress, finalizing, completed on time",
          "[sim][registry]") {
  Fixture f;
  auto created = f.registry->CreateBatch(f.Spec(4));
  REQUIRE(created.ok());
  const std::string id = created->id;
  CHECK(created->phase == BatchPhase::kValidating);
  CHECK(created->expires_at == created->created_at + SecondsToDuration(1000));

  f.Advance(10);  // T1
  auto s = f.Get(id);
  CHECK(s.phase == BatchPhase::kInProgress);
  CHECK(s.in_progress_at == created->created_at + SecondsToDuration(10));
  CHECK(s.ran == 0);
  f.Advance(12);  // base 10, then one request per second: 2 done
  s = f.Get(id);
  CHECK(s.ran == 2);
  CHECK(s.ran_by_outcome[0] == 2);
  CHECK_FALSE(s.output_file.has_value());
  f.Advance(2);  // all 4 done at T1 + 14
  s = f.Get(id);
  CHECK(s.phase == BatchPhase::kFinalizing);
  CHECK(s.finalizing_at == created->created_at + SecondsToDuration(24));
  CHECK_FALSE(s.output_file.has_value());  // written, but exposed once completed
  f.Advance(10);
  s = f.Get(id);
  CHECK(s.phase == BatchPhase::kCompleted);
  CHECK(s.completed_at == created->created_at + SecondsToDuration(34));
  REQUIRE(s.output_file.has_value());
  CHECK_FALSE(s.error_file.has_value());
  CHECK(s.output_file->purpose == "batch_output");
  const std::string output = f.Read(s.output_file->path);
  for (int i = 0; i < 4; ++i) {
    CHECK(output.find("ran:none:r" + std::to_string(i) + ":{" + std::to_string(i) + "}\n") !=
          std::string::npos);
  }
}

TEST_CASE("a batch with validation errors fails after validating and submits nothing",
          "[sim][registry]") {
  Fixture f;
  BatchSpec spec = f.Spec(2);
  spec.validation_errors.push_back({"invalid_json_line", "bad", std::nullopt, 3});
  auto created = f.registry->CreateBatch(std::move(spec));
  REQUIRE(created.ok());
  f.Advance(10);
  const auto s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kFailed);
  CHECK(s.failed_at == created->created_at + SecondsToDuration(10));
  REQUIRE(s.errors.size() == 1);
  CHECK(s.errors[0].line == 3);
  CHECK_FALSE(s.output_file.has_value());
  CHECK(f.registry->SubmissionCount(Api::kOpenAi, "r0") == 0);
}

TEST_CASE("a batch that outlives its window expires with the requests done so far",
          "[sim][registry]") {
  Fixture f;
  f.lifecycle.window_s = 15;  // T1 = 10, first request at 11, second at 12 ...
  f.registry = std::make_unique<BatchRegistry>(f.sim_clock, f.plan, 5, f.lifecycle, f.dir.path());
  auto created = f.registry->CreateBatch(f.Spec(10));
  REQUIRE(created.ok());
  f.Advance(15);
  const auto s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kExpired);
  CHECK(s.expired_at == created->expires_at);
  CHECK(s.ran == 0);  // base 10 s: nothing finished by T1 + 5
  CHECK(s.expired == 10);
  REQUIRE(s.error_file.has_value());
  CHECK(f.Read(s.error_file->path).find("expired:none:r") != std::string::npos);
}

TEST_CASE("cancel keeps the requests done and marks the rest cancelled", "[sim][registry]") {
  Fixture f;
  auto created = f.registry->CreateBatch(f.Spec(10));
  REQUIRE(created.ok());
  f.Advance(23);  // T1 + 13: 3 done
  auto cancelling = f.registry->CancelBatch(created->id);
  REQUIRE(cancelling.ok());
  CHECK(cancelling->phase == BatchPhase::kCancelling);
  CHECK(cancelling->ran == 3);
  f.Advance(5);
  CHECK(f.Get(created->id).phase == BatchPhase::kCancelling);
  CHECK(f.Get(created->id).ran == 3);
  f.Advance(5);
  const auto s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kCancelled);
  CHECK(s.cancelled == 7);
  REQUIRE(s.output_file.has_value());
  REQUIRE(s.error_file.has_value());
  CHECK(f.Read(s.output_file->path).size() > 0);
  auto again = f.registry->CancelBatch(created->id);
  CHECK(again.status().code() == base::StatusCode::kFailedPrecondition);
}

TEST_CASE("attempts count per api and custom_id across batches", "[sim][registry]") {
  Fixture f;
  REQUIRE(f.registry->CreateBatch(f.Spec(2)).ok());
  REQUIRE(f.registry->CreateBatch(f.Spec(1)).ok());
  BatchSpec other = f.Spec(1);
  other.api = Api::kAnthropic;
  other.validating = false;
  REQUIRE(f.registry->CreateBatch(std::move(other)).ok());
  CHECK(f.registry->SubmissionCount(Api::kOpenAi, "r0") == 2);
  CHECK(f.registry->SubmissionCount(Api::kOpenAi, "r1") == 1);
  CHECK(f.registry->SubmissionCount(Api::kAnthropic, "r0") == 1);
  const auto stats = f.registry->StatsJson();
  CHECK(stats["openai"]["batches_created"] == 2);
  CHECK(stats["anthropic"]["batches_created"] == 1);
  CHECK(stats["openai"]["submissions"]["r0"] == 2);
}

TEST_CASE("list pages newest first with after and before cursors", "[sim][registry]") {
  Fixture f;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto created = f.registry->CreateBatch(f.Spec(1));
    REQUIRE(created.ok());
    ids.push_back(created->id);
  }
  auto first = f.registry->ListBatches(Api::kOpenAi, "", "", 2);
  REQUIRE(first.ok());
  REQUIRE(first->batches.size() == 2);
  CHECK(first->batches[0].id == ids[4]);
  CHECK(first->batches[1].id == ids[3]);
  CHECK(first->has_more);
  auto last = f.registry->ListBatches(Api::kOpenAi, ids[1], "", 2);
  REQUIRE(last.ok());
  REQUIRE(last->batches.size() == 1);
  CHECK(last->batches[0].id == ids[0]);
  CHECK_FALSE(last->has_more);
  auto back = f.registry->ListBatches(Api::kOpenAi, "", ids[0], 2);
  REQUIRE(back.ok());
  REQUIRE(back->batches.size() == 2);
  CHECK(back->batches[0].id == ids[2]);
  CHECK(back->batches[1].id == ids[1]);
  CHECK(back->has_more);
  CHECK(f.registry->ListBatches(Api::kAnthropic, "", "", 10)->batches.empty());
  CHECK(f.registry->ListBatches(Api::kOpenAi, "batch_nope", "", 2).status().code() ==
        base::StatusCode::kNotFound);
}

TEST_CASE("an expire fault runs only its fraction before the window closes", "[sim][registry]") {
  FaultPlan plan;
  BatchFaultRule rule;
  rule.kind = BatchFaultKind::kExpire;
  rule.batches = {1};
  rule.completed_fraction = 0.3;
  plan.AddBatchRule(rule);
  Fixture f(plan);
  auto created = f.registry->CreateBatch(f.Spec(10));
  REQUIRE(created.ok());
  f.Advance(500);
  auto s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kInProgress);
  CHECK(s.ran > 0);
  CHECK(s.ran < 3);
  f.Advance(500);
  s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kExpired);
  CHECK(s.ran == 3);
  CHECK(s.expired == 7);
}

TEST_CASE("a cancel-by-other fault cancels once its fraction is done", "[sim][registry]") {
  FaultPlan plan;
  BatchFaultRule rule;
  rule.kind = BatchFaultKind::kCancelByOther;
  rule.batches = {1};
  rule.completed_fraction = 0.5;
  plan.AddBatchRule(rule);
  Fixture f(plan);
  auto created = f.registry->CreateBatch(f.Spec(10));
  REQUIRE(created.ok());
  f.Advance(24);  // T1 + base + 4 requests: not yet
  CHECK(f.Get(created->id).phase == BatchPhase::kInProgress);
  f.Advance(1);  // the 5th finished: cancelled by someone else
  auto s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kCancelling);
  CHECK(s.ran == 5);
  f.Advance(10);
  s = f.Get(created->id);
  CHECK(s.phase == BatchPhase::kCancelled);
  CHECK(s.cancelled == 5);
}

TEST_CASE("a non-validating spec with a validation fault is refused at create", "[sim][registry]") {
  FaultPlan plan;
  BatchFaultRule rule;
  rule.kind = BatchFaultKind::kTokenLimitExceeded;
  rule.batches = {1};
  plan.AddBatchRule(rule);
  Fixture f(plan);
  auto created = f.registry->CreateBatch(f.Spec(1, /*validating=*/false));
  CHECK(created.status().code() == base::StatusCode::kResourceExhausted);
}

TEST_CASE("delete is refused until terminal and reset forgets everything", "[sim][registry]") {
  Fixture f;
  auto created = f.registry->CreateBatch(f.Spec(1));
  REQUIRE(created.ok());
  CHECK(f.registry->DeleteBatch(created->id).code() == base::StatusCode::kFailedPrecondition);
  f.Advance(100);
  const auto s = f.Get(created->id);
  REQUIRE(s.output_file.has_value());
  REQUIRE(f.registry->DeleteBatch(created->id).ok());
  CHECK(f.registry->GetBatch(created->id).status().code() == base::StatusCode::kNotFound);
  CHECK_FALSE(f.registry->GetFile(s.output_file->id).ok());
  CHECK_FALSE(std::filesystem::exists(s.output_file->path));

  REQUIRE(f.registry->CreateBatch(f.Spec(1)).ok());
  f.registry->Reset();
  CHECK(f.registry->StatsJson()["openai"]["batches_created"] == 0);
  CHECK(f.registry->SubmissionCount(Api::kOpenAi, "r0") == 0);
  CHECK(f.registry->ListBatches(Api::kOpenAi, "", "", 10)->batches.empty());
}

}  // namespace
}  // namespace batchlog::sim
