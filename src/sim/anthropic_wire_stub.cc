// Placeholder linked only while src/sim/anthropic_wire.cc does not exist yet (see
// src/sim/CMakeLists.txt): registers no routes, so /v1/messages/... answers 404 in the
// Anthropic envelope through the emulator's error handler.
#include "src/sim/anthropic_wire.h"

namespace batchlog::sim {

void RegisterAnthropicRoutes(httplib::Server& /*server*/, SimContext& /*context*/) {}

}  // namespace batchlog::sim
