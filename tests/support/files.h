// Whole-file reads and writes for tests.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace batchlog::testing {

// The file's bytes; empty when it does not exist or cannot be read.
std::string ReadFileText(const std::filesystem::path& path);

// Replaces the file with `text`, creating its directory; fails the test when it cannot.
void WriteFileText(const std::filesystem::path& path, std::string_view text);

}  // namespace batchlog::testing
