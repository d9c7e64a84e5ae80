// Result<T> and the early-return macros: values, errors, move-only payloads, and that the
// macros stop at the first error.
#include "src/base/result.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

namespace batchlog::base {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return InvalidArgumentError("not positive: " + std::to_string(x));
  return x;
}

// Doubles a parsed value; `reached` records whether the code after the macro ran.
Result<int> Doubled(int x, bool& reached) {
  BATCHLOG_ASSIGN_OR_RETURN(const int parsed, ParsePositive(x));
  reached = true;
  return parsed * 2;
}

// The macro in a function that returns a plain Status, assigning to an existing variable.
Status StoreParsed(int x, int& out) {
  BATCHLOG_ASSIGN_OR_RETURN(out, ParsePositive(x));
  return Status::Ok();
}

Status Step(std::vector<int>& trace, int id, Status outcome) {
  trace.push_back(id);
  return outcome;
}

Status ThreeSteps(std::vector<int>& trace, Status second) {
  BATCHLOG_RETURN_IF_ERROR(Step(trace, 1, Status::Ok()));
  BATCHLOG_RETURN_IF_ERROR(Step(trace, 2, std::move(second)));
  BATCHLOG_RETURN_IF_ERROR(Step(trace, 3, Status::Ok()));
  return Status::Ok();
}

Result<std::unique_ptr<std::string>> MakeBox(std::string value) {
  if (value.empty()) return NotFoundError("empty");
  return std::make_unique<std::string>(std::move(value));
}

Result<std::size_t> BoxSize(std::string value) {
  BATCHLOG_ASSIGN_OR_RETURN(std::unique_ptr<std::string> box, MakeBox(std::move(value)));
  return box->size();
}

}  // namespace

TEST_CASE("a Result with a value is ok and gives the value back", "[base][result]") {
  Result<std::string> result(std::string("batch-1"));
  REQUIRE(result.ok());
  CHECK(result.status().ok());
  CHECK(result.value() == "batch-1");
  CHECK(*result == "batch-1");
  CHECK(result->size() == 7u);
  result.value() += "-retry";
  CHECK(*result == "batch-1-retry");
}

TEST_CASE("a Result with an error is not ok and carries the Status", "[base][result]") {
  const Result<int> result = ParsePositive(-3);
  CHECK_FALSE(result.ok());
  CHECK(result.status().code() == StatusCode::kInvalidArgument);
  CHECK(result.status().message() == "not positive: -3");
}

TEST_CASE("ASSIGN_OR_RETURN binds the value and continues on success", "[base][result]") {
  bool reached = false;
  const Result<int> result = Doubled(21, reached);
  CHECK(reached);
  REQUIRE(result.ok());
  CHECK(*result == 42);
}

TEST_CASE("ASSIGN_OR_RETURN returns the error and skips the rest", "[base][result]") {
  bool reached = false;
  const Result<int> result = Doubled(0, reached);
  CHECK_FALSE(reached);
  CHECK(result.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("ASSIGN_OR_RETURN can assign to an existing variable in a Status function",
          "[base][result]") {
  int out = -1;
  CHECK(StoreParsed(7, out).ok());
  CHECK(out == 7);
  const Status status = StoreParsed(-1, out);
  CHECK(status.code() == StatusCode::kInvalidArgument);
  CHECK(out == 7);
}

TEST_CASE("RETURN_IF_ERROR returns the first error and runs nothing after it",
          "[base][result]") {
  std::vector<int> trace;
  CHECK(ThreeSteps(trace, Status::Ok()).ok());
  CHECK(trace == std::vector<int>{1, 2, 3});

  trace.clear();
  const Status status = ThreeSteps(trace, UnavailableError("503"));
  CHECK(status == UnavailableError("503"));
  CHECK(trace == std::vector<int>{1, 2});
}

TEST_CASE("a Result can hold a move-only value and hand it over", "[base][result]") {
  Result<std::unique_ptr<std::string>> result = MakeBox("payload");
  REQUIRE(result.ok());
  std::unique_ptr<std::string> box = std::move(result).value();
  REQUIRE(box != nullptr);
  CHECK(*box == "payload");

  CHECK(BoxSize("four").value() == 4u);
  CHECK(BoxSize("").status().code() == StatusCode::kNotFound);
}

TEST_CASE("a Result can be moved with its value", "[base][result]") {
  Result<std::unique_ptr<int>> first(std::make_unique<int>(5));
  Result<std::unique_ptr<int>> second = std::move(first);
  REQUIRE(second.ok());
  CHECK(**second == 5);
}

}  // namespace batchlog::base
