// The control for secret_format_must_not_compile.cc: the same program formatting
// secret.Redacted() builds, so the compile-fail test fails only because of the Secret
// itself. Run as a test, it also checks the output does not contain the value.
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "src/base/secret.h"

int main() {
  const batchlog::base::Secret secret("sk-must-not-be-printed");
  const std::string line = fmt::format("{}", secret.Redacted());
  std::printf("%s\n", line.c_str());
  return line.find("sk-must-not-be-printed") == std::string::npos ? 0 : 1;
}
