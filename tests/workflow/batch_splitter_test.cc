#include "src/workflow/batch_splitter.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace batchlog::workflow {
namespace {

std::vector<SizedRequest> Requests(const std::vector<std::string>& ids, std::uint64_t body) {
  std::vector<SizedRequest> requests;
  for (const std::string& id : ids) requests.push_back(SizedRequest{id, body});
  return requests;
}

TEST_CASE("wire bytes match the lines the providers send", "[workflow][splitter]") {
  const std::string body = R"({"model":"m","messages":[]})";
  const std::string openai_line = R"({"custom_id":"req_1","method":"POST","url":)"
                                  R"("/v1/chat/completions","body":)" +
                                  body + "}\n";
  CHECK(RequestWireBytes(ProviderKind::kOpenAi, "/v1/chat/completions", 5, body.size()) ==
        openai_line.size());
  CHECK(RequestWireBytes(ProviderKind::kOpenAiCompatible, "/v1/chat/completions", 5, body.size()) ==
        openai_line.size());
  const std::string anthropic_item = R"({"custom_id":"req_1","params":)" + body + "},";
  CHECK(RequestWireBytes(ProviderKind::kAnthropic, "/v1/messages", 5, body.size()) ==
        anthropic_item.size());
  CHECK(BatchEnvelopeBytes(ProviderKind::kAnthropic) == std::string(R"({"requests":[]})").size());
  CHECK(BatchEnvelopeBytes(ProviderKind::kOpenAi) == 0);
}

TEST_CASE("batches close at the request count limit", "[workflow][splitter]") {
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
  const std::vector<SizedRequest> requests = Requests(ids, 10);
  const auto batches = SplitIntoBatches(requests, ProviderKind::kOpenAi, "/v1/chat/completions",
                                        BatchLimits{2, 1'000'000});
  REQUIRE(batches.ok());
  REQUIRE(batches->size() == 3);
  const std::uint64_t line = RequestWireBytes(ProviderKind::kOpenAi, "/v1/chat/completions", 1, 10);
  CHECK((*batches)[0] == BatchSlice{0, 2, 2 * line});
  CHECK((*batches)[1] == BatchSlice{2, 4, 2 * line});
  CHECK((*batches)[2] == BatchSlice{4, 5, line});
}

TEST_CASE("batches close at the byte limit, exactly at its edge", "[workflow][splitter]") {
  const std::vector<std::string> ids = {"a", "b", "c", "d"};
  const std::vector<SizedRequest> requests = Requests(ids, 100);
  const std::uint64_t item = RequestWireBytes(ProviderKind::kAnthropic, "", 1, 100);
  const std::uint64_t envelope = BatchEnvelopeBytes(ProviderKind::kAnthropic);

  // Room for exactly two requests and the envelope.
  const auto fits = SplitIntoBatches(requests, ProviderKind::kAnthropic, "/v1/messages",
                                     BatchLimits{100, envelope + 2 * item});
  REQUIRE(fits.ok());
  REQUIRE(fits->size() == 2);
  CHECK((*fits)[0] == BatchSlice{0, 2, envelope + 2 * item});
  CHECK((*fits)[1] == BatchSlice{2, 4, envelope + 2 * item});

  // One byte less: one request per batch.
  const auto tight = SplitIntoBatches(requests, ProviderKind::kAnthropic, "/v1/messages",
                                      BatchLimits{100, envelope + 2 * item - 1});
  REQUIRE(tight.ok());
  CHECK(tight->size() == 4);
  for (const BatchSlice& batch : *tight) CHECK(batch.size() == 1);
}

TEST_CASE("requests of different sizes are packed in order", "[workflow][splitter]") {
  const std::vector<SizedRequest> requests = {
      {"a", 50}, {"b", 10}, {"c", 80}, {"d", 10}, {"e", 10}};
  auto line = [](std::uint64_t body) {
    return RequestWireBytes(ProviderKind::kOpenAi, "/v1/embeddings", 1, body);
  };
  const auto batches = SplitIntoBatches(requests, ProviderKind::kOpenAi, "/v1/embeddings",
                                        BatchLimits{10, line(50) + line(10) + line(10)});
  REQUIRE(batches.ok());
  REQUIRE(batches->size() == 3);
  CHECK((*batches)[0] == BatchSlice{0, 2, line(50) + line(10)});
  CHECK((*batches)[1] == BatchSlice{2, 4, line(80) + line(10)});
  CHECK((*batches)[2] == BatchSlice{4, 5, line(10)});
}

TEST_CASE("a request larger than the byte limit is refused naming it", "[workflow][splitter]") {
  const std::vector<SizedRequest> requests = {{"small", 10}, {"huge", 5000}};
  const auto batches = SplitIntoBatches(requests, ProviderKind::kOpenAi, "/v1/chat/completions",
                                        BatchLimits{10, 1000});
  REQUIRE_FALSE(batches.ok());
  CHECK(
      batches.status().message() ==
      "request huge takes " +
          std::to_string(RequestWireBytes(ProviderKind::kOpenAi, "/v1/chat/completions", 4, 5000)) +
          " bytes in a batch, over the batch byte limit of 1000");
}

TEST_CASE("an empty list gives no batches, and splitting is deterministic",
          "[workflow][splitter]") {
  const auto none = SplitIntoBatches(std::span<const SizedRequest>(), ProviderKind::kAnthropic,
                                     "/v1/messages", BatchLimits{10, 1000});
  REQUIRE(none.ok());
  CHECK(none->empty());

  std::vector<PlannedRequest> planned(1000);
  for (std::size_t i = 0; i < planned.size(); ++i) {
    planned[i].custom_id = "r" + std::to_string(i);
    planned[i].body_json = std::string(i % 97 + 1, 'x');
  }
  const BatchLimits limits{150, 20'000};
  const auto first =
      SplitIntoBatches(planned, ProviderKind::kOpenAi, "/v1/chat/completions", limits);
  const auto second =
      SplitIntoBatches(planned, ProviderKind::kOpenAi, "/v1/chat/completions", limits);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*first == *second);
  std::size_t next = 0;
  for (const BatchSlice& batch : *first) {
    CHECK(batch.begin == next);
    CHECK(batch.size() <= limits.max_requests);
    CHECK(batch.bytes <= limits.max_bytes);
    next = batch.end;
  }
  CHECK(next == planned.size());
}

}  // namespace
}  // namespace batchlog::workflow
