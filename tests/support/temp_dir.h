// TempDir: a fresh directory under the system temp dir, removed with its contents when the
// TempDir goes out of scope (kept when BATCHLOG_KEEP_TEMP is set, for debugging).
// Not thread-safe; one per test.
#pragma once

#include <filesystem>
#include <string_view>

namespace batchlog::testing {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "batchlog-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace batchlog::testing
