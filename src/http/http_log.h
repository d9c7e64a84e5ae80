// The http module's logger: the spdlog logger registered as "http" when there is one, else
// the default logger. Debug lines describe each exchange with secrets redacted
// (redaction.h); warn lines report retried trouble.
#pragma once

#include <spdlog/logger.h>

namespace batchlog::http {

spdlog::logger& HttpLogger();

}  // namespace batchlog::http
