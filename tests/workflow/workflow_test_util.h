// Helpers shared by the workflow tests: files in a TempDir and a small valid workflow file.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "src/workflow/workflow_file.h"
#include "tests/support/temp_dir.h"

namespace batchlog::workflow::testing {

inline void WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// Replaces the one occurrence of `from` in `text` (the test fails if there is not exactly
// one), so error cases are written as small edits of a valid file.
inline std::string Edit(std::string text, std::string_view from, std::string_view to) {
  const std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(text.find(from, at + 1) == std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// A valid two-stage file; line numbers matter to the error tests:
//   line 9 is "      - name: s1", line 12 is "      - name: s2".
inline constexpr std::string_view kSmallWorkflow =
    "run_name: t\n"                                                                    // 1
    "providers:\n"                                                                     // 2
    "  openai: {kind: openai}\n"                                                       // 3
    "  claude: {kind: anthropic}\n"                                                    // 4
    "workflows:\n"                                                                     // 5
    "  - name: w\n"                                                                    // 6
    "    dataset: data.jsonl\n"                                                        // 7
    "    stages:\n"                                                                    // 8
    "      - name: s1\n"                                                               // 9
    "        provider: openai\n"                                                       // 10
    "        body: {model: m, messages: [{role: user, content: \"{{sample.q}}\"}]}\n"  // 11
    "      - name: s2\n"                                                               // 12
    "        provider: claude\n"                                                       // 13
    "        body: {model: c, max_tokens: 5, messages: [{role: user, content: \"{{s1.text}}\"}]}\n";

inline constexpr std::string_view kSmallDataset =
    "{\"id\": \"a\", \"q\": \"one\"}\n"
    "{\"id\": \"b\", \"q\": \"two\"}\n";

// A directory holding data.jsonl, where workflow files are parsed as "<dir>/math.yaml".
class WorkflowDir {
 public:
  WorkflowDir() { WriteFile(dir_ / "data.jsonl", kSmallDataset); }

  std::filesystem::path file() const { return dir_ / "math.yaml"; }
  const std::filesystem::path& path() const { return dir_.path(); }
  // "<dir>/math.yaml" followed by `suffix`, the prefix every message starts with.
  std::string Where(std::string_view suffix) const { return file().string() + std::string(suffix); }

  base::Result<WorkflowFile> Parse(std::string_view yaml) const {
    return ParseWorkflowFile(yaml, file());
  }

 private:
  batchlog::testing::TempDir dir_{"batchlog-workflow"};
};

}  // namespace batchlog::workflow::testing
