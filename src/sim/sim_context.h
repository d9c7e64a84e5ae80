// SimContext: what every route file (openai_wire, anthropic_wire) receives from the
// Emulator. The Emulator owns it and everything it points to; it lives from before the
// routes are registered until after the server has stopped, so handlers may keep a
// reference to it.
//
// Thread-safety: the references are to thread-safe objects (BatchRegistry) or immutable
// ones (options, fault plan, clock); request_counter is atomic. Handlers run concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "src/sim/batch_registry.h"
#include "src/sim/emulator_options.h"
#include "src/sim/fault_plan.h"
#include "src/sim/sim_clock.h"

namespace batchlog::sim {

struct SimContext {
  const EmulatorOptions& options;
  BatchRegistry& registry;  // files, batches, submissions, stats, control-plane counters
  const FaultPlan& fault_plan;
  const SimClock& clock;
  std::uint64_t seed = 0;
  std::filesystem::path spool_dir;
  // "http://127.0.0.1:PORT" (no trailing slash); set before routes are registered.
  std::string base_url;
  // Numbers the request ids of x-request-id / request-id headers.
  std::atomic<std::uint64_t> request_counter{0};
};

}  // namespace batchlog::sim
