// Must NOT compile: a Secret has no fmt::formatter (docs/architecture.md, "Secrets"), so
// formatting one is a compile error, not a convention. Built only by the
// base_secret_format_must_not_compile CTest test, which expects fmt's "Cannot format an
// argument" error.
#include <fmt/format.h>

#include "src/base/secret.h"

int main() {
  const batchlog::base::Secret secret("sk-must-not-be-printed");
  return static_cast<int>(fmt::format("{}", secret).size());
}
