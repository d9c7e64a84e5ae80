#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cstdlib>
#include <string>
#include <system_error>

#include "src/base/check.h"

namespace batchlog::testing {

TempDir::TempDir(std::string_view prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  BATCHLOG_CHECK(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  if (std::getenv("BATCHLOG_KEEP_TEMP") != nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace batchlog::testing
