// The executor's pool of pending events: a recycled event must build into exactly the bytes
// a fresh one would (nothing of the previous event left over), and the pool must actually
// reuse the payload message and string capacity it exists for.
#include "src/orchestrator/pending_event_pool.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace batchlog::orchestrator {
namespace {

namespace v1 = events::v1;

void FillSucceeded(store::PendingEvent& pending, bool with_everything) {
  v1::RequestSucceeded* ok = pending.event.mutable_request_succeeded();
  ok->set_custom_id("a-custom-id-longer-than-fifteen-bytes");
  if (with_everything) {
    pending.event.set_seq(41);
    pending.event.set_run_id("run-with-a-long-enough-name");
    pending.event.set_recorded_at_unix_us(1'700'000'000'000'000);
    pending.event.set_reader_may_ignore(true);
    pending.event.set_blob_bytes(5);
    ok->set_batch_key("wf:stage_1:a1:b000001");
    ok->set_attempt(2);
    ok->mutable_usage()->set_input_tokens(10);
    ok->set_finish_reason("stop");
    pending.blob = "{\"answer\": 42}";
  }
}

TEST_CASE("a recycled pending event builds into the same bytes as a fresh one", "[orchestrator]") {
  PendingEventPool pool;
  std::vector<store::PendingEvent> step;
  step.reserve(2);
  FillSucceeded(pool.Add(step, v1::Event::kRequestSucceeded), /*with_everything=*/true);
  store::PendingEvent& planned = pool.Add(step, v1::Event::kRequestPlanned);
  planned.event.mutable_request_planned()->set_custom_id("p1");
  planned.event.mutable_request_planned()->set_ordinal(7);
  pool.Recycle(step);
  REQUIRE(step.empty());

  // The same types again, with fewer fields; then another type in a slot.
  std::vector<store::PendingEvent> next;
  next.reserve(3);  // Add returns a reference into the vector, as emplace_back does
  store::PendingEvent& first = pool.Add(next, v1::Event::kRequestPlanned);
  store::PendingEvent& second = pool.Add(next, v1::Event::kRequestSucceeded);
  CHECK(first.event.has_request_planned());  // recycled by type: the payload is kept
  CHECK(second.event.has_request_succeeded());
  for (store::PendingEvent* pending : {&first, &second}) {
    CHECK(pending->blob.empty());
    CHECK(pending->event.seq() == 0);
    CHECK(pending->event.run_id().empty());
  }
  v1::Event expected_planned;
  expected_planned.mutable_request_planned()->set_custom_id("p2");
  first.event.mutable_request_planned()->set_custom_id("p2");
  CHECK(first.event.SerializeAsString() == expected_planned.SerializeAsString());

  store::PendingEvent fresh;
  FillSucceeded(fresh, /*with_everything=*/false);
  FillSucceeded(second, /*with_everything=*/false);
  CHECK(second.event.SerializeAsString() == fresh.event.SerializeAsString());
  CHECK_FALSE(second.event.request_succeeded().has_usage());

  store::PendingEvent& third = pool.Add(next, v1::Event::kRequestFailed);  // none kept: new
  third.event.mutable_request_failed()->set_code("server_error");
  v1::Event expected_failed;
  expected_failed.mutable_request_failed()->set_code("server_error");
  CHECK(third.event.SerializeAsString() == expected_failed.SerializeAsString());
}

TEST_CASE("the pool reuses the payload message and the strings' capacity", "[orchestrator]") {
  PendingEventPool pool;
  std::vector<store::PendingEvent> step;
  store::PendingEvent& pending = pool.Add(step, v1::Event::kRequestSucceeded);
  FillSucceeded(pending, /*with_everything=*/true);
  const v1::RequestSucceeded* payload = &pending.event.request_succeeded();
  const std::size_t custom_id_size = pending.event.request_succeeded().custom_id().size();
  pool.Recycle(step);

  store::PendingEvent& again = pool.Add(step, v1::Event::kRequestSucceeded);
  CHECK(&again.event.request_succeeded() == payload);
  CHECK(again.event.mutable_request_succeeded() == payload);
  // Cleared, not freed: the next custom_id of the same size is copied without allocating.
  CHECK(again.event.request_succeeded().custom_id().empty());
  CHECK(again.event.request_succeeded().custom_id().capacity() >= custom_id_size);
}

TEST_CASE(
    "a recycled event keeps no field it carried, unknown ones included, and at most "
    "kMaxKept per type are kept",
    "[orchestrator]") {
  PendingEventPool pool;
  std::vector<store::PendingEvent> step(1);
  // A RequestPlanned with a custom_id, an unknown envelope field (99, empty bytes) and an
  // unknown payload field (15, varint 1).
  std::string payload = "\x1a\x02p1";  // custom_id "p1"
  payload += std::string("\x78\x01", 2);
  std::string bytes = std::string("\x5a") + static_cast<char>(payload.size()) + payload;
  bytes += std::string("\x9a\x06\x00", 3);
  REQUIRE(step[0].event.ParseFromString(bytes));
  REQUIRE(step[0].event.has_request_planned());
  pool.Recycle(step);
  std::vector<store::PendingEvent> next;
  store::PendingEvent& pending = pool.Add(next, v1::Event::kRequestPlanned);
  CHECK(pending.event.has_request_planned());  // the payload object was kept...
  // ...and nothing else: an empty request_planned is tag and length, two bytes.
  CHECK(pending.event.ByteSizeLong() == 2);

  std::vector<store::PendingEvent> many(PendingEventPool::kMaxKept + 5);
  for (store::PendingEvent& event : many) event.event.mutable_request_planned();
  pool.Recycle(many);
  std::vector<store::PendingEvent> taken;
  for (std::size_t i = 0; i < PendingEventPool::kMaxKept; ++i) {
    REQUIRE(pool.Add(taken, v1::Event::kRequestPlanned).event.has_request_planned());  // kept
  }
  CHECK_FALSE(pool.Add(taken, v1::Event::kRequestPlanned).event.has_request_planned());
}

}  // namespace
}  // namespace batchlog::orchestrator
