#include "src/workflow/dataset_reader.h"

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/temp_dir.h"
#include "tests/workflow/workflow_test_util.h"

namespace batchlog::workflow {
namespace {

std::string ErrorOf(const base::Result<Dataset>& dataset) {
  REQUIRE_FALSE(dataset.ok());
  CHECK(dataset.status().code() == base::StatusCode::kInvalidArgument);
  return dataset.status().message();
}

TEST_CASE("a dataset keeps its samples in file order with ids, line numbers and JSON",
          "[workflow][dataset]") {
  const std::string text =
      "\xEF\xBB\xBF{\"id\": \"a\", \"x\": 1}\n"
      "\n"
      "  {\"id\": 7, \"x\": {\"y\": [1, 2]}}  \r\n"
      "{\"x\": null, \"id\": -3}";  // no final newline
  const base::Result<Dataset> dataset = ParseDataset(text, "d.jsonl", "id");
  REQUIRE(dataset.ok());
  REQUIRE(dataset->size() == 3);
  CHECK((*dataset)[0].id == "a");
  CHECK((*dataset)[0].line == 1);
  CHECK((*dataset)[0].json == "{\"id\": \"a\", \"x\": 1}");
  CHECK((*dataset)[1].id == "7");  // integers are stringified
  CHECK((*dataset)[1].line == 3);  // the blank line counts
  CHECK((*dataset)[1].json == "{\"id\": 7, \"x\": {\"y\": [1, 2]}}");
  CHECK((*dataset)[2].id == "-3");
  CHECK((*dataset)[2].line == 4);
  CHECK(dataset->Where(2) == "d.jsonl:4");
  CHECK(dataset->id_field() == "id");
}

TEST_CASE("the id field is configurable", "[workflow][dataset]") {
  const base::Result<Dataset> dataset = ParseDataset(
      "{\"id\": 1, \"key\": \"k1\"}\n{\"id\": 1, \"key\": \"k2\"}\n", "d.jsonl", "key");
  REQUIRE(dataset.ok());
  CHECK((*dataset)[1].id == "k2");
}

TEST_CASE("a broken line is reported with its file and line number", "[workflow][dataset]") {
  const std::string message = ErrorOf(
      ParseDataset("{\"id\": \"a\"}\n{\"id\": \"b\"}\n{\"id\": \"c\",}\n", "d.jsonl", "id"));
  CHECK(message.rfind("d.jsonl:3: not valid JSON (", 0) == 0);
  CHECK(ErrorOf(ParseDataset("{\"id\": \"a\"} {\"id\": \"b\"}\n", "d.jsonl", "id"))
            .rfind("d.jsonl:1: not valid JSON (", 0) == 0);
  CHECK(ErrorOf(ParseDataset("{\"id\": \"a\"}\n[1, 2]\n", "d.jsonl", "id")) ==
        "d.jsonl:2: expected one JSON object per line, got an array");
  CHECK(ErrorOf(ParseDataset("{\"id\": \"a\", \"t\": \"\xC3\"}\n", "d.jsonl", "id"))
            .rfind("d.jsonl:1: not valid JSON (", 0) == 0);
  // Valid JSON with a number outside 64 bits: the message says what to do about it.
  for (const char* number : {"123456789012345678901234567890", "1e400"}) {
    CAPTURE(number);
    const std::string big = ErrorOf(ParseDataset(
        std::string("{\"id\": \"a\", \"n\": ") + number + "}\n", "d.jsonl", "id"));
    CHECK(big.rfind("d.jsonl:1: not valid JSON, or a number batchlog cannot read", 0) == 0);
    CHECK(big.find("write such a number as a string") != std::string::npos);
  }
}

TEST_CASE("a sample without a usable id is refused naming its line", "[workflow][dataset]") {
  CHECK(ErrorOf(ParseDataset("{\"id\": \"a\"}\n{\"name\": \"b\"}\n", "d.jsonl", "id")) ==
        "d.jsonl:2: no id field 'id'");
  CHECK(ErrorOf(ParseDataset("{\"id\": 1.5}\n", "d.jsonl", "id")) ==
        "d.jsonl:1: id field 'id' must be a string or an integer, got a non-integer number");
  CHECK(ErrorOf(ParseDataset("{\"id\": null}\n", "d.jsonl", "id")) ==
        "d.jsonl:1: id field 'id' must be a string or an integer, got null");
  CHECK(ErrorOf(ParseDataset("{\"id\": \"\"}\n", "d.jsonl", "id")) ==
        "d.jsonl:1: id field 'id' is empty");
}

TEST_CASE("duplicate ids are refused naming both lines", "[workflow][dataset]") {
  CHECK(ErrorOf(ParseDataset("{\"id\": \"a\"}\n{\"id\": \"b\"}\n\n{\"id\": \"a\"}\n", "d.jsonl",
                             "id")) == "d.jsonl:4: duplicate id 'a' (first at line 1)");
  // 7 and "7" are the same id once stringified.
  CHECK(ErrorOf(ParseDataset("{\"id\": 7}\n{\"id\": \"7\"}\n", "d.jsonl", "id")) ==
        "d.jsonl:2: duplicate id '7' (first at line 1)");
}

TEST_CASE("an empty dataset is refused", "[workflow][dataset]") {
  CHECK(ErrorOf(ParseDataset("\n  \n", "d.jsonl", "id")) == "d.jsonl: the dataset holds no sample");
}

TEST_CASE("ReadDataset reads a file and reports a missing one as NotFound", "[workflow][dataset]") {
  batchlog::testing::TempDir dir("batchlog-dataset");
  testing::WriteFile(dir / "d.jsonl", "{\"id\": \"a\", \"q\": \"x\"}\n{\"id\": \"b\"}\n");
  const base::Result<Dataset> dataset = ReadDataset(dir / "d.jsonl", "id");
  REQUIRE(dataset.ok());
  CHECK(dataset->size() == 2);
  CHECK(dataset->path() == dir / "d.jsonl");

  const base::Result<Dataset> missing = ReadDataset(dir / "absent.jsonl", "id");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == base::StatusCode::kNotFound);
  CHECK(missing.status().message().find("absent.jsonl") != std::string::npos);
}

TEST_CASE("a large dataset keeps every sample and its line", "[workflow][dataset]") {
  std::string text;
  constexpr int kSamples = 20'000;
  for (int i = 0; i < kSamples; ++i) {
    text += "{\"id\": " + std::to_string(i) + ", \"problem\": \"what is " + std::to_string(i) +
            " + 1?\"}\n";
  }
  const base::Result<Dataset> dataset = ParseDataset(text, "big.jsonl", "id");
  REQUIRE(dataset.ok());
  REQUIRE(dataset->size() == kSamples);
  CHECK((*dataset)[kSamples - 1].id == std::to_string(kSamples - 1));
  CHECK((*dataset)[kSamples - 1].line == kSamples);
}

TEST_CASE("a moved dataset's samples still view valid text", "[workflow][dataset]") {
  base::Result<Dataset> parsed = ParseDataset("{\"id\": \"a\", \"q\": \"x\"}\n", "d.jsonl", "id");
  REQUIRE(parsed.ok());
  const Dataset moved = std::move(parsed).value();
  CHECK(moved[0].json == "{\"id\": \"a\", \"q\": \"x\"}");
}

}  // namespace
}  // namespace batchlog::workflow
