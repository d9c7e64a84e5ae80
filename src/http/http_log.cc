#include "src/http/http_log.h"

#include <spdlog/spdlog.h>

namespace batchlog::http {

spdlog::logger& HttpLogger() {
  // Looked up on every call (cheap: a mutex and a map lookup, once per exchange) so that a
  // logger registered or a default replaced later, e.g. by a test, takes effect.
  if (std::shared_ptr<spdlog::logger> named = spdlog::get("http")) return *named;
  return *spdlog::default_logger_raw();
}

}  // namespace batchlog::http
