#include "tests/support/files.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

namespace batchlog::testing {

std::string ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileText(const std::filesystem::path& path, std::string_view text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  INFO(path.string());
  REQUIRE(out.good());
}

}  // namespace batchlog::testing
