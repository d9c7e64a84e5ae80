// EmulatorOptions: everything an Emulator is started with. Each field states its default.
// Copyable value; tests set fields explicitly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "src/base/clock.h"
#include "src/sim/batch_registry.h"
#include "src/sim/fault_plan.h"

namespace batchlog::sim {

struct EmulatorOptions {
  // TCP port on 127.0.0.1; 0 = an ephemeral port (read it back with Emulator::port()).
  int port = 0;
  // Seed of every decision (outcomes, faults, ids, result order). Default 1.
  std::uint64_t seed = 1;
  // Simulated seconds per real second (> 0). Default 1 (real time).
  double time_scale = 1.0;
  // Default: no faults.
  FaultPlan fault_plan;
  // Simulated lifecycle durations; defaults in LifecycleOptions.
  LifecycleOptions lifecycle;
  // The real clock SimClock reads. nullptr = the system clock. Not owned; must outlive the
  // emulator. Tests pass a base::FakeClock and advance it instead of waiting.
  base::Clock* clock = nullptr;
  // Where uploads and results are spooled. Empty = a fresh directory under the system
  // temp directory, removed at Stop. A given directory must exist; it is not removed.
  std::filesystem::path spool_dir;
  // Worker threads serving connections. Default 8.
  int threads = 8;
  // Also serve every route under this path prefix, e.g. "/compat" serves
  // /compat/v1/batches as /v1/batches (an OpenAI-compatible service at another base path).
  // Must start with '/' and not end with one. Default empty: routes at /v1/... only.
  std::string path_prefix;

  // OpenAI limits (the reference's values by default; tests lower them).
  std::int64_t openai_input_bytes_max = 200LL * 1000 * 1000;   // per batch input file
  std::int64_t openai_requests_max = 50'000;                   // per batch
  std::int64_t openai_upload_bytes_max = 512LL * 1000 * 1000;  // per uploaded file
  // Anthropic limits.
  std::int64_t anthropic_requests_max = 100'000;                // per batch
  std::int64_t anthropic_body_bytes_max = 256LL * 1000 * 1000;  // per create body (413)
};

}  // namespace batchlog::sim
