// batchlog_tidy ROOT: checks the source tree under ROOT against tests/tidy/tidy_rules.h and
// prints one "path:line: rule: message" line per finding. Exit status: 0 clean, 1 findings,
// 2 usage or I/O error. Registered as the `tidy` CTest test.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/tidy/tidy_rules.h"

int main(int argc, char** argv) {
  namespace tidy = batchlog::tidy;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s REPOSITORY_ROOT\n", argc > 0 ? argv[0] : "batchlog_tidy");
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  if (!std::filesystem::is_directory(root / "src")) {
    std::fprintf(stderr, "tidy: %s is not a batchlog checkout (no src/)\n", argv[1]);
    return 2;
  }
  std::vector<std::string> errors;
  const std::vector<tidy::SourceFile> files = tidy::CollectTree(root, errors);
  for (const std::string& error : errors) std::fprintf(stderr, "tidy: %s\n", error.c_str());

  const std::vector<tidy::Finding> findings = tidy::CheckFiles(files);
  for (const tidy::Finding& finding : findings) {
    std::printf("%s\n", tidy::FormatFinding(finding).c_str());
  }
  std::printf("tidy: %zu files checked, %zu findings\n", files.size(), findings.size());
  if (!errors.empty()) return 2;
  return findings.empty() ? 0 : 1;
}
