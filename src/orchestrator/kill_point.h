// Kill points: named places where a test can make the process die at once, as kill -9
// would (no destructors, no flush), to prove that a run resumes exactly from any of them.
//
// Selected by the environment variable BATCHLOG_KILL_POINT="<name>:<hit>" (hit counts from
// 1; ":<hit>" may be omitted for the first hit). Unset: every call is one relaxed load.
// The names are listed in docs/operations.md.
#pragma once

#include <string_view>

namespace batchlog::orchestrator {

// Exits the process immediately (status 137) on the selected hit of the selected point.
void KillPoint(std::string_view name);

}  // namespace batchlog::orchestrator
