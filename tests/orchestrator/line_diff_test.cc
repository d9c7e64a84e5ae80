// LineDiff: the changed lines of two texts, numbered, for a person to read.
#include "src/orchestrator/line_diff.h"

#include <string>

#include <catch2/catch.hpp>

namespace batchlog::orchestrator {
namespace {

TEST_CASE("equal texts have no diff", "[orchestrator][line_diff]") {
  CHECK(LineDiff("a\nb\n", "a\nb\n").empty());
  CHECK(LineDiff("", "").empty());
}

TEST_CASE("a changed line shows the old and the new line with their numbers",
          "[orchestrator][line_diff]") {
  CHECK(LineDiff("a\nb\nc\n", "a\nB\nc\n") == "  - 2: b\n  + 2: B\n");
}

TEST_CASE("inserted and removed lines keep the unchanged ones out of the diff",
          "[orchestrator][line_diff]") {
  CHECK(LineDiff("a\nb\nc\n", "a\nx\nb\nc\n") == "  + 2: x\n");
  CHECK(LineDiff("a\nb\nc\n", "a\nc\n") == "  - 2: b\n");
  CHECK(LineDiff("a\n", "a\nz") == "  + 2: z\n");
}

TEST_CASE("a long diff is cut after max_lines with a count of the rest",
          "[orchestrator][line_diff]") {
  std::string before;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    before += "old " + std::to_string(i) + "\n";
    after += "new " + std::to_string(i) + "\n";
  }
  const std::string diff = LineDiff(before, after, 4);
  CHECK(diff.find("  - 1: old 0\n") == 0);
  CHECK(diff.find("... and 16 more changed lines") != std::string::npos);
}

TEST_CASE("very long texts are compared line by line at equal positions",
          "[orchestrator][line_diff]") {
  std::string before;
  for (int i = 0; i < 6000; ++i) before += std::to_string(i) + "\n";
  std::string after = before;
  after.replace(after.find("\n4321\n") + 1, 4, "XXXX");
  CHECK(LineDiff(before, after) == "  - 4322: 4321\n  + 4322: XXXX\n");
}

}  // namespace
}  // namespace batchlog::orchestrator
